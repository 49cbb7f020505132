"""The workspace's blueprint and what all its pages share: sign-in required, no caching, the signed-in
clinician, the clinics they may file a result under, the filters' error page. Its routes live in views.py,
accounts.py, clinics.py and outcomes.py, which import bp from here; create_app imports all four."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, render_template
from flask_babel import format_datetime
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Clinic, Clinician
from ..screening.instruments import INSTRUMENTS
from .filters import parse_filters
from .forms import AddByCodeForm
from .triage_display import reference_of, safety_flags
from .zones import in_zone

bp = Blueprint("clinician", __name__, url_prefix="/clinician")


@bp.before_request
@login_required
def require_sign_in():
    """Every page here needs a signed-in, active clinician; others are sent to the sign-in page."""


@bp.context_processor
def template_helpers():
    """Code display and date-time formatting for the workspace's templates."""
    return {"reference_of": reference_of, "safety_flags": safety_flags, "format_datetime": format_datetime,
            "in_zone": in_zone}


@bp.after_request
def no_store(response: Response) -> Response:
    """Clinical data must not linger in a shared computer's browser cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def signed_in_clinician() -> Clinician:
    """The signed-in clinician as a model instance (not Flask-Login's proxy)."""
    return current_user._get_current_object()


@bp.app_template_global()
def filter_clinics() -> list[Clinic]:
    """The clinics the filters' clinic choice offers: only to a reader who sees more than one."""
    readable = my_clinics()
    return readable if len(readable) > 1 else []


def my_clinics() -> list[Clinic]:
    """The clinics a result may be added to: every clinic for an admin, the clinician's own otherwise."""
    if signed_in_clinician().is_admin:
        return list(db.session.scalars(sa.select(Clinic).order_by(Clinic.name)))
    return list(signed_in_clinician().clinics)


def add_by_code_form() -> AddByCodeForm:
    form = AddByCodeForm()
    form.clinic.choices = [(clinic.slug, clinic.name) for clinic in my_clinics()]
    if len(form.clinic.choices) == 1 and not form.clinic.data:
        form.clinic.data = form.clinic.choices[0][0]
    return form


def filter_errors(errors: list[str], template: str = "clinician/queue.html"):
    """Unusable filters: say which, show nothing filtered wrongly, store nothing. (An export's errors
    show the queue's filter form, so correcting them does not start a download.)"""
    filters, _errors = parse_filters({})
    endpoint = "clinician.stats" if template == "clinician/stats.html" else "clinician.queue"
    return render_template(template, filters=filters, errors=errors, page=None, instruments=INSTRUMENTS,
                           filter_endpoint=endpoint, add_by_code=add_by_code_form(), zones={}), 400
