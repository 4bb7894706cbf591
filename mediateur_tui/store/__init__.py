"""Persistence: SQLModel tables, the SQLite engine, migrations and queries."""
