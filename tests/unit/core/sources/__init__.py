"""Tests of the source providers and their registry."""
