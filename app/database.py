"""Per-connection SQLite settings: WAL, a busy timeout, and commits that survive a crash."""
from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from .extensions import db


def refresh_statistics(cursor) -> None:
    """ANALYZE (bounded to a sample) when the planner's statistics are missing or the results have more
    than doubled since: without them SQLite picks the (instrument, taken_at) index for a filtered queue
    and sorts every match (figures: bench/design-measurements.md). The size check
    reads max(id) and sqlite_stat1, both O(1); SQLite before 3.46 has no PRAGMA optimize that would."""
    try:
        newest = cursor.execute("SELECT max(id) FROM screenings").fetchone()[0] or 0
        known = cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()[0]
        analysed = 0
        if known:
            row = cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'screenings' LIMIT 1").fetchone()
            analysed = int(row[0].split()[0]) if row else 0
    except sqlite3.Error:  # no screenings table yet: nothing to plan for
        return
    if newest >= 1000 and newest > 2 * analysed:
        cursor.execute("PRAGMA analysis_limit = 20000")  # 1,000 misjudged the filtered count; 20,000 does not
        cursor.execute("ANALYZE")


def create_private_file(database: str | None) -> None:
    """Create the database file readable and writable by its owner only (0600), before SQLite would
    create it with the process's umask (0644: every local user could read everyone's answers). SQLite
    gives the -wal, -shm and journal files the database file's mode, so they are private too."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return  # an existing file keeps the mode its operator gave it; a missing folder is SQLite's error
    with contextlib.suppress(FileExistsError):  # another process created it a moment ago
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def configure_sqlite(app: Flask) -> None:
    """Apply SQLITE_* settings to every new SQLite connection of this app; other databases are untouched."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    create_private_file(engine.url.database)
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
            refresh_statistics(cursor)
        finally:
            cursor.close()
