"""Tests of the use cases: tasks, runs, scheduling, recovery, restore, export."""
