"""SQLite planner statistics: gathered once results reach 1,000 and again whenever they double."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import stat
import threading

import pytest
import sqlalchemy as sa

from app.database import refresh_statistics


def stat_rows(connection: sqlite3.Connection) -> int:
    if not connection.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()[0]:
        return 0
    return connection.execute("SELECT CAST(stat AS INTEGER) FROM sqlite_stat1 WHERE tbl = 'screenings'").fetchone()[0]


def table_with(rows: int) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE screenings (id INTEGER PRIMARY KEY, total INTEGER)")
    connection.execute("CREATE INDEX ix_total ON screenings (total)")
    connection.executemany("INSERT INTO screenings (total) VALUES (?)", [(n % 80,) for n in range(rows)])
    return connection


def test_no_table_yet_is_left_alone():
    connection = sqlite3.connect(":memory:")
    refresh_statistics(connection.cursor())
    assert stat_rows(connection) == 0


@pytest.mark.parametrize("rows, analysed", [(0, 0), (999, 0), (1500, 1500)])
def test_statistics_once_there_is_something_to_plan_for(rows, analysed):
    connection = table_with(rows)
    refresh_statistics(connection.cursor())
    assert stat_rows(connection) == analysed


def test_statistics_are_refreshed_when_the_results_double():
    connection = table_with(1500)
    refresh_statistics(connection.cursor())
    connection.executemany("INSERT INTO screenings (total) VALUES (?)", [(1,)] * 1000)
    refresh_statistics(connection.cursor())  # 2,500 is not double 1,500: kept
    assert stat_rows(connection) == 1500
    connection.executemany("INSERT INTO screenings (total) VALUES (?)", [(1,)] * 1000)
    refresh_statistics(connection.cursor())
    assert stat_rows(connection) == 3500


# --- the people's writers queue for SQLite's one write lock (app/database.py, SQLiteWriteLock) ----------

PCL5_STORED = {"instrument": "pcl5", "answers": [2, 1, 0, 3, 2, 1, 0, 2, 1, 1, 2, 3, 1, 0, 2, 1, 2, 2, 1, 3],
               "store": True}


def file_app(tmp_path, **settings):
    from app import create_app
    from app.extensions import db

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'queue.sqlite'}", **settings})
    with app.app_context():
        db.create_all()
    return app


def stored_rows(app) -> int:
    from app.extensions import db

    with app.app_context():
        return db.session.execute(sa.text("SELECT count(*) FROM screenings")).scalar_one()


def test_sixteen_clients_storing_at_once_never_meet_the_busy_handler(tmp_path):
    """With a busy timeout of 1 ms any writer that found SQLite's write lock taken would fail with
    "database is locked": every store succeeds because the writers queue for the lock instead."""
    app = file_app(tmp_path, SQLITE_BUSY_TIMEOUT_MS=1)
    statuses: list[int] = []

    def client_storing():
        client = app.test_client()
        for _ in range(8):
            statuses.append(client.post("/api/v1/screenings", json=PCL5_STORED).status_code)

    threads = [threading.Thread(target=client_storing) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 128
    assert stored_rows(app) == 128
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()


def test_a_writer_waits_for_another_process_holding_the_lock_then_stores(tmp_path):
    """The lock is a file lock beside the database (0600): another process's writer holding it makes this
    one wait, not fail, and the result is stored once it is released."""
    app = file_app(tmp_path)
    app.test_client().post("/api/v1/screenings", json=PCL5_STORED)  # opens the lock file
    lock_file = tmp_path / "queue.sqlite.write-lock"
    assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600
    holder = os.open(lock_file, os.O_RDWR)  # its own open file: as another process's
    fcntl.flock(holder, fcntl.LOCK_EX)
    answered: list[int] = []
    writer = threading.Thread(target=lambda: answered.append(
        app.test_client().post("/api/v1/screenings", json=PCL5_STORED).status_code))
    writer.start()
    writer.join(0.5)
    assert writer.is_alive() and answered == []  # queued behind the holder
    fcntl.flock(holder, fcntl.LOCK_UN)
    os.close(holder)
    writer.join(10)
    assert answered == [201]
    assert stored_rows(app) == 2


def test_postgresql_and_memory_databases_take_no_file_lock():
    from app.database import SQLiteWriteLock

    assert SQLiteWriteLock(":memory:").path is None and SQLiteWriteLock(None).path is None
    with SQLiteWriteLock(":memory:").held():  # still one writer at a time among the threads
        pass


def screening_values(**overrides) -> dict:
    """A PCL-5 result's columns, with a fresh code and reference, as add_screening inserts them."""
    from app.screening import case_references, codes
    from app.screening.instruments import INSTRUMENTS
    from app.screening.service import result_columns, score

    return {**result_columns(score(INSTRUMENTS["pcl5"], PCL5_STORED["answers"])), "code": codes.new_code(),
            "case_reference": case_references.new_case_reference(), "clinic_id": None, "previous_id": None,
            "submission_key": None, **overrides}


def stored_as(code: str) -> dict:
    """Every column of a stored row as the database holds it, with SQLite's storage class of each."""
    from app.extensions import db
    from app.models import Screening

    columns = [column.name for column in Screening.__table__.columns if column.name not in ("id", "code",
                                                                                             "case_reference")]
    typed = ", ".join(f"{name}, typeof({name})" if db.engine.dialect.name == "sqlite" else name for name in columns)
    row = db.session.execute(sa.text(f"SELECT {typed} FROM screenings WHERE code = :code"), {"code": code}).one()
    return dict(zip([f"{name}{suffix}" for name in columns
                     for suffix in (("", " type") if db.engine.dialect.name == "sqlite" else ("",))], row, strict=True))


@pytest.mark.parametrize("taken_at", ["given", "default"])
def test_a_driver_insert_stores_what_sqlalchemy_would_store(app, taken_at):
    """DriverInsert (the stored result's INSERT, its parameters made before the write lock) leaves the very
    row `connection.execute(insert(table), values)` leaves: the same values with the same types, the JSON
    answers and the timestamp in SQLAlchemy's own text, the defaults (reviewed, latest_in_series, tier)."""
    from datetime import UTC, datetime

    from app.database import DriverInsert
    from app.extensions import db
    from app.models import Screening

    extra = {"taken_at": datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=UTC)} if taken_at == "given" else {}
    with app.app_context():
        ordinary, driven = screening_values(**extra), screening_values(**extra)
        connection = db.session.connection()
        connection.execute(sa.insert(Screening.__table__), ordinary)
        insert = DriverInsert(Screening.__table__)
        insert.execute(connection, insert.prepare(connection, driven))
        db.session.commit()
        expected, got = stored_as(ordinary["code"]), stored_as(driven["code"])
        if taken_at == "default":  # two calls of the default a moment apart: the same format, not the same time
            assert len(str(expected.pop("taken_at"))) == len(str(got.pop("taken_at")))
        assert got == expected
        assert got["answers"] == expected["answers"] and got["reviewed"] in (0, False)


def test_a_driver_insert_raises_sqlalchemys_integrity_error_and_leaves_the_session_usable(app):
    from sqlalchemy.exc import IntegrityError

    from app.database import DriverInsert
    from app.extensions import db
    from app.models import Screening

    with app.app_context():
        first = screening_values()
        insert = DriverInsert(Screening.__table__)
        connection = db.session.connection()
        insert.execute(connection, insert.prepare(connection, first))
        db.session.commit()
        connection = db.session.connection()
        with pytest.raises(IntegrityError):
            insert.execute(connection, insert.prepare(connection, screening_values(code=first["code"])))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Screening)) == 1


def test_a_first_result_is_its_own_sqlite_transaction_committed_before_the_lock_is_released(tmp_path):
    """On SQLite a stored first result is one INSERT run as its own transaction (no BEGIN … COMMIT around
    it, so no statement journal for the rollup triggers): committed, and seen by another connection, as the
    statement ends; inside a transaction it waits for the commit like any other statement."""
    from app.database import DriverInsert
    from app.extensions import db
    from app.models import Screening

    app = file_app(tmp_path)
    other = sqlite3.connect(tmp_path / "queue.sqlite")
    with app.app_context():
        insert = DriverInsert(Screening.__table__)
        alone, inside = screening_values(), screening_values()
        connection = db.session.connection()
        insert.execute(connection, insert.prepare(connection, alone), own_transaction=True)
        assert other.execute("SELECT count(*) FROM screenings").fetchone()[0] == 1
        assert not connection.connection.driver_connection.in_transaction
        insert.execute(connection, insert.prepare(connection, inside))
        assert connection.connection.driver_connection.in_transaction
        assert other.execute("SELECT count(*) FROM screenings").fetchone()[0] == 1
        db.session.commit()
        assert other.execute("SELECT count(*) FROM screenings").fetchone()[0] == 2
        assert other.execute("SELECT sum(results) FROM screening_daily_counts").fetchone()[0] == 2
        db.engine.dispose()
    other.close()
