"""Database layer: models, engine, migrations and queries."""
