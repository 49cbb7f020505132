"""Commands: `clinic create|list|rotate-link` and `clinician add-to-clinic`."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from .. import audit
from ..auth.views import normalise_email
from ..clinician.zones import is_zone
from ..clinics import create_clinic, public_link, rotate_link
from ..extensions import db
from ..models import Clinic, Clinician

clinic_cli = AppGroup("clinic", help="Manage clinics and their public links.")


def clinic_by_slug(slug: str) -> Clinic:
    clinic = db.session.scalar(sa.select(Clinic).where(Clinic.slug == slug.strip().lower()))
    if clinic is None:
        raise click.ClickException(f"No clinic with the slug {slug!r} (see `flask --app wsgi clinic list`).")
    return clinic


def echo_link(clinic: Clinic) -> None:
    link, whole = public_link(clinic)
    click.echo(f"Public link: {link}")
    if not whole:
        click.echo("PUBLIC_BASE_URL is not set, so this is only the path. Set it to the site's public address "
                   "(environment: FLASK_PUBLIC_BASE_URL=https://check.example.org) to print the whole link.")


def _zone_option(value: str) -> str:
    if not is_zone(value):
        raise click.BadParameter(f"{value!r} is not an IANA time zone name such as Europe/Madrid or America/Chicago.")
    return value


@clinic_cli.command("create")
@click.argument("name")
@click.option("--timezone", "zone", default="UTC", show_default=True, callback=lambda _c, _p, v: _zone_option(v),
              help="The clinic's IANA time zone, e.g. America/Chicago.")
def create(name: str, zone: str) -> None:
    """Create a clinic called NAME; prints its slug and its public link."""
    name = name.strip()
    if not name or len(name) > 120:
        raise click.ClickException("A clinic's name has 1 to 120 characters.")
    clinic = create_clinic(name, zone)
    db.session.flush()
    audit.record(audit.CLINIC_CREATED, target=clinic.slug, detail=f"{clinic.name} ({zone})")
    db.session.commit()
    click.echo(f"Created clinic {clinic.name}")
    click.echo(f"Slug: {clinic.slug}")
    click.echo(f"Time zone: {clinic.timezone}")
    echo_link(clinic)


@clinic_cli.command("list")
def list_clinics() -> None:
    """Every clinic: slug, name, time zone, clinicians, public link."""
    clinics = db.session.scalars(sa.select(Clinic).order_by(Clinic.name)).all()
    if not clinics:
        click.echo("No clinics yet: `flask --app wsgi clinic create NAME`.")
    for clinic in clinics:
        link, _whole = public_link(clinic)
        click.echo(f"{clinic.slug}\t{clinic.name}\t{clinic.timezone}\t{len(clinic.clinicians)} clinicians\t{link}")
    if clinics and not current_app.config.get("PUBLIC_BASE_URL"):
        click.echo("(PUBLIC_BASE_URL is not set: the links are paths only.)")


@clinic_cli.command("rotate-link")
@click.argument("slug")
def rotate(slug: str) -> None:
    """Give the clinic SLUG a new link; the old one stops working at once."""
    clinic = clinic_by_slug(slug)
    rotate_link(clinic)
    audit.record(audit.LINK_ROTATED, target=clinic.slug)
    db.session.commit()
    click.echo(f"The old link of {clinic.name} no longer works.")
    echo_link(clinic)


def add_member(clinician: Clinician, clinic: Clinic) -> bool:
    """Make a clinician a member of a clinic (the caller commits); False if they were one already."""
    if clinic in clinician.clinics:
        return False
    clinician.clinics.append(clinic)
    audit.record(audit.CLINIC_MEMBER_ADDED, target=clinic.slug, detail=clinician.email)
    return True


@click.command("add-to-clinic")
@with_appcontext
@click.argument("email")
@click.argument("slug")
def add_to_clinic(email: str, slug: str) -> None:
    """Make the clinician EMAIL a member of the clinic SLUG: they then see its results."""
    clinician = db.session.scalar(sa.select(Clinician).where(Clinician.email == normalise_email(email)))
    if clinician is None:
        raise click.ClickException(f"No account for {normalise_email(email)}.")
    clinic = clinic_by_slug(slug)
    if add_member(clinician, clinic):
        db.session.commit()
        click.echo(f"{clinician.email} now belongs to {clinic.name}.")
    else:
        click.echo(f"{clinician.email} belongs to {clinic.name} already.")
