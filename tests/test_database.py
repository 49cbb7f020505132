"""SQLite planner statistics: gathered once results reach 1,000 and again whenever they double."""
from __future__ import annotations

import sqlite3

import pytest

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
