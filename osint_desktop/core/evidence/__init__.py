"""Evidence: the exact bytes of every fetch kept in WARC files, read back, exported and verified."""
