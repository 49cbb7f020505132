"""Helpers for the accounts and two-factor tests: links and secrets read from pages, a settable clock."""
from __future__ import annotations

import html
import re
from types import SimpleNamespace

import pyotp
import pytest
import sqlalchemy as sa

from app.auth import two_factor
from app.extensions import db as _db
from app.models import AuditEvent
from tests.clinician_support import PASSWORD, csrf
from tests.conftest import in_app_context

NEW_PASSWORD = "a new and rather long passphrase"
LINK = re.compile(r'value="((?:https?://[^/"]+)?/clinician/(?:invite|reset)/[^"]+)"')
OTPAUTH = re.compile(r'href="(otpauth://totp/[^"]+)"')
RECOVERY_ITEM = re.compile(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>")


@pytest.fixture
def clock(monkeypatch):
    """The two-factor module's clock, settable: codes of a chosen 30-second step, no waiting."""
    now = SimpleNamespace(value=1_800_000_000.0)
    monkeypatch.setattr(two_factor, "time", SimpleNamespace(time=lambda: now.value))

    def advance(seconds: float = 30) -> float:
        now.value += seconds
        return now.value

    now.advance = advance
    return now


def link_from(page: str) -> str:
    match = LINK.search(page)
    assert match, "no one-time link on the page"
    return html.unescape(match.group(1))


def path_of(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


def totp_from(page: str) -> pyotp.TOTP:
    """The authenticator an app would set up from the page's otpauth:// link."""
    match = OTPAUTH.search(page)
    assert match, "no otpauth:// link on the page"
    return pyotp.parse_uri(html.unescape(match.group(1)))


@in_app_context
def actions(clinician_id=None) -> list[str]:
    statement = sa.select(AuditEvent.action).order_by(AuditEvent.id)
    if clinician_id is not None:
        statement = statement.where(AuditEvent.clinician_id == clinician_id)
    return list(_db.session.scalars(statement))


def invite(admin_client, email="new@example.org", role="clinician", clinics=()):
    data = {"email": email, "role": role, "clinic": list(clinics),
            "csrf_token": csrf(admin_client, "/clinician/accounts")}
    return admin_client.post("/clinician/accounts/invite", data=data)


def set_password(client, path, password=NEW_PASSWORD, confirm=None):
    token = csrf(client, path)
    return client.post(path, data={"password": password, "password_confirm": confirm or password,
                                   "csrf_token": token})


def enrol(client, clock) -> tuple[pyotp.TOTP, list[str]]:
    """Set up two-factor through the page: scan (parse) the otpauth link, confirm with its current code."""
    page = client.get("/clinician/two-factor/setup").get_data(as_text=True)
    totp = totp_from(page)
    response = client.post("/clinician/two-factor/setup", data={
        "code": totp.at(clock.value), "csrf_token": csrf(client, "/clinician/two-factor/setup")})
    assert response.status_code == 200
    codes = RECOVERY_ITEM.findall(response.get_data(as_text=True))
    return totp, codes


def password_step(client, email, password=PASSWORD):
    token = csrf(client)
    return client.post("/clinician/login", data={"email": email, "password": password, "csrf_token": token})


def code_step(client, code):
    token = csrf(client, "/clinician/two-factor")
    return client.post("/clinician/two-factor", data={"code": code, "csrf_token": token})


def sign_out(client):
    return client.post("/clinician/logout", data={"csrf_token": csrf(client, "/clinician/account")})
