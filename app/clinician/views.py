"""Workspace pages: queue, result detail and review, statistics, exports and the audit log."""
from __future__ import annotations

import math
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from flask import (Blueprint, Response, abort, flash, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import without_error_messages
from ..extensions import db
from ..models import AuditEvent, utcnow
from ..screening import codes
from ..screening.instruments import INSTRUMENTS, PCL5
from ..screening.service import find_screening, result_of
from ..screening.scoring import DSM5_RULE
from . import audit
from .charts import bar_chart, trend_chart
from .exports import csv_stream, fhir_stream
from .forms import ReviewForm, UnreviewForm
from .queries import (PAGE_SIZE, instrument_summaries, parse_filters, parse_page, queue_page, series_for,
                      weekly_counts)

bp = Blueprint("clinician", __name__, url_prefix="/clinician")


@bp.before_request
@login_required
def require_sign_in():
    """Every page here needs a signed-in, active clinician; others are sent to the sign-in page."""


@bp.context_processor
def template_helpers():
    """Code display and date-time formatting for the workspace's templates."""
    return {"display_code": codes.display, "format_datetime": format_datetime}


@bp.after_request
def no_store(response: Response) -> Response:
    """Clinical data must not linger in a shared computer's browser cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def me():
    """The signed-in clinician as a model instance (not Flask-Login's proxy)."""
    return current_user._get_current_object()


def filter_errors(errors: list[str], template: str = "clinician/queue.html"):
    """Unusable filters: say which, show nothing filtered wrongly, store nothing. (An export's errors
    show the queue's filter form, so correcting them does not start a download.)"""
    filters, _errors = parse_filters({})
    endpoint = "clinician.stats" if template == "clinician/stats.html" else "clinician.queue"
    return render_template(template, filters=filters, errors=errors, page=None, instruments=INSTRUMENTS,
                           filter_endpoint=endpoint), 400


@bp.get("/")
def queue():
    """The triage queue: unreviewed first, then highest total, then newest; 50 a page."""
    filters, errors = parse_filters(request.args)
    if errors:
        return filter_errors(errors)
    page = queue_page(filters, parse_page(request.args.get("page")))
    return render_template("clinician/queue.html", filters=filters, errors=[], page=page, instruments=INSTRUMENTS,
                           page_size=PAGE_SIZE)


def render_result(row, form: ReviewForm, status: int = 200):
    """The detail page of one result: answers, clusters, DSM-5 rule, retakes, review."""
    result = result_of(row)
    instrument = INSTRUMENTS[row.instrument]
    series = series_for(row)
    chart = trend_chart([(format_date(item.taken_at, "medium"), item.total) for item in series],
                        instrument.max_total, row.cutoff)
    options = {option.score: option.label for option in instrument.options}
    answers = [(item, options[int(value)], int(value)) for item, value in zip(instrument.items, row.answers)]
    return render_template("clinician/result.html", row=row, result=result, instrument=instrument,
                           code=codes.display(row.code), answers=answers, series=series, chart=chart,
                           form=form, dsm5_rule=DSM5_RULE,
                           is_pcl5=instrument is PCL5), status


@bp.get("/results/<code>")
def result(code: str):
    """One result in full; each view is recorded in the audit log."""
    row = find_screening(code) or abort(404)
    audit.record(audit.VIEW_RESULT, me(), target=codes.display(row.code))
    db.session.commit()
    return render_result(row, ReviewForm(data={"note": row.review_note or ""}))


@bp.post("/results/<code>/review")
def review(code: str):
    """Mark a result reviewed (again, to change the note); a bad note stores nothing."""
    row = find_screening(code) or abort(404)
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
    row = find_screening(code) or abort(404)
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
    if errors:
        return filter_errors(errors, "clinician/stats.html")
    weeks = weekly_counts(filters)
    summaries = instrument_summaries(filters)
    distributions = {summary.instrument_id: summary.distribution() for summary in summaries}
    return render_template(
        "clinician/stats.html", filters=filters, errors=[], instruments=INSTRUMENTS, weeks=weeks,
        weeks_chart=bar_chart([(week.isoformat(), count) for week, count in weeks]) if weeks else None,
        summaries=summaries, distributions=distributions,
        distribution_charts={key: bar_chart(value) for key, value in distributions.items()},
        total=sum(summary.count for summary in summaries),
    )


def _download(stream, mimetype: str, extension: str, action: str):
    filters, errors = parse_filters(request.args)
    if errors:
        return filter_errors(errors)
    audit.record(action, me(), detail=filters.describe())
    db.session.commit()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    response = Response(stream_with_context(without_error_messages(stream(filters))), mimetype=mimetype)
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
    """The audit log, newest first, 50 a page, optionally one action; admins only."""
    if not me().is_admin:
        abort(403)
    action = request.args.get("action") or None
    if action not in (None, *audit.ACTIONS):
        action = None
    statement = sa.select(AuditEvent)
    count_statement = sa.select(sa.func.count(AuditEvent.id))
    if action:
        statement = statement.where(AuditEvent.action == action)
        count_statement = count_statement.where(AuditEvent.action == action)
    count = db.session.scalar(count_statement)
    pages = max(1, math.ceil(count / PAGE_SIZE))
    number = min(parse_page(request.args.get("page")), pages)
    events = db.session.scalars(statement.options(joinedload(AuditEvent.clinician)).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                .limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)).all()
    return render_template("clinician/audit.html", events=events, count=count, number=number, pages=pages,
                           action=action, actions=audit.ACTIONS)

from . import accounts  # noqa: E402,F401  (the admins' accounts pages, on this blueprint)
