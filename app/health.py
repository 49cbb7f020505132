"""Health checks for a load balancer: /healthz (the process answers) and /readyz (it can serve)."""
from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify

from . import log_throttle
from .extensions import db, limiter

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# A probe that waits longer than a load balancer's own timeout tells it nothing.
REDIS_TIMEOUT_SECONDS = 2

bp = Blueprint("health", __name__)


@cache
def migration_heads() -> frozenset[str]:
    """The revisions the code expects (read once: they change only with a new release)."""
    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


def database_problem() -> str | None:
    """None when the database answers and its schema is at the code's migration head."""
    try:
        with db.engine.connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except Exception:  # any driver error means "not reachable"; its text may hold a host or user name
        if log_throttle.due("readyz-database") is not None:
            current_app.logger.warning("readyz: the database is not reachable")
        return "database"
    if current != migration_heads():
        return "migrations"
    return None


def redis_problem() -> str | None:
    """None when no Redis is configured, or when the configured one answers PING."""
    uri = current_app.config.get("RATELIMIT_STORAGE_URI") or ""
    if not uri.startswith(("redis://", "rediss://", "redis+unix://", "unix://")):
        return None
    import redis

    url = uri.replace("redis+unix://", "unix://", 1)
    try:
        client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                      socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        try:
            client.ping()
        finally:
            client.close()
    except Exception:  # the exception text would name the host; say only which check failed
        _redis_outage(started=True)
        return "redis"
    _redis_outage(started=False)
    return None


_redis_down = threading.Event()


def _redis_outage(started: bool) -> None:
    """One log line when this process first finds Redis unreachable, one when it answers again."""
    if started and not _redis_down.is_set():
        _redis_down.set()
        current_app.logger.warning("readyz: Redis is not reachable; rate limits count in each process "
                                   "(its share of each limit) until it is back")
    elif not started and _redis_down.is_set():
        _redis_down.clear()
        current_app.logger.warning("readyz: Redis is reachable again")


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """The process is up and answering; nothing else is touched."""
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """Ready for traffic when the database answers at the expected schema. Redis only shares the rate
    limits between processes: without it this instance still serves (each process counts its share,
    app/ratelimits.py), so it is reported as degraded with a 200, never as a reason to take it out."""
    failed = [problem for problem in (database_problem(),) if problem]
    degraded = [problem for problem in (redis_problem(),) if problem]
    # Which checks failed ("database", "migrations", "redis"), never why: no host, user or count.
    if failed:
        return jsonify(status="unavailable", failed=failed, **({"degraded": degraded} if degraded else {})), 503
    if degraded:
        return jsonify(status="degraded", degraded=degraded)
    return jsonify(status="ok")
