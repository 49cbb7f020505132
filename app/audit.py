"""Recording who did what, and when, in the audit log, and reading it back in words."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .extensions import db
from .models import AuditEvent, Clinician

SIGN_IN = "sign_in"
SIGN_IN_FAILED = "sign_in_failed"
SIGN_IN_LIMITED = "sign_in_limited"  # refused by a rate limit before the password was checked
SIGN_OUT = "sign_out"
VIEW_RESULT = "view_result"
REVIEW = "review"
UNREVIEW = "unreview"
NOTE_ADDED = "note_added"
ASSIGNED = "assigned"
EXPORT_CSV = "export_csv"
EXPORT_FHIR = "export_fhir"
PURGE = "purge"
AUDIT_PURGE = "audit_purge"  # audit rows older than AUDIT_RETENTION_DAYS deleted
STATS_REBUILD = "stats_rebuild"
BACKUP = "backup"  # `flask backup`: a copy of every result left the database
RESTORE = "restore"  # `flask restore`: the database was replaced by a backup
ADDED_BY_CODE = "claim"  # a result added to a clinic by its whole code (the value earlier rows hold)
CLINIC_CREATED = "clinic_created"
CLINIC_CHANGED = "clinic_changed"
LINK_ROTATED = "link_rotated"
CLINIC_MEMBER_ADDED = "clinic_member_added"
# Accounts (the subject account is the event's clinician when it acts itself, else named in detail).
ACCOUNT_INVITED = "account_invited"
ACCOUNT_ACTIVATED = "account_activated"
ROLE_CHANGED = "role_changed"
CLINICS_CHANGED = "clinics_changed"
DEACTIVATED = "deactivated"
REACTIVATED = "reactivated"
PASSWORD_RESET_ISSUED = "password_reset_issued"
PASSWORD_CHANGED = "password_changed"
TWO_FACTOR_ENROLLED = "two_factor_enrolled"
TWO_FACTOR_RESET = "two_factor_reset"
ALERTS_ON = "alerts_on"  # "Email me when a result needs review" turned on
ALERTS_OFF = "alerts_off"
ACCOUNT_ACTIONS = (ACCOUNT_INVITED, ACCOUNT_ACTIVATED, ROLE_CHANGED, CLINICS_CHANGED, DEACTIVATED, REACTIVATED,
                   PASSWORD_RESET_ISSUED, PASSWORD_CHANGED, TWO_FACTOR_ENROLLED, TWO_FACTOR_RESET, ALERTS_ON,
                   ALERTS_OFF)
ACTIONS = (SIGN_IN, SIGN_IN_FAILED, SIGN_IN_LIMITED, SIGN_OUT, VIEW_RESULT, REVIEW, UNREVIEW, NOTE_ADDED, ASSIGNED,
           EXPORT_CSV, EXPORT_FHIR,
           PURGE, AUDIT_PURGE, STATS_REBUILD, BACKUP, RESTORE, ADDED_BY_CODE, CLINIC_CREATED, CLINIC_CHANGED,
           LINK_ROTATED, CLINIC_MEMBER_ADDED, *ACCOUNT_ACTIONS)

# Each action in words, in the reader's language; an action without one here shows its name.
LABELS = {
    SIGN_IN: _l("Signed in"),
    SIGN_IN_FAILED: _l("Sign-in failed"),
    SIGN_IN_LIMITED: _l("Sign-in refused: too many attempts"),
    SIGN_OUT: _l("Signed out"),
    VIEW_RESULT: _l("Viewed a result"),
    REVIEW: _l("Marked a result reviewed"),
    UNREVIEW: _l("Marked a result not reviewed"),
    NOTE_ADDED: _l("Added a note to a result"),
    ASSIGNED: _l("Assigned a result"),
    EXPORT_CSV: _l("Downloaded CSV"),
    EXPORT_FHIR: _l("Downloaded FHIR"),
    PURGE: _l("Deleted expired results"),
    AUDIT_PURGE: _l("Deleted old audit log entries"),
    STATS_REBUILD: _l("Rebuilt the statistics counts"),
    BACKUP: _l("Backed up the database"),
    RESTORE: _l("Restored the database from a backup"),
    ADDED_BY_CODE: _l("Added a result by its code"),
    CLINIC_CREATED: _l("Created a clinic"),
    CLINIC_CHANGED: _l("Changed a clinic's settings"),
    LINK_ROTATED: _l("Replaced a clinic's link"),
    CLINIC_MEMBER_ADDED: _l("Added a clinician to a clinic"),
    ACCOUNT_INVITED: _l("Invited an account"),
    ACCOUNT_ACTIVATED: _l("Activated an account from an invitation"),
    ROLE_CHANGED: _l("Changed an account's role"),
    CLINICS_CHANGED: _l("Changed an account's clinics"),
    DEACTIVATED: _l("Deactivated an account"),
    REACTIVATED: _l("Reactivated an account"),
    PASSWORD_RESET_ISSUED: _l("Issued a password reset link"),
    PASSWORD_CHANGED: _l("Changed a password"),
    TWO_FACTOR_ENROLLED: _l("Turned on two-factor sign-in"),
    TWO_FACTOR_RESET: _l("Reset an account's two-factor sign-in"),
    ALERTS_ON: _l("Turned on e-mail alerts about results"),
    ALERTS_OFF: _l("Turned off e-mail alerts about results"),
}


def label(action: str) -> str:
    """An action in words, e.g. "Viewed a result" for view_result."""
    return str(LABELS[action]) if action in LABELS else action


def record(action: str, clinician: Clinician | None = None, target: str | None = None,
           detail: str | None = None) -> AuditEvent:
    """Add an event to the session; the caller's commit makes it permanent with the change it records."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    event = AuditEvent(action=action, clinician_id=clinician.id if clinician else None, target=target,
                       detail=detail[:500] if detail else None)
    db.session.add(event)
    return event


@dataclass
class AuditFilters:
    """The audit page's filters, from GET parameters; `errors` says what could not be used."""

    action: str | None = None
    clinician_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    errors: list[str] = field(default_factory=list)

    def args(self) -> dict[str, str]:
        values = {"action": self.action, "clinician": str(self.clinician_id) if self.clinician_id else None,
                  "from": self.date_from.isoformat() if self.date_from else None,
                  "to": self.date_to.isoformat() if self.date_to else None}
        return {name: value for name, value in values.items() if value}


def _day(raw: str, chosen: AuditFilters, name: str) -> date | None:
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        chosen.errors.append(_("%(label)s must be a date like 2026-01-31.", label=name))
        return None
    if not date(2000, 1, 1) <= value <= date(9998, 12, 31):
        chosen.errors.append(_("%(label)s must be a date like 2026-01-31.", label=name))
        return None
    return value


def parse_audit_filters(args) -> AuditFilters:
    """Filters from request.args; an unusable value is reported and left out, never guessed."""
    chosen = AuditFilters()
    action = (args.get("action") or "").strip()
    if action:
        if action in ACTIONS:
            chosen.action = action
        else:
            chosen.errors.append(_("Choose an action from the list."))
    who = (args.get("clinician") or "").strip()
    if who:
        if who.isascii() and who.isdigit() and len(who) < 10:
            chosen.clinician_id = int(who)
        else:
            chosen.errors.append(_("Choose a clinician from the list."))
    raw_from, raw_to = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    chosen.date_from = _day(raw_from, chosen, _("“From”")) if raw_from else None
    chosen.date_to = _day(raw_to, chosen, _("“To”")) if raw_to else None
    if chosen.date_from and chosen.date_to and chosen.date_from > chosen.date_to:
        chosen.errors.append(_("“From” must not be after “To”."))
    return chosen


def filtered_events(statement: sa.Select, chosen: AuditFilters) -> sa.Select:
    """The filters' WHERE clauses on a statement over audit_events (dates are whole UTC days)."""
    if chosen.action:
        statement = statement.where(AuditEvent.action == chosen.action)
    if chosen.clinician_id:
        statement = statement.where(AuditEvent.clinician_id == chosen.clinician_id)
    if chosen.date_from:
        statement = statement.where(AuditEvent.at >= datetime.combine(chosen.date_from, time.min, tzinfo=UTC))
    if chosen.date_to:
        statement = statement.where(
            AuditEvent.at < datetime.combine(chosen.date_to + timedelta(days=1), time.min, tzinfo=UTC))
    return statement
