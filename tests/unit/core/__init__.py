"""Tests of the core: config, secrets, database, crawling."""
