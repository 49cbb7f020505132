"""Accounts: weak passwords refused, reset links that die when the password changes, and a session
cookie with nothing derived from the client's address or browser."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.sessions import SecureCookieSessionInterface

from app.auth import passwords
from app.extensions import db as _db
from app.models import AccountToken, Clinician
from tests.accounts_support import NEW_PASSWORD, link_from, path_of, set_password
from tests.clinician_support import PASSWORD, WORKSPACE_FIXTURES, csrf, sign_in

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)


@pytest.mark.parametrize(("password", "refused"), [
    ("aaaaaaaaaaaa", True),
    ("password1234", True),
    ("Password1234!", True),
    ("qwertyuiopasdf", True),
    ("iloveyou12345", True),
    ("123456789012", True),
    ("short", True),
    ("doc@example.org", True),  # the email
    ("DOC@example.org ", True),
    ("correct horse battery staple", False),
    ("a long enough passphrase 42", False),
    ("four unrelated words here", False),
])
def test_weak_common_and_personal_passwords_are_refused(app, password, refused):
    assert (passwords.password_problem(password, "doc@example.org") is not None) is refused


def reset_link(admin_client, clinician) -> str:
    page = admin_client.post(f"/clinician/accounts/{clinician.id}/reset",
                             data={"csrf_token": csrf(admin_client, "/clinician/accounts")})
    return path_of(link_from(page.get_data(as_text=True)))


def token_rows(app) -> int:
    with app.app_context():
        return _db.session.scalar(sa.select(sa.func.count(AccountToken.id)).where(AccountToken.used_at.is_(None)))


def test_the_reset_page_refuses_weak_passwords_and_the_current_one(app, client, admin_client, make_clinician):
    doctor = make_clinician()
    path = reset_link(admin_client, doctor)
    for weak in ("aaaaaaaaaaaa", "password1234", "doc@example.org", PASSWORD):
        response = set_password(client, path, weak)
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert ("too common" in page or "cannot be your email" in page
                or "different from your current one" in page)
    with app.app_context():  # nothing changed, and the link still works for a good password
        assert passwords.verify_password(_db.session.get(Clinician, doctor.id).password_hash, PASSWORD)
    assert set_password(client, path, NEW_PASSWORD).status_code == 303


def test_a_reset_link_dies_when_the_password_is_changed_on_the_account_page(app, client, admin_client,
                                                                          make_clinician):
    doctor = make_clinician()
    path = reset_link(admin_client, doctor)
    assert token_rows(app) == 1
    sign_in(client)
    changed = client.post("/clinician/account", data={
        "current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD,
        "csrf_token": csrf(client, "/clinician/account")})
    assert changed.status_code == 303
    assert token_rows(app) == 0
    other = app.test_client()
    assert other.get(path).status_code == 404


def test_the_account_page_refuses_a_weak_or_unchanged_password(app, client, make_clinician):
    make_clinician()
    sign_in(client)
    for weak in ("aaaaaaaaaaaa", PASSWORD):
        response = client.post("/clinician/account", data={
            "current_password": PASSWORD, "password": weak, "password_confirm": weak,
            "csrf_token": csrf(client, "/clinician/account")})
        assert response.status_code == 400
    assert sign_in(app.test_client()).status_code == 303  # the password is still the old one


def test_the_session_cookie_holds_nothing_from_the_clients_address_or_browser(app, client, make_clinician):
    make_clinician()
    headers = {"User-Agent": "Browser/1.0"}
    sign_in(client)
    client.get("/clinician/", headers=headers, environ_overrides={"REMOTE_ADDR": "192.0.2.77"})
    cookie = client.get_cookie("session", path="/")
    assert cookie is not None
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    data = serializer.loads(cookie.value)
    assert "_id" not in data
    identifier = app.login_manager._session_identifier_generator
    with app.test_request_context(headers=headers, environ_base={"REMOTE_ADDR": "192.0.2.77"}):
        fingerprint = identifier()
    assert fingerprint not in repr(data)
    # Signed in from another address and browser, the same cookie still works (it is tied to neither).
    page = client.get("/clinician/", headers={"User-Agent": "Other/2.0"},
                      environ_overrides={"REMOTE_ADDR": "198.51.100.1"})
    assert page.status_code in (200, 302) and "/clinician/login" not in page.headers.get("Location", "")
