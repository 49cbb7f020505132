"""Workspace pages: queue and adding a result by code, result detail and review, statistics, exports, audit log."""
from __future__ import annotations

import math
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from .. import audit
from ..errors import without_error_messages
from ..extensions import db, rows_changed
from ..models import AuditEvent, Clinic, Clinician, ResultNote, Screening, utcnow
from ..screening.instruments import INSTRUMENTS
from ..screening.scoring import DSM5_RULE
from ..screening.service import change_since, configured_cutoff, find_screening, required_cutoff, result_of
from .blueprint import add_by_code_form, bp, filter_errors, signed_in_clinician
from .charts import bar_chart, trend_chart
from .exports import csv_stream, fhir_stream
from .filter_parsing import parse_page
from .filters import parse_filters, scope_for, scope_of
from .forms import AddByCodeForm, NoteForm, NotificationsForm, PostOnlyForm, UnreviewForm
from .queue import PAGE_SIZE, find_by_reference, queue_page, series_for, series_summaries
from .statistics import (
    backlog,
    flagged_counts,
    instrument_summaries,
    series_counts,
    series_waiting,
    weekly_counts,
)
from .triage_display import reference_of, safety_flags
from .zones import clinic_names_and_zones, local_date


def render_queue(add_by_code: AddByCodeForm, status: int = 200):
    filters, errors = parse_filters(request.args)
    scope, clinic_errors = scope_for(signed_in_clinician(), filters)
    if errors or clinic_errors:
        return filter_errors(errors + clinic_errors)
    page = queue_page(filters, parse_page(request.args.get("page")), scope)
    clinic_names, zones = clinic_names_and_zones()
    return render_template("clinician/queue.html", filters=filters, errors=[], page=page, instruments=INSTRUMENTS,
                           page_size=PAGE_SIZE, add_by_code=add_by_code, zones=zones, clinic_names=clinic_names,
                           series=series_summaries(page.rows, scope)), status


@bp.get("/")
def queue():
    """The triage queue (see queue.QUEUE_ORDER); 50 a page."""
    return render_queue(add_by_code_form())


@bp.post("/")
def add_by_code():
    """Add a result to one of my clinics by its whole code (the person handed it over). Another
    clinic's code, an expired and an unknown one get the very same "not found". From here on the
    workspace names the result by its case reference only."""
    form = add_by_code_form()
    if not form.validate_on_submit():
        return render_queue(form, 400)
    clinic = db.session.scalar(sa.select(Clinic).where(Clinic.slug == form.clinic.data))
    assert clinic is not None  # the form accepts only the slug of one of my clinics
    row = find_screening(form.code.data)
    if row is not None and row.clinic_id == clinic.id:  # find_screening leaves out expired results
        flash(_("Result %(reference)s is already in this clinic's caseload.", reference=reference_of(row)), "info")
        return redirect(url_for(".result", reference=reference_of(row)), 303)
    if row is not None and row.clinic_id is not None and signed_in_clinician().is_admin:
        assert row.clinic is not None  # clinic_id is a foreign key to it
        flash(_("Result %(reference)s is already shared with %(clinic)s.", reference=reference_of(row),
                clinic=row.clinic.name), "info")
        return redirect(url_for(".result", reference=reference_of(row)), 303)
    # One conditional statement: of two clinics adding the same code at once, only one changes the row
    # and the other is told "not found", as if it had come a moment later.
    if row is None or row.clinic_id is not None or not rows_changed(
            sa.update(Screening).where(Screening.id == row.id, Screening.clinic_id.is_(None))
            .values(clinic_id=clinic.id).execution_options(synchronize_session=False)):
        form.code.errors.append(_("No result with this code was found. Check the code with the person who gave it "
                                  "to you."))
        form.code.data = ""  # never echoed back: the workspace does not show a person's code
        return render_queue(form, 404)
    audit.record(audit.ADDED_BY_CODE, signed_in_clinician(), target=reference_of(row), detail=clinic.slug)
    db.session.commit()
    flash(_("Result %(reference)s was added to %(clinic)s.", reference=reference_of(row), clinic=clinic.name),
          "info")
    return redirect(url_for(".result", reference=reference_of(row)), 303)


def assignable(row) -> list[Clinician]:
    """The active clinicians of the result's clinic, who may be given it (none for a result of no clinic)."""
    if row.clinic is None:
        return []
    return [clinician for clinician in sorted(row.clinic.clinicians, key=lambda c: c.email) if clinician.active]


def render_result(row, form: NoteForm | None = None, status: int = 200):
    """The detail page of one result, in the order of the work: a safety flag, the verdict and change,
    the review, notes and assignment, the series, then every answer."""
    result = result_of(row)
    instrument = INSTRUMENTS[row.instrument]
    scope = scope_of(signed_in_clinician())
    series = series_for(row, scope)
    zone = row.clinic.timezone if row.clinic else "UTC"
    chart = None
    if len(series) > 1:  # by date, gaps to scale, labelled with the date in the clinic's zone as the table
        chart = trend_chart([(item.taken_at.timestamp(), format_date(local_date(item.taken_at, zone), "medium"),
                              item.total) for item in series], instrument.max_total, row.cutoff)
    earlier = [item for item in series if item.taken_at < row.taken_at or
               (item.taken_at == row.taken_at and item.id < row.id)]
    previous = earlier[-1] if earlier else None
    change = (change_since(previous, result, taken_at=row.taken_at)
              if previous is not None and previous.instrument == row.instrument else None)
    options = {option.score: option.label for option in instrument.options}
    answers = [(item, options[int(value)], int(value)) for item, value in instrument.answered_items(row.answers)]
    notes = db.session.scalars(sa.select(ResultNote).where(ResultNote.screening_id == row.id)
                               .options(joinedload(ResultNote.author)).order_by(ResultNote.at, ResultNote.id)).all()
    return render_template("clinician/result.html", row=row, result=result, instrument=instrument,
                           reference=reference_of(row), answers=answers, series=series, chart=chart,
                           form=form or NoteForm(), dsm5_rule=DSM5_RULE, previous=previous, change=change, zone=zone,
                           flags=safety_flags(row), notes=notes,
                           clinicians=assignable(row), earlier=earlier, instruments=INSTRUMENTS), status


def visible_or_404(reference: str):
    return find_by_reference(reference, scope_of(signed_in_clinician())) or abort(404)


@bp.get("/results/<reference>")
def result(reference: str):
    """One result in full, by its case reference; each view is recorded in the audit log."""
    row = visible_or_404(reference)
    audit.record(audit.VIEW_RESULT, signed_in_clinician(), target=reference_of(row))
    db.session.commit()
    return render_result(row)


@bp.post("/results/<reference>/review")
def review(reference: str):
    """Mark a result reviewed (who and when are kept); an optional note is appended to its notes."""
    row = visible_or_404(reference)
    form = NoteForm()
    if not form.validate_on_submit():
        return render_result(row, form, 400)
    row.reviewed = True
    row.reviewed_at = utcnow()
    row.reviewed_by_id = signed_in_clinician().id
    audit.record(audit.REVIEW, signed_in_clinician(), target=reference_of(row))
    add_note(row, form)
    db.session.commit()
    flash(_("Marked as reviewed."), "info")
    return redirect(url_for(".result", reference=reference_of(row)), 303)


def add_note(row, form: NoteForm) -> bool:
    """Append the form's note, if any, to the result's notes, audited (not the text: the log is not a record
    of care)."""
    text = (form.note.data or "").strip()
    if not text:
        return False
    db.session.add(ResultNote(screening_id=row.id, author_id=signed_in_clinician().id, text=text))
    audit.record(audit.NOTE_ADDED, signed_in_clinician(), target=reference_of(row))
    return True


@bp.post("/results/<reference>/notes")
def add_result_note(reference: str):
    """Append a note to a result's notes; notes are never changed or removed (they go with the result)."""
    row = visible_or_404(reference)
    form = NoteForm()
    if not form.validate_on_submit() or not (form.note.data or "").strip():
        if not form.errors:
            form.note.errors = [_("Write the note before adding it.")]
        return render_result(row, form, 400)
    add_note(row, form)
    db.session.commit()
    flash(_("Note added."), "info")
    return redirect(url_for(".result", reference=reference_of(row)) + "#notes-heading", 303)


@bp.post("/results/<reference>/assign")
def assign(reference: str):
    """Give a result's series to a clinician of its clinic (or to nobody); audited."""
    row = visible_or_404(reference)
    form = PostOnlyForm()
    choice = (request.form.get("clinician") or "").strip()
    clinicians = {str(clinician.id): clinician for clinician in assignable(row)}
    if not form.validate_on_submit() or (choice and choice not in clinicians):
        return render_result(row, status=400)
    assignee = clinicians.get(choice)
    row.assigned_to_id = assignee.id if assignee else None
    audit.record(audit.ASSIGNED, signed_in_clinician(), target=reference_of(row),
                 detail=assignee.email if assignee else "nobody")
    db.session.commit()
    flash(_("Assigned to %(who)s.", who=assignee.email) if assignee else _("No longer assigned."), "info")
    return redirect(url_for(".result", reference=reference_of(row)), 303)


@bp.post("/results/<reference>/unreview")
def unreview(reference: str):
    """Put a result back in the unreviewed part of the queue (its notes are kept)."""
    row = visible_or_404(reference)
    form = UnreviewForm()
    if not form.validate_on_submit():
        abort(400)
    row.reviewed = False
    row.reviewed_at = None
    row.reviewed_by_id = None
    audit.record(audit.UNREVIEW, signed_in_clinician(), target=reference_of(row))
    db.session.commit()
    flash(_("Marked as not reviewed."), "info")
    return redirect(url_for(".result", reference=reference_of(row)), 303)


@bp.post("/account/notifications")
def notifications():
    """Turn "Email me when a result needs review" on or off (from the account page); announced from now on."""
    form = NotificationsForm()
    if not form.validate_on_submit():
        abort(400)
    clinician = signed_in_clinician()
    wanted = bool(form.notify.data)
    if wanted != clinician.notify_new_results:  # a change of the setting, not a repeated post, is audited
        audit.record(audit.ALERTS_ON if wanted else audit.ALERTS_OFF, clinician)
    if wanted and not clinician.notify_new_results:
        clinician.alerts_since = utcnow()
    clinician.notify_new_results = wanted
    db.session.commit()
    flash(_("You will get an email when results need review.") if form.notify.data
          else _("You will not get emails about results."), "info")
    return redirect(url_for("auth.account") + "#notifications-heading", 303)


@bp.get("/stats")
def stats():
    """Results per week, distribution of totals, share at or above the cut-off, mean cluster profile."""
    filters, errors = parse_filters(request.args)
    scope, clinic_errors = scope_for(signed_in_clinician(), filters)
    if errors or clinic_errors:
        return filter_errors(errors + clinic_errors, "clinician/stats.html")
    weeks = weekly_counts(filters, scope)
    summaries = instrument_summaries(filters, scope)
    distributions = {summary.instrument_id: summary.distribution() for summary in summaries}
    waiting = backlog(filters, scope)
    charts = {}
    for summary in summaries:
        instrument = INSTRUMENTS[summary.instrument_id]
        # A chart in bands (the PCL-5's) marks where the cut-off falls inside its band.
        marker = (summary.cutoff_position(required_cutoff(instrument)) if instrument.distribution_band > 1
                  else None)
        charts[summary.instrument_id] = bar_chart(distributions[summary.instrument_id], marker=marker)
    return render_template(
        "clinician/stats.html", filters=filters, errors=[], instruments=INSTRUMENTS, weeks=weeks,
        weeks_chart=bar_chart([(week.isoformat(), count) for week, count in weeks]) if weeks else None,
        summaries=summaries, distributions=distributions, distribution_charts=charts,
        total=sum(summary.count for summary in summaries), backlog=waiting,
        flagged=flagged_counts(filters, scope),
        series=series_counts(filters, scope, {summary.instrument_id: summary.count for summary in summaries}),
        series_waiting=series_waiting(filters, scope, waiting.unreviewed),
        today=utcnow().date(), cutoffs={summary.instrument_id: configured_cutoff(INSTRUMENTS[summary.instrument_id])
                                        for summary in summaries},
    )


def _download(stream, mimetype: str, extension: str, action: str):
    filters, errors = parse_filters(request.args)
    scope, clinic_errors = scope_for(signed_in_clinician(), filters)
    if errors or clinic_errors:
        return filter_errors(errors + clinic_errors)
    audit.record(action, signed_in_clinician(), detail=filters.describe())
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
    if not signed_in_clinician().is_admin:
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
