"""Commands: `clinician create|list|deactivate|invite|reset|reset-2fa`, `purge`, `seed-demo` and `stats rebuild`
(clinics: clinics.py)."""
from __future__ import annotations

import re
import sys

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from .. import audit
from ..auth import account_links, two_factor
from ..auth.passwords import hash_password, password_problem
from ..auth.views import normalise_email
from ..clinician.accounts import NO_PASSWORD, describe, has_password, status_of
from ..clinician.alerts import send_due_alerts
from ..clinician.demo import seed
from ..clinics import create_clinic
from ..extensions import db
from ..models import ROLE_ADMIN, ROLE_CLINICIAN, TOKEN_INVITE, TOKEN_RESET, Clinic, Clinician, ScreeningDailyCount
from ..retention import purge_audit_log, purge_expired
from ..rollup_triggers import REBUILD, SERIES_REBUILD
from .clinics import add_member, add_to_clinic, clinic_by_slug, clinic_cli

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

clinician_cli = AppGroup("clinician", help="Manage clinician accounts.")
stats_cli = AppGroup("stats", help="The daily counts behind the statistics page.")


def read_password() -> str:
    """Twice with hidden input at a terminal; otherwise the first line of standard input (and, if
    there is a second line, it must repeat the first), so `printf 'pw\\npw\\n' | …` and `echo pw | …` both work."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    lines = sys.stdin.read().splitlines()
    if not lines:
        raise click.ClickException("No password on standard input.")
    if len(lines) > 1 and lines[1] != lines[0]:
        raise click.ClickException("The two passwords on standard input differ.")
    return lines[0]


def _by_email(email: str) -> Clinician | None:
    return db.session.scalar(sa.select(Clinician).where(Clinician.email == normalise_email(email)))


@clinician_cli.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="See every clinic's results and read the audit log.")
@click.option("--clinic", "clinic_slug", default=None, help="The slug of a clinic the account belongs to.")
def create(email: str, admin: bool, clinic_slug: str | None) -> None:
    """Create an account for EMAIL; the password is asked for twice, or read from standard input."""
    clinic = clinic_by_slug(clinic_slug) if clinic_slug else None
    email = normalise_email(email)
    if not EMAIL.fullmatch(email) or len(email) > 254:
        raise click.ClickException(f"{email!r} is not an email address.")
    if _by_email(email):
        raise click.ClickException(f"An account for {email} exists already.")
    password = read_password()
    problem = password_problem(password, email)
    if problem:
        raise click.ClickException(problem)
    account = Clinician(email=email, password_hash=hash_password(password),
                        role=ROLE_ADMIN if admin else ROLE_CLINICIAN, active=True)
    db.session.add(account)
    if clinic is not None:
        add_member(account, clinic)
    db.session.commit()
    click.echo(f"Created {'admin' if admin else 'clinician'} {email}" + (f" in {clinic.name}." if clinic else "."))


@clinician_cli.command("list")
def list_clinicians() -> None:
    """Every account: email, role, active or not, created."""
    rows = db.session.scalars(sa.select(Clinician).order_by(Clinician.email)).all()
    if not rows:
        click.echo("No clinician accounts yet.")
    for row in rows:
        state = status_of(row)  # active, invited (no password chosen yet) or deactivated
        click.echo(f"{row.email}\t{row.role}\t{state}\t{row.created_at:%Y-%m-%d}")


@clinician_cli.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Stop EMAIL from signing in; a session in progress ends at its next request."""
    row = _by_email(email)
    if row is None:
        raise click.ClickException(f"No account for {normalise_email(email)}.")

    row.active = False
    row.end_sessions()
    account_links.withdraw(row)
    audit.record(audit.DEACTIVATED, None, detail=describe(row))
    db.session.commit()
    click.echo(f"Deactivated {row.email}.")


@click.command("purge")
@with_appcontext
@click.option("--older-than", "days", type=click.IntRange(min=1), default=None,
              help="Age in days (default: the RETENTION_DAYS setting).")
def purge(days: int | None) -> None:
    """Delete stored results taken more than RETENTION_DAYS (or DAYS) ago, and audit log entries older than
    AUDIT_RETENTION_DAYS, in small batches; both audited."""
    deleted, _cutoff = purge_expired(days)
    click.echo(f"Deleted {deleted} results older than {days or current_app.config['RETENTION_DAYS']} days.")
    old_entries, _cutoff = purge_audit_log()
    click.echo(f"Deleted {old_entries} audit log entries older than "
               f"{current_app.config['AUDIT_RETENTION_DAYS']} days.")


@click.command("seed-demo")
@with_appcontext
@click.option("--count", type=click.IntRange(min=1, max=5_000_000), default=1000, show_default=True)
@click.option("--seed", "random_seed", type=int, default=None, help="Repeatable data for benchmarks.")
@click.option("--clinics", type=click.IntRange(min=0, max=1000), default=0, show_default=True,
              help="Share the results among this many demo clinics (created if missing), a tenth with none.")
def seed_demo(count: int, random_seed: int | None, clinics: int) -> None:
    """Fill the database with COUNT plausible results (never in production)."""
    if current_app.config.get("APP_ENV") == "production":
        raise click.ClickException("seed-demo refuses to run in production (set APP_ENV=development).")
    seed(count, random_seed, demo_clinics(clinics) if clinics else None)
    click.echo(f"Added {count} demo results.")


def demo_clinics(number: int) -> list[int]:
    """The ids of `Demo clinic 1` … `Demo clinic N` (slugs demo-clinic-1 …), created where missing."""
    ids = []
    for index in range(1, number + 1):
        clinic = db.session.scalar(sa.select(Clinic).where(Clinic.slug == f"demo-clinic-{index}"))
        if clinic is None:
            clinic = create_clinic(f"Demo clinic {index}")
            db.session.flush()
        ids.append(clinic.id)
    db.session.commit()
    return ids


@stats_cli.command("rebuild")
def rebuild_rollups() -> None:
    """Recompute the daily counts and the series rows from the stored results, in one transaction. Triggers
    keep them right on their own; this is for recovery, e.g. after rows were copied in with triggers off."""
    dialect = db.session.get_bind().dialect.name
    if dialect not in REBUILD:
        raise click.ClickException(f"No daily-count rebuild for {dialect}.")
    if dialect == "postgresql":  # writes wait until the commit, so none is lost or counted twice; reads go on
        db.session.execute(sa.text("LOCK TABLE screenings IN SHARE MODE"))
    db.session.execute(sa.delete(ScreeningDailyCount))
    db.session.execute(sa.text(REBUILD[dialect]))
    db.session.execute(sa.text("DELETE FROM screening_series"))
    db.session.execute(sa.text(SERIES_REBUILD[dialect]))
    series = db.session.scalar(sa.text("SELECT count(*) FROM screening_series"))
    groups, results = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(ScreeningDailyCount.results), 0))).one()
    audit.record(audit.STATS_REBUILD, detail=f"{groups} daily groups from {results} results; {series} series")
    db.session.commit()
    click.echo(f"Rebuilt {groups} daily groups from {results} results.")
    click.echo(f"Rebuilt {series} series.")


# --- Accounts by link: invitations, password resets, two-factor resets (the accounts issue) ----------

def _account_or_fail(email: str) -> Clinician:
    row = _by_email(email)
    if row is None:
        raise click.ClickException(f"No account for {normalise_email(email)}.")
    return row


@clinician_cli.command("invite")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make the account an admin.")
@click.option("--clinic", "clinic_slugs", multiple=True, metavar="SLUG", help="A clinic of the account (repeatable).")
def invite(email: str, admin: bool, clinic_slugs: tuple[str, ...]) -> None:
    """Create an inactive account for EMAIL and print its one-time invitation link (valid 72 hours)."""
    email = normalise_email(email)
    if not EMAIL.fullmatch(email) or len(email) > 254:
        raise click.ClickException(f"{email!r} is not an email address.")
    if _by_email(email):
        raise click.ClickException(f"An account for {email} exists already.")
    clinics = []
    for slug in clinic_slugs:
        clinic = db.session.scalar(sa.select(Clinic).where(Clinic.slug == slug))
        if clinic is None:
            raise click.ClickException(f"No clinic {slug!r} (see `flask clinic list`).")
        clinics.append(clinic)
    account = Clinician(email=email, password_hash=NO_PASSWORD, role=ROLE_ADMIN if admin else ROLE_CLINICIAN,
                        active=False, clinics=clinics)
    db.session.add(account)
    db.session.flush()
    token = account_links.issue(account, TOKEN_INVITE)
    link = account_links.public_url(TOKEN_INVITE, token)
    audit.record(audit.ACCOUNT_INVITED, None, detail=describe(account))
    db.session.commit()
    _print_link(f"Invited {account.role} {email}. Their link (works once, for "
                f"{current_app.config['ACCOUNT_LINK_HOURS']} hours):", link)


def _print_link(heading: str, link: str) -> None:
    click.echo(heading)
    click.echo(link)
    if not link.startswith("http"):
        click.echo("(PUBLIC_BASE_URL is not set: put the site's address in front of this path.)", err=True)


@clinician_cli.command("reset")
@click.argument("email")
def reset_password(email: str) -> None:
    """Print a one-time link for EMAIL to choose a new password (every session ends when it is used)."""
    row = _account_or_fail(email)
    purpose = TOKEN_RESET if has_password(row) else TOKEN_INVITE
    if purpose == TOKEN_RESET and not row.active:
        raise click.ClickException(f"{row.email} is deactivated; reactivate it first.")
    token = account_links.issue(row, purpose)
    link = account_links.public_url(purpose, token)
    audit.record(audit.PASSWORD_RESET_ISSUED if purpose == TOKEN_RESET else audit.ACCOUNT_INVITED, None,
                 detail=describe(row, None if purpose == TOKEN_RESET else "new invitation link"))
    db.session.commit()
    _print_link(f"Password link for {row.email} (works once, for {current_app.config['ACCOUNT_LINK_HOURS']} hours):",
                link)


@clinician_cli.command("reset-2fa")
@click.argument("email")
def reset_two_factor(email: str) -> None:
    """Turn off two-factor for EMAIL (a lost phone); they set it up again at their next sign-in."""
    row = _account_or_fail(email)
    two_factor.reset(row)
    row.end_sessions()
    audit.record(audit.TWO_FACTOR_RESET, None, detail=describe(row))
    db.session.commit()
    click.echo(f"Two-factor sign-in of {row.email} is reset; their sessions have ended.")


alerts_cli = AppGroup("alerts", help="E-mails telling clinicians that results need review.")


@alerts_cli.command("send")
def send_alerts() -> None:
    """Send the alerts that are due (for a timer each minute, so waiting alerts go out without traffic)."""
    click.echo(f"{send_due_alerts()} alert e-mails sent.")


def register(app: Flask) -> None:
    """Attach the commands to the app's `flask` command line."""
    app.cli.add_command(clinician_cli)
    clinician_cli.add_command(add_to_clinic)
    app.cli.add_command(clinic_cli)
    app.cli.add_command(purge)
    app.cli.add_command(seed_demo)
    app.cli.add_command(stats_cli)
    app.cli.add_command(alerts_cli)
