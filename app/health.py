"""Health checks for a load balancer: /healthz (the process answers) and /readyz (it can serve)."""
from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify

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
        current_app.logger.warning("readyz: Redis is not reachable")
        return "redis"
    return None


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """The process is up and answering; nothing else is touched."""
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """Ready for traffic: the database answers at the expected schema, and Redis when configured."""
    failed = [problem for problem in (database_problem(), redis_problem()) if problem]
    if not failed:
        return jsonify(status="ok")
    # Which checks failed ("database", "migrations", "redis"), never why: no host, user or count.
    return jsonify(status="unavailable", failed=failed), 503
