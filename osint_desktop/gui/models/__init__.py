"""Table models over the database: tasks in full, logs and items paged on demand."""
