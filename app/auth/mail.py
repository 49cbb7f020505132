"""Account e-mails (invitations, password resets) over SMTP (stdlib smtplib), when MAIL_SERVER and
MAIL_FROM are set: each names the clinics and who sent it, carries Date and Message-ID, and is written in
the recipient's language when the account has one."""
from __future__ import annotations

import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..models import Clinician


def mail_configured() -> bool:
    config = current_app.config
    return bool(config.get("MAIL_SERVER") and config.get("MAIL_FROM"))


def recipient_language(account: Clinician) -> str:
    """The account's language if known and offered, else the site's default."""
    config = current_app.config
    language = account.language
    return language if language is not None and language in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"]


def clinic_names(account: Clinician) -> str:
    return ", ".join(clinic.name for clinic in account.clinics)


def new_message(to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text message with the headers mail servers and spam filters expect (RFC 5322: Date and
    Message-ID, the latter on the sender's domain)."""
    sender = current_app.config["MAIL_FROM"]
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    return message


def invitation(account: Clinician, link: str, inviter: Clinician) -> EmailMessage:
    """The invitation, naming who invited and to which clinics."""
    hours = int(current_app.config["ACCOUNT_LINK_HOURS"])
    with force_locale(recipient_language(account)):
        clinics = clinic_names(account)
        where = (_("You will see the results shared with: %(clinics)s.", clinics=clinics) if clinics
                 else _("No clinic is chosen for you yet; the admin adds you to your clinic."))
        body = _(
            "%(inviter)s has invited you to the clinician workspace of the PTSD screening service.\n"
            "%(where)s\n\n"
            "Open this link to choose your password. It works once, for %(hours)s hours:\n\n%(link)s\n\n"
            "You will then set up two-factor sign-in with an authenticator app.\n"
            "If you did not expect this e-mail, you can ignore it.\n",
            inviter=inviter.email, where=where, hours=hours, link=link)
        return new_message(account.email, _("Your account for the PTSD screening workspace"), body)


def password_reset(account: Clinician, link: str, issued_by: Clinician | None) -> EmailMessage:
    """A reset link, saying who asked for it: an admin, or someone on the sign-in page."""
    hours = int(current_app.config["ACCOUNT_LINK_HOURS"])
    with force_locale(recipient_language(account)):
        clinics = clinic_names(account) or "-"
        why = (_("%(admin)s, an admin of the workspace, issued this link for you.", admin=issued_by.email)
               if issued_by is not None else
               _("Someone asked for it with your e-mail address on the sign-in page."))
        body = _(
            "A link to choose a new password for your account in the clinician workspace of the PTSD "
            "screening service (clinics: %(clinics)s). %(why)s\n\n"
            "It works once, for %(hours)s hours, and signs you out everywhere when used:\n\n%(link)s\n\n"
            "If you did not ask for it, ignore this e-mail: your password stays as it is.\n",
            clinics=clinics, why=why, hours=hours, link=link)
        return new_message(account.email, _("Choose a new password for the PTSD screening workspace"), body)


def send_through_server(config, message: EmailMessage) -> None:
    """Send one message through the configured SMTP server (STARTTLS and login when set); raises
    OSError or smtplib.SMTPException when it refuses or cannot be reached."""
    with smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25),
                      timeout=float(config.get("MAIL_TIMEOUT_SECONDS") or 10)) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)


def deliver(app: Flask, message: EmailMessage) -> bool:
    """Send through the configured server; False if it refused or could not be reached. The link is
    never logged: a failure logs only its class."""
    try:
        send_through_server(app.config, message)
        return True
    except (OSError, smtplib.SMTPException) as error:
        app.logger.warning("an account e-mail could not be sent (%s)", type(error).__name__)
        return False


def send(message: EmailMessage) -> bool:
    """Send now (an admin's page says whether it went); False if mail is not set up or sending failed."""
    if not mail_configured():
        return False
    return deliver(current_app._get_current_object(), message)  # type: ignore[attr-defined]


def send_later(message: EmailMessage) -> threading.Thread:
    """Send in the background, so the answer to "forgot your password?" takes as long whether or not
    an account (and so an e-mail) was behind it."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    thread = threading.Thread(target=deliver, args=(app, message), name="account-mail", daemon=True)
    thread.start()
    return thread
