"""/healthz answers without the database; /readyz checks the database, its migrations and Redis."""
from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import pytest
from flask_migrate import stamp

from tests.apps import app_with_tables
from tests.test_ratelimit import free_port, redis_url  # noqa: F401  (fixture: a private redis-server)

ROOT = Path(__file__).resolve().parents[1]


def test_healthz_answers_without_touching_the_database(tmp_path):
    from app import create_app

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/db.sqlite"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_readyz_wants_migrations_at_head(tmp_path):
    with app_with_tables("testing", tmp_path) as app:
        client = app.test_client()
        response = client.get("/readyz")  # tables made by create_all: no alembic revision recorded
        assert response.status_code == 503
        assert response.get_json() == {"status": "unavailable", "failed": ["migrations"]}
        with app.app_context():
            stamp(directory=str(ROOT / "migrations"))
        response = client.get("/readyz")
        assert response.status_code == 200 and response.get_json() == {"status": "ok"}
        with app.app_context():
            stamp(directory=str(ROOT / "migrations"), revision="base")
        assert client.get("/readyz").get_json()["failed"] == ["migrations"]


def test_readyz_names_an_unreachable_database_and_nothing_more(tmp_path):
    from app import create_app

    secret_path = tmp_path / "no-such-directory" / "private.sqlite"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{secret_path}"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "failed": ["database"]}
    assert str(tmp_path) not in response.get_data(as_text=True)


@pytest.mark.slow
def test_readyz_checks_redis_when_limits_are_stored_there(tmp_path, redis_url):  # noqa: F811
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    for uri, expected in ((redis_url, 200), (dead_redis, 200)):
        with app_with_tables("testing", tmp_path, RATELIMIT_STORAGE_URI=uri) as app:
            with app.app_context():
                stamp(directory=str(ROOT / "migrations"))
            response = app.test_client().get("/readyz")
            assert response.status_code == expected, response.get_json()
            if uri == dead_redis:  # this instance still serves: degraded, not unavailable
                assert response.get_json() == {"status": "degraded", "degraded": ["redis"]}
                assert "127.0.0.1" not in response.get_data(as_text=True)


def test_health_checks_are_never_rate_limited(tmp_path):
    with app_with_tables("testing", tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_CODE_LOOKUPS="1 per minute",
                         RATELIMIT_SUBMISSIONS="1 per minute") as app:
        client = app.test_client()
        statuses = {client.get(path).status_code for path in ("/healthz", "/readyz") * 30}
        assert 429 not in statuses
        # The limiter is on: a result look-up is refused the second time.
        assert [client.get("/results/AAAA-BBBB-CCCC").status_code for _ in range(2)] == [404, 429]


def load_gunicorn_conf():
    spec = importlib.util.spec_from_file_location("gunicorn_conf_for_test", ROOT / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path, status, kept", [
    ("/healthz", "200", False), ("/readyz", "200", False), ("/readyz", "503", True),
    ("/", "200", True), ("/healthz/x", "404", True),
])
def test_access_log_leaves_out_successful_probes(path, status, kept):
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(U)s %(s)s",
                               ({"U": path, "s": status},), None)
    assert load_gunicorn_conf().quiet_health_checks(record) is kept
