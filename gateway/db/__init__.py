"""Storage: SQLAlchemy models, the engine and schema migrations, and the repository."""
