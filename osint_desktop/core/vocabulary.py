"""The fixed words of the domain: sources, frequencies, statuses and triggers."""

SOURCES = ("news", "social")
FREQUENCIES = ("hourly", "daily", "weekly")
# "deferred": the machine was offline, the run is owed and runs when the network is back.
LOG_STATUSES = ("running", "success", "partial", "failed", "interrupted", "skipped", "deferred")
# How a run that ran ended; a task's status after a run is this same word, so the Tasks
# table, the logs, the tray and the command line never describe one run in two ways.
RUN_OUTCOMES = ("success", "partial", "failed", "interrupted")
TASK_STATUSES = ("pending", "running", *RUN_OUTCOMES)
TRIGGERS = ("scheduled", "manual", "catch-up", "cli")
