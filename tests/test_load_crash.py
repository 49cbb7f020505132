"""A small run of bench/load_and_crash.py: gunicorn under load, then kill -9, and nothing acknowledged lost."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.conftest import using_postgres

BENCH = Path(__file__).resolve().parents[1] / "bench" / "load_and_crash.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("load_and_crash", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_every_acknowledged_screening_survives_load_and_a_kill_9(capsys):
    database = "postgresql" if using_postgres() else "sqlite"
    summary = load_bench().main(["--database", database, "--seconds", "2", "--clients", "8", "--workers", "2",
                                 "--threads", "4", "--crashes", "1", "--crash-seconds", "1.5"])
    load = summary["load"]
    assert load["acknowledged"] > 0 and load["found"] == load["acknowledged"]
    assert load["integrity"] == "ok"
    assert set(load["statuses"]) == {"201"}  # no 5xx, no refusals while the server is up
    crash = summary["crashes"][0]
    assert crash["acknowledged_total"] > load["acknowledged"]
    assert crash["found"] == crash["acknowledged_total"] and crash["integrity"] == "ok"
    assert crash["readable_after_restart"] and summary["crash_runs_survived"] == 1
    assert summary["log_lines_with_codes_or_addresses"] == 0
    assert summary["ok"]
    with capsys.disabled():
        print(f"\nload and crash ({database}): {load['rps']} req/s, p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms, "
              f"{crash['acknowledged_total']} acknowledged, {crash['found']} found after kill -9")


def test_sqlite_connections_use_wal_full_sync_and_a_busy_timeout(tmp_path):
    """What makes an acknowledged SQLite commit durable and concurrent writers patient."""
    from app import create_app
    from app.extensions import db

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'wal.sqlite'}"})
    with app.app_context():
        with db.engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == 2  # FULL
            assert pragma("busy_timeout") == 5000
            assert pragma("foreign_keys") == 1
        db.engine.dispose()
