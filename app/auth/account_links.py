"""One-time account links (invitations, password resets): 256 random bits, only a hash stored, 72 hours."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ..extensions import db, rows_changed
from ..models import TOKEN_INVITE, TOKEN_RESET, AccountToken, Clinician, utcnow

ENDPOINTS = {TOKEN_INVITE: "auth.invite", TOKEN_RESET: "auth.reset"}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(clinician: Clinician, purpose: str) -> str:
    """A new link's token for the account; any link issued before for it stops working (one live link)."""
    withdraw(clinician)
    token = secrets.token_urlsafe(32)
    hours = int(current_app.config["ACCOUNT_LINK_HOURS"])
    db.session.add(AccountToken(clinician_id=clinician.id, purpose=purpose, token_hash=_hash(token),
                                expires_at=utcnow() + timedelta(hours=hours)))
    return token


def find(token: str, purpose: str) -> AccountToken | None:
    """The unused, unexpired link with this token and purpose; anything else is None alike."""
    if not token or len(token) > 100:
        return None
    row = db.session.scalar(sa.select(AccountToken).where(AccountToken.token_hash == _hash(token),
                                                          AccountToken.purpose == purpose))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    if purpose == TOKEN_RESET and not row.clinician.active:
        return None  # a deactivated account is not reopened by an old reset link
    return row


def use(row: AccountToken) -> bool:
    """Mark the link used, in one statement, so two submissions cannot both use it."""
    used = rows_changed(
        sa.update(AccountToken).where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)
    )
    return bool(used)


def withdraw(clinician: Clinician) -> None:
    """Every open link of the account stops working (on deactivation)."""
    db.session.execute(sa.delete(AccountToken).where(AccountToken.clinician_id == clinician.id,
                                                     AccountToken.used_at.is_(None)))


def public_url(purpose: str, token: str) -> str:
    """The link as the person will open it: on PUBLIC_BASE_URL when set, never the request's Host
    header; without it, the path alone (the admin adds the site's address). Built from the URL map
    alone, so a command needs no request (nor a Host that TRUSTED_HOSTS would refuse)."""
    adapter = current_app.url_map.bind("unused.invalid", script_name=current_app.config.get("APPLICATION_ROOT"))
    path = adapter.build(ENDPOINTS[purpose], {"token": token}, force_external=False)
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return base + path
