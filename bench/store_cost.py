"""Where a stored submission's time goes, in process (no server, no network, no load generator):
CPU per request of the bare-Flask ceiling, the app's API without and with storing, and the same row
written by plain sqlite3 with no Python framework at all, the floor any stored request pays.

    .venv/bin/python bench/store_cost.py [--requests 2000]

Each figure is process CPU time per request after a warm-up, on a fresh SQLite file in a temporary
directory, with the app's own settings (WAL, and synchronous=FULL as shipped, or NORMAL for comparison).
The ratio column is the ceiling's time divided by the row's: the throughput ratio the row would reach
if CPU were all that mattered.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PCL5 = [2, 1, 0, 3, 2, 1, 0, 2, 1, 1, 2, 3, 1, 0, 2, 1, 2, 2, 1, 3]


def per_request(run, requests: int) -> float:
    """Milliseconds of this process's CPU time per call of `run`, after a warm-up."""
    for _ in range(100):
        run()
    started = time.process_time()
    for _ in range(requests):
        run()
    return (time.process_time() - started) / requests * 1000


def app_client(database: Path, synchronous: str):
    os.environ.update(APP_ENV="production", SECRET_KEY=secrets.token_hex(32), FLASK_RATELIMIT_ENABLED="false")
    from app import create_app
    from app.extensions import db

    app = create_app("production", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                                    "SQLITE_SYNCHRONOUS": synchronous})
    with app.app_context():
        db.create_all()
    return app.test_client()


def api_post(client, store: bool):
    body = json.dumps({"instrument": "pcl5", "answers": PCL5, "store": store})
    expected = 201 if store else 200

    def post():
        response = client.post("/api/v1/screenings", data=body, content_type="application/json")
        assert response.status_code == expected, response.status_code

    return post


def raw_insert(database: Path, synchronous: str):
    """The row the API stores, inserted by sqlite3 alone into the app's schema (its indexes and the
    statistics trigger), one transaction per row."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute(f"PRAGMA synchronous = {synchronous}")
    connection.execute("PRAGMA foreign_keys = ON")
    statement = ("INSERT INTO screenings (code, instrument, instrument_version, answers, total, share, reexperiencing,"
                 " avoidance, arousal, dsm5_b, dsm5_c, dsm5_d, dsm5_e, dsm5_rule_met, cutoff, at_or_above_cutoff,"
                 " taken_at, reviewed, case_reference, submission_key, triage_tier, severity, safety_items)"
                 " VALUES (?, 'pcl5', '2013', ?, 31, 0.3875, 9, 3, 9, 3, 1, 4, 4, 1, 33, 0,"
                 " strftime('%Y-%m-%d %H:%M:%f', 'now'), 0, ?, ?, 1, 0.5, '16')")
    answers = json.dumps(PCL5)

    def insert():
        connection.execute("BEGIN")
        connection.execute(statement, (secrets.token_hex(6).upper(), answers, secrets.token_hex(4)[:7].upper(),
                                        secrets.token_hex(32)))
        connection.execute("COMMIT")

    return insert


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    from hello import app as hello_app

    hello = hello_app.test_client()
    ceiling = per_request(lambda: hello.get("/"), args.requests)
    rows = [("ceiling: bare Flask hello world", ceiling)]
    for synchronous in ("FULL", "NORMAL"):
        with tempfile.TemporaryDirectory() as directory:
            database = Path(directory) / "cost.sqlite"
            client = app_client(database, synchronous)
            if synchronous == "FULL":
                not_stored = per_request(api_post(client, False), args.requests)
                rows.append(("POST /api/v1/screenings (store=false)", not_stored))
            rows.append((f"POST /api/v1/screenings (store=true), synchronous={synchronous}",
                         per_request(api_post(client, True), args.requests)))
            rows.append((f"the same row by plain sqlite3 (INSERT + COMMIT), synchronous={synchronous}",
                         per_request(raw_insert(database, synchronous), args.requests)))
    print("| in process | CPU ms per request | ceiling ÷ this |")
    print("|---|---:|---:|")
    for name, milliseconds in rows:
        print(f"| {name} | {milliseconds:.3f} | {ceiling / milliseconds:.2f} |")


if __name__ == "__main__":
    main()
