"""Benchmarks: scripts that measure speed and memory against the naive way and print their figures."""
