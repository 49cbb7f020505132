"""Two-factor sign-in, the REQUIRE_2FA gate over every workspace route, sign-in limits that cannot lock
anyone out, the audit flood cap, session lifetimes, the production cookie and invitation e-mail."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from app.auth import two_factor
from app.auth.views import LAST_SEEN, OPEN_WITHOUT_TWO_FACTOR, SIGNED_IN_AT
from app.extensions import db as _db
from app.models import AuditEvent, Clinician, RecoveryCode
from tests.accounts_support import (
    OTPAUTH,
    RECOVERY_ITEM,
    code_step,
    enrol,
    link_from,
    password_step,
    sign_out,
    totp_from,
)
from tests.apps import app_with_tables
from tests.clinician_support import PASSWORD, WORKSPACE_FIXTURES, csrf, sign_in, store
from tests.conftest import app_with_empty_tables, csrf_token_from, drop_tables

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)


def test_the_setup_page_shows_a_qr_code_the_secret_and_an_otpauth_link(app, signed_in, clinician):
    response = signed_in.get("/clinician/two-factor/setup")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<svg role="img" aria-label="QR code for your authenticator app" class="qr"' in page
    totp = totp_from(page)
    secret = totp.secret
    with app.app_context():  # nothing is stored before a code confirms the key
        assert _db.session.get(Clinician, clinician.id).totp_secret is None
    assert len(secret) == 32  # 160 bits
    assert " ".join(secret[i:i + 4] for i in range(0, 32, 4)) in page
    assert "Open in your authenticator app" in page and OTPAUTH.search(page).group(1).startswith(
        "otpauth://totp/PTSD%20screening:doc%40example.org?secret=")
    # A reload keeps the secret (the app may have scanned it already); nothing is on yet.
    assert totp_from(signed_in.get("/clinician/two-factor/setup").get_data(as_text=True)).secret == secret
    with app.app_context():
        assert not _db.session.get(Clinician, clinician.id).two_factor_enabled


def test_a_setup_key_seen_by_one_session_is_never_confirmed_by_another(app, clinician, clock):
    first, second = app.test_client(), app.test_client()
    sign_in(first)
    sign_in(second)
    seen_first = totp_from(first.get("/clinician/two-factor/setup").get_data(as_text=True))
    seen_second = totp_from(second.get("/clinician/two-factor/setup").get_data(as_text=True))
    assert seen_first.secret != seen_second.secret  # each session is shown its own key
    # The second session cannot confirm the key the first one saw, whatever code it sends.
    response = second.post("/clinician/two-factor/setup", data={
        "code": seen_first.at(clock.value), "csrf_token": csrf(second, "/clinician/two-factor/setup")})
    assert response.status_code == 400
    with app.app_context():
        assert not _db.session.get(Clinician, clinician.id).two_factor_enabled
    # A later session of the same account is shown a fresh key, never one shown before.
    third = app.test_client()
    sign_in(third)
    seen_third = totp_from(third.get("/clinician/two-factor/setup").get_data(as_text=True)).secret
    assert seen_third not in {seen_first.secret, seen_second.secret}
    # The second session confirms its own key; the account then holds that key, not the first.
    response = second.post("/clinician/two-factor/setup", data={
        "code": seen_second.at(clock.value), "csrf_token": csrf(second, "/clinician/two-factor/setup")})
    assert response.status_code == 200
    with app.app_context():
        assert _db.session.get(Clinician, clinician.id).totp_secret == seen_second.secret


def test_a_wrong_code_does_not_turn_two_factor_on(app, signed_in, clinician, clock):
    page = signed_in.get("/clinician/two-factor/setup").get_data(as_text=True)
    totp = totp_from(page)
    wrong = f"{(int(totp.at(clock.value)) + 1) % 1_000_000:06d}"
    for code in (wrong, totp.at(clock.value - 90), "abc", ""):
        response = signed_in.post("/clinician/two-factor/setup", data={
            "code": code, "csrf_token": csrf(signed_in, "/clinician/two-factor/setup")})
        assert response.status_code == 400
    with app.app_context():
        assert not _db.session.get(Clinician, clinician.id).two_factor_enabled
        assert _db.session.scalar(sa.select(sa.func.count(RecoveryCode.id))) == 0


def test_recovery_codes_are_shown_once_as_a_list_and_only_hashes_kept(app, signed_in, clinician, clock):
    _totp, codes = enrol(signed_in, clock)
    assert len(codes) == 10
    with app.app_context():
        stored = _db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not any(code.replace("-", "") in "".join(stored) for code in codes)
    page = signed_in.get("/clinician/two-factor/setup").get_data(as_text=True)
    assert "Two-factor sign-in is on" in page and not RECOVERY_ITEM.search(page)
    assert "10 unused recovery codes" in page


def test_a_code_from_the_previous_step_is_accepted_once_but_no_older(app, signed_in, clinician, clock):
    totp, _codes = enrol(signed_in, clock)
    sign_out(signed_in)
    clock.advance(60)
    password_step(signed_in, clinician.email)
    assert code_step(signed_in, totp.at(clock.value - 60)).status_code == 400  # two steps old
    assert code_step(signed_in, totp.at(clock.value - 30)).status_code == 303  # clock drift allowed
    sign_out(signed_in)
    password_step(signed_in, clinician.email)
    assert code_step(signed_in, totp.at(clock.value - 30)).status_code == 400  # used
    assert code_step(signed_in, totp.at(clock.value)).status_code == 303


def test_the_code_step_needs_a_recent_right_password(app, client, clinician, clock):
    assert client.get("/clinician/two-factor").headers["Location"] == "/clinician/login"
    assert sign_in(client).status_code == 303
    totp, _codes = enrol(client, clock)
    sign_out(client)
    password_step(client, clinician.email)
    with client.session_transaction("/clinician/") as session:  # the workspace keeps the session
        session["clinician_pending"] = {**session["clinician_pending"], "at": time.time() - 301}
    clock.advance(30)
    response = code_step_without_page(client, totp.at(clock.value))
    assert response.status_code == 303 and response.headers["Location"] == "/clinician/login"
    assert client.get("/clinician/").status_code == 302


def code_step_without_page(client, code):
    token = csrf(client)  # the sign-in page's token: same session
    return client.post("/clinician/two-factor", data={"code": code, "csrf_token": token})


def test_a_deactivated_account_cannot_finish_the_code_step(app, client, clinician, clock):
    sign_in(client)
    totp, _ = enrol(client, clock)
    sign_out(client)
    password_step(client, clinician.email)
    with app.app_context():
        _db.session.get(Clinician, clinician.id).active = False
        _db.session.commit()
    clock.advance(30)
    assert code_step_without_page(client, totp.at(clock.value)).headers["Location"] == "/clinician/login"


# --- REQUIRE_2FA: every workspace route, from the URL map ----------------------------------------

def gated_routes(app) -> list[tuple[str, str]]:
    return sorted((rule.rule, method) for rule in app.url_map.iter_rules()
                  if rule.rule.startswith("/clinician/") and rule.endpoint not in OPEN_WITHOUT_TWO_FACTOR
                  for method in rule.methods - {"HEAD", "OPTIONS"})


def fill(rule: str, code: str, account_id: int) -> str:
    import re

    return re.sub(r"<(?:int:)?(\w+)>", lambda m: {"code": code, "account_id": str(account_id)}.get(m.group(1), "x"),
                  rule)


@pytest.mark.parametrize("role", ["clinician", "admin"])
def test_require_2fa_sends_to_set_up_before_any_workspace_page(tmp_path, role):
    with app_with_tables("testing", tmp_path, REQUIRE_2FA=True) as app:
        routes = gated_routes(app)
        assert ("/clinician/", "GET") in routes and ("/clinician/export.csv", "GET") in routes
        assert ("/clinician/stats", "GET") in routes and ("/clinician/accounts", "GET") in routes
        with app.app_context():
            from app.auth.passwords import hash_password

            account = Clinician(email="doc@example.org", password_hash=hash_password(PASSWORD), role=role)
            _db.session.add(account)
            _db.session.commit()
            account_id = account.id
            code = store().code
        client = app.test_client()
        assert sign_in(client).status_code == 303
        token = csrf(client, "/clinician/account")
        for rule, method in routes:
            response = client.open(fill(rule, code, account_id), method=method,
                                   data={"csrf_token": token} if method == "POST" else None)
            assert response.status_code in (302, 303), (rule, method)
            assert response.headers["Location"] == "/clinician/two-factor/setup", (rule, method)
            assert "PCL-5" not in response.get_data(as_text=True)
        with app.app_context():
            assert _db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.action.in_(["view_result", "export_csv", "export_fhir"]))) == 0


def test_require_2fa_lets_a_clinician_with_two_factor_in(tmp_path, monkeypatch):
    from types import SimpleNamespace

    now = SimpleNamespace(value=1_800_000_000.0)
    monkeypatch.setattr(two_factor, "time", SimpleNamespace(time=lambda: now.value))
    with app_with_tables("testing", tmp_path, REQUIRE_2FA=True) as app:
        with app.app_context():
            from app.auth.passwords import hash_password

            _db.session.add(Clinician(email="doc@example.org", password_hash=hash_password(PASSWORD)))
            _db.session.commit()
        client = app.test_client()
        sign_in(client)
        assert client.get("/clinician/stats").headers["Location"] == "/clinician/two-factor/setup"
        assert client.get("/clinician/account").status_code == 200  # open while unset
        enrol(client, now)
        assert client.get("/clinician/stats").status_code == 200


def test_require_2fa_is_on_in_production_and_off_elsewhere():
    from config import DevelopmentConfig, ProductionConfig, TestingConfig

    assert ProductionConfig.REQUIRE_2FA is True
    assert DevelopmentConfig.REQUIRE_2FA is False and TestingConfig.REQUIRE_2FA is False


# --- Sign-in faults: nobody locks anyone out; brute force still throttled; no audit flood ----------

DEFAULT_LIMITS = {"RATELIMIT_ENABLED": True}  # the shipped limits: 5/min;20/h per account+client, 20/min per client


def attempt(client, email, password, address):
    environ = {"REMOTE_ADDR": address}
    token = csrf_token_from(client.get("/clinician/login", environ_overrides=environ).get_data(as_text=True))
    return client.post("/clinician/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_overrides=environ)


def add_doctor(app) -> int:
    from app.auth.passwords import hash_password

    with app.app_context():
        doctor = Clinician(email="doc@example.org", password_hash=hash_password(PASSWORD))
        _db.session.add(doctor)
        _db.session.commit()
        return doctor.id


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(_db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_wrong_passwords_from_one_client_do_not_stop_the_right_one_from_another(tmp_path):
    with app_with_tables("testing", tmp_path, **DEFAULT_LIMITS) as app:
        add_doctor(app)
        attacker = app.test_client()
        statuses = [attempt(attacker, "doc@example.org", f"guess number {n}", "203.0.113.66").status_code
                    for n in range(25)]
        assert statuses[:5] == [400] * 5 and set(statuses[5:]) == {429}  # 25 guesses: throttled after 5
        assert attempt(attacker, "doc@example.org", PASSWORD, "203.0.113.66").status_code == 429
        # The clinician, at the clinic, is not locked out by any of it.
        assert attempt(app.test_client(), "doc@example.org", PASSWORD, "192.0.2.20").status_code == 303


def test_guessing_many_accounts_from_one_client_is_throttled(tmp_path):
    with app_with_tables("testing", tmp_path, **DEFAULT_LIMITS) as app:
        attacker = app.test_client()
        statuses = [attempt(attacker, f"user{n}@example.org", "some guess here", "203.0.113.67").status_code
                    for n in range(25)]
        assert statuses[:20] == [400] * 20 and set(statuses[20:]) == {429}


def test_three_hundred_refused_sign_ins_leave_a_few_audit_rows(tmp_path):
    with app_with_tables("testing", tmp_path, **DEFAULT_LIMITS) as app:
        add_doctor(app)
        attacker = app.test_client()
        token = csrf_token_from(attacker.get("/clinician/login", environ_overrides={"REMOTE_ADDR": "203.0.113.68"})
                                .get_data(as_text=True))
        statuses = []
        for n in range(320):
            email = "doc@example.org" if n % 2 else f"user{n}@example.org"
            statuses.append(attacker.post("/clinician/login", data={
                "email": email, "password": "wrong guess", "csrf_token": token},
                environ_overrides={"REMOTE_ADDR": "203.0.113.68"}).status_code)
        assert statuses.count(429) >= 300
        rows = audit_actions(app)
        assert rows.count("sign_in_failed") == 20  # the attempts the limits let through
        # one per account (the doctor, all unknown emails together) and window
        assert 1 <= rows.count("sign_in_limited") <= 3


def test_the_code_step_is_limited_per_account_and_client(tmp_path, monkeypatch):
    from types import SimpleNamespace

    now = SimpleNamespace(value=1_800_000_000.0)
    monkeypatch.setattr(two_factor, "time", SimpleNamespace(time=lambda: now.value))
    limits = {"RATELIMIT_ENABLED": True, "RATELIMIT_SIGN_IN_ACCOUNT": "3 per minute",
              "RATELIMIT_SIGN_IN_CLIENT": "50 per minute"}
    with app_with_tables("testing", tmp_path, **limits) as app:
        add_doctor(app)
        client = app.test_client()
        sign_in(client)
        totp, _codes = enrol(client, now)
        sign_out(client)
        password_step(client, "doc@example.org")
        statuses = [code_step(client, "000000").status_code for _ in range(4)]
        assert statuses == [400, 400, 400, 429]
        now.value += 30
        assert code_step(client, totp.at(now.value)).status_code == 429  # even the right code, here
        assert "sign_in_limited" in audit_actions(app)


# --- Sessions and cookies -----------------------------------------------------------------------

@pytest.mark.parametrize("hours, still_signed_in", [(11.9, True), (12.1, False)])
def test_sessions_end_twelve_hours_after_sign_in_however_active(signed_in, hours, still_signed_in):
    with signed_in.session_transaction("/clinician/") as session:  # the workspace keeps the session
        session[SIGNED_IN_AT] = time.time() - hours * 3600
        session[LAST_SEEN] = time.time()  # active a moment ago
    assert (signed_in.get("/clinician/").status_code == 200) is still_signed_in


def test_the_production_session_cookie_has_the_host_prefix(monkeypatch):
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    app = app_with_empty_tables("production", {"SECRET_KEY": "k" * 64, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["REQUIRE_2FA"] is True
    try:
        add_doctor(app)
        client = app.test_client()  # its requests get their own contexts, as in a server
        page = client.get("/clinician/login", base_url="https://localhost")
        token = csrf_token_from(page.get_data(as_text=True))
        response = client.post("/clinician/login", base_url="https://localhost",
                               data={"email": "doc@example.org", "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 303
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith("__Host-session=")
        assert "; Secure" in cookie and "; Path=/" in cookie and "Domain" not in cookie
        # Production requires two-factor: the workspace sends this clinician to set it up.
        assert client.get("/clinician/", base_url="https://localhost").headers["Location"] == \
            "/clinician/two-factor/setup"
    finally:
        drop_tables(app)


# --- Invitation e-mail through a local SMTP server ------------------------------------------------

@pytest.fixture
def smtp_server():
    """An aiosmtpd server on a free loopback port that keeps what it receives (with AUTH, no TLS)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    class Keep:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content.decode()))
            return "250 OK"

    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"mail-password")

    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        yield controller, handler, logins
    finally:
        controller.stop()


def test_the_invitation_is_emailed_to_a_local_smtp_server(app, admin_client, smtp_server, caplog):
    import email

    controller, handler, logins = smtp_server
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USERNAME="mailer",
                      MAIL_PASSWORD="mail-password", MAIL_USE_TLS=False, MAIL_FROM="screening@example.org",
                      PUBLIC_BASE_URL="https://screening.example.org")
    response = invite_by_form(admin_client, "new@example.org")
    page = response.get_data(as_text=True)
    assert "The link was e-mailed to new@example.org." in page
    link = link_from(page)
    [(sender, recipients, raw)] = handler.messages
    message = email.message_from_string(raw)
    assert sender == "screening@example.org" and recipients == ["new@example.org"]
    assert message["Subject"] == "Your account for the PTSD screening workspace"
    assert link in message.get_payload(decode=True).decode()
    assert logins == [("mailer", "mail-password")]
    assert link.rsplit("/", 1)[1] not in caplog.text


def test_a_failed_email_still_shows_the_link_and_logs_no_token(app, admin_client, caplog):
    import socket

    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_FROM="s@example.org")
    page = invite_by_form(admin_client, "new@example.org").get_data(as_text=True)
    assert "The e-mail could not be sent" in page
    token = link_from(page).rsplit("/", 1)[1]
    assert "could not be sent (ConnectionRefusedError)" in caplog.text and token not in caplog.text


def invite_by_form(admin_client, email):
    return admin_client.post("/clinician/accounts/invite", data={
        "email": email, "role": "clinician", "csrf_token": csrf(admin_client, "/clinician/accounts")})
