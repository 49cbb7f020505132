"""Sign-in in two steps (password, then a two-factor code), sign-out, two-factor set-up, one's own
password, and the one-time invitation and reset links; the session loader enforces the time limits."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from .. import audit
from ..extensions import db, login_manager
from ..models import TOKEN_INVITE, TOKEN_RESET, Clinician, utcnow
from ..sessions import PENDING
from . import account_links, mail
from . import two_factor as second_factor
from .forms import ChangePasswordForm, CodeForm, ForgotPasswordForm, SetPasswordForm, SignInForm
from .passwords import (
    hash_password,
    hashing_slot,
    needs_rehash,
    password_problem,
    verify_nothing,
    verify_password,
)

bp = Blueprint("auth", __name__, url_prefix="/clinician")

LAST_SEEN = "clinician_seen"
# When the session began: it ends CLINICIAN_SESSION_HOURS later, however active.
SIGNED_IN_AT = "clinician_since"
# The account's session_version at sign-in; a session whose copy is stale has been signed out.
SESSION_VERSION = "clinician_version"
# The two-factor key being set up, shown to this session alone until a code confirms it.
SETUP_SECRET = "clinician_setup_secret"
PENDING_SECONDS = 5 * 60
FLASK_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember", "_remember_seconds")
# Pages a clinician without two-factor may open while REQUIRE_2FA holds: signing in and out, set-up,
# their own password, and the one-time links. Every other /clinician/ page sends them to set-up.
OPEN_WITHOUT_TWO_FACTOR = frozenset({"auth.login", "auth.logout", "auth.two_factor", "auth.two_factor_setup",
                                     "auth.account", "auth.invite", "auth.reset", "auth.forgot", "static"})

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


def _end_session() -> None:
    for key in (*FLASK_LOGIN_KEYS, LAST_SEEN, SIGNED_IN_AT, SESSION_VERSION, PENDING, SETUP_SECRET):
        session.pop(key, None)


@login_manager.user_loader
def load_clinician(user_id: str) -> Clinician | None:
    """The signed-in clinician, unless idle too long, signed in too long ago, signed out elsewhere or
    deactivated since: then the session ends. Everything checked is in the signed cookie or the
    database, so any instance behind the same SECRET_KEY and database reaches the same verdict."""
    idle_limit = 60 * current_app.config["CLINICIAN_IDLE_MINUTES"]
    lifetime = 3600 * current_app.config["CLINICIAN_SESSION_HOURS"]
    last_seen = session.get(LAST_SEEN)
    since = session.get(SIGNED_IN_AT)
    clinician = db.session.get(Clinician, int(user_id)) if user_id.isdigit() else None
    now = time.time()
    if (clinician is None or not clinician.active or not isinstance(last_seen, (int, float))
            or not isinstance(since, (int, float)) or now - last_seen > idle_limit or now - since > lifetime
            or session.get(SESSION_VERSION) != clinician.session_version):
        _end_session()
        return None
    session[LAST_SEEN] = now  # every request counts as activity; the signed cookie is re-issued
    return clinician


@bp.before_app_request
def two_factor_gate():
    """While REQUIRE_2FA holds, a signed-in clinician without two-factor reaches no result, statistic,
    export or other workspace page before setting it up."""
    if (not current_app.config.get("REQUIRE_2FA") or not request.path.startswith("/clinician/")
            or request.endpoint in OPEN_WITHOUT_TWO_FACTOR or not current_user.is_authenticated
            or current_user.two_factor_enabled):
        return None
    return redirect(url_for("auth.two_factor_setup"), 303 if request.method != "GET" else 302)


def safe_next(target: str | None) -> str:
    """Only a path inside the workspace: never another site, never a protocol-relative URL."""
    if target and target.startswith("/clinician/") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("clinician.queue")


def authenticate(email: str, password: str) -> tuple[Clinician | None, Clinician | None]:
    """(the clinician if the password is right and the account active, the account the email names)."""
    account = db.session.scalar(sa.select(Clinician).where(Clinician.email == email))
    if account is None or not account.password_hash.startswith("$argon2"):
        verify_nothing(password)  # an unknown email, or an invited account without a password yet
        return None, account
    if not verify_password(account.password_hash, password) or not account.active:
        return None, account
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    return account, account


def start_session(clinician: Clinician, next_url: str | None = None):
    """Sign the clinician in (a fresh session, nothing carried over) and go on to the workspace."""
    session.clear()  # nothing from before sign-in carries over into the signed-in session
    login_user(clinician)
    # Flask-Login stores a hash of the client's address and browser ("_id") whatever the protection
    # setting; nothing here uses it, and the cookie carries nothing derived from the client.
    session.pop("_id", None)
    now = time.time()
    session[LAST_SEEN] = now
    session[SIGNED_IN_AT] = now
    session[SESSION_VERSION] = clinician.session_version
    clinician.last_sign_in_at = utcnow()
    clinician.language = str(get_locale() or "") or None  # their e-mails follow the workspace's language
    audit.record(audit.SIGN_IN, clinician)
    db.session.commit()
    return redirect(safe_next(next_url), 303)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in page; one message for an unknown email, a wrong password and a deactivated account.
    With two-factor on, the right password leads to the code's page, and nothing is signed in yet."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = SignInForm()
    failed = False
    if form.validate_on_submit():
        with hashing_slot():
            clinician, account = authenticate(normalise_email(form.email.data), form.password.data)
        if clinician is not None and clinician.two_factor_enabled:
            db.session.commit()  # a rehashed password
            session.clear()
            session[PENDING] = {"id": clinician.id, "version": clinician.session_version, "at": time.time(),
                                "next": safe_next(request.args.get("next"))}
            return redirect(url_for("auth.two_factor"), 303)
        if clinician is not None:
            return start_session(clinician, request.args.get("next"))
        # The typed email is not kept: it may be someone's password typed into the wrong box.
        audit.record(audit.SIGN_IN_FAILED, account)
        db.session.commit()
        failed = True
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form, failed=failed), status


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    """"Forgot your password?": the same answer, in about the same time, whether or not the email has an
    account. For an active account with a password, and mail set up, a one-time reset link (as an
    admin's) is e-mailed in the background; nothing tells the person asking which case it was."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.account"))
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        if mail.mail_configured():
            account = db.session.scalar(sa.select(Clinician).where(
                Clinician.email == normalise_email(form.email.data)))
            if account is not None and account.active and account.password_hash.startswith("$argon2"):
                token = account_links.issue(account, TOKEN_RESET)
                audit.record(audit.PASSWORD_RESET_ISSUED, account, detail="asked for on the sign-in page")
                db.session.commit()
                message = mail.password_reset(account, account_links.public_url(TOKEN_RESET, token), None)
                mail.send_later(message)
        return render_template("auth/forgot.html", form=form, sent=True)
    status = 400 if form.is_submitted() else 200
    return render_template("auth/forgot.html", form=form, sent=False), status


def pending_clinician() -> Clinician | None:
    """The account whose password was just right, while its two-factor step is still open (5 minutes)."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("at"), (int, float)) \
            or time.time() - pending["at"] > PENDING_SECONDS or not isinstance(pending.get("id"), int):
        return None
    clinician = db.session.get(Clinician, pending["id"])
    if clinician is None or not clinician.active or clinician.session_version != pending.get("version") \
            or not clinician.two_factor_enabled:
        return None
    return clinician


@bp.route("/two-factor", methods=["GET", "POST"])
def two_factor():
    """The second step of sign-in: a code from the authenticator app, or a recovery code. A code that
    was accepted once is refused ever after."""
    if current_user.is_authenticated:
        return redirect(url_for("clinician.queue"))
    clinician = pending_clinician()
    if clinician is None:
        session.pop(PENDING, None)
        flash(_("Please sign in again."), "info")
        return redirect(url_for("auth.login"), 303)
    form = CodeForm()
    failed = False
    if form.validate_on_submit():
        kind = second_factor.verify(clinician, form.code.data)
        if kind is not None:
            next_url = session[PENDING].get("next")
            if kind == "recovery":
                left = second_factor.recovery_codes_left(clinician)
                flash(ngettext("You signed in with a recovery code. %(num)s recovery code is left.",
                               "You signed in with a recovery code. %(num)s recovery codes are left.", left), "info")
            return start_session(clinician, next_url)
        audit.record(audit.SIGN_IN_FAILED, clinician, detail="two-factor code")
        db.session.commit()
        failed = True
    status = 400 if form.is_submitted() else 200
    return render_template("auth/two_factor.html", form=form, failed=failed), status


@bp.route("/two-factor/setup", methods=["GET", "POST"])
@login_required
def two_factor_setup():
    """Set up two-factor: QR code, the secret as text and as an otpauth:// link; a current code confirms
    it, and the 10 recovery codes are shown this once."""
    clinician = current_user._get_current_object()
    if clinician.two_factor_enabled:
        return render_template("auth/two_factor_on.html",
                               left=second_factor.recovery_codes_left(clinician))
    # The key lives in this session only (kept across reloads, so a scanned code stays the right one):
    # no other session, earlier or later, ever sees it or can confirm it, and it goes when this one ends.
    kept = session.get(SETUP_SECRET)
    secret: str = kept if isinstance(kept, str) and second_factor.is_secret(kept) else second_factor.new_secret()
    session[SETUP_SECRET] = secret
    form = CodeForm()
    failed = False
    if form.validate_on_submit():
        if second_factor.confirm(clinician, secret, form.code.data):
            session.pop(SETUP_SECRET, None)
            codes = second_factor.new_recovery_codes(clinician)
            audit.record(audit.TWO_FACTOR_ENROLLED, clinician)
            db.session.commit()
            return render_template("auth/recovery_codes.html", codes=codes)
        db.session.rollback()
        failed = True
    uri = second_factor.provisioning_uri(secret, clinician.email)
    status = 400 if form.is_submitted() else 200
    return render_template("auth/two_factor_setup.html", form=form, failed=failed, uri=uri,
                           secret=second_factor.grouped(secret),
                           qr=second_factor.qr_svg(uri, _("QR code for your authenticator app"))), status


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """One's own account: change the password (the current one required); other sessions end."""
    clinician = current_user._get_current_object()
    form = ChangePasswordForm()
    wrong = False
    if form.validate_on_submit():
        problem = None
        with hashing_slot():
            right = verify_password(clinician.password_hash, form.current_password.data)
            if right:
                problem = password_problem(form.password.data, clinician.email) or (
                    _("Choose a password different from your current one.")
                    if form.password.data == form.current_password.data else None)
            new_hash = hash_password(form.password.data) if right and not problem else None
        if problem:
            form.password.errors = [*form.password.errors, problem]
        elif new_hash is not None:
            clinician.password_hash = new_hash
            account_links.withdraw(clinician)  # an open reset link no longer works
            clinician.end_sessions()
            audit.record(audit.PASSWORD_CHANGED, clinician)
            db.session.commit()
            db.session.refresh(clinician)
            session[SESSION_VERSION] = clinician.session_version  # this session goes on; the others end
            flash(_("Your password is changed. Any other session of your account has ended."), "info")
            return redirect(url_for("auth.account"), 303)
        else:
            audit.record(audit.SIGN_IN_FAILED, clinician, detail="password change: wrong current password")
            db.session.commit()
            wrong = True
    status = 400 if form.is_submitted() else 200
    return render_template("auth/account.html", form=form, wrong=wrong, clinician=clinician,
                           left=second_factor.recovery_codes_left(clinician)), status


def link_no_longer_works():
    """One calm page for an unknown, used or expired link, whichever it was."""
    return render_template("auth/link_expired.html"), 404


def _set_password_page(purpose: str, token: str):
    row = account_links.find(token, purpose)
    if row is None:
        return link_no_longer_works()
    form = SetPasswordForm()
    if form.validate_on_submit():
        clinician = row.clinician
        with hashing_slot():
            problem = password_problem(form.password.data, clinician.email, clinician.password_hash)
            new_hash = None if problem else hash_password(form.password.data)
        if problem:
            form.password.errors = [*form.password.errors, problem]
        elif new_hash is not None:
            if not account_links.use(row):
                db.session.rollback()
                return link_no_longer_works()
            clinician.password_hash = new_hash
            account_links.withdraw(clinician)  # any other open link of the account stops working too
            clinician.end_sessions()  # a reset ends every session of the account, on every instance
            if purpose == TOKEN_INVITE:
                clinician.active = True
                audit.record(audit.ACCOUNT_ACTIVATED, clinician)
                db.session.commit()
                db.session.refresh(clinician)
                return start_session(clinician, url_for("auth.two_factor_setup"))
            audit.record(audit.PASSWORD_CHANGED, clinician, detail="with a reset link")
            db.session.commit()
            session.clear()
            flash(_("Your password is changed. Please sign in with it."), "info")
            return redirect(url_for("auth.login"), 303)
    status = 400 if form.is_submitted() else 200
    return render_template("auth/set_password.html", form=form, purpose=purpose,
                           email=row.clinician.email), status


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invite(token: str):
    """An invitation: choose a password; the account becomes active and two-factor set-up follows."""
    return _set_password_page(TOKEN_INVITE, token)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """A password reset issued by an admin: choose a new password; every session of the account ends."""
    return _set_password_page(TOKEN_RESET, token)


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
    _end_session()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"), 303)
