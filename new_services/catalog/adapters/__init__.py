"""Adapters: the catalog's own database (SQLAlchemy Core tables, repositories, migrations)."""
