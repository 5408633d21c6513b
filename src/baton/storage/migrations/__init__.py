"""Alembic migrations for the event store, run by ``SqlEventStore.open()``."""
