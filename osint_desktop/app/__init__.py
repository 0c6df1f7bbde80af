"""Use cases, Qt-free: tasks, runs and their service, scheduling, recovery, maintenance, export."""
