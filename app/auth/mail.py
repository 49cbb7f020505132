"""Sending an invitation by e-mail over SMTP (stdlib smtplib), when MAIL_SERVER and MAIL_FROM are set."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from flask import current_app
from flask_babel import gettext as _


def mail_configured() -> bool:
    config = current_app.config
    return bool(config.get("MAIL_SERVER") and config.get("MAIL_FROM"))


def send_invitation(to: str, link: str) -> bool:
    """E-mail the invitation; False if mail is not set up or the server refused. The link is never
    logged: a failure logs only its class."""
    if not mail_configured():
        return False
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = _("Your account for the PTSD screening workspace")
    hours = int(config["ACCOUNT_LINK_HOURS"])
    message.set_content(_(
        "You have been invited to the clinician workspace of the PTSD screening service.\n\n"
        "Open this link to choose your password. It works once, for %(hours)s hours:\n\n%(link)s\n\n"
        "You will then set up two-factor sign-in with an authenticator app.\n"
        "If you did not expect this e-mail, you can ignore it.\n", hours=hours, link=link))
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25),
                          timeout=float(config.get("MAIL_TIMEOUT_SECONDS") or 10)) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            smtp.send_message(message)
        return True
    except (OSError, smtplib.SMTPException) as error:
        current_app.logger.warning("the invitation e-mail could not be sent (%s)", type(error).__name__)
        return False
