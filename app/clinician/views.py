"""Workspace pages: queue and adding a result by code, result detail and review, statistics, exports, audit log."""
from __future__ import annotations

import math
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ..errors import without_error_messages
from ..extensions import db
from ..models import AuditEvent, Clinic, Clinician, utcnow
from ..screening import codes
from ..screening.instruments import INSTRUMENTS, PCL5
from ..screening.scoring import DSM5_RULE
from ..screening.service import change_since, find_screening, result_of
from . import audit
from .charts import bar_chart, trend_chart
from .exports import csv_stream, fhir_stream
from .filter_parsing import parse_page
from .forms import ClaimForm, ReviewForm, UnreviewForm
from .queries import (
    PAGE_SIZE,
    backlog,
    find_visible,
    instrument_summaries,
    parse_filters,
    queue_page,
    scope_for,
    scope_of,
    series_counts,
    series_for,
    series_waiting,
    weekly_counts,
)
from .zones import clinic_names_and_zones, in_zone, local_date

bp = Blueprint("clinician", __name__, url_prefix="/clinician")


@bp.before_request
@login_required
def require_sign_in():
    """Every page here needs a signed-in, active clinician; others are sent to the sign-in page."""


@bp.context_processor
def template_helpers():
    """Code display and date-time formatting for the workspace's templates."""
    return {"display_code": codes.display, "format_datetime": format_datetime, "in_zone": in_zone}


@bp.after_request
def no_store(response: Response) -> Response:
    """Clinical data must not linger in a shared computer's browser cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def me():
    """The signed-in clinician as a model instance (not Flask-Login's proxy)."""
    return current_user._get_current_object()


@bp.app_template_global()
def filter_clinics() -> list[Clinic]:
    """The clinics the filters' clinic choice offers: only to a reader who sees more than one."""
    readable = my_clinics()
    return readable if len(readable) > 1 else []


def my_clinics() -> list[Clinic]:
    """The clinics a result may be added to: every clinic for an admin, the clinician's own otherwise."""
    if me().is_admin:
        return list(db.session.scalars(sa.select(Clinic).order_by(Clinic.name)))
    return list(me().clinics)


def claim_form() -> ClaimForm:
    form = ClaimForm()
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
                           filter_endpoint=endpoint, claim=claim_form(), zones={}), 400


def render_queue(claim: ClaimForm, status: int = 200):
    filters, errors = parse_filters(request.args)
    scope, clinic_errors = scope_for(me(), filters)
    if errors or clinic_errors:
        return filter_errors(errors + clinic_errors)
    page = queue_page(filters, parse_page(request.args.get("page")), scope)
    clinic_names, zones = clinic_names_and_zones()
    return render_template("clinician/queue.html", filters=filters, errors=[], page=page, instruments=INSTRUMENTS,
                           page_size=PAGE_SIZE, claim=claim, zones=zones, clinic_names=clinic_names), status


@bp.get("/")
def queue():
    """The triage queue (see queries.QUEUE_ORDER); 50 a page."""
    return render_queue(claim_form())


@bp.post("/")
def claim():
    """Add a result to one of my clinics by its whole code (the person handed it over). Another
    clinic's code, an expired and an unknown one get the very same "not found"."""
    form = claim_form()
    if not form.validate_on_submit():
        return render_queue(form, 400)
    clinic = db.session.scalar(sa.select(Clinic).where(Clinic.slug == form.clinic.data))
    assert clinic is not None  # the form accepts only the slug of one of my clinics
    row = find_screening(form.code.data)
    if row is not None and row.clinic_id == clinic.id:  # find_screening leaves out expired results
        flash(_("Result %(code)s is already in this clinic's caseload.", code=codes.display(row.code)), "info")
        return redirect(url_for(".result", code=codes.display(row.code)), 303)
    if row is not None and row.clinic_id is not None and me().is_admin:
        assert row.clinic is not None  # clinic_id is a foreign key to it
        flash(_("Result %(code)s is already shared with %(clinic)s.", code=codes.display(row.code),
                clinic=row.clinic.name), "info")
        return redirect(url_for(".result", code=codes.display(row.code)), 303)
    if row is None or row.clinic_id is not None:
        form.code.errors.append(_("No result with this code was found. Check the code with the person who gave it "
                                  "to you."))
        return render_queue(form, 404)
    row.clinic_id = clinic.id
    audit.record(audit.CLAIM, me(), target=codes.display(row.code), detail=clinic.slug)
    db.session.commit()
    flash(_("Result %(code)s was added to %(clinic)s.", code=codes.display(row.code), clinic=clinic.name), "info")
    return redirect(url_for(".result", code=codes.display(row.code)), 303)


def render_result(row, form: ReviewForm, status: int = 200):
    """The detail page of one result, in the order of the work: the verdict and change, the review,
    the trend (two or more results), then every answer."""
    result = result_of(row)
    instrument = INSTRUMENTS[row.instrument]
    scope = scope_of(me())
    series = series_for(row, scope)
    zone = row.clinic.timezone if row.clinic else "UTC"
    chart = None
    if len(series) > 1:  # by date, gaps to scale, labelled with the date in the clinic's zone as the table
        chart = trend_chart([(item.taken_at.timestamp(), format_date(local_date(item.taken_at, zone), "medium"),
                              item.total) for item in series], instrument.max_total, row.cutoff)
    earlier = [item for item in series if item.taken_at < row.taken_at or
               (item.taken_at == row.taken_at and item.id < row.id)]
    previous = earlier[-1] if earlier else None
    change = change_since(previous, result) if previous is not None and previous.instrument == row.instrument else None
    options = {option.score: option.label for option in instrument.options}
    answers = [(item, options[int(value)], int(value)) for item, value in instrument.answered_items(row.answers)]
    return render_template("clinician/result.html", row=row, result=result, instrument=instrument,
                           code=codes.display(row.code), answers=answers, series=series, chart=chart,
                           form=form, dsm5_rule=DSM5_RULE, previous=previous, change=change, zone=zone,
                           is_pcl5=instrument is PCL5), status


def visible_or_404(code: str):
    return find_visible(code, scope_of(me())) or abort(404)


@bp.get("/results/<code>")
def result(code: str):
    """One result in full; each view is recorded in the audit log."""
    row = visible_or_404(code)
    audit.record(audit.VIEW_RESULT, me(), target=codes.display(row.code))
    db.session.commit()
    return render_result(row, ReviewForm(data={"note": row.review_note or ""}))


@bp.post("/results/<code>/review")
def review(code: str):
    """Mark a result reviewed (again, to change the note); a bad note stores nothing."""
    row = visible_or_404(code)
    form = ReviewForm()
    if not form.validate_on_submit():
        return render_result(row, form, 400)
    row.reviewed = True
    row.reviewed_at = utcnow()
    row.reviewed_by_id = me().id
    row.review_note = (form.note.data or "").strip() or None
    audit.record(audit.REVIEW, me(), target=codes.display(row.code))
    db.session.commit()
    flash(_("Marked as reviewed."), "info")
    return redirect(url_for(".result", code=codes.display(row.code)), 303)


@bp.post("/results/<code>/unreview")
def unreview(code: str):
    """Put a result back in the unreviewed part of the queue (the note is kept for reference)."""
    row = visible_or_404(code)
    form = UnreviewForm()
    if not form.validate_on_submit():
        abort(400)
    row.reviewed = False
    row.reviewed_at = None
    row.reviewed_by_id = None
    audit.record(audit.UNREVIEW, me(), target=codes.display(row.code))
    db.session.commit()
    flash(_("Marked as not reviewed."), "info")
    return redirect(url_for(".result", code=codes.display(row.code)), 303)


@bp.get("/stats")
def stats():
    """Results per week, distribution of totals, share at or above the cut-off, mean cluster profile."""
    filters, errors = parse_filters(request.args)
    scope, clinic_errors = scope_for(me(), filters)
    if errors or clinic_errors:
        return filter_errors(errors + clinic_errors, "clinician/stats.html")
    weeks = weekly_counts(filters, scope)
    summaries = instrument_summaries(filters, scope)
    distributions = {summary.instrument_id: summary.distribution() for summary in summaries}
    charts = {}
    for summary in summaries:
        marker = (summary.cutoff_position(current_app.config["PCL5_CUTOFF"]) if summary.instrument_id == PCL5.id
                  else None)
        charts[summary.instrument_id] = bar_chart(distributions[summary.instrument_id], marker=marker)
    return render_template(
        "clinician/stats.html", filters=filters, errors=[], instruments=INSTRUMENTS, weeks=weeks,
        weeks_chart=bar_chart([(week.isoformat(), count) for week, count in weeks]) if weeks else None,
        summaries=summaries, distributions=distributions, distribution_charts=charts,
        total=sum(summary.count for summary in summaries), backlog=backlog(filters, scope),
        series=series_counts(filters, scope), series_waiting=series_waiting(filters, scope),
        today=utcnow().date(), pcl5_cutoff=current_app.config["PCL5_CUTOFF"],
    )


def _download(stream, mimetype: str, extension: str, action: str):
    filters, errors = parse_filters(request.args)
    scope, clinic_errors = scope_for(me(), filters)
    if errors or clinic_errors:
        return filter_errors(errors + clinic_errors)
    audit.record(action, me(), detail=filters.describe())
    db.session.commit()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    response = Response(stream_with_context(without_error_messages(stream(filters, scope))),
                        mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="ptsd-results-{stamp}.{extension}"'
    return response


@bp.get("/export.csv")
def export_csv():
    """Every result matching the current filters as CSV, streamed."""
    return _download(csv_stream, "text/csv", "csv", audit.EXPORT_CSV)


@bp.get("/export.fhir.json")
def export_fhir():
    """Every result matching the current filters as a FHIR R4 Bundle of QuestionnaireResponses, streamed."""
    return _download(fhir_stream, "application/fhir+json", "fhir.json", audit.EXPORT_FHIR)


@bp.get("/audit")
def audit_log():
    """The audit log, newest first, 50 a page, filtered by clinician, action and dates; admins only."""
    if not me().is_admin:
        abort(403)
    chosen = audit.parse_audit_filters(request.args)
    statement = audit.filtered_events(sa.select(AuditEvent), chosen)
    count = db.session.scalar(audit.filtered_events(sa.select(sa.func.count(AuditEvent.id)), chosen))
    pages = max(1, math.ceil(count / PAGE_SIZE))
    number = min(parse_page(request.args.get("page")), pages)
    events = db.session.scalars(statement.options(joinedload(AuditEvent.clinician))
                                .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                .limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)).all()
    clinicians = db.session.scalars(sa.select(Clinician).order_by(Clinician.email)).all()
    return render_template("clinician/audit.html", events=events, count=count, number=number, pages=pages,
                           chosen=chosen, actions=audit.ACTIONS, labels=audit.LABELS, clinicians=clinicians), \
        400 if chosen.errors else 200


# The admins' accounts pages and the clinic screens register their routes on bp, so they are
# imported once bp exists.
from . import accounts, clinics, outcomes  # noqa: E402, F401
