"""Building extra apps for tests that need another configuration (production, small rate limits)."""
from __future__ import annotations

import os
from contextlib import contextmanager

from tests.conftest import app_with_empty_tables, drop_tables, stored_count

PRODUCTION_KEY = "k" * 64


def test_database_url(tmp_path) -> str:
    """The suite's database: TEST_DATABASE_URL (PostgreSQL), else a SQLite file other apps can share."""
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.sqlite'}"


@contextmanager
def app_with_tables(config_name: str, tmp_path, **overrides):
    """An app of the given configuration on the test database with fresh tables.

    No app context stays pushed, as with the `app` fixture: requests get their own, as in a server.
    """
    settings = {"SQLALCHEMY_DATABASE_URI": test_database_url(tmp_path)}
    if config_name == "production":
        settings["SECRET_KEY"] = PRODUCTION_KEY
    settings.update(overrides)
    app = app_with_empty_tables(config_name, settings)
    try:
        yield app
    finally:
        drop_tables(app)


def count_rows(app) -> int:
    """Stored screenings in this app's database."""
    with app.app_context():
        return stored_count()
