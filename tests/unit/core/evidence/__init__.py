"""Tests of the WARC evidence: capture, reading back, export and verification."""
