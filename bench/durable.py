"""The durable ceiling: a bare Flask app that stores one row per request, durably, with plain sqlite3.

Served under the same gunicorn settings as the app (bench/run.py), it is what a stored submission is
measured against: the fastest a Python web request can acknowledge a row that survives a crash on this
machine. Each POST writes one row of the same width as a stored result (the `screenings` table's 41
columns with their types, a 12-character code, the answers as JSON: about as many bytes) into a WAL
database with synchronous=FULL and commits it before answering 201. Nothing else: no framework beyond
Flask, no validation, no scoring, no indexes but the primary key and the unique code, no trigger.

    DURABLE_DATABASE=/tmp/durable.sqlite gunicorn -c ../gunicorn.conf.py durable:app   (from bench/)

Writers queue for SQLite's one write lock as the app's do (a thread lock and flock on a file beside the
database), and each row is one INSERT that is its own transaction: with the busy handler's sleeps instead,
16 clients make the ceiling itself slow and any ratio against it flattering. DURABLE_QUEUE=busy measures
that variant.

DURABLE_TABLE=screenings writes the same row into the app's own table instead, in a database migrated
to head (`flask db upgrade`): every index and trigger of the app's schema, none of its Python. What that
costs against the ceiling bounds what any stored submission of the app can reach (bench/run.py reports it).
"""
from __future__ import annotations

import fcntl
import json
import os
import secrets
import sqlite3
import threading

from flask import Flask

app = Flask(__name__)
DATABASE = os.environ.get("DURABLE_DATABASE", "durable.sqlite")
QUEUE = os.environ.get("DURABLE_QUEUE", "flock")
TABLE = os.environ.get("DURABLE_TABLE", "results")
if TABLE not in ("results", "screenings"):
    raise SystemExit("DURABLE_TABLE is results (its own, created here) or screenings (the app's, migrated)")

# The columns of `screenings` (app/models.py) with SQLite's types, so a row here is as wide as the app's.
CREATE = """CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY, code VARCHAR(12) NOT NULL UNIQUE, instrument VARCHAR(16) NOT NULL,
    instrument_version VARCHAR(64) NOT NULL, exposure BOOLEAN, answers JSON NOT NULL, total INTEGER NOT NULL,
    reexperiencing INTEGER NOT NULL, avoidance INTEGER NOT NULL, arousal INTEGER NOT NULL, dsm5_b INTEGER,
    dsm5_c INTEGER, dsm5_d INTEGER, dsm5_e INTEGER, dsm5_rule_met BOOLEAN, cutoff INTEGER,
    at_or_above_cutoff BOOLEAN NOT NULL, taken_at DATETIME NOT NULL, previous_id INTEGER,
    reviewed BOOLEAN NOT NULL DEFAULT 0, reviewed_at DATETIME, reviewed_by_id INTEGER, review_note VARCHAR(500),
    clinic_id INTEGER, dso_total INTEGER, affective_dysregulation INTEGER, negative_self_concept INTEGER,
    disturbed_relationships INTEGER, ptsd_criteria_met BOOLEAN, dso_criteria_met BOOLEAN, icd11_pattern VARCHAR(8),
    event_when VARCHAR(8), share FLOAT NOT NULL DEFAULT 0, submission_key VARCHAR(64), safety_items VARCHAR(32),
    triage_tier SMALLINT NOT NULL DEFAULT 3, severity FLOAT NOT NULL DEFAULT 0, case_reference VARCHAR(7) NOT NULL,
    series_start_id INTEGER, latest_in_series BOOLEAN NOT NULL DEFAULT 1, assigned_to_id INTEGER)"""
INSERT = ("INSERT INTO results (code, instrument, instrument_version, exposure, answers, total, reexperiencing,"
          " avoidance, arousal, dsm5_b, dsm5_c, dsm5_d, dsm5_e, dsm5_rule_met, cutoff, at_or_above_cutoff, taken_at,"
          " share, submission_key, safety_items, triage_tier, severity, case_reference)"
          " VALUES (?, 'pcl5', '2013', NULL, ?, 31, 9, 3, 9, 3, 1, 4, 4, 1, 33, 0,"
          " strftime('%Y-%m-%d %H:%M:%f', 'now'), 0.3875, ?, '16', 1, 0.5, ?)")
INSERT = INSERT.replace("INSERT INTO results", f"INSERT INTO {TABLE}")
ANSWERS = json.dumps([2, 1, 0, 3, 2, 1, 0, 2, 1, 1, 2, 3, 1, 0, 2, 1, 2, 2, 1, 3])

_local = threading.local()
_threads = threading.Lock()
_lock_file = os.open(f"{DATABASE}.write-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)  # per worker


def connection() -> sqlite3.Connection:
    """This thread's connection (sqlite3 connections are not shared between threads)."""
    found = getattr(_local, "connection", None)
    if found is None:
        found = _local.connection = sqlite3.connect(DATABASE, isolation_level=None, check_same_thread=False)
        found.execute("PRAGMA busy_timeout = 5000")
        found.execute("PRAGMA journal_mode = WAL")
        found.execute("PRAGMA synchronous = FULL")
        if TABLE == "results":
            found.execute(CREATE)
    return found


def write(database: sqlite3.Connection, row: tuple) -> None:
    """The row as a transaction of its own (the connection is in autocommit mode), committed by SQLite as
    the statement ends: as the app stores a first result (app/database.py, DriverInsert)."""
    database.execute(INSERT, row)


@app.post("/")
def store():
    code = secrets.token_hex(6).upper()
    row = (code, ANSWERS, secrets.token_hex(32), secrets.token_hex(4)[:7].upper())
    database = connection()
    if QUEUE == "busy":
        write(database, row)
    else:
        with _threads:
            fcntl.flock(_lock_file, fcntl.LOCK_EX)
            try:
                write(database, row)
            finally:
                fcntl.flock(_lock_file, fcntl.LOCK_UN)
    return {"code": code}, 201


@app.get("/")
def hello():
    return "Hello, World!"
