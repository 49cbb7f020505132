"""Clinic screens: the list, a clinic's settings and link (rotated by admins), and its printable poster."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from .. import audit
from ..clinics import (
    create_clinic,
    grouped_short_code,
    offered_instruments,
    public_link,
    qr_svg,
    rotate_link,
    short_link,
)
from ..extensions import db
from ..models import Clinic
from ..screening.instruments import INSTRUMENTS
from .blueprint import bp, signed_in_clinician
from .forms import ClinicForm, PostOnlyForm, QuestionnairesForm, questionnaires_form
from .zones import zone_names


def clinic_or_404(slug: str) -> Clinic:
    """A clinic the signed-in clinician may open: any for an admin, their own otherwise; others 404,
    so a clinic's existence is not confirmed to someone outside it."""
    clinic = db.session.scalar(sa.select(Clinic).where(Clinic.slug == slug))
    if clinic is None or not (signed_in_clinician().is_admin or clinic in signed_in_clinician().clinics):
        abort(404)
    return clinic


def visible_clinics() -> list[Clinic]:
    if signed_in_clinician().is_admin:
        return list(db.session.scalars(sa.select(Clinic).order_by(Clinic.name)))
    return list(signed_in_clinician().clinics)


def render_list(form: ClinicForm, status: int = 200):
    return render_template("clinician/clinics.html", clinics=visible_clinics(), form=form,
                           zones=zone_names()), status


@bp.get("/clinics")
def clinics():
    """The clinics I may open (admins: all, with a form to add one)."""
    return render_list(ClinicForm())


@bp.post("/clinics")
def create_clinic_page():
    """Add a clinic (admins): a slug is made from the name and a fresh link issued."""
    if not signed_in_clinician().is_admin:
        abort(403)
    form = ClinicForm()
    if not form.validate_on_submit():
        return render_list(form, 400)
    clinic = create_clinic(form.name.data, form.timezone.data)
    db.session.flush()
    audit.record(audit.CLINIC_CREATED, signed_in_clinician(), target=clinic.slug,
                 detail=f"{clinic.name} ({clinic.timezone})")
    db.session.commit()
    flash(_("Clinic %(name)s was created.", name=clinic.name), "info")
    return redirect(url_for(".clinic_settings", slug=clinic.slug), 303)


def render_settings(clinic: Clinic, form: ClinicForm, status: int = 200,
                    questionnaires: QuestionnairesForm | None = None):
    link, whole = public_link(clinic)
    offered = offered_instruments(clinic)
    questionnaires = questionnaires or questionnaires_form(INSTRUMENTS.values(), offered)
    return render_template("clinician/clinic.html", clinic=clinic, form=form, link=link, whole_link=whole,
                           short_link=short_link(clinic)[0], short_code=grouped_short_code(clinic.short_code),
                           rotate_form=PostOnlyForm(), zones=zone_names(), questionnaires=questionnaires,
                           offered=[INSTRUMENTS[name] for name in offered]), status


@bp.get("/clinics/<slug>")
def clinic_settings(slug: str):
    """A clinic's name, time zone, link and clinicians; admins may change them."""
    clinic = clinic_or_404(slug)
    return render_settings(clinic, ClinicForm(obj=clinic))


@bp.post("/clinics/<slug>")
def update_clinic(slug: str):
    """Change a clinic's name or time zone (admins); the slug and link stay."""
    clinic = clinic_or_404(slug)
    if not signed_in_clinician().is_admin:
        abort(403)
    form = ClinicForm()
    if not form.validate_on_submit():
        return render_settings(clinic, form, 400)
    changes = [f"{name}: {getattr(clinic, name)} → {value}" for name, value in
               (("name", form.name.data), ("timezone", form.timezone.data)) if getattr(clinic, name) != value]
    clinic.name, clinic.timezone = form.name.data, form.timezone.data
    if changes:
        audit.record(audit.CLINIC_CHANGED, signed_in_clinician(), target=clinic.slug, detail="; ".join(changes))
    db.session.commit()
    flash(_("The clinic's settings were saved."), "info")
    return redirect(url_for(".clinic_settings", slug=clinic.slug), 303)


@bp.post("/clinics/<slug>/questionnaires")
def update_clinic_questionnaires(slug: str):
    """Choose which questionnaires the clinic's link offers and in what order (admins and the clinic's
    own clinicians)."""
    clinic = clinic_or_404(slug)
    form = questionnaires_form(INSTRUMENTS.values(), [])  # a questionnaire left out of the form: not offered
    if not form.validate_on_submit():
        return render_settings(clinic, ClinicForm(obj=clinic, formdata=None), 400, questionnaires=form)
    before = ",".join(offered_instruments(clinic))
    clinic.instruments = ",".join(form.chosen())
    if clinic.instruments != before:
        audit.record(audit.CLINIC_CHANGED, signed_in_clinician(), target=clinic.slug,
                     detail=f"questionnaires: {before} → {clinic.instruments}")
    db.session.commit()
    flash(_("The questionnaires the clinic's link offers were saved."), "info")
    return redirect(url_for(".clinic_settings", slug=clinic.slug), 303)


@bp.post("/clinics/<slug>/rotate-link")
def rotate_clinic_link(slug: str):
    """Replace the clinic's link (admins): the old link, and posters showing it, stop working at once."""
    clinic = clinic_or_404(slug)
    if not signed_in_clinician().is_admin:
        abort(403)
    if not PostOnlyForm().validate_on_submit():
        abort(400)
    rotate_link(clinic)
    audit.record(audit.LINK_ROTATED, signed_in_clinician(), target=clinic.slug)
    db.session.commit()
    flash(_("The clinic has a new link. The old one no longer works: print the poster again."), "info")
    return redirect(url_for(".clinic_settings", slug=clinic.slug), 303)


@bp.get("/clinics/<slug>/poster")
def clinic_poster(slug: str):
    """A printable poster for the waiting room: the link as a QR code made here and as text."""
    clinic = clinic_or_404(slug)
    link, whole = public_link(clinic)
    return render_template("clinician/poster.html", clinic=clinic, link=link, whole_link=whole,
                           short_link=short_link(clinic)[0], qr=qr_svg(link) if whole else None)
