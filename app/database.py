"""Per-connection SQLite settings: WAL, a busy timeout, and commits that survive a crash."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from .extensions import db


def configure_sqlite(app: Flask) -> None:
    """Apply SQLITE_* settings to every new SQLite connection of this app; other databases are untouched."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    journal_mode = app.config["SQLITE_JOURNAL_MODE"]
    synchronous = app.config["SQLITE_SYNCHRONOUS"]
    busy_timeout = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])

    @sa.event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL needs a lock another worker may briefly hold.
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout}")
            cursor.execute(f"PRAGMA journal_mode = {journal_mode}")  # 'memory' for :memory:, harmless
            cursor.execute(f"PRAGMA synchronous = {synchronous}")
            # SQLite ignores foreign keys unless asked per connection: without this, ON DELETE SET NULL
            # would not unlink a deleted result's retakes (and SQLite could reuse its id).
            cursor.execute("PRAGMA foreign_keys = ON")
            # Without statistics SQLite picks the (instrument, taken_at) index for a filtered queue and sorts
            # every match (300 ms at 100,000 results); `optimize` runs a bounded ANALYZE only when the
            # tables changed a lot since the last one (~50 ms then, nothing otherwise).
            cursor.execute("PRAGMA analysis_limit = 1000")
            cursor.execute("PRAGMA optimize = 0x10002")
        finally:
            cursor.close()
