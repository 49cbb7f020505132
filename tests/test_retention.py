"""Retention keeps itself: an expired result is gone for the person at once, and deleted automatically."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import retention
from app.extensions import db
from app.models import AuditEvent, Screening, utcnow
from app.screening import codes
from tests.apps import app_with_tables
from tests.conftest import in_app_context
from tests.results_helpers import pcl5_answers, store_pcl5

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1/screenings"


@in_app_context
def age(code: str, days: float) -> None:
    """Write the result's date straight into the database, as if it were stored `days` ago."""
    db.session.execute(sa.update(Screening).where(Screening.code == codes.normalise(code))
                       .values(taken_at=utcnow() - timedelta(days=days)))
    db.session.commit()


@in_app_context
def stored_codes() -> set[str]:
    db.session.expire_all()
    return {codes.display(code) for code in db.session.scalars(sa.select(Screening.code))}


def test_an_expired_result_is_gone_for_the_person_before_any_purge(client, db):
    expired, kept = store_pcl5(client, 40), store_pcl5(client, 20)
    age(expired, 366)
    age(kept, 364)
    for path in ("/results/{}", "/results/{}.fhir.json", "/results/{}/delete"):
        assert client.get(path.format(expired)).status_code == 404
        assert client.get(path.format(kept)).status_code == 200
    assert client.delete(f"{API}/{expired}").status_code == 404
    # Not comparable: neither through the API nor the form's "earlier code" field.
    response = client.post(API, json={"instrument": "pcl5", "answers": pcl5_answers(30), "previous": expired})
    assert response.status_code == 400
    assert "could not find" in str(response.get_json())
    assert client.post(API, json={"instrument": "pcl5", "answers": pcl5_answers(30),
                                  "previous": kept}).status_code == 200
    page = client.get(f"/screen/pcl5?previous={expired}")
    assert "could not find" in page.get_data(as_text=True)
    assert stored_codes() == {expired, kept}  # nothing deleted yet: hidden by age at read time


def test_a_retake_no_longer_shows_an_expired_earlier_result(client, db):
    earlier = store_pcl5(client, 50)
    later = store_pcl5(client, 20, previous=earlier)
    assert "Change since your earlier result" in client.get(f"/results/{later}").get_data(as_text=True)
    age(earlier, 400)
    age(later, 10)
    after = client.get(f"/results/{later}")
    assert after.status_code == 200
    assert "Change since your earlier result" not in after.get_data(as_text=True)
    assert 'action="/screen/pcl5/compare"' in after.get_data(as_text=True)  # still offers a retake of itself


def test_the_purge_command_deletes_in_batches_and_audits(app, client, db, runner, monkeypatch):
    monkeypatch.setattr(retention, "BATCH_SIZE", 3)
    monkeypatch.setattr(retention, "PAUSE_BETWEEN_BATCHES_SECONDS", 0)
    expired = [store_pcl5(client, n) for n in range(7)]
    kept = store_pcl5(client, 40)
    for code in expired:
        age(code, 365.01)
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "Deleted 7 results" in result.output
    assert stored_codes() == {kept}
    with app.app_context():
        detail = db.session.scalar(sa.select(AuditEvent.detail).where(AuditEvent.action == "purge"))
    assert detail.startswith("7 results taken before") and detail.endswith("(365 days)")


def test_the_shipped_timer_runs_the_purge_command():
    service = (ROOT / "deploy" / "ptsd-screening-purge.service").read_text()
    timer = (ROOT / "deploy" / "ptsd-screening-purge.timer").read_text()
    assert re.search(r"^ExecStart=\S*flask --app wsgi purge$", service, re.MULTILINE)
    assert re.search(r"^OnCalendar=", timer, re.MULTILINE) and "Persistent=true" in timer
    assert "Unit=ptsd-screening-purge.service" in timer


@pytest.mark.parametrize("minutes", [60])
def test_the_server_purges_in_the_background_at_most_once_an_interval(tmp_path, minutes):
    with app_with_tables("testing", tmp_path, RETENTION_PURGE_EVERY_MINUTES=minutes) as app:
        client = app.test_client()
        expired, kept = store_pcl5(client, 40), store_pcl5(client, 10)  # the first request starts a purge
        purge = app.extensions["retention_purge"]
        purge.thread.join(10)
        first_thread = purge.thread
        with app.app_context():  # this app is not the `app` fixture's: the helpers run in its context
            age(expired, 366)
        assert client.get(f"/results/{kept}").status_code == 200
        assert purge.thread is first_thread  # within the hour: no second run
        with app.app_context():
            assert stored_codes() == {expired, kept}
        purge.next_run = 0  # an hour later
        assert client.get("/").status_code == 200
        assert purge.thread is not first_thread
        purge.thread.join(10)
        with app.app_context():
            assert stored_codes() == {kept}
            details = list(db.session.scalars(sa.select(AuditEvent.detail).where(AuditEvent.action == "purge")))
        # The empty first run wrote nothing; the one that deleted says so, and that it ran by itself.
        assert len(details) == 1
        assert details[0].startswith("1 results taken before")
        assert details[0].endswith("deleted automatically by the server")


def test_a_failing_background_purge_reaches_no_one(tmp_path, monkeypatch, caplog):
    def broken(**_kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(retention, "purge_expired", broken)
    with app_with_tables("testing", tmp_path, RETENTION_PURGE_EVERY_MINUTES=60) as app:
        response = app.test_client().get("/")
        app.extensions["retention_purge"].thread.join(10)
        assert response.status_code == 200
    assert "automatic retention purge failed" in caplog.text
