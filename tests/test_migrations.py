"""The Alembic revisions build the schema on an empty database and agree with the models."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from app.extensions import db
from app.models import ScreeningDailyCount
from tests.clinician_support import counts_from_results, counts_in_table
from tests.results_helpers import row_for, store_pcl5


@pytest.fixture
def empty_app(tmp_path, monkeypatch):
    """An app on an empty database: a fresh SQLite file, or the PostgreSQL test database wiped.

    No app context stays pushed, as with the `app` fixture: a test opens one around its migrations and
    checks, and its requests and commands get their own.
    """
    import os

    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'empty.sqlite'}"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        wipe(db.engine)
    try:
        yield app
    finally:
        with app.app_context():
            wipe(db.engine)
            db.engine.dispose()


def wipe(engine) -> None:
    """Drop every table, including Alembic's own version table."""
    metadata = sa.MetaData()
    metadata.reflect(bind=engine)
    metadata.drop_all(bind=engine)


def test_upgrade_builds_the_models_schema_and_check_finds_no_drift(empty_app):
    with empty_app.app_context():
        upgrade()
        inspector = sa.inspect(db.engine)
        assert set(db.metadata.tables) <= set(inspector.get_table_names())
    result = empty_app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_check_would_fail_on_drift(empty_app):
    with empty_app.app_context():
        upgrade()
    drift = sa.Table("drift_probe", db.metadata, sa.Column("id", sa.Integer, primary_key=True))
    try:
        result = empty_app.test_cli_runner().invoke(args=["db", "check"])
    finally:
        db.metadata.remove(drift)
    assert result.exit_code != 0


def test_upgrade_then_downgrade_to_base_leaves_no_tables(empty_app):
    with empty_app.app_context():
        upgrade()
        downgrade(revision="base")
        remaining = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert remaining == set()


def test_stored_screening_round_trips_on_the_migrated_schema(empty_app):
    with empty_app.app_context():
        upgrade()
    client = empty_app.test_client()
    response = client.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": [4] * 20, "store": True})
    assert response.status_code == 201
    assert client.get(response.headers["Location"]).status_code == 200


def triggers(engine) -> dict[str, str]:
    """Every trigger on the database, with its definition (and on PostgreSQL its function's)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
        else:
            rows = connection.execute(sa.text(
                "SELECT t.tgname || ' ' || p.proname, pg_get_triggerdef(t.oid) || ' ' || pg_get_functiondef(p.oid)"
                " FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal"))
        return dict(rows.all())


def test_migrated_and_created_databases_have_the_same_triggers(empty_app):
    with empty_app.app_context():
        upgrade()
        migrated = triggers(db.engine)
        assert len(migrated) == 6
        assert sorted(name.split()[0].rsplit("_", 1)[0] for name in migrated) == [
            *["screening_daily_counts"] * 3, *["screening_series"] * 3]
        downgrade(revision="0c655936f98c")
        assert triggers(db.engine) == {}
        downgrade(revision="base")
        db.create_all()
        try:
            assert triggers(db.engine) == migrated
        finally:
            db.session.remove()
            db.drop_all()
        assert triggers(db.engine) == {}
        if db.engine.dialect.name == "postgresql":  # drop_all removes the functions too
            with db.engine.connect() as connection:
                assert connection.scalar(sa.text(
                    "SELECT count(*) FROM pg_proc WHERE proname LIKE 'screening_daily_counts%'"
                    " OR proname LIKE 'screening_series%'")) == 0


def seed_old_schema(count: int) -> None:
    """Demo results written as that revision's app wrote them: only the columns its table has, and only
    the instruments it knew (the ITQ came later)."""
    import random

    from app.clinician.demo import demo_row
    from app.models import utcnow

    table = sa.Table("screenings", sa.MetaData(), autoload_with=db.engine)
    rng, now = random.Random(5), utcnow()
    mix = (("pcl5", 0.6), ("pcptsd5", 0.4))
    rows = [demo_row(rng, now, {"pcl5": 33, "pcptsd5": 3}, mix) for _row in range(count)]
    db.session.execute(sa.insert(table), [{k: v for k, v in row.items() if k in table.c} for row in rows])
    db.session.commit()


def test_the_migration_counts_the_results_already_stored(empty_app):
    with empty_app.app_context():
        upgrade(revision="0c655936f98c")
        seed_old_schema(300)
        upgrade()
        assert len(counts_from_results()) > 100 and counts_in_table() == counts_from_results()
    client = empty_app.test_client()  # and the migrated triggers carry on from there
    assert client.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": [4] * 20, "store": True}
                       ).status_code == 201
    with empty_app.app_context():
        assert counts_in_table() == counts_from_results()
        assert db.session.scalar(sa.select(sa.func.sum(ScreeningDailyCount.results))) == 301


def test_the_triage_share_is_filled_in_for_the_results_already_stored(empty_app):
    with empty_app.app_context():
        upgrade(revision="5a9adbbf2ffc")
        seed_old_schema(200)
        upgrade()
        rows = db.session.execute(sa.text("SELECT instrument, total, share FROM screenings")).all()
        maxima = {"pcl5": 80, "pcptsd5": 5}
        assert len(rows) == 200 and {instrument for instrument, _t, _s in rows} == {"pcl5", "pcptsd5"}
        assert all(share == pytest.approx(total / maxima[instrument]) for instrument, total, share in rows)
        assert counts_in_table() == counts_from_results()  # the added column left the rollup's triggers alone


def test_running_migrations_leaves_sqlite_foreign_keys_enforced(empty_app):
    """env.py suspends enforcement for batch rebuilds; the pooled connection must get it back."""
    with empty_app.app_context():
        upgrade()
    client = empty_app.test_client()
    first = store_pcl5(client, 50)
    second = store_pcl5(client, 40, previous=first)
    assert client.delete(f"/api/v1/screenings/{first}").status_code == 204
    with empty_app.app_context():
        assert row_for(second).previous_id is None


def test_triage_references_series_and_notes_are_filled_in_for_the_results_already_stored(empty_app):
    """The safety items come from each stored result's answers (by the instruments' own definitions);
    each result gets its own reference; a series' earlier results leave the queue; audit targets and
    review notes carry over without the person's code."""
    from app.screening import case_references
    from app.screening.instruments import INSTRUMENTS
    from app.screening.triage import triage_of

    with empty_app.app_context():
        upgrade(revision="c3e1a7d42b90")
        seed_old_schema(150)
        table = sa.Table("screenings", sa.MetaData(), autoload_with=db.engine)
        first, second = db.session.execute(sa.select(table.c.id, table.c.code).order_by(table.c.id).limit(2)).all()
        db.session.execute(sa.update(table).where(table.c.id == second.id).values(previous_id=first.id))
        db.session.execute(sa.update(table).where(table.c.id == first.id).values(review_note="Called back."))
        db.session.execute(sa.text("INSERT INTO audit_events (at, action, target) VALUES (:at, 'view_result', :t)"),
                           {"at": "2026-01-01 00:00:00", "t": f"{first.code[:4]}-{first.code[4:8]}-{first.code[8:]}"})
        db.session.commit()
        upgrade()
        rows = db.session.execute(sa.text(
            "SELECT id, instrument, answers, total, at_or_above_cutoff, safety_items, triage_tier, severity,"
            " case_reference, latest_in_series, series_start_id FROM screenings ORDER BY id")).all()
        flagged = 0
        for row in rows:
            answers = row.answers if isinstance(row.answers, list) else __import__("json").loads(row.answers)
            expected = triage_of(INSTRUMENTS[row.instrument], answers, row.total, bool(row.at_or_above_cutoff))
            assert (row.triage_tier, row.safety_items) == (expected.tier, expected.safety_text)
            assert row.severity == pytest.approx(expected.severity)
            flagged += row.safety_items is not None
        assert 0 < flagged < len(rows)  # the demo mix has some item 16 at Moderately or more, not all
        assert len({row.case_reference for row in rows}) == len(rows)
        assert all(case_references.normalise(row.case_reference) == row.case_reference for row in rows)
        by_id = {row.id: row for row in rows}
        assert not by_id[first.id].latest_in_series and by_id[second.id].latest_in_series
        assert by_id[second.id].series_start_id == first.id
        assert db.session.scalar(sa.text("SELECT target FROM audit_events")) == \
            case_references.display(by_id[first.id].case_reference)
        assert db.session.execute(sa.text("SELECT text FROM result_notes")).scalars().all() == ["Called back."]
        assert counts_in_table() == counts_from_results()  # the rebuilt table kept the rollup's triggers


def test_itq_complex_ptsd_results_already_stored_rank_above_the_rest_of_their_tier(empty_app):
    """The revision that ranks complex PTSD first recomputes each stored ITQ result's severity as the
    app now stores it, leaves the other instruments' alone, and its downgrade gives back the share."""
    from app.screening.instruments import INSTRUMENTS
    from app.screening.triage import triage_of

    before = "i25a7c3e9d01f"
    with empty_app.app_context():
        upgrade()  # the app of today stores them; the downgrade below gives the rows as they were before
    client = empty_app.test_client()
    answers = {"cptsd": [2, 0] * 3 + [2, 0, 0] + [2, 0] * 3 + [2, 0, 0], "ptsd": [4] * 15 + [0] * 3,
               "none": [1] * 18}
    for instrument, given in [("itq", value) for value in answers.values()] + [("pcl5", [3] * 20)]:
        response = client.post("/api/v1/screenings", json={"instrument": instrument, "answers": given, "store": True})
        assert response.status_code == 201

    def select(pattern_column: str):
        return sa.text(f"SELECT instrument, answers, total, at_or_above_cutoff, {pattern_column} AS pattern,"
                       " severity FROM screenings ORDER BY id")

    with empty_app.app_context():
        downgrade(revision=before)
        # As stored before the revision: the ITQ's severity was its share of PTSD and self-organisation items.
        assert db.session.scalar(sa.text("SELECT severity FROM screenings WHERE diagnosis = 'cptsd'")) == \
            pytest.approx(0.25)
        db.session.rollback()  # no transaction left open for the upgrade's ALTER TABLE to wait on
        upgrade()
        rows = db.session.execute(select("icd11_pattern")).all()
        for row in rows:
            given = row.answers if isinstance(row.answers, list) else __import__("json").loads(row.answers)
            expected = triage_of(INSTRUMENTS[row.instrument], given, row.total, bool(row.at_or_above_cutoff))
            assert row.severity == pytest.approx(expected.severity)
        by_pattern = {row.pattern or row.instrument: row.severity for row in rows}
        assert by_pattern["cptsd"] == pytest.approx(2.25) and by_pattern["ptsd"] == pytest.approx(1.0)
        assert by_pattern["cptsd"] > by_pattern["ptsd"] > by_pattern["pcl5"] > by_pattern["none"]
        db.session.rollback()
        downgrade(revision=before)
        shares = {row.pattern or row.instrument: row.severity for row in db.session.execute(select("diagnosis"))}
        assert shares == pytest.approx({"cptsd": 0.25, "ptsd": 1.0, "none": 0.25, "pcl5": 0.75})
