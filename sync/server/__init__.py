"""The central server: HTTP API (FastAPI), storage (SQLAlchemy 2 on SQLite or PostgreSQL,
Alembic migrations), ingest of terminal journals, derived reports."""
