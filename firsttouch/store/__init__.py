"""The database: models, sessions and migrations, on SQLite or PostgreSQL."""
