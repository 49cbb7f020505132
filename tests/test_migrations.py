"""The Alembic revisions build the schema on an empty database and agree with the models."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from app.extensions import db


@pytest.fixture
def empty_app(tmp_path, monkeypatch):
    """An app on an empty database: a fresh SQLite file, or the PostgreSQL test database wiped."""
    import os

    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'empty.sqlite'}"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        wipe(db.engine)
        yield app
        db.session.remove()  # end the requests' transaction, which would block the DROPs
        wipe(db.engine)
        db.engine.dispose()


def wipe(engine) -> None:
    """Drop every table, including Alembic's own version table."""
    metadata = sa.MetaData()
    metadata.reflect(bind=engine)
    metadata.drop_all(bind=engine)


def test_upgrade_builds_the_models_schema_and_check_finds_no_drift(empty_app):
    upgrade()
    inspector = sa.inspect(db.engine)
    assert set(db.metadata.tables) <= set(inspector.get_table_names())
    result = empty_app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_check_would_fail_on_drift(empty_app):
    upgrade()
    drift = sa.Table("drift_probe", db.metadata, sa.Column("id", sa.Integer, primary_key=True))
    try:
        result = empty_app.test_cli_runner().invoke(args=["db", "check"])
    finally:
        db.metadata.remove(drift)
    assert result.exit_code != 0


def test_upgrade_then_downgrade_to_base_leaves_no_tables(empty_app):
    upgrade()
    downgrade(revision="base")
    remaining = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert remaining == set()


def test_stored_screening_round_trips_on_the_migrated_schema(empty_app):
    upgrade()
    client = empty_app.test_client()
    response = client.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": [4] * 20, "store": True})
    assert response.status_code == 201
    assert client.get(response.headers["Location"]).status_code == 200
