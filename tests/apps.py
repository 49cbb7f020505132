"""Building extra apps for tests that need another configuration (production, small rate limits)."""
from __future__ import annotations

import os
from contextlib import contextmanager

from app import create_app
from app.extensions import db
from tests.conftest import create_tables, drop_tables, run_outside_contexts

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
    app = run_outside_contexts(create_app(config_name, settings))
    create_tables(app)
    try:
        yield app
    finally:
        drop_tables(app)


def count_rows(app) -> int:
    """Stored screenings in this app's database."""
    import sqlalchemy as sa

    from app.models import Screening

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Screening))
