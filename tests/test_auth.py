"""Clinician sign-in and sign-out: one message for every failure, idle timeout, deactivation, cookies."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from app.auth import passwords
from app.auth.views import LAST_SEEN
from app.extensions import db as _db
from app.models import AuditEvent, Clinician
from tests.clinician_support import PASSWORD, WORKSPACE_FIXTURES, csrf, sign_in
from tests.conftest import app_with_empty_tables, drop_tables, in_app_context, reloaded

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)

FAILURE_MESSAGE = "The email or password is not right, or the account is not active."


@in_app_context
def events(action=None) -> list[AuditEvent]:
    statement = sa.select(AuditEvent).order_by(AuditEvent.id)
    if action:
        statement = statement.where(AuditEvent.action == action)
    return list(_db.session.scalars(statement))


def test_sign_in_redirects_to_the_queue_and_is_audited(client, clinician):
    response = sign_in(client)
    assert response.status_code == 303 and response.headers["Location"] == "/clinician/"
    assert client.get("/clinician/").status_code == 200
    [event] = events("sign_in")
    assert event.clinician_id == clinician.id and event.at is not None


def test_email_is_matched_without_case_or_surrounding_spaces(client, clinician):
    assert sign_in(client, "  Doc@Example.ORG ").status_code == 303


@pytest.mark.parametrize("email, password, known", [
    ("nobody@example.org", PASSWORD, False),
    ("doc@example.org", "wrong password, long enough", True),
    ("doc@example.org", PASSWORD.upper(), True),
], ids=["unknown-email", "wrong-password", "password-case"])
def test_every_failure_gives_the_same_answer_and_keeps_no_typed_text(client, clinician, email, password, known):
    response = sign_in(client, email, password)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert FAILURE_MESSAGE in body and password not in body
    assert client.get("/clinician/").status_code == 302
    [event] = events()
    assert event.action == "sign_in_failed"
    assert event.clinician_id == (clinician.id if known else None)
    assert (event.target, event.detail) == (None, None)  # neither the typed email nor the password


def test_a_deactivated_account_gets_the_same_message(client, make_clinician):
    make_clinician(active=False)
    response = sign_in(client)
    assert response.status_code == 400 and FAILURE_MESSAGE in response.get_data(as_text=True)
    assert client.get("/clinician/").status_code == 302


def test_an_unknown_email_still_costs_a_password_check(client, clinician, monkeypatch):
    calls = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash, password):
            calls.append(hash)
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "hasher", CountingHasher(time_cost=1, memory_cost=8, parallelism=1))
    sign_in(client, "nobody@example.org")
    sign_in(client, "doc@example.org", "wrong password, long enough")
    assert len(calls) == 2  # one hash verification on both paths, so timing does not tell them apart


@pytest.mark.parametrize("data", [
    {"email": "", "password": PASSWORD},
    {"email": "doc@example.org", "password": ""},
    {"email": "doc@example.org"},
    {"email": "d" * 250 + "@x.org", "password": PASSWORD},
    {"email": "doc@example.org", "password": "x" * 1025},
], ids=["no-email", "empty-password", "no-password", "email-too-long", "password-too-long"])
def test_incomplete_forms_are_refused_and_record_nothing(client, clinician, data):
    response = client.post("/clinician/login", data={**data, "csrf_token": csrf(client)})
    assert response.status_code == 400
    assert events() == []
    assert client.get("/clinician/").status_code == 302


def test_sign_in_without_the_csrf_token_is_refused(client, clinician):
    response = client.post("/clinician/login", data={"email": "doc@example.org", "password": PASSWORD})
    assert response.status_code == 400 and events() == []


@pytest.mark.parametrize("next_url, expected", [
    ("/clinician/stats", "/clinician/stats"),
    ("https://evil.example/", "/clinician/"),
    ("//evil.example/clinician/", "/clinician/"),
    ("/clinician/\\evil.example", "/clinician/"),
    ("/results/X", "/clinician/"),
])
def test_only_workspace_paths_are_followed_after_sign_in(client, clinician, next_url, expected):
    assert sign_in(client, next_url=next_url).headers["Location"] == expected


def test_the_login_page_redirects_a_signed_in_clinician(signed_in):
    assert signed_in.get("/clinician/login").headers["Location"] == "/clinician/"


def test_sign_out_needs_a_post_and_ends_the_session(signed_in, clinician):
    assert signed_in.get("/clinician/logout").status_code == 405
    response = signed_in.post("/clinician/logout", data={"csrf_token": csrf(signed_in, "/clinician/")})
    assert response.status_code == 303 and response.headers["Location"] == "/clinician/login"
    assert signed_in.get("/clinician/").status_code == 302
    assert [event.clinician_id for event in events("sign_out")] == [clinician.id]


def test_sign_out_without_a_token_is_refused(signed_in):
    assert signed_in.post("/clinician/logout").status_code == 400
    assert signed_in.get("/clinician/").status_code == 200


@pytest.mark.parametrize("idle_minutes, still_signed_in", [(29, True), (31, False)])
def test_sessions_end_after_thirty_idle_minutes(signed_in, idle_minutes, still_signed_in):
    with signed_in.session_transaction("/clinician/") as session:  # the workspace keeps the session
        session[LAST_SEEN] = time.time() - idle_minutes * 60
    assert (signed_in.get("/clinician/").status_code == 200) is still_signed_in
    if still_signed_in:  # the request counted as activity
        with signed_in.session_transaction("/clinician/") as session:  # the workspace keeps the session
            assert time.time() - session[LAST_SEEN] < 5


def test_deactivation_ends_a_session_in_progress(app, signed_in, clinician):
    with app.app_context():
        _db.session.get(Clinician, clinician.id).active = False
        _db.session.commit()
    response = signed_in.get("/clinician/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/clinician/login")


def test_a_weaker_hash_is_upgraded_at_sign_in(client, clinician, monkeypatch):
    old_hash = clinician.password_hash
    monkeypatch.setattr(passwords, "hasher", PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    assert sign_in(client).status_code == 303
    clinician = reloaded(clinician)
    assert clinician.password_hash != old_hash and "t=2" in clinician.password_hash


def test_production_session_cookie_is_secure_httponly_and_lax(monkeypatch):
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    app = app_with_empty_tables("production", {"SECRET_KEY": "k" * 64, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    try:
        with app.app_context():
            _db.session.add(Clinician(email="doc@example.org", password_hash=passwords.hash_password(PASSWORD)))
            _db.session.commit()
        client = app.test_client()  # its requests get their own contexts, as in a server
        token = csrf(client)
        response = client.post("/clinician/login", data={"email": "doc@example.org", "password": PASSWORD,
                                                         "csrf_token": token})
        assert response.status_code == 303
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        drop_tables(app)


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_sign_out_also_ends_a_copy_of_the_session_cookie(app, signed_in, clinician):
    """A signed cookie cannot be revoked by itself: the account's session version moves on at sign-out,
    so a copy kept from before (another tab, another instance, a lifted cookie) is refused too."""
    copied = session_cookie(signed_in)
    version = clinician.session_version
    assert signed_in.post("/clinician/logout", data={"csrf_token": csrf(signed_in, "/clinician/")}).status_code == 303
    assert reloaded(clinician).session_version == version + 1
    replay = app.test_client()
    replay.set_cookie("session", copied)
    response = replay.get("/clinician/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/clinician/login")


def test_a_session_from_before_the_version_existed_ends_once(app, signed_in, clinician):
    from app.auth.views import SESSION_VERSION

    with signed_in.session_transaction("/clinician/") as session:  # the workspace keeps the session
        del session[SESSION_VERSION]
    assert signed_in.get("/clinician/").status_code == 302
    assert sign_in(signed_in).status_code == 303 and signed_in.get("/clinician/").status_code == 200


def test_cli_deactivation_ends_sessions_through_the_version(app, signed_in, clinician, runner):
    copied = session_cookie(signed_in)
    assert runner.invoke(args=["clinician", "deactivate", clinician.email]).exit_code == 0
    clinician = reloaded(clinician)
    assert clinician.session_version == 1 and not clinician.active
    replay = app.test_client()
    replay.set_cookie("session", copied)
    assert replay.get("/clinician/").status_code == 302
