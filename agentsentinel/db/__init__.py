"""Storage: engine and sessions, portable column types, migrations (SQLite and Postgres)."""
