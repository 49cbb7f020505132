"""Logs that keep secrets and stay readable: gunicorn's access log escapes CR/LF, and a database outage
writes one line per failure class a minute, never a traceback per request."""
from __future__ import annotations

import logging

import pytest

from app import create_app, log_throttle
from tests.test_logging import access_line


class Lines(list):
    """Every record a logger (and its children) passes on from now on."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__()
        handler = logging.Handler(logging.DEBUG)
        handler.emit = self.append  # type: ignore[method-assign]
        logger.addHandler(handler)
        self.detach = lambda: logger.removeHandler(handler)


@pytest.fixture(autouse=True)
def fresh_throttle():
    log_throttle.forget()
    yield
    log_throttle.forget()


@pytest.mark.parametrize("path", ["/screen/pcl5\r\n127.0.0.1 - GET /admin 200", "/learn\n\"forged\"", "/x\x1b[31m"])
def test_gunicorn_access_log_escapes_control_characters(path):
    line = access_line(path)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert line.count('"') == 2  # the request stays one quoted field
    assert "\\x0a" in line or "\\x1b" in line


def test_a_database_outage_logs_one_line_per_class_a_minute(tmp_path, monkeypatch):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/folder/db.sqlite"})
    lines = Lines(app.logger)
    client = app.test_client()
    statuses = [client.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": [1] * 20,
                                                         "store": True}).status_code for _ in range(25)]
    assert set(statuses) == {503}
    outage = [record for record in lines if "database unavailable" in record.getMessage()]
    assert len(outage) == 1 and outage[0].exc_info is None
    assert "OperationalError" in outage[0].getMessage()
    # A minute later, one more line saying how many it stood for.
    monkeypatch.setattr(log_throttle.time, "monotonic", lambda: 10**9)
    client.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": [1] * 20, "store": True})
    outage = [record for record in lines if "database unavailable" in record.getMessage()]
    assert len(outage) == 2 and "(24 more in the last minute)" in outage[1].getMessage()
    lines.detach()


def test_the_pools_reset_failures_lose_their_tracebacks_and_repeat_once_a_minute():
    create_app("testing")  # attaches the filter
    pool = logging.getLogger("sqlalchemy.pool.impl.QueuePool")
    lines = Lines(pool)
    for _ in range(50):
        try:
            raise ConnectionError("server closed the connection unexpectedly SELECT secret")
        except ConnectionError:
            pool.error("Exception during reset or similar", exc_info=True)
    assert len(lines) == 1
    [record] = lines
    assert record.exc_info is None and "ConnectionError" in record.getMessage()
    assert "secret" not in record.getMessage()
    lines.detach()
