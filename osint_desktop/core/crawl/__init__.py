"""Fetching and parsing of crawl targets: news feeds and X searches."""
