"""Races: two clinics adding one code at once (one is told "not found"), and two admins acting on each
other at once (never a 5xx)."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app import audit
from app.auth import passwords
from app.clinician import views as clinician_views
from app.extensions import db as _db
from app.models import ROLE_ADMIN, AuditEvent, Clinician, Screening
from app.screening import codes
from tests.apps import app_with_tables
from tests.clinician_support import PASSWORD, WORKSPACE_FIXTURES, clinic_named, csrf, sign_in, store
from tests.conftest import in_app_context

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)


def claims() -> list[tuple]:
    return [tuple(row) for row in _db.session.execute(
        sa.select(AuditEvent.clinician_id, AuditEvent.detail).where(AuditEvent.action == audit.ADDED_BY_CODE))]


def test_the_second_of_two_clinics_adding_a_code_at_once_is_told_not_found(app, signed_in, clinician,
                                                                          monkeypatch):
    row = store(clinic=None)
    other_clinic = in_app_context(lambda: clinic_named("Other Clinic").id)()
    real_find = clinician_views.find_screening

    def found_just_before_the_other_clinic_adds_it(typed):
        found = real_find(typed)
        # The other clinic's request adds it between our look-up and our change: the row we hold
        # still says "no clinic".
        _db.session.execute(sa.update(Screening).where(Screening.id == found.id).values(clinic_id=other_clinic)
                            .execution_options(synchronize_session=False))
        return found

    monkeypatch.setattr(clinician_views, "find_screening", found_just_before_the_other_clinic_adds_it)
    response = signed_in.post("/clinician/", data={"code": codes.display(row.code),
                                                   "csrf_token": csrf(signed_in, "/clinician/")})
    assert response.status_code == 404
    assert "No result with this code was found" in response.get_data(as_text=True)
    assert in_app_context(claims)() == []  # nothing recorded as added for this clinic


def at_once(*requests) -> list[int]:
    """Run each request (a function returning a status) in its own thread, released together."""
    start = threading.Barrier(len(requests))
    statuses: list[int] = []

    def run(request):
        start.wait()
        statuses.append(request())

    threads = [threading.Thread(target=run, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


@pytest.fixture
def shared_app(tmp_path):
    """An app on a database file (or PostgreSQL) that concurrent requests reach on their own connections."""
    with app_with_tables("testing", tmp_path) as app:
        yield app


def account(app, email, role="clinician", clinic=None) -> int:
    with app.app_context():
        row = Clinician(email=email, password_hash=passwords.hash_password(PASSWORD), role=role)
        if clinic:
            row.clinics = [clinic_named(clinic)]
        _db.session.add(row)
        _db.session.commit()
        return row.id


def signed_in_as(app, email):
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def test_two_clinics_adding_one_code_really_at_once(shared_app):
    """Real concurrent requests: exactly one clinic gets the result, the other the same "not found"."""
    app = shared_app
    with app.app_context():
        code = store(clinic=None).code
    for email, clinic in (("a@example.org", "Clinic A"), ("b@example.org", "Clinic B")):
        account(app, email, clinic=clinic)
    requests = []
    for email in ("a@example.org", "b@example.org"):
        client = signed_in_as(app, email)
        token = csrf(client, "/clinician/")
        requests.append(lambda client=client, token=token: client.post(
            "/clinician/", data={"code": codes.display(code), "csrf_token": token}).status_code)
    statuses = at_once(*requests)
    assert sorted(statuses) in ([303, 404], [303, 503])  # SQLite may time out the loser's write: never a 500
    with app.app_context():
        assert len(claims()) == 1


def test_two_admins_demoting_each_other_at_once_never_get_a_5xx(shared_app):
    app = shared_app
    first, second = account(app, "first@example.org", ROLE_ADMIN), account(app, "second@example.org", ROLE_ADMIN)
    for _round in range(3):
        requests = []
        for email, target in (("first@example.org", second), ("second@example.org", first)):
            client = signed_in_as(app, email)
            token = csrf(client, f"/clinician/accounts/{target}")
            requests.append(lambda client=client, target=target, token=token: client.post(
                f"/clinician/accounts/{target}/role", data={"role": "clinician", "csrf_token": token}).status_code)
        statuses = at_once(*requests)
        assert len(statuses) == 2 and not any(status >= 500 for status in statuses), statuses
        assert 303 in statuses  # one of them did it
        with app.app_context():
            admins = _db.session.scalar(sa.select(sa.func.count(Clinician.id)).where(
                Clinician.role == ROLE_ADMIN, Clinician.active.is_(True)))
            assert admins == 1  # never both demoted: someone can still manage accounts
            _db.session.execute(sa.update(Clinician).values(role=ROLE_ADMIN))
            _db.session.commit()
