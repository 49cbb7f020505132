"""Person-facing pages: home, the two screenings, a stored result, its FHIR download and deletion."""
from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from ..extensions import csrf
from ..fhir import questionnaire_response
from ..models import Screening
from ..page_cache import cached_page
from . import codes
from .change import PCL5_MEANINGFUL_CHANGE, PCL5_POSSIBLE_CHANGE, Change, signed
from ..clinics.views import unknown_link
from .forms import YES, DeleteForm, clinic_store_choices, form_class
from .instruments import INSTRUMENTS, PCPTSD5, PRODUCT_CLUSTERS, Instrument
from .scoring import ScreeningResult
from .service import (
    PreviousCodeError,
    add_screening,
    change_since,
    delete_screening,
    earlier_in_series,
    find_clinic_by_token,
    find_screening,
    resolve_previous,
    result_of,
    score,
)

bp = Blueprint("screening", __name__)

CLUSTER_NAMES = {
    "reexperiencing": _l("Re-experiencing"),
    "avoidance": _l("Avoidance and numbing"),
    "arousal": _l("Arousal and reactivity"),
}


# Any neutral page will do: the control is a link away from here, never a request from this site.
DEFAULT_LEAVE_SITE_URL = "https://www.google.com/search?q=weather"


@bp.app_context_processor
def cluster_names():
    """Cluster names and the "Leave this site" target for every template, translated at render time."""
    return {
        "CLUSTER_NAMES": CLUSTER_NAMES,
        "PRODUCT_CLUSTERS": PRODUCT_CLUSTERS,
        "LEAVE_SITE_URL": current_app.config.get("LEAVE_SITE_URL") or DEFAULT_LEAVE_SITE_URL,
    }


bp.add_app_template_filter(signed, "signed")


def item_sections(instrument: Instrument) -> list[tuple[str, list]]:
    """Runs of consecutive items that share a cluster, keeping the instrument's own item order."""
    sections: list[tuple[str, list]] = []
    for item in instrument.items:
        if not sections or sections[-1][0] != item.cluster:
            sections.append((item.cluster, []))
        sections[-1][1].append(item)
    return sections


@bp.get("/")
@cached_page
def home():
    """What this is, who it is for, how long it takes, and where to start."""
    return render_template("screening/home.html", instruments=INSTRUMENTS,
                           retention_days=current_app.config["RETENTION_DAYS"])


def _answers_from(instrument: Instrument, form) -> tuple[list, bool | None]:
    if instrument is PCPTSD5:
        exposure = form.exposure.data == YES
        answers = [form[item.field].data == YES for item in instrument.items] if exposure else []
        return answers, exposure
    return [int(form[item.field].data) for item in instrument.items], None


def _previous_from_url(instrument: Instrument, form) -> tuple[bool, Screening | None]:
    """Prefill `previous` from ?previous=<code>; whether the URL carried one, and the row if it is usable."""
    typed = request.args.get("previous", "").strip()
    if not typed:
        return False, None
    if not form.is_submitted():
        normal = codes.normalise(typed)
        form.previous.data = codes.display(normal) if normal else typed
        try:
            return True, resolve_previous(instrument, typed)
        except PreviousCodeError as error:
            form.previous.errors = [error.message]  # shown beside the box, not as a failed submission
            return True, None
    return True, form.previous_row


@bp.route("/screen/<instrument_id>", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so an expired one re-renders with the answers kept
@cached_page  # the blank form only: a POST or ?previous= is always rendered afresh
def screen(instrument_id: str):
    """The questionnaire; a valid submission shows the result, stored only with consent."""
    instrument = INSTRUMENTS.get(instrument_id) or abort(404)
    # Through a clinic's link the clinic travels in the URL and a hidden field, never in a cookie.
    token = request.values.get("clinic", "").strip()
    clinic = find_clinic_by_token(token) if token else None
    if token and clinic is None:
        return unknown_link()
    form = form_class(instrument)()
    if clinic is not None:
        form.store.choices = clinic_store_choices(clinic)
    if form.validate_on_submit():
        answers, exposure = _answers_from(instrument, form)
        result = score(instrument, answers, exposure)
        previous = form.previous_row
        if form.store.data == YES:
            row = add_screening(result, previous=previous, clinic=clinic)
            return redirect(url_for(".result", code=codes.display(row.code)), 303)
        change = change_since(previous, result) if previous is not None else None
        return render_result(result, code=None, change=change, previous=previous)
    status = 400 if form.is_submitted() else 200
    from_url, previous = _previous_from_url(instrument, form)
    # A code that came in the link stays out of the way as a hidden field; a typed one stays editable.
    hide_previous = from_url and previous is not None and not form.previous.errors
    return render_template("screening/form.html", form=form, instrument=instrument,
                           sections=item_sections(instrument), previous=previous,
                           hide_previous=hide_previous, clinic=clinic, clinic_token=token or None), status


def render_result(result: ScreeningResult, code: str | None, taken_at=None, change: Change | None = None,
                  previous: Screening | None = None, series: list[Screening] | None = None):
    """The result page, for a fresh or a stored screening, with the change since an earlier one."""
    response = current_app.make_response(render_template(
        "screening/result.html", result=result, instrument=result.instrument,
        code=codes.display(code) if code else None, taken_at=taken_at, change=change, previous=previous,
        series=series or [], MEANINGFUL_CHANGE=PCL5_MEANINGFUL_CHANGE, POSSIBLE_CHANGE=PCL5_POSSIBLE_CHANGE,
    ))
    _private(response)
    return response


def _private(response):
    """A result must not linger in shared caches or the browser's disk cache on a shared computer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _stored_or_404(code: str) -> Screening:
    """The stored row for a typed code; unknown, malformed and deleted codes get the very same 404."""
    return find_screening(code) or abort(404)


# Registered before /results/<code>: the default converter accepts dots, so the longer static
# suffix must be its own rule (Werkzeug prefers the rule with more static text; tests pin this).
@bp.get("/results/<code>.fhir.json")
def result_fhir(code: str):
    """The stored result as a FHIR R4 QuestionnaireResponse, for any clinic's system."""
    row = _stored_or_404(code)
    body = json.dumps(questionnaire_response(row), ensure_ascii=False, indent=2)
    response = current_app.response_class(body, mimetype="application/fhir+json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="ptsd-result-{codes.display(row.code)}.fhir.json"')
    return _private(response)


@bp.get("/results/<code>")
def result(code: str):
    """A stored result by its code, with the change since the result it was compared with."""
    row = _stored_or_404(code)
    result = result_of(row)
    previous = row.previous
    change = change_since(previous, result) if previous is not None else None
    series = earlier_in_series(row) if previous is not None else []
    return render_result(result, code=row.code, taken_at=row.taken_at, change=change,
                         previous=previous, series=series)


@bp.route("/results/<code>/delete", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so an expired one gets the confirmation page again
def delete_result(code: str):
    """Confirm, then delete a stored result for good: only a POST with a valid CSRF token deletes."""
    row = _stored_or_404(code)
    form = DeleteForm()
    if form.validate_on_submit():
        delete_screening(row)
        return redirect(url_for(".result_deleted"), 303)
    response = current_app.make_response(render_template(
        "screening/delete.html", form=form, code=codes.display(row.code), row=row,
        instrument=INSTRUMENTS[row.instrument]))
    response.status_code = 400 if form.is_submitted() else 200
    return _private(response)


@bp.get("/results/deleted")
@cached_page
def result_deleted():
    """Where a deletion ends: says what happened, names nothing."""
    return render_template("screening/deleted.html")
