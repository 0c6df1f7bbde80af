"""The core: configuration, secrets, database, crawling and sources; no Qt, no app policy."""
