"""Admins' accounts page: list, invite, deactivate and reactivate, role, clinics, reset links, two-factor reset."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from .. import audit
from ..auth import account_links, two_factor
from ..auth.mail import invitation, mail_configured, password_reset, send
from ..auth.views import SESSION_VERSION
from ..extensions import db, rows_changed
from ..models import ROLE_ADMIN, TOKEN_INVITE, TOKEN_RESET, Clinic, Clinician
from .account_forms import ActionForm, ClinicsForm, InviteForm, RoleForm
from .blueprint import bp, signed_in_clinician

# An invited account has no password until its link is used: this is no argon2 hash, so no password
# matches it (app/auth/views.authenticate spends a dummy check instead).
NO_PASSWORD = "!invited"


def has_password(account: Clinician) -> bool:
    return account.password_hash.startswith("$argon2")


def status_of(account: Clinician) -> str:
    """active, invited (no password chosen yet) or deactivated."""
    if account.active:
        return "active"
    return "deactivated" if has_password(account) else "invited"


def admin_only() -> Clinician:
    admin = signed_in_clinician()
    if not admin.is_admin:
        abort(403)
    return admin


def clinic_choices() -> list[SelectChoice]:
    clinics = db.session.scalars(sa.select(Clinic).order_by(Clinic.name))
    return [SelectChoice(clinic.slug, clinic.name) for clinic in clinics]


def account_or_404(account_id: int) -> Clinician:
    if account_id > 2**31 - 1:  # beyond PostgreSQL's integer: no such account, not a database error
        abort(404)
    return db.session.get(Clinician, account_id) or abort(404)


def other_active_admins(account: Clinician, actor: Clinician | None = None) -> int:
    """Active admins besides this account. Every active admin's row is locked (on PostgreSQL), this
    account's included, in one order: two admins demoting each other at once then wait for one another
    instead of deadlocking, and the second sees the first's change. An `actor` no longer an active admin
    by then (demoted a moment before) gets a 403."""
    admins = db.session.scalars(sa.select(Clinician.id).where(
        Clinician.role == ROLE_ADMIN, Clinician.active.is_(True)).order_by(Clinician.id).with_for_update()).all()
    if actor is not None and actor.id not in admins:
        abort(403)
    return len([admin_id for admin_id in admins if admin_id != account.id])


def only_admin_problem() -> str:
    """Why the last active admin cannot be demoted or deactivated."""
    return _("This is the only active admin. Make another account an admin first, so that someone can "
             "still manage accounts.")


def change_keeping_an_admin(account: Clinician, **values) -> bool:
    """Change an active admin's account (demote, deactivate) only while another active admin remains,
    checked in the same statement: on SQLite, where row locks do not exist, two admins acting on each
    other at once cannot both succeed. False when it would have left no active admin."""
    other = sa.orm.aliased(Clinician)
    another_admin = sa.exists().where(other.role == ROLE_ADMIN, other.active.is_(True), other.id != account.id)
    changed = rows_changed(sa.update(Clinician).where(Clinician.id == account.id, another_admin).values(**values))
    if changed:
        db.session.refresh(account)
    return bool(changed)


def render_accounts(form: InviteForm | None = None, status: int = 200):
    accounts = db.session.scalars(sa.select(Clinician).options(selectinload(Clinician.clinics))
                                  .order_by(Clinician.email)).all()
    if form is None:
        form = InviteForm(language=str(get_locale() or "en"))
        form.clinic.choices = clinic_choices()
    return render_template("clinician/accounts.html", accounts=accounts, form=form, status_of=status_of,
                           action_form=ActionForm()), status


@bp.get("/accounts")
def accounts():
    """Every account: email, role, clinics, state, two-factor and last sign-in; and the invitation form."""
    admin_only()
    return render_accounts()


def render_account(account: Clinician, role_form=None, clinics_form=None, problem: str | None = None,
                   status: int = 200):
    role_form = role_form or RoleForm(data={"role": account.role})
    if clinics_form is None:
        clinics_form = ClinicsForm(data={"clinic": [clinic.slug for clinic in account.clinics]})
        clinics_form.clinic.choices = clinic_choices()
    return render_template("clinician/accounts_detail.html", account=account, status=status_of(account),
                           role_form=role_form, clinics_form=clinics_form, action_form=ActionForm(),
                           problem=problem, has_password=has_password(account)), status


@bp.get("/accounts/<int:account_id>")
def account_detail(account_id: int):
    """One account and everything an admin can change about it."""
    admin_only()
    return render_account(account_or_404(account_id))


def show_link(account: Clinician, purpose: str, token: str, mailed: bool | None):
    """The new link, this once (the page is not cached; only the link's hash is stored)."""
    return render_template("clinician/accounts_link.html", account=account, purpose=purpose,
                           link=account_links.public_url(purpose, token), mailed=mailed,
                           mail_configured=mail_configured())


@bp.post("/accounts/invite")
def invite_account():
    """Create an inactive account and a one-time link (e-mailed if mail is set up, shown once here)."""
    admin = admin_only()
    form = InviteForm()
    form.clinic.choices = clinic_choices()
    if not form.validate_on_submit():
        return render_accounts(form, 400)
    email = form.email.data.strip().lower()
    if db.session.scalar(sa.select(Clinician.id).where(Clinician.email == email)) is not None:
        form.email.errors.append(_("An account for this email exists already."))
        return render_accounts(form, 409)
    clinics = db.session.scalars(sa.select(Clinic).where(Clinic.slug.in_(form.clinic.data or []))).all()
    account = Clinician(email=email, password_hash=NO_PASSWORD, role=form.role.data, active=False,
                        clinics=list(clinics), language=form.language.data)
    db.session.add(account)
    db.session.flush()
    token = account_links.issue(account, TOKEN_INVITE)
    audit.record(audit.ACCOUNT_INVITED, admin, detail=describe(account))
    db.session.commit()
    return show_link(account, TOKEN_INVITE, token, mail_link(account, TOKEN_INVITE, token, admin))


def mail_link(account: Clinician, purpose: str, token: str, admin: Clinician) -> bool | None:
    """E-mail an invitation or reset link if mail is set up: whether it went, or None (not set up)."""
    if not mail_configured():
        return None
    link = account_links.public_url(purpose, token)
    return send(invitation(account, link, admin) if purpose == TOKEN_INVITE else password_reset(account, link, admin))


def describe(account: Clinician, change: str | None = None) -> str:
    """The account in an audit row's detail: email, role and clinics, and what changed."""
    clinics = ", ".join(clinic.slug for clinic in account.clinics) or "-"
    text = f"{account.email} ({account.role}; clinics: {clinics})"
    return f"{text}: {change}" if change else text


def checked_action(account_id: int) -> tuple[Clinician, Clinician]:
    admin = admin_only()
    if not ActionForm().validate_on_submit():
        abort(400)
    return admin, account_or_404(account_id)


def back_to(account: Clinician, message: str):
    flash(message, "info")
    return redirect(url_for("clinician.account_detail", account_id=account.id), 303)


@bp.post("/accounts/<int:account_id>/deactivate")
def deactivate_account(account_id: int):
    """The account can no longer sign in; its sessions and open links end at once."""
    admin, account = checked_action(account_id)
    if account.is_admin and account.active and other_active_admins(account, admin) == 0:
        return render_account(account, problem=only_admin_problem(), status=409)
    if account.is_admin and account.active and not change_keeping_an_admin(account, active=False):
        return render_account(account, problem=only_admin_problem(), status=409)
    account.active = False
    account.end_sessions()
    account_links.withdraw(account)
    audit.record(audit.DEACTIVATED, admin, detail=describe(account))
    db.session.commit()
    return back_to(account, _("%(email)s is deactivated and signed out everywhere.", email=account.email))


@bp.post("/accounts/<int:account_id>/reactivate")
def reactivate_account(account_id: int):
    """A deactivated account may sign in again (with its old password and two-factor)."""
    admin, account = checked_action(account_id)
    if not has_password(account):
        return render_account(account, problem=_("This invitation was never accepted. Issue a new "
                                                 "invitation link instead."), status=409)
    account.active = True
    audit.record(audit.REACTIVATED, admin, detail=describe(account))
    db.session.commit()
    return back_to(account, _("%(email)s can sign in again.", email=account.email))


@bp.post("/accounts/<int:account_id>/reset")
def reset_account_password(account_id: int):
    """A one-time link to choose a new password (for an invitation never accepted: a new invitation)."""
    admin, account = checked_action(account_id)
    if not has_password(account):
        token = account_links.issue(account, TOKEN_INVITE)
        audit.record(audit.ACCOUNT_INVITED, admin, detail=describe(account, "new invitation link"))
        db.session.commit()
        return show_link(account, TOKEN_INVITE, token, mail_link(account, TOKEN_INVITE, token, admin))
    if not account.active:
        return render_account(account, problem=_("Reactivate the account before issuing a password reset."),
                              status=409)
    token = account_links.issue(account, TOKEN_RESET)
    audit.record(audit.PASSWORD_RESET_ISSUED, admin, detail=describe(account))
    db.session.commit()
    return show_link(account, TOKEN_RESET, token, mail_link(account, TOKEN_RESET, token, admin))


@bp.post("/accounts/<int:account_id>/role")
def change_account_role(account_id: int):
    """Make the account an admin or a clinician; the last active admin cannot be demoted."""
    admin = admin_only()
    account = account_or_404(account_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return render_account(account, role_form=form, status=400)
    old = account.role
    if old == form.role.data:
        return back_to(account, _("The role is unchanged."))
    if old == ROLE_ADMIN and account.active and other_active_admins(account, admin) == 0:
        return render_account(account, problem=only_admin_problem(), status=409)
    if old == ROLE_ADMIN and account.active and not change_keeping_an_admin(account, role=form.role.data):
        return render_account(account, problem=only_admin_problem(), status=409)
    account.role = form.role.data
    audit.record(audit.ROLE_CHANGED, admin, detail=describe(account, f"{old} -> {account.role}"))
    db.session.commit()
    if account.id == admin.id and not account.is_admin:  # no longer allowed on the accounts pages
        flash(_("You are no longer an admin."), "info")
        return redirect(url_for("clinician.queue"), 303)
    return back_to(account, _("The role of %(email)s is changed.", email=account.email))


@bp.post("/accounts/<int:account_id>/clinics")
def change_account_clinics(account_id: int):
    """Set the clinics whose results the account sees."""
    admin = admin_only()
    account = account_or_404(account_id)
    form = ClinicsForm()
    form.clinic.choices = clinic_choices()
    if not form.validate_on_submit():
        return render_account(account, clinics_form=form, status=400)
    before = ", ".join(clinic.slug for clinic in account.clinics) or "-"
    account.clinics = list(db.session.scalars(sa.select(Clinic).where(Clinic.slug.in_(form.clinic.data or []))
                                              .order_by(Clinic.name)))
    audit.record(audit.CLINICS_CHANGED, admin, detail=describe(account, f"was {before}"))
    db.session.commit()
    return back_to(account, _("The clinics of %(email)s are changed.", email=account.email))


@bp.post("/accounts/<int:account_id>/two-factor-reset")
def reset_account_two_factor(account_id: int):
    """Turn the account's two-factor off (a lost phone): it sets it up again at its next sign-in, and its
    sessions end so that nobody keeps a session the old factor let in."""
    admin, account = checked_action(account_id)
    two_factor.reset(account)
    account.end_sessions()
    audit.record(audit.TWO_FACTOR_RESET, admin, detail=describe(account))
    db.session.commit()
    if account.id == admin.id:  # as for a password change: the admin's other sessions end, this one goes on
        db.session.refresh(account)
        session[SESSION_VERSION] = account.session_version
    return back_to(account, _("Two-factor sign-in of %(email)s is reset. They set it up again when they "
                              "next sign in.", email=account.email))
