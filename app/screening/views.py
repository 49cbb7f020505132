"""Person-facing pages: home, the two screenings, a stored result, its FHIR download and deletion."""
from __future__ import annotations

import json
from functools import lru_cache

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ..crisis_lines import CRISIS_LINES, EMERGENCY_EU, EMERGENCY_US, bold_number, directory_link, how_markup
from ..errors import REFUSED_FORM_PAGES, UNSAVED_FORM_PAGES, unknown_link
from ..extensions import csrf
from ..models import Clinic, Screening
from ..page_cache import cached_page
from . import codes
from .change import Change, signed
from .fhir import questionnaire_response
from .forms import YES, DeleteForm, ResultCodeForm, clinic_store_choices, form_class, item_sections
from .instruments import INSTRUMENTS, PRODUCT_CLUSTERS, Instrument
from .instruments.itq import ITQ, WHEN_OPTIONS, ptsd_symptoms_without_impairment
from .scoring import ScreeningResult
from .service import (
    PreviousCodeError,
    add_screening,
    change_since,
    delete_screening,
    earlier_in_series,
    find_clinic_by_token,
    find_screening,
    previous_of,
    resolve_previous,
    result_of,
    score,
)
from .submissions import FIELD as SUBMISSION_FIELD
from .submissions import new_one_time_value, submission_key

bp = Blueprint("screening", __name__)
# The person's forms carry no CSRF token (they get no session to bind one to): a cross-site POST is
# refused before any view runs instead (app/security.py). The clinician workspace keeps its tokens.
csrf.exempt(bp)

CLUSTER_NAMES = {
    "reexperiencing": _l("Re-experiencing"),
    "avoidance": _l("Avoidance and numbing"),
    "arousal": _l("Arousal and reactivity"),
}
# DSM-5's own names for its four PTSD clusters (American Psychiatric Association, 2013), for the
# clinician's view of the PCL-5's items 1–5 (B), 6–7 (C), 8–14 (D) and 15–20 (E).
DSM5_CLUSTER_NAMES = {
    "B": _l("intrusion"),
    "C": _l("avoidance"),
    "D": _l("negative alterations in cognitions and mood"),
    "E": _l("alterations in arousal and reactivity"),
}


def group_names(instrument: Instrument) -> dict:
    """The names of an instrument's groups, translated: its own (the ITQ's) over this site's three."""
    return {**CLUSTER_NAMES, **{key: _l(name) for key, name in instrument.cluster_names}}


ITQ_CLUSTER_NAMES = group_names(ITQ)
ITQ_SECTION_NAMES = {
    "ptsd_symptoms": _l("Problems in the past month"),
    "ptsd_impairment": _l("How these problems affected your life"),
    "dso_symptoms": _l("How you usually feel, see yourself and relate to others"),
    "dso_impairment": _l("How those problems affected your life"),
}


# One name per questionnaire everywhere a person sees it (menu, home, headings, result): a plain
# description (the instrument's person_name), then the published abbreviation.
PERSON_NAMES = {i.id: _l(i.person_name) for i in INSTRUMENTS.values() if i.person_name}
# What each questionnaire asks and how long it takes, for its card on the home page.
PERSON_SUMMARIES = {i.id: _l(i.person_summary) for i in INSTRUMENTS.values() if i.person_summary}
# When a questionnaire is the better choice, where that is not obvious from its summary.
PERSON_WHEN_TO_CHOOSE = {i.id: _l(i.person_when_to_choose) for i in INSTRUMENTS.values() if i.person_when_to_choose}


def instrument_name(instrument: Instrument, short_on_phones: bool = False) -> Markup:
    """"Full checklist (PCL-5)": the abbreviation never breaks across lines; in the menu it is hidden
    from sight (screen readers still hear the whole name), so the menu fits one row."""
    plain = PERSON_NAMES.get(instrument.id)
    if plain is None:
        return short_name(instrument)
    return _named(str(plain), instrument.name, short_on_phones)


@lru_cache(maxsize=64)
def _named(plain: str, abbreviation: str, short_on_phones: bool) -> Markup:
    # Kept per translated name: Markup.format parses its pattern on every call, and the menu names each
    # questionnaire on every page.
    shown = Markup('<span class="{}">({})</span>').format("nowrap abbr" if short_on_phones else "nowrap",
                                                          abbreviation)
    return Markup("{} {}").format(plain, shown)


def short_name(instrument: Instrument) -> Markup:
    """The published abbreviation ("PHQ-9") inside a sentence, kept on one line: a narrow screen broke
    "Su resultado del PHQ-9" after the hyphen."""
    return Markup('<span class="nowrap">{}</span>').format(instrument.name)


def offered_instruments() -> list[Instrument]:
    """The questionnaires the menu and home page offer (those with a menu_order), in that order."""
    return sorted((i for i in INSTRUMENTS.values() if i.menu_order is not None), key=lambda i: i.menu_order or 0)

# Any neutral page will do: the control is a link away from here, never a request from this site.
DEFAULT_LEAVE_SITE_URL = "https://www.google.com/search?q=weather"


@bp.app_context_processor
def cluster_names():
    """Cluster names, questionnaire names and the "Exit this page" target for every template."""
    return {
        "CLUSTER_NAMES": CLUSTER_NAMES,
        "ITQ_CLUSTER_NAMES": ITQ_CLUSTER_NAMES,
        "group_names": group_names,
        "FOLLOW_UPS": [i for i in INSTRUMENTS.values() if i.follow_up_offer],
        "DSM5_CLUSTER_NAMES": DSM5_CLUSTER_NAMES,
        "ITQ_SECTION_NAMES": ITQ_SECTION_NAMES,
        "WHEN_OPTIONS": WHEN_OPTIONS,
        "PRODUCT_CLUSTERS": PRODUCT_CLUSTERS,
        "LEAVE_SITE_URL": current_app.config.get("LEAVE_SITE_URL") or DEFAULT_LEAVE_SITE_URL,
        "NAV_INSTRUMENTS": offered_instruments(),
        "instrument_name": instrument_name,
        "short_name": short_name,
        "PERSON_SUMMARIES": PERSON_SUMMARIES,
        "PERSON_WHEN_TO_CHOOSE": PERSON_WHEN_TO_CHOOSE,
    }


@bp.record_once
def crisis_line_globals(state) -> None:
    """The crisis lines' data and markup helpers, as globals so the partial's macros see them when imported."""
    state.app.jinja_env.globals.update(
        CRISIS_LINES=CRISIS_LINES, EMERGENCY_US=EMERGENCY_US, EMERGENCY_EU=EMERGENCY_EU,
        crisis_how=how_markup, crisis_bold=bold_number, crisis_directory_link=directory_link)


bp.add_app_template_filter(signed, "signed")


def _home_page(code_form: ResultCodeForm, status: int = 200):
    return render_template("screening/home.html", instruments=offered_instruments(), code_form=code_form,
                           retention_days=current_app.config["RETENTION_DAYS"]), status


@bp.get("/")
@cached_page
def home():
    """What this is, who it is for, how long it takes, where to start, and a box for a saved code."""
    return _home_page(ResultCodeForm(formdata=None))


@bp.post("/results")
def find_result():
    """"Already have a result code?": the code as typed (in the body, never in a URL) → its result, as
    the answer to this POST. A code that is not found gets its error beside the box on the home page,
    with what was typed still in it: one message for unknown, mistyped and deleted codes. Every attempt
    counts against the code look-up limit."""
    form = ResultCodeForm()
    if not form.code.data:
        form.code.errors = [_l("Type the code you were given, for example 7KQ2-M9XD-4TPA.")]
        return _home_page(form, 400)
    row = find_screening(form.code.data)
    if row is None:
        form.code.errors = [CODE_NOT_FOUND]
        return _home_page(form, 404)
    return render_stored(row)


def rate_limited_code_box():
    """The home page's code box refused by the look-up limit: the typed code stays, with a plain message."""
    form = ResultCodeForm()
    form.code.errors = [_l("Too many codes were tried from here in a short time. Please wait a minute, "
                           "then press “Open my result” again.")]
    return _home_page(form, 429)


REFUSED_FORM_PAGES["screening.find_result"] = rate_limited_code_box


def unsaved_form_page(notice, status: int, detail):
    """The questionnaire again with the person's answers kept and a notice that nothing was saved (the
    database was away, or a rate limit refused it)."""
    instrument = INSTRUMENTS.get((request.view_args or {}).get("instrument_id", ""))
    if instrument is None:
        return None
    form = form_class(instrument)()  # bound to the posted answers, so every choice is re-checked
    html = render_template("errors/unsaved_form.html", form=form, instrument=instrument,
                           sections=item_sections(instrument), notice=notice, detail=detail)
    return html, status


UNSAVED_FORM_PAGES["screening.screen"] = unsaved_form_page


CODE_NOT_FOUND = _l("We could not find a result with this code. Check it and try again: results are kept "
                    "for a limited time, and a deleted result cannot be opened.")


@bp.get("/about")
@cached_page
def about():
    """Who runs this site, what is stored and for how long, who can see a stored result."""
    config = current_app.config
    return render_template("screening/about.html", instruments=INSTRUMENTS,
                           retention_days=config["RETENTION_DAYS"],
                           operator_name=config.get("SITE_OPERATOR_NAME"),
                           operator_url=config.get("SITE_OPERATOR_URL"),
                           contact=config.get("SITE_CONTACT"))


def _answers_from(instrument: Instrument, form) -> tuple[list, bool | None]:
    if instrument.yes_no:
        exposure = form.exposure.data == YES
        answers = [form[item.field].data == YES for item in instrument.items] if exposure else []
        return answers, exposure
    return [int(form[item.field].data) for item in instrument.items], None


def _when_from(form) -> str | None:
    """The ITQ's optional time since the experience; None for the others or when left out."""
    return form.when.data or None if "when" in form else None


def _previous_from_link(instrument: Instrument, form, typed: str) -> Screening | None:
    """Prefill `previous` from a compare link or button; the row if it is usable, else None with the
    problem beside the box."""
    normal = codes.normalise(typed)
    form.previous.data = codes.display(normal) if normal else typed
    try:
        return resolve_previous(instrument, typed)
    except PreviousCodeError as error:
        form.previous.errors = [error.message]  # shown beside the box, not as a failed submission
        return None


def _clinic_from_request() -> tuple[str, Clinic | None, bool]:
    """The clinic's link token (in the URL or a hidden field, never a cookie), its clinic, and whether a
    token was given that names no clinic."""
    token = request.values.get("clinic", "").strip()
    clinic = find_clinic_by_token(token) if token else None
    return token, clinic, bool(token) and clinic is None


@bp.route("/screen/<instrument_id>", methods=["GET", "POST"])
@cached_page  # the blank form only: a POST or ?previous= is always rendered afresh
def screen(instrument_id: str):
    """The questionnaire; a valid submission shows the result, stored only with consent and only once
    per submission (the form's one-time value, app/screening/submissions.py)."""
    instrument = INSTRUMENTS.get(instrument_id) or abort(404)
    token, clinic, unknown = _clinic_from_request()
    if unknown:
        return unknown_link()
    form = form_class(instrument)()
    if clinic is not None:
        form.store.choices = clinic_store_choices(clinic)
    if form.validate_on_submit():
        answers, exposure = _answers_from(instrument, form)
        result = score(instrument, answers, exposure, when=_when_from(form))
        previous = form.previous_row
        key = submission_key(request.form.get(SUBMISSION_FIELD), result, previous, clinic)
        if form.store.data == YES and key is not None:
            code = add_screening(result, previous=previous, clinic=clinic, submission_key=key)
            row = find_screening(code) or abort(404)  # just stored (or stored by this same form before)
            return render_stored(row, kept_now=True)
        change = change_since(previous, result) if previous is not None else None
        return render_result(result, code=None, change=change, previous=previous,
                             keep_offer=_keep_offer(instrument, form, clinic, token),
                             asked_to_keep=form.store.data == YES)
    typed = request.args.get("previous", "").strip()  # a compare link kept from before
    return _form_page(instrument, form, clinic, token, typed_previous=typed,
                      fixed_previous=bool(typed) or bool(request.form.get("previous_fixed")),
                      status=400 if form.is_submitted() else 200)


@bp.post("/screen/<instrument_id>/compare")
def start_compare(instrument_id: str):
    """"Retake and compare": the questionnaire with the earlier result's code in the body, not a URL."""
    instrument = INSTRUMENTS.get(instrument_id) or abort(404)
    token, clinic, unknown = _clinic_from_request()
    if unknown:
        return unknown_link()
    form = form_class(instrument)(formdata=None)
    if clinic is not None:
        form.store.choices = clinic_store_choices(clinic)
    typed = request.form.get("previous", "").strip()
    response = current_app.make_response(_form_page(instrument, form, clinic, token, typed_previous=typed,
                                                    fixed_previous=bool(typed), submitted=False))
    return _private(response)


def _form_page(instrument: Instrument, form, clinic: Clinic | None, token: str, typed_previous: str = "",
               fixed_previous: bool = False, status: int = 200, submitted: bool | None = None):
    """The questionnaire page, blank, prefilled from a compare link, or with a submission's problems."""
    submitted = form.is_submitted() if submitted is None else submitted
    if typed_previous and not submitted:
        previous = _previous_from_link(instrument, form, typed_previous)
    else:
        previous = form.previous_row if submitted else None
    # A code that came in a compare link or button stays out of the way as a hidden field; a typed one
    # stays editable.
    hide_previous = fixed_previous and previous is not None and not form.previous.errors
    # The optional comparison box stays folded unless the page came from a compare link or the box
    # is in use (a typed code, or a problem with it).
    compare_open = fixed_previous or bool(form.previous.data) or bool(form.previous.errors)
    return render_template("screening/form.html", form=form, instrument=instrument,
                           sections=item_sections(instrument), previous=previous,
                           hide_previous=hide_previous, compare_open=compare_open, clinic=clinic,
                           clinic_token=token or None, submitted=submitted), status


def _keep_offer(instrument: Instrument, form, clinic: Clinic | None, token: str) -> dict:
    """"Keep this result" on a result that was not kept: the answers as hidden fields, a one-time value
    made for this page, and the clinic it would be shared with."""
    fields = [(name, value) for name, value in ((field.name, field.raw_data[0] if field.raw_data else "")
                                                for field in form if field.name not in ("store", "previous"))
              if value not in ("", None)]
    if form.previous_row is not None:
        fields.append(("previous", codes.display(form.previous_row.code)))
    if clinic is not None:
        fields.append(("clinic", token))
    fields += [("store", YES), (SUBMISSION_FIELD, new_one_time_value())]
    return {"action": url_for(".screen", instrument_id=instrument.id), "fields": fields, "clinic": clinic}


def answer_rows(result: ScreeningResult) -> list[tuple[int, str, str]]:
    """Each item's number, published wording and the answer's published label, for the page and its printout."""
    labels = {option.score: option.label for option in result.instrument.options}
    return [(item.number, item.text, labels.get(value, str(value)))
            for item, value in result.instrument.answered_items(result.answers)]


def render_result(result: ScreeningResult, code: str | None, taken_at=None, change: Change | None = None,
                  previous: Screening | None = None, series: list[Screening] | None = None,
                  keep_offer: dict | None = None, asked_to_keep: bool = False, kept_now: bool = False,
                  shared_with: Clinic | None = None, from_link: bool = False):
    """The result page, for a fresh or a stored screening, with the change since an earlier one; at its
    top, what happened (kept, shared with a clinic, or not kept with the offer to keep it)."""
    response = current_app.make_response(render_template(
        "screening/result.html", result=result, instrument=result.instrument,
        code=codes.display(code) if code else None, taken_at=taken_at, change=change, previous=previous,
        series=series or [], answers=answer_rows(result),
        # A safety item (PCL-5 item 16 at "Moderately" or more) emphasises the crisis box.
        harm_item=bool(result.instrument.safety_items_endorsed(result.answers)),
        harm_words=[item.person_words for item in result.instrument.safety_items_endorsed(result.answers)],
        # ITQ: PTSD symptoms in every group but no effect on daily life, so the pattern was not met.
        itq_impairment_unmet=(bool(result.instrument.second_clusters)
                              and ptsd_symptoms_without_impairment(result.answers)),
        keep_offer=keep_offer, asked_to_keep=asked_to_keep, kept_now=kept_now, shared_with=shared_with,
        from_link=from_link, clinic_token=request.values.get("clinic", "").strip() or None,
    ))
    _private(response)
    return response


def render_stored(row: Screening, kept_now: bool = False, from_link: bool = False):
    """A stored result with the change since the result it was compared with."""
    result = result_of(row)
    previous = previous_of(row)
    change = change_since(previous, result, taken_at=row.taken_at) if previous is not None else None
    series = earlier_in_series(row) if previous is not None else []
    return render_result(result, code=row.code, taken_at=row.taken_at, change=change, previous=previous,
                         series=series, kept_now=kept_now, shared_with=row.clinic, from_link=from_link)


def _private(response):
    """A result must not linger in shared caches or the browser's disk cache on a shared computer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _stored_or_404(code: str) -> Screening:
    """The stored row for a typed code; unknown, malformed and deleted codes get the very same 404."""
    return find_screening(code) or abort(404)


def _posted_code() -> str:
    code = request.form.get("code", "")
    return code if isinstance(code, str) else ""


def _fhir_download(row: Screening):
    body = json.dumps(questionnaire_response(row), ensure_ascii=False, indent=2)
    response = current_app.response_class(body, mimetype="application/fhir+json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="ptsd-result-{codes.display(row.code)}.fhir.json"')
    return _private(response)


# Registered before /results/<code>: the default converter accepts dots, so the longer static
# suffix must be its own rule (Werkzeug prefers the rule with more static text; tests pin this).
@bp.get("/results/<code>.fhir.json")
def result_fhir(code: str):
    """The stored result as a FHIR R4 QuestionnaireResponse (a link kept from before; the result page
    posts the code to /results/download instead)."""
    return _fhir_download(_stored_or_404(code))


@bp.post("/results/download")
def download_result():
    """The stored result as a FHIR R4 QuestionnaireResponse, for any clinic's system; the code in the body."""
    return _fhir_download(_stored_or_404(_posted_code()))


@bp.get("/results/<code>")
def result(code: str):
    """A stored result by a link kept from before: it still opens, with a note that such links stay in
    the browser's history (the site's own pages never put a code in an address any more)."""
    return render_stored(_stored_or_404(code), from_link=True)


@bp.post("/results/delete")
def delete_by_code():
    """Confirm, then delete a stored result for good; the code travels in the body, never in a URL."""
    row = _stored_or_404(_posted_code())
    if request.form.get("confirm") == YES:
        delete_screening(row)
        return redirect(url_for(".result_deleted"), 303)
    return _delete_page(row, DeleteForm(formdata=None))


@bp.route("/results/<code>/delete", methods=["GET", "POST"])
def delete_result(code: str):
    """Confirm, then delete a stored result for good (a link kept from before): only a POST deletes."""
    row = _stored_or_404(code)
    form = DeleteForm()
    if form.validate_on_submit():
        delete_screening(row)
        return redirect(url_for(".result_deleted"), 303)
    return _delete_page(row, form, 400 if form.is_submitted() else 200)


def _delete_page(row: Screening, form: DeleteForm, status: int = 200):
    response = current_app.make_response(render_template(
        "screening/delete.html", form=form, code=codes.display(row.code), row=row,
        instrument=INSTRUMENTS[row.instrument]))
    response.status_code = status
    return _private(response)


@bp.get("/results/deleted")
@cached_page
def result_deleted():
    """Where a deletion ends: says what happened, names nothing."""
    return render_template("screening/deleted.html")
