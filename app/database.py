"""Per-connection SQLite settings: WAL, a busy timeout, and commits that survive a crash; one queue for
the people's write transactions on SQLite (SQLiteWriteLock), inserts that hold it briefly (DriverInsert);
statements sent to the driver with SQLAlchemy's own parameter processing (driver_statement)."""
from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

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


_OPENING = threading.Lock()


class SQLiteWriteLock:
    """One writer at a time across this process's threads and every process on the host, queued.

    SQLite lets one connection write at a time. A writer that finds the lock taken is handed to the
    busy handler, which sleeps with growing back-off (up to 100 ms a try) and may wake long after the
    lock was freed: with 16 clients storing at once the slowest waited 0.6–1.1 s (bench/RESULTS.md).
    Here the writers wait in the kernel instead (flock on a file beside the database, behind a thread
    lock, since threads of one process share its open file), and each is woken as soon as the one
    before it has committed. A file database only; ":memory:" has one connection per process anyway.
    """

    def __init__(self, database: str | None):
        usable = database and database != ":memory:" and not database.startswith("file:")
        self.path = Path(f"{database}.write-lock") if usable else None
        self._threads = threading.Lock()
        self._pid: int | None = None
        self._fd: int | None = None

    def _file(self) -> int | None:
        """This process's descriptor of the lock file: a forked worker opens its own, since a descriptor
        shared with the parent would share the parent's lock."""
        if self.path is None:
            return None
        if self._pid != os.getpid():
            with _OPENING:
                if self._pid != os.getpid():
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                    self._threads = threading.Lock()
                    self._pid = os.getpid()
        return self._fd

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        fd = self._file()
        with self._threads:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # blocks without the GIL until the writer before has committed
            try:
                yield
            finally:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def write_transaction(connection: sa.Connection, begin: bool = True) -> Iterator[None]:
    """Around a request's write transaction (its statements and the commit): on SQLite, wait for the
    write lock (SQLiteWriteLock) and start with BEGIN IMMEDIATE, so the transaction holds SQLite's own
    write lock from its first statement and never meets the busy handler; elsewhere nothing (PostgreSQL
    locks rows, not the database). `begin=False`: the transaction is one statement run as its own
    (DriverInsert.write with nothing before the row), so there is nothing to begin."""
    lock = current_app.extensions.get("sqlite_write_lock")
    if lock is None or connection.dialect.name != "sqlite":
        yield
        return
    with lock.held():
        driver = connection.connection.driver_connection
        if begin and driver is not None and not driver.in_transaction:
            driver.execute("BEGIN IMMEDIATE")
        yield


def bind_processors(compiled: sa.Compiled, dialect: sa.Dialect) -> dict[str, Callable | None]:
    """Each bound parameter's processor as SQLAlchemy applies it for this dialect (JSON to text, a
    timestamp to SQLite's text, UTCDateTime's check), for SQL sent to the driver directly."""
    return {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()}  # type: ignore[attr-defined]


def driver_statement(connection: sa.Connection, statement: sa.Select) -> tuple[str, Mapping[str, Any] | list]:
    """The statement as the driver's SQL text and parameters, bound values processed as SQLAlchemy would,
    for the driver to bind: psycopg's COPY merges them client-side, quoted as literals by libpq; sqlite3
    binds them."""
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})  # IN (…) expanded
    params = compiled.construct_params()
    for name, processor in bind_processors(compiled, dialect).items():
        if processor is not None and name in params:
            params[name] = processor(params[name])
    if compiled.positiontup is not None:
        return compiled.string, [params[name] for name in compiled.positiontup]
    return compiled.string, params


class DriverInsert:
    """One INSERT into a table, sent on SQLite straight to the DBAPI connection inside the write lock.

    What SQLAlchemy does around such a statement (the column defaults computed in Python, each value
    through its type's bind processor, the SQL itself) is done by `prepare`, before the lock, with
    SQLAlchemy's own defaults and processors for the connection's dialect: the row is stored exactly as
    `connection.execute(insert(table), values)` would store it. While the lock is held the statement
    costs SQLite's work and one C call; every other writer waits for nothing else. Errors are raised as
    SQLAlchemy's (IntegrityError, OperationalError …), as that call would raise them. Other databases
    take the ordinary path (no lock to hold there).
    """

    def __init__(self, table: sa.Table):
        self.table = table
        self.statement = sa.insert(table)

    def write(self, session: Any, values: Mapping[str, Any],
              first: Sequence[tuple[sa.Executable, Mapping[str, Any]]] = ()) -> None:
        """Store one row after `first` (other statements of its transaction, with their parameters) and
        commit. The row's parameters are made before the write lock (write_transaction); on SQLite the lock
        is held for the statements, the row and the commit on the driver, and a failure is rolled back
        inside it, so the next writer finds the database free; the session's commit follows outside (on
        SQLite only its bookkeeping is left). With nothing first, the row is a transaction of its own."""
        connection = session.connection()
        prepared = self.prepare(connection, values)
        alone = not first
        with write_transaction(connection, begin=not alone):
            try:
                for statement, parameters in first:
                    connection.execute(statement, parameters)
                self.execute(connection, prepared, own_transaction=alone)
                if connection.dialect.name == "sqlite":
                    connection.connection.driver_connection.commit()
            except BaseException:
                session.rollback()
                raise
        try:
            session.commit()
        except BaseException:
            session.rollback()
            raise

    def prepare(self, connection: sa.Connection, values: Mapping[str, Any]) -> tuple[str, tuple] | dict:
        """The SQL and its DBAPI parameters on SQLite; the values themselves elsewhere."""
        if connection.dialect.name != "sqlite":
            return dict(values)
        row = dict(values)
        for column in self.table.columns:
            default = column.default
            if column.key in row or default is None or not isinstance(default, sa.ColumnDefault):
                continue
            row[column.key] = default.arg(None) if default.is_callable else default.arg
        sql, names, processors = self._compiled(connection.dialect, tuple(sorted(row)))
        return sql, tuple(row[name] if process is None else process(row[name])
                          for name, process in zip(names, processors, strict=True))

    @lru_cache(maxsize=64)  # noqa: B019 - a handful of column sets per table, for the process's life
    def _compiled(self, dialect: sa.Dialect, keys: tuple[str, ...]
                  ) -> tuple[str, tuple[str, ...], tuple[Callable | None, ...]]:
        """The SQL for these columns, its parameters' order, and each one's bind processor."""
        compiled = self.statement.compile(dialect=dialect, column_keys=list(keys))
        names = tuple(compiled.positiontup or ())
        assert sorted(names) == list(keys), (names, keys)  # one parameter per column, nothing else
        processors = bind_processors(compiled, dialect)
        return str(compiled), names, tuple(processors[name] for name in names)

    def execute(self, connection: sa.Connection, prepared: tuple[str, tuple] | dict,
                own_transaction: bool = False) -> None:
        """Run a prepared insert in the connection's current transaction; with `own_transaction`, on
        SQLite and outside any transaction, as a transaction of its own that SQLite commits as the
        statement ends. Inside BEGIN … COMMIT, an INSERT into a table with triggers (screenings has the
        rollups') makes SQLite keep a statement journal, a temporary file unless temp_store is MEMORY,
        so that a failing trigger undoes that statement alone (https://www.sqlite.org/tempfiles.html,
        2.5); a statement that is its own transaction needs none."""
        if isinstance(prepared, dict):
            connection.execute(self.statement, prepared)
            return
        sql, parameters = prepared
        driver = connection.connection.driver_connection
        assert driver is not None
        alone = own_transaction and not driver.in_transaction
        try:
            if alone:
                level, driver.isolation_level = driver.isolation_level, None  # no implicit BEGIN
                try:
                    driver.execute(sql, parameters)
                finally:
                    driver.isolation_level = level
            else:
                driver.execute(sql, parameters)
        except sqlite3.Error as error:
            raise sa.exc.DBAPIError.instance(sql, parameters, error, sqlite3.Error,
                                             hide_parameters=True) from error


def configure_sqlite(app: Flask) -> None:
    """Apply SQLITE_* settings to every new SQLite connection of this app; other databases are untouched."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    create_private_file(engine.url.database)
    app.extensions["sqlite_write_lock"] = SQLiteWriteLock(engine.url.database)
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
