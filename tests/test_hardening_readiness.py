"""Readiness that tells the truth with Redis stopped, and account commands that work in production."""
from __future__ import annotations

import logging
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import stamp

from app.extensions import db
from app.models import AccountToken, Clinician
from tests.apps import app_with_tables
from tests.test_ratelimit import free_port

ROOT = Path(__file__).resolve().parents[1]
PCL5 = {"instrument": "pcl5", "answers": [1] * 20, "store": True}


class RedisServer:
    """A private redis-server on a free loopback port that a test can stop."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
        self.port = free_port()
        self.process = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", str(directory)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class LinesOf(list):
    """The messages a logger writes from now on."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__()
        handler = logging.Handler(logging.DEBUG)
        handler.emit = lambda record: self.append(record.getMessage())  # type: ignore[method-assign]
        logger.addHandler(handler)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    yield server
    server.stop()


def test_readyz_with_redis_stopped_is_degraded_not_down_and_logged_once(tmp_path, redis_server):
    settings = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": redis_server.url,
                "RATELIMIT_SUBMISSIONS": "4 per minute", "RATELIMIT_PROCESSES": 2}
    with app_with_tables("testing", tmp_path, **settings) as app:
        with app.app_context():
            stamp(directory=str(ROOT / "migrations"))
        try:
            check_degraded_readiness(app, redis_server)
        finally:  # the suite's shared database: leave no revision stamped behind
            with app.app_context():
                stamp(directory=str(ROOT / "migrations"), revision="base")


def check_degraded_readiness(app, redis_server) -> None:
    client = app.test_client()
    assert client.get("/readyz").get_json() == {"status": "ok"}
    redis_server.stop()
    lines = LinesOf(app.logger)
    answers = [client.get("/readyz") for _ in range(5)]
    assert {response.status_code for response in answers} == {200}
    assert answers[0].get_json() == {"status": "degraded", "degraded": ["redis"]}
    outage_lines = [line for line in lines if "Redis is not reachable" in line]
    assert len(outage_lines) == 1  # once per outage, not once per probe
    assert str(redis_server.port) not in answers[0].get_data(as_text=True)
    # People's answers are still taken, and still limited: this process allows its share (4 / 2).
    statuses = [client.post("/api/v1/screenings", json=PCL5, environ_overrides={"REMOTE_ADDR": "192.0.2.60"})
                .status_code for _ in range(3)]
    assert statuses == [201, 201, 429]


def test_readyz_still_fails_when_the_database_cannot_serve(tmp_path):
    from app import create_app

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/db.sqlite",
                                 "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{free_port()}/0"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "failed": ["database"], "degraded": ["redis"]}


# --- Account commands with the production host settings ------------------------------------------

TRUSTED = {"TRUSTED_HOSTS": ["screening.example.org"], "PUBLIC_BASE_URL": "https://screening.example.org"}


@pytest.fixture
def production_like(tmp_path, monkeypatch):
    """The testing app with FLASK_TRUSTED_HOSTS set as deploy/env.example sets it."""
    monkeypatch.setenv("FLASK_TRUSTED_HOSTS", "screening.example.org")
    monkeypatch.setenv("FLASK_PUBLIC_BASE_URL", "https://screening.example.org")
    with app_with_tables("testing", tmp_path) as app:
        assert app.config["TRUSTED_HOSTS"] == ["screening.example.org"]
        yield app


def test_invite_and_reset_commands_work_with_trusted_hosts_set(production_like):
    runner = production_like.test_cli_runner()
    invited = runner.invoke(args=["clinician", "invite", "new@example.org"])
    assert invited.exit_code == 0, invited.output
    link = invited.output.strip().splitlines()[-1]
    assert link.startswith("https://screening.example.org/clinician/invite/")
    created = runner.invoke(args=["clinician", "create", "doc@example.org"],
                            input="a long enough passphrase 42\n")
    assert created.exit_code == 0, created.output
    reset = runner.invoke(args=["clinician", "reset", "doc@example.org"])
    assert reset.exit_code == 0, reset.output
    reset_link = reset.output.strip().splitlines()[-1]
    assert reset_link.startswith("https://screening.example.org/clinician/reset/")
    assert "Traceback" not in invited.output + reset.output
    with production_like.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AccountToken.id))) == 2
    # The printed link works on the site's own host name.
    page = production_like.test_client().get(reset_link.removeprefix("https://screening.example.org"),
                                             base_url="https://screening.example.org")
    assert page.status_code == 200


def test_a_command_refuses_a_weak_password_without_a_traceback(production_like):
    runner = production_like.test_cli_runner()
    result = runner.invoke(args=["clinician", "create", "doc@example.org"], input="aaaaaaaaaaaa\n")
    assert result.exit_code != 0 and "too common or too easy to guess" in result.output
    with production_like.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Clinician.id))) == 0
