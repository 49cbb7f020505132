"""Recording who did what, and when, in the audit log."""
from __future__ import annotations

from ..extensions import db
from ..models import AuditEvent, Clinician

SIGN_IN = "sign_in"
SIGN_IN_FAILED = "sign_in_failed"
SIGN_IN_LIMITED = "sign_in_limited"  # refused by a rate limit before the password was checked
SIGN_OUT = "sign_out"
VIEW_RESULT = "view_result"
REVIEW = "review"
UNREVIEW = "unreview"
EXPORT_CSV = "export_csv"
EXPORT_FHIR = "export_fhir"
PURGE = "purge"
STATS_REBUILD = "stats_rebuild"
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
ACCOUNT_ACTIONS = (ACCOUNT_INVITED, ACCOUNT_ACTIVATED, ROLE_CHANGED, CLINICS_CHANGED, DEACTIVATED, REACTIVATED,
                   PASSWORD_RESET_ISSUED, PASSWORD_CHANGED, TWO_FACTOR_ENROLLED, TWO_FACTOR_RESET)
ACTIONS = (SIGN_IN, SIGN_IN_FAILED, SIGN_IN_LIMITED, SIGN_OUT, VIEW_RESULT, REVIEW, UNREVIEW, EXPORT_CSV, EXPORT_FHIR, PURGE,
           STATS_REBUILD, *ACCOUNT_ACTIONS)


def record(action: str, clinician: Clinician | None = None, target: str | None = None,
           detail: str | None = None) -> AuditEvent:
    """Add an event to the session; the caller's commit makes it permanent with the change it records."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    event = AuditEvent(action=action, clinician_id=clinician.id if clinician else None, target=target,
                       detail=detail[:500] if detail else None)
    db.session.add(event)
    return event
