"""Alembic's script directory for the app's schema (env.py, the revisions in versions/); run by data/core/migrate.py."""
