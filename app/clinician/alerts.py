"""E-mail alerts "a result needs review": at most one per clinician per ALERT_INTERVAL_MINUTES, sent in
the background; they say how many new results and flagged ones per clinic, never which (no code,
reference, score or answer)."""
from __future__ import annotations

import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import cast

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from ..auth.mail import mail_configured, new_message, recipient_language, send_through_server
from ..background_jobs import PeriodicJob
from ..extensions import db
from ..models import Clinic, Clinician, Screening, clinician_clinics, utcnow
from ..retention import unexpired
from ..screening.service import result_shared_with_clinic
from ..screening.triage import SAFETY


def mark_new_result(_sender=None, **_extra) -> None:
    """A result was just shared with a clinic: check for alerts after this response, not at the next tick."""
    if has_request_context():
        g.alert_check_due = True


result_shared_with_clinic.connect(mark_new_result)


def _new_results(clinician: Clinician, since: datetime | None, until: datetime) -> list[tuple[str, int, int]]:
    """(clinic name, new results, of which flagged) for each of the clinician's clinics with any."""
    statement = (sa.select(Clinic.name, sa.func.count(Screening.id),
                           sa.func.sum(sa.case((Screening.triage_tier == SAFETY, 1), else_=0)))
                 .join(Clinic, Clinic.id == Screening.clinic_id)
                 .join(clinician_clinics, clinician_clinics.c.clinic_id == Clinic.id)
                 .where(clinician_clinics.c.clinician_id == clinician.id, Screening.taken_at <= until, unexpired())
                 .group_by(Clinic.name).order_by(Clinic.name))
    if since is not None:
        statement = statement.where(Screening.taken_at > since)
    return [(name, int(count), int(flagged or 0)) for name, count, flagged in db.session.execute(statement)]


def _message(to: str, groups: list[tuple[str, int, int]]) -> EmailMessage:
    """The alert in the current locale (the caller forces the recipient's), with the headers account
    e-mails carry (auth.mail.new_message)."""
    config = current_app.config
    base = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    lines = [ngettext("%(clinic)s: %(num)s new result", "%(clinic)s: %(num)s new results", count, clinic=name)
             + (ngettext(", %(num)s with a safety flag", ", %(num)s with a safety flag", flagged) if flagged else "")
             for name, count, flagged in groups]
    return new_message(to, _("New results need review"), _(
        "New results in your clinics need review:\n\n%(lines)s\n\nOpen the triage queue to see them:\n%(link)s\n\n"
        "You get at most one of these e-mails every %(minutes)s minutes. You can turn them off on your "
        "account page.\n", lines="\n".join(lines), link=base + "/clinician/",
        minutes=int(config["ALERT_INTERVAL_MINUTES"])))


def send_due_alerts(now: datetime | None = None) -> int:
    """Send each clinician who asked for alerts, whose last alert is an interval old or more, one e-mail
    about the results that arrived in their clinics since then; return how many were sent. Each
    clinician is claimed with one conditional UPDATE, so concurrent runs (workers, a timer) never send
    twice. A failed send is logged (its class only) and those results are not announced again."""
    if not mail_configured():
        return 0
    now = now or utcnow()
    interval = timedelta(minutes=float(current_app.config["ALERT_INTERVAL_MINUTES"]))
    due = db.session.scalars(sa.select(Clinician).where(
        Clinician.notify_new_results.is_(True), Clinician.active.is_(True),
        sa.or_(Clinician.alert_sent_at.is_(None), Clinician.alert_sent_at <= now - interval))).all()
    sent = 0
    for clinician in due:
        groups = _new_results(clinician, clinician.alerts_since, now)
        if not groups:
            continue
        claimed = db.session.execute(  # an UPDATE: a CursorResult, which has a rowcount
            sa.update(Clinician).where(Clinician.id == clinician.id,
                                       Clinician.alert_sent_at.is_not_distinct_from(clinician.alert_sent_at))
            .values(alert_sent_at=now, alerts_since=now).execution_options(synchronize_session=False))
        db.session.commit()
        if cast(sa.CursorResult, claimed).rowcount != 1:  # another process sent it
            continue
        try:
            with force_locale(recipient_language(clinician)):  # the account's language, as its other e-mails
                message = _message(clinician.email, groups)
            send_through_server(current_app.config, message)
            sent += 1
        except (OSError, smtplib.SMTPException) as error:
            current_app.logger.warning("a review alert e-mail could not be sent (%s)", type(error).__name__)
    return sent


def init_alerts(app: Flask) -> None:
    """Check for due alerts after responses, unless ALERT_CHECK_EVERY_SECONDS is 0."""
    seconds = float(app.config.get("ALERT_CHECK_EVERY_SECONDS") or 0)
    if seconds <= 0:
        return
    alerts = app.extensions["review_alerts"] = PeriodicJob(app, seconds, "review-alerts", send_due_alerts,
                                                          "the review alerts check failed")

    @app.after_request
    def start_alerts_check(response):
        alerts.maybe_start(bool(g.get("alert_check_due")))
        return response
