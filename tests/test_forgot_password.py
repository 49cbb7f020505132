"""Forgotten passwords and account e-mails, through a local SMTP server: the same answer for known and
unknown emails, a one-time reset link sent in the background, admin-issued links e-mailed too, and every
e-mail with Date and Message-ID, naming the clinics and the sender, in the recipient's language."""
from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from email.message import Message

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.models import AccountToken, Clinician
from tests.accounts_support import link_from
from tests.clinician_support import PASSWORD, WORKSPACE_FIXTURES, csrf, sign_in
from tests.conftest import in_app_context

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)

BASE = "https://screening.example.org"
RESET_LINK = re.compile(re.escape(BASE) + r"/clinician/reset/[A-Za-z0-9_-]{43}")


class Mailbox:
    """What the local SMTP server received; `delay` holds each message back, like a slow server."""

    def __init__(self):
        self.messages: list[tuple[list[str], Message]] = []
        self.delay = 0.0
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        self.arrived.set()
        return "250 OK"

    def wait_for(self, count: int, seconds: float = 10.0) -> list[tuple[list[str], Message]]:
        deadline = time.monotonic() + seconds
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


@pytest.fixture
def mailbox(app):
    """An aiosmtpd server on a free loopback port, and the app set up to send through it."""
    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False,
                      MAIL_FROM="Screening <screening@example.org>", PUBLIC_BASE_URL=BASE)
    try:
        yield box
    finally:
        controller.stop()


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


def assert_well_formed(message: Message, to: str) -> None:
    assert message["To"] == to and message["From"] == "Screening <screening@example.org>"
    assert email.utils.parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert re.fullmatch(r"<[^@<>]+@example\.org>", message["Message-ID"])


def forgot(client, email_address: str):
    return client.post("/clinician/forgot", data={"email": email_address,
                                                  "csrf_token": csrf(client, "/clinician/forgot")})


def without_token(html: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "", html)


@in_app_context
def open_links() -> int:
    return len(_db.session.scalars(sa.select(AccountToken).where(AccountToken.used_at.is_(None))).all())


@in_app_context
def set_language(email_address: str, language: str | None) -> None:
    account = _db.session.scalar(sa.select(Clinician).where(Clinician.email == email_address))
    account.language = language
    _db.session.commit()


def test_the_sign_in_page_offers_forgot_your_password(client):
    page = client.get("/clinician/login").get_data(as_text=True)
    assert '<a href="/clinician/forgot">Forgot your password?</a>' in page
    assert client.get("/clinician/forgot").status_code == 200


def test_a_known_email_gets_a_one_time_reset_link_by_email(app, client, clinician, mailbox):
    answer = forgot(client, "  DOC@example.org ")
    assert answer.status_code == 200
    [(recipients, message)] = mailbox.wait_for(1)
    assert recipients == ["doc@example.org"]
    assert_well_formed(message, "doc@example.org")
    assert message["Subject"] == "Choose a new password for the PTSD screening workspace"
    text = body_of(message)
    assert "Home Clinic" in text and "on the sign-in page" in text and "72 hours" in text
    link = RESET_LINK.search(text).group(0)
    path = link.removeprefix(BASE)
    assert client.get(path).status_code == 200
    new_password = "a brand new long passphrase"
    chosen = client.post(path, data={"password": new_password, "password_confirm": new_password,
                                     "csrf_token": csrf(client, path)})
    assert chosen.status_code == 303 and chosen.headers["Location"] == "/clinician/login"
    assert client.get(path).status_code == 404  # once only
    assert sign_in(client, password=new_password).status_code == 303


def test_known_unknown_deactivated_and_invited_emails_get_the_same_page(app, client, make_clinician, mailbox):
    make_clinician()
    make_clinician("gone@example.org", active=False)
    make_clinician("invited@example.org", active=False, password=PASSWORD)
    set_password_hash_invited("invited@example.org")
    pages = {address: forgot(client, address) for address in
             ("doc@example.org", "nobody@example.org", "gone@example.org", "invited@example.org")}
    assert {response.status_code for response in pages.values()} == {200}
    bodies = {without_token(response.get_data(as_text=True)) for response in pages.values()}
    assert len(bodies) == 1
    assert "If an active account has this email, a link to choose a new password is on its way" in bodies.pop()
    time.sleep(0.5)
    assert [recipients for recipients, _message in mailbox.wait_for(1)] == [["doc@example.org"]]
    assert open_links() == 1


@in_app_context
def set_password_hash_invited(email_address: str) -> None:
    account = _db.session.scalar(sa.select(Clinician).where(Clinician.email == email_address))
    account.password_hash = "!invited"
    _db.session.commit()


def test_the_answer_does_not_wait_for_the_mail_server(app, client, clinician, mailbox):
    mailbox.delay = 1.5
    answer = forgot(client, "doc@example.org")
    assert answer.status_code == 200 and mailbox.messages == []  # answered before the mail went
    assert len(mailbox.wait_for(1)) == 1


def test_bad_requests_are_refused_and_nothing_is_issued(app, client, clinician, mailbox):
    assert client.post("/clinician/forgot", data={"email": "doc@example.org"}).status_code == 400  # no CSRF
    assert forgot(client, "").status_code == 400
    assert forgot(client, "x" * 250 + "@example.org").status_code == 400
    time.sleep(0.3)
    assert open_links() == 0 and mailbox.messages == []


def test_without_mail_the_page_says_to_ask_an_admin_and_issues_nothing(app, client, clinician):
    app.config.update(MAIL_SERVER=None, MAIL_FROM=None)
    posted = client.post("/clinician/forgot", data={"email": "doc@example.org", "csrf_token": csrf(client)})
    for response in (client.get("/clinician/forgot"), posted):
        assert response.status_code == 200
        assert "Please ask your clinic's admin for a link" in response.get_data(as_text=True)
    assert open_links() == 0


def test_an_admin_issued_reset_link_is_emailed_naming_the_admin(app, admin_client, clinician, mailbox):
    page = admin_client.post(f"/clinician/accounts/{clinician.id}/reset",
                             data={"csrf_token": csrf(admin_client, "/clinician/accounts")})
    html = page.get_data(as_text=True)
    assert "The link was e-mailed to doc@example.org." in html
    [(recipients, message)] = mailbox.wait_for(1)
    assert_well_formed(message, "doc@example.org")
    text = body_of(message)
    assert "admin@example.org, an admin of the workspace, issued this link" in text
    assert link_from(html) in text and "Home Clinic" in text


def test_the_invitation_names_the_clinic_and_the_inviter_in_the_chosen_language(app, admin_client, mailbox):
    for language, subject, phrase in (("en", "Your account for the PTSD screening workspace", "has invited you"),
                                      ("es", "Su cuenta en el espacio de trabajo de detección del TEPT",
                                       "le ha invitado")):
        address = f"new-{language}@example.org"
        page = admin_client.post("/clinician/accounts/invite", data={
            "email": address, "role": "clinician", "clinic": ["home-clinic"], "language": language,
            "csrf_token": csrf(admin_client, "/clinician/accounts")})
        assert page.status_code == 200
        recipients, message = mailbox.wait_for(1)[-1]
        mailbox.messages.clear()
        assert recipients == [address]
        assert_well_formed(message, address)
        assert message["Subject"] == subject
        text = body_of(message)
        assert "admin@example.org " + phrase in text and "Home Clinic" in text
        assert link_from(page.get_data(as_text=True)) in text


def test_a_reset_is_written_in_the_language_the_clinician_signed_in_with(app, client, clinician, mailbox):
    client.set_cookie("lang", "es")
    assert sign_in(client).status_code == 303
    client.post("/clinician/logout", data={"csrf_token": csrf(client, "/clinician/account")})
    other = app.test_client()
    forgot(other, "doc@example.org")
    [(_recipients, message)] = mailbox.wait_for(1)
    assert message["Subject"] == "Elija una contraseña nueva para el espacio de trabajo de detección del TEPT"
    set_language("doc@example.org", None)
    forgot(other, "doc@example.org")
    assert mailbox.wait_for(2)[1][1]["Subject"] == "Choose a new password for the PTSD screening workspace"


def test_forgot_password_draws_on_the_sign_in_limits(tmp_path):
    from tests.apps import app_with_tables

    with app_with_tables("testing", tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_SIGN_IN_ACCOUNT="2 per minute",
                         RATELIMIT_SIGN_IN_CLIENT="3 per minute") as app:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "192.0.2.60"
        token = csrf(client)  # the sign-in page's: without mail set up, the forgot page has no form

        def ask(address):
            return client.post("/clinician/forgot", data={"email": address, "csrf_token": token}).status_code

        assert [ask("doc@example.org") for _ in range(3)] == [200, 200, 429]  # the same inbox, again and again
        assert ask("other@example.org") == 200
        assert ask("third@example.org") == 429  # this client's budget is spent, whichever email
