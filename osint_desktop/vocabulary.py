"""The fixed words of the domain: sources, frequencies, statuses and triggers."""

SOURCES = ("news", "social")
FREQUENCIES = ("hourly", "daily", "weekly")
TASK_STATUSES = ("pending", "running", "completed", "failed")
LOG_STATUSES = ("running", "success", "partial", "failed", "interrupted", "skipped")
TRIGGERS = ("scheduled", "manual", "catch-up", "cli")
