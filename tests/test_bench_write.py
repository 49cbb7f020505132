"""bench/: the durable ceiling writes a row as wide as a stored result, durably; `--parts write` reports
its targets (wanted / measured / met) by itself."""
from __future__ import annotations

import importlib.util
import sqlite3
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_durable_ceiling_stores_one_row_per_post_as_wide_as_a_result(tmp_path, monkeypatch):
    from app.models import Screening

    monkeypatch.setenv("DURABLE_DATABASE", str(tmp_path / "durable.sqlite"))
    durable = load("durable")
    client = durable.app.test_client()
    codes = {client.post("/", json={"ignored": True}).get_json()["code"] for _ in range(3)}
    assert len(codes) == 3
    connection = sqlite3.connect(tmp_path / "durable.sqlite")
    assert connection.execute("SELECT count(*) FROM results").fetchone()[0] == 3
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    columns = [row[1] for row in connection.execute("PRAGMA table_info(results)")]
    assert sorted(columns) == sorted(column.name for column in Screening.__table__.columns)  # the same 41
    durable_connection = durable.connection()
    assert durable_connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    connection.close()


def test_the_write_part_reports_each_target_wanted_measured_and_met():
    run = load("run")

    def measured(name, ratio, p99s=(100.0,)):
        rounds = [run.Measurement(name, 100, 5, p99) for p99 in p99s]
        return run.Measurement(name, 100, 5, p99s[0], ratio=ratio, rounds=rounds, ceiling_rps=400)

    results = [
        run.Measurement("ceiling: bare Flask hello world", 4000, 1, 5, ratio=1.0),
        measured("POST /screen/pcl5 (form, not stored: the result page)", 0.21),
        measured("GET /screen/pcl5 (8 connections)", 0.55),
        measured("GET /screen/pcl5 (16 connections)", 0.45),
        measured("POST /api/v1/screenings (store=true, 16 connections)", 0.52, (120.0, 300.0, 200.0)),
        measured("POST /screen/pcl5 (form, stored, 16 connections)", 0.2, (400.0,)),
        measured(run.TABLE_BOUND_NAME, 0.55),
    ]
    lines = run.write_targets(results)
    table = "\n".join(lines)
    assert "the result page)` | ≥ 0.2× hello world | 0.21× | met |" in table
    assert "`GET /screen/pcl5 (16 connections)` | ≥ 0.5× hello world | 0.45× | **missed** |" in table
    assert "`POST /api/v1/screenings (store=true, 16 connections)` | ≥ 0.5× durable ceiling | 0.52× | met |" in table
    assert "p99 of `POST /api/v1/screenings (store=true, 16 connections)` on SQLite | < 250 ms | 200 ms" in table
    assert "p99 of `POST /screen/pcl5 (form, stored, 16 connections)` on SQLite | < 250 ms | 400 ms" in table
    bound = f"what the app's table alone allows: `{run.TABLE_BOUND_NAME}` | — | 0.55× durable ceiling | a bound |"
    assert bound in table
    report = run.report([], {}, [], [], {}, "python bench/run.py --parts write", results)
    assert report.index("## Targets of the write path") < report.index("## The write path, side by side")


def test_the_stored_form_sends_a_fresh_one_time_value_per_request():
    run = load("run")
    script = run.lua_form_stored()
    assert "store=yes" in script and "function request()" in script and "&submission=" in script
    assert run.lua_form_stored() != script  # a new run prefix: a value from an earlier round never repeats


def test_a_ratio_just_under_its_target_is_not_shown_as_the_target():
    run = load("run")
    assert run._times(0.4996, 0.5) == "0.499×" and run._times(0.5004, 0.5) == "0.500×"
    assert run._times(0.4949, 0.5) == "0.49×"
    assert run._times(0.52, 0.5) == "0.52×"


def test_the_durable_ceiling_can_write_its_row_into_the_apps_own_table(tmp_path, monkeypatch):
    """DURABLE_TABLE=screenings: the same bare app and row, into a database migrated like the app's, so its
    indexes and triggers do their work (the daily counts gain the row) and nothing of the app's code runs."""
    from app.extensions import db
    from tests.conftest import app_with_empty_tables

    database = tmp_path / "app.sqlite"
    app = app_with_empty_tables(settings={"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
    with app.app_context():
        db.engine.dispose()
    monkeypatch.setenv("DURABLE_DATABASE", str(database))
    monkeypatch.setenv("DURABLE_TABLE", "screenings")
    durable = load("durable")
    client = durable.app.test_client()
    assert all(client.post("/").status_code == 201 for _ in range(3))
    connection = sqlite3.connect(database)
    assert connection.execute("SELECT count(*) FROM screenings").fetchone()[0] == 3
    assert connection.execute("SELECT sum(results) FROM screening_daily_counts").fetchone()[0] == 3
    assert connection.execute("SELECT count(*) FROM sqlite_master WHERE name = 'results'").fetchone()[0] == 0
    connection.close()
