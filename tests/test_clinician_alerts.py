"""E-mail alerts "a result needs review": chosen on the account page, once per interval, through a
local SMTP server, and never naming a result (no code, reference, score or answer)."""
from __future__ import annotations

import email
import logging
import socket
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.clinician.alerts import send_due_alerts
from app.extensions import db as _db
from app.models import AuditEvent, Clinician, utcnow
from app.screening import case_references, codes
from tests.apps import app_with_tables
from tests.clinician_support import PASSWORD, WORKSPACE_FIXTURES, csrf, sign_in, store

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)

HARM = [1] * 15 + [4] + [1] * 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    """An aiosmtpd server on a free loopback port that keeps each message it receives."""
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self):
            self.messages: list = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(email.message_from_bytes(envelope.content))
            return "250 OK"

    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def mail_to(app, port: int) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_USERNAME=None,
                      MAIL_FROM="screening@example.org", PUBLIC_BASE_URL="https://screening.example.org")


def body_of(message) -> str:
    return message.get_payload(decode=True).decode()


def set_notify(client, on: bool):
    data = {"csrf_token": csrf(client, "/clinician/account")}
    if on:
        data["notify"] = "y"
    return client.post("/clinician/account/notifications", data=data)


def test_the_account_page_offers_alerts_off_by_default_and_turns_them_on_and_off(app, signed_in, clinician):
    page = signed_in.get("/clinician/account").get_data(as_text=True)
    assert 'action="/clinician/account/notifications"' in page and 'name="notify"' in page
    assert 'name="notify" value="y" aria' in page  # not checked
    response = set_notify(signed_in, True)
    assert response.status_code == 303 and response.headers["Location"].startswith("/clinician/account")
    assert 'value="y" checked' in signed_in.get("/clinician/account").get_data(as_text=True)
    with app.app_context():
        assert _db.session.get(Clinician, clinician.id).notify_new_results is True
    assert set_notify(signed_in, False).status_code == 303
    with app.app_context():
        assert _db.session.get(Clinician, clinician.id).notify_new_results is False
    refused = signed_in.post("/clinician/account/notifications", data={"notify": "y"})  # no CSRF token
    assert refused.status_code == 400
    with app.app_context():
        assert _db.session.get(Clinician, clinician.id).notify_new_results is False


def test_turning_alerts_on_and_off_is_audited(app, signed_in, clinician, admin_client):
    def events() -> list[tuple[str, int | None]]:
        with app.app_context():
            chosen = sa.select(AuditEvent).where(AuditEvent.action.in_(("alerts_on", "alerts_off")))
            return [(event.action, event.clinician_id)
                    for event in _db.session.scalars(chosen.order_by(AuditEvent.id))]

    assert set_notify(signed_in, True).status_code == 303
    assert events() == [("alerts_on", clinician.id)]
    assert set_notify(signed_in, True).status_code == 303  # already on: nothing changed, nothing to record
    assert set_notify(signed_in, False).status_code == 303
    assert events() == [("alerts_on", clinician.id), ("alerts_off", clinician.id)]
    page = admin_client.get("/clinician/audit").get_data(as_text=True)
    assert "Turned on e-mail alerts about results" in page and "Turned off e-mail alerts about results" in page
    filtered = admin_client.get("/clinician/audit?action=alerts_off").get_data(as_text=True)
    assert filtered.count("Turned off e-mail alerts about results") == 2  # the filter's option and the row
    assert filtered.count("Turned on e-mail alerts about results") == 1  # the option only


def test_an_alert_arrives_once_per_interval_and_names_no_result(app, signed_in, clinician, smtp_server):
    controller, handler = smtp_server
    mail_to(app, controller.port)
    assert set_notify(signed_in, True).status_code == 303
    other_clinic = store(answers=HARM, clinic="Other Clinic")  # not one of the clinician's clinics
    rows = [store(answers=HARM), store("pcptsd5")]
    start = utcnow() + timedelta(seconds=1)
    with app.app_context():
        assert send_due_alerts(start) == 1
    [message] = handler.messages
    text = body_of(message)
    assert message["To"] == "doc@example.org" and message["Subject"] == "New results need review"
    assert "Home Clinic: 2 new results, 1 with a safety flag" in text
    assert "https://screening.example.org/clinician/" in text and "Other Clinic" not in text
    for row in [*rows, other_clinic]:
        forbidden = [row.code, codes.display(row.code), row.case_reference, case_references.display(row.case_reference),
                     f"{row.total}/", f"{row.total} /", f"{row.total} out of"]
        assert not any(value in message.as_string() for value in forbidden)
    # Within the interval: new results wait, whatever happens.
    later = store(answers=[0] * 20)
    with app.app_context():
        later_row = _db.session.get(type(later), later.id)
        later_row.taken_at = start + timedelta(minutes=1)
        _db.session.commit()
        assert send_due_alerts(start + timedelta(minutes=5)) == 0
        assert send_due_alerts(start + timedelta(minutes=14)) == 0
    assert len(handler.messages) == 1
    # After it: one more, about the one that waited, and then nothing until something new arrives.
    with app.app_context():
        assert send_due_alerts(start + timedelta(minutes=15)) == 1
        assert send_due_alerts(start + timedelta(minutes=40)) == 0
    assert len(handler.messages) == 2
    [line] = [line for line in body_of(handler.messages[1]).splitlines() if line.startswith("Home Clinic")]
    assert line == "Home Clinic: 1 new result"  # and none of them flagged


def test_each_alert_is_written_in_its_recipients_language_and_still_names_no_result(app, make_clinician,
                                                                                       smtp_server):
    controller, handler = smtp_server
    mail_to(app, controller.port)
    languages = {"doc@example.org": "en", "medica@example.org": "es", "unknown@example.org": None}
    with app.app_context():
        for address, language in languages.items():
            account = _db.session.get(Clinician, make_clinician(address).id)
            account.language, account.notify_new_results = language, True
        _db.session.commit()
    rows = [store(answers=HARM), store("pcptsd5")]
    with app.app_context():  # no request: the language comes from the account, as in the background thread
        assert send_due_alerts(utcnow() + timedelta(seconds=1)) == 3
    by_address = {message["To"]: message for message in handler.messages}
    spanish = by_address["medica@example.org"]
    text = body_of(spanish)
    assert spanish["Subject"] == "Hay resultados nuevos por revisar"
    assert text.startswith("Hay resultados nuevos por revisar en sus clínicas:")
    assert "Home Clinic: 2 resultados nuevos, 1 con alerta de seguridad" in text
    assert "Recibe como mucho uno de estos correos cada 15 minutos." in text
    assert "https://screening.example.org/clinician/" in text and "new result" not in text
    for address in ("doc@example.org", "unknown@example.org"):  # no language stored: the site's default
        assert by_address[address]["Subject"] == "New results need review"
        assert "Home Clinic: 2 new results, 1 with a safety flag" in body_of(by_address[address])
    for message in handler.messages:
        assert message["Date"] and message["Message-ID"]
        for row in rows:
            forbidden = [row.code, codes.display(row.code), row.case_reference,
                         case_references.display(row.case_reference), f"{row.total}/", f"{row.total} /",
                         f"{row.total} out of", f"{row.total} de"]
            assert not any(value in message.as_string() for value in forbidden)
            assert not any(value in body_of(message) for value in forbidden)


def test_no_alert_for_someone_who_did_not_ask(app, clinician, smtp_server):
    controller, handler = smtp_server
    mail_to(app, controller.port)
    store(answers=HARM)
    with app.app_context():
        assert send_due_alerts(utcnow() + timedelta(seconds=1)) == 0
    assert handler.messages == []


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_result_shared_through_the_link_is_announced_in_the_background(tmp_path, smtp_server):
    from tests.test_clinics import take_pcl5_through

    controller, handler = smtp_server
    with app_with_tables("testing", tmp_path, ALERT_CHECK_EVERY_SECONDS=30, RETENTION_DAYS=3650) as app:
        mail_to(app, controller.port)
        doc = _add_doc(app)
        client = app.test_client()
        assert sign_in(client).status_code == 303
        assert set_notify(client, True).status_code == 303
        token = _clinic_token(app)
        person = app.test_client()
        take_pcl5_through(person, f"/screen/pcl5?clinic={token}", answers=HARM)
        assert wait_for(lambda: len(handler.messages) == 1)
        assert "1 with a safety flag" in body_of(handler.messages[0]) and doc == "doc@example.org"


def _add_doc(app) -> str:
    from app.auth.passwords import hash_password
    from app.clinics import create_clinic

    with app.app_context():
        clinic = create_clinic("Home Clinic", "UTC")
        doc = Clinician(email="doc@example.org", password_hash=hash_password(PASSWORD), role="clinician", active=True)
        doc.clinics = [clinic]
        _db.session.add(doc)
        _db.session.commit()
        return doc.email


def _clinic_token(app) -> str:
    from app.models import Clinic

    with app.app_context():
        return _db.session.scalar(sa.select(Clinic.link_token))


def test_a_mail_failure_is_logged_once_and_the_submission_is_kept(tmp_path, smtp_server, caplog):
    from tests.test_clinics import take_pcl5_through

    with app_with_tables("testing", tmp_path, ALERT_CHECK_EVERY_SECONDS=30, RETENTION_DAYS=3650) as app:
        mail_to(app, free_port())  # nothing listens there
        _add_doc(app)
        client = app.test_client()
        assert sign_in(client).status_code == 303
        assert set_notify(client, True).status_code == 303
        person = app.test_client()
        with caplog.at_level(logging.WARNING):
            code = take_pcl5_through(person, f"/screen/pcl5?clinic={_clinic_token(app)}", answers=HARM)
            assert code and wait_for(lambda: "review alert e-mail could not be sent" in caplog.text)
            person.get("/")  # another request: the failed alert is not retried in a loop
            time.sleep(0.5)
        assert caplog.text.count("review alert e-mail could not be sent") == 1
        assert "ConnectionRefusedError" in caplog.text and code not in caplog.text
        assert person.get(f"/results/{codes.display(code)}").status_code == 200


def test_the_alerts_command_sends_what_is_due(app, runner, signed_in, smtp_server):
    controller, handler = smtp_server
    mail_to(app, controller.port)
    assert set_notify(signed_in, True).status_code == 303
    store(answers=HARM)
    time.sleep(0.01)
    result = runner.invoke(args=["alerts", "send"])
    assert result.exit_code == 0 and "1 alert e-mails sent." in result.output
    assert runner.invoke(args=["alerts", "send"]).output.startswith("0 ")
    assert len(handler.messages) == 1
