"""Sign-in at /clinician/login and sign-out by POST; the session loader enforces the idle timeout."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from ..clinician import audit
from ..extensions import db, login_manager
from ..models import Clinician
from .forms import SignInForm
from .passwords import hash_password, needs_rehash, verify_nothing, verify_password

bp = Blueprint("auth", __name__, url_prefix="/clinician")

LAST_SEEN = "clinician_seen"
# The account's session_version at sign-in; a session whose copy is stale has been signed out.
SESSION_VERSION = "clinician_version"
FLASK_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember", "_remember_seconds")

login_manager.login_view = "auth.login"
# A lazy string, made plain text (in the reader's language) when it is flashed.
login_manager.login_message = _l("Please sign in to use the clinician workspace.")
login_manager.localize_callback = str
login_manager.login_message_category = "info"
# Flask-Login's "basic"/"strong" protection hashes the IP address into the session; this app keeps
# no IP addresses, and the idle timeout plus HttpOnly/SameSite/Secure cookies do that job instead.
login_manager.session_protection = None


def normalise_email(typed: str) -> str:
    """Emails are compared case-insensitively and without surrounding spaces."""
    return (typed or "").strip().lower()


@login_manager.user_loader
def load_clinician(user_id: str) -> Clinician | None:
    """The signed-in clinician, unless idle too long, signed out elsewhere or deactivated since: then
    the session ends. Everything checked is in the signed cookie or the database, so any instance
    behind the same SECRET_KEY and database reaches the same verdict."""
    idle_limit = 60 * current_app.config["CLINICIAN_IDLE_MINUTES"]
    last_seen = session.get(LAST_SEEN)
    clinician = db.session.get(Clinician, int(user_id)) if user_id.isdigit() else None
    now = time.time()
    if (clinician is None or not clinician.active or not isinstance(last_seen, (int, float))
            or now - last_seen > idle_limit or session.get(SESSION_VERSION) != clinician.session_version):
        for key in (*FLASK_LOGIN_KEYS, LAST_SEEN, SESSION_VERSION):
            session.pop(key, None)
        return None
    session[LAST_SEEN] = now  # every request counts as activity; the signed cookie is re-issued
    return clinician


def safe_next(target: str | None) -> str:
    """Only a path inside the workspace: never another site, never a protocol-relative URL."""
    if target and target.startswith("/clinician/") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("clinician.queue")


def authenticate(email: str, password: str) -> tuple[Clinician | None, Clinician | None]:
    """(the clinician if the password is right and the account active, the account the email names)."""
    account = db.session.scalar(sa.select(Clinician).where(Clinician.email == email))
    if account is None:
        verify_nothing(password)
        return None, None
    if not verify_password(account.password_hash, password) or not account.active:
        return None, account
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    return account, account


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in page; one message for an unknown email, a wrong password and a deactivated account."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = SignInForm()
    failed = False
    if form.validate_on_submit():
        clinician, account = authenticate(normalise_email(form.email.data), form.password.data)
        if clinician is not None:
            session.clear()  # nothing from before sign-in carries over into the signed-in session
            login_user(clinician)
            session[LAST_SEEN] = time.time()
            session[SESSION_VERSION] = clinician.session_version
            audit.record(audit.SIGN_IN, clinician)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")), 303)
        # The typed email is not kept: it may be someone's password typed into the wrong box.
        audit.record(audit.SIGN_IN_FAILED, account)
        db.session.commit()
        failed = True
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form, failed=failed), status


@bp.post("/logout")
def logout():
    """Sign out (a POST with the CSRF token, so another site cannot sign a clinician out). The account's
    session version moves on, so a copy of the cookie is refused too, on every instance."""
    if current_user.is_authenticated:
        clinician = current_user._get_current_object()
        audit.record(audit.SIGN_OUT, clinician)
        clinician.end_sessions()
        db.session.commit()
        logout_user()
    session.pop(LAST_SEEN, None)
    session.pop(SESSION_VERSION, None)
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"), 303)
