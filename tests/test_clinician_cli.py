"""Commands: clinician accounts, purge by retention period, demo data; and the stated retention period."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import create_app
from app.auth.passwords import verify_password
from app.extensions import db as _db
from app.models import AuditEvent, Clinician, Screening, utcnow
from app.screening import codes
from app.screening.service import result_of
from app.screening.triage import SAFETY
from tests.clinician_support import PASSWORD, WORKSPACE_FIXTURES, sign_in, store
from tests.conftest import in_app_context, stored_count

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)


@in_app_context
def accounts() -> list[Clinician]:
    return list(_db.session.scalars(sa.select(Clinician).order_by(Clinician.email)))


@pytest.mark.parametrize("args, stdin, role", [
    (["doc@example.org"], f"{PASSWORD}\n{PASSWORD}\n", "clinician"),
    (["doc@example.org"], f"{PASSWORD}\n", "clinician"),
    (["Doc@Example.org", "--admin"], f"{PASSWORD}\n{PASSWORD}\n", "admin"),
], ids=["twice", "once", "admin"])
def test_create_reads_the_password_from_a_pipe(runner, client, args, stdin, role):
    result = runner.invoke(args=["clinician", "create", *args], input=stdin)
    assert result.exit_code == 0, result.output
    [account] = accounts()
    assert (account.email, account.role, account.active) == ("doc@example.org", role, True)
    assert PASSWORD not in account.password_hash and account.password_hash.startswith("$argon2id$")
    assert verify_password(account.password_hash, PASSWORD)
    assert sign_in(client).status_code == 303


@pytest.mark.parametrize("args, stdin, message", [
    (["doc@example.org"], "eleven-char\neleven-char\n", "at least 12 characters"),
    (["doc@example.org"], f"{PASSWORD}\n{PASSWORD}x\n", "differ"),
    (["doc@example.org"], "", "No password"),
    (["not-an-email"], f"{PASSWORD}\n", "is not an email address"),
    (["doc@example"], f"{PASSWORD}\n", "is not an email address"),
], ids=["short", "mismatch", "empty", "no-at", "no-domain"])
def test_create_refuses_bad_input_and_stores_nothing(runner, args, stdin, message):
    result = runner.invoke(args=["clinician", "create", *args], input=stdin)
    assert result.exit_code != 0 and message in result.output
    assert accounts() == []


def test_create_refuses_an_existing_email_in_any_case(runner, make_clinician):
    make_clinician()
    result = runner.invoke(args=["clinician", "create", "DOC@example.org"], input=f"{PASSWORD}\n")
    assert result.exit_code != 0 and "exists already" in result.output and len(accounts()) == 1


def test_list_and_deactivate(runner, client, make_clinician):
    make_clinician()
    make_clinician("boss@example.org", "admin")
    listing = runner.invoke(args=["clinician", "list"]).output.splitlines()
    assert [line.split("\t")[:3] for line in listing] == [["boss@example.org", "admin", "active"],
                                                         ["doc@example.org", "clinician", "active"]]
    assert runner.invoke(args=["clinician", "deactivate", "Doc@example.org"]).exit_code == 0
    assert "doc@example.org\tclinician\tdeactivated" in runner.invoke(args=["clinician", "list"]).output
    assert sign_in(client).status_code == 400
    missing = runner.invoke(args=["clinician", "deactivate", "nobody@example.org"])
    assert missing.exit_code != 0 and "No account" in missing.output


def test_list_with_no_accounts(runner):
    assert "No clinician accounts yet." in runner.invoke(args=["clinician", "list"]).output


def test_purge_deletes_results_older_than_the_retention_period(app, runner):
    app.config["RETENTION_DAYS"] = 365  # the default (clinician_support lengthens it for fixed-date tests)
    now = utcnow()
    old, middle, recent = (store(taken_at=now - timedelta(days=days)) for days in (400, 200, 10))
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0 and "Deleted 1 results older than 365 days." in result.output
    with app.app_context():
        assert set(_db.session.scalars(sa.select(Screening.code))) == {middle.code, recent.code}
    assert runner.invoke(args=["purge", "--older-than", "30"]).exit_code == 0
    with app.app_context():
        assert list(_db.session.scalars(sa.select(Screening.code))) == [recent.code]
        details = list(_db.session.scalars(sa.select(AuditEvent.detail).where(AuditEvent.action == "purge")
                                           .order_by(AuditEvent.id)))
    assert details[0].startswith("1 results taken before") and details[1].endswith("(30 days)")
    app.config["RETENTION_DAYS"] = 5
    assert "older than 5 days" in runner.invoke(args=["purge"]).output and stored_count() == 0


@pytest.mark.parametrize("days", ["0", "-3", "soon"])
def test_purge_refuses_a_meaningless_age(runner, days):
    store()
    assert runner.invoke(args=["purge", "--older-than", days]).exit_code != 0
    assert stored_count() == 1


def test_seed_demo_adds_plausible_results_scored_by_the_scoring_core(app, runner):
    result = runner.invoke(args=["seed-demo", "--count", "600", "--seed", "3"])
    assert result.exit_code == 0 and "Added 600 demo results." in result.output
    with app.app_context():
        rows = list(_db.session.scalars(sa.select(Screening)))
    assert len(rows) == 600 and len({row.code for row in rows}) == 600
    assert all(codes.normalise(row.code) == row.code for row in rows)
    now = utcnow()
    assert all(now - timedelta(days=366) < row.taken_at <= now for row in rows)
    instruments = {row.instrument for row in rows}
    assert instruments == {"pcl5", "pcptsd5", "itq", "phq9"}
    for row in rows:
        rescored = result_of(row)
        assert (rescored.total, rescored.at_or_above_cutoff, rescored.dsm5_rule_met, rescored.icd11_pattern) == \
            (row.total, row.at_or_above_cutoff, row.dsm5_rule_met, row.icd11_pattern)
        assert dict(rescored.clusters) == {"reexperiencing": row.reexperiencing, "avoidance": row.avoidance,
                                           "arousal": row.arousal}
        assert row.reviewed is (row.reviewed_at is not None)
    itq_rows = [row for row in rows if row.instrument == "itq"]
    assert all(dict(result_of(row).dso_clusters) == {"affective_dysregulation": row.affective_dysregulation,
               "negative_self_concept": row.negative_self_concept,
               "disturbed_relationships": row.disturbed_relationships} for row in itq_rows)
    # Every pattern a clinic meets in its queue: no disturbance, PTSD, complex PTSD.
    assert {row.icd11_pattern for row in itq_rows} == {"none", "ptsd", "cptsd"}
    assert all(row.event_when is not None for row in itq_rows)
    # PHQ-9 rows, a few with item 9 above "Not at all": the safety flag and its triage tier show in a demo.
    phq9_rows = [row for row in rows if row.instrument == "phq9"]
    flagged = [row for row in phq9_rows if row.answers[8] >= 1]
    assert 0 < len(flagged) < len(phq9_rows) / 2
    assert all(row.safety_items == "9" and row.triage_tier == SAFETY for row in flagged)
    assert all(row.safety_items is None for row in phq9_rows if row.answers[8] == 0)
    pcl5_totals = [row.total for row in rows if row.instrument == "pcl5"]
    assert min(pcl5_totals) < 20 and max(pcl5_totals) > 50  # spread across the range, not one value
    share = sum(row.at_or_above_cutoff for row in rows) / len(rows)
    assert 0.1 < share < 0.7


def test_seed_demo_refuses_production(monkeypatch):
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    app = create_app("production", {"SECRET_KEY": "k" * 64, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    result = app.test_cli_runner().invoke(args=["seed-demo", "--count", "5"])  # the command pushes its app's context
    assert result.exit_code != 0 and "refuses to run in production" in result.output


@pytest.mark.parametrize("days", [365, 90])
def test_home_page_states_the_retention_period(app, client, days):
    app.config["RETENTION_DAYS"] = days
    assert f"for {days} days" in client.get("/").get_data(as_text=True)
