"""JSON API: score (and optionally store) a screening; publish the instrument definitions."""
from __future__ import annotations

import json

from flask import Blueprint, abort, jsonify, request, url_for
from flask_babel import gettext as _

from ..extensions import csrf
from . import codes
from .change import Change
from .instruments import INSTRUMENTS, Instrument
from .instruments.itq import ENDORSED_AT
from .scoring import InvalidAnswers, ScreeningResult
from .service import (
    PreviousCodeError,
    add_screening,
    change_since,
    configured_cutoff,
    delete_screening,
    find_clinic_by_token,
    find_screening,
    resolve_previous,
    score,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# A JSON API authenticated by nothing and changing no one's session: CSRF tokens do not apply,
# and a cross-site form cannot send application/json without a CORS preflight we never grant.
csrf.exempt(bp)

COMMON_FIELDS = frozenset({"instrument", "answers", "store", "previous", "clinic"})


def allowed_fields(instrument: Instrument) -> frozenset[str]:
    """The body's fields for this instrument: the common ones, `exposure` after a gate, `when` where asked."""
    return (COMMON_FIELDS | ({"exposure"} if instrument.gate else set())
            | ({"when"} if instrument.when_options else set()))


def errors_response(messages: list[str], status: int = 400):
    """The API's error shape: {"errors": [human-readable messages]}."""
    return jsonify(errors=messages), status


def _check_ratings(payload: dict, instrument: Instrument) -> list[str]:
    """Ratings from 0 to the scale's top (4 on the PCL-5 and the ITQ, 3 on the PHQ-9), one per item."""
    top = max(option.score for option in instrument.options)
    answers = payload.get("answers")
    if not isinstance(answers, list):
        return [_("\"answers\" must be a list of %(count)s whole numbers from 0 to %(top)s.",
                  count=len(instrument.items), top=top)]
    errors = []
    if len(answers) != len(instrument.items):
        errors.append(_("\"answers\" must have exactly %(count)s entries; it has %(given)s.",
                        count=len(instrument.items), given=len(answers)))
    for number, value in enumerate(answers, start=1):
        if type(value) is not int:
            errors.append(_("Answer %(number)s must be a whole number (not text, a decimal or true/false).",
                            number=number))
        elif not 0 <= value <= top:
            errors.append(_("Answer %(number)s must be from 0 to %(top)s; it is %(value)s.",
                            number=number, top=top, value=value))
    return errors


def _check_pcptsd5(payload: dict) -> list[str]:
    exposure = payload.get("exposure")
    if type(exposure) is not bool:
        return [_("\"exposure\" must be true or false.")]
    answers = payload.get("answers", [])
    if not isinstance(answers, list):
        return [_("\"answers\" must be a list of 5 true/false values.")]
    if not exposure:
        return [] if not answers else [_("With \"exposure\": false, \"answers\" must be omitted or empty.")]
    errors = []
    if len(answers) != 5:
        errors.append(_("\"answers\" must have exactly %(count)s entries; it has %(given)s.",
                        count=5, given=len(answers)))
    errors += [
        _("Answer %(number)s must be true or false.", number=number)
        for number, value in enumerate(answers, start=1)
        if type(value) is not bool
    ]
    return errors


def validate_payload(payload) -> tuple[Instrument | None, list[str]]:
    """The instrument named by a request body and every problem found in the body."""
    if not isinstance(payload, dict):
        return None, [_("The body must be a JSON object.")]
    named = payload.get("instrument")
    instrument = INSTRUMENTS.get(named) if isinstance(named, str) else None
    if instrument is None:
        known = ", ".join(sorted(INSTRUMENTS))
        return None, [_("\"instrument\" must be one of: %(known)s.", known=known)]
    errors = [
        _("Unknown field \"%(name)s\".", name=name) for name in sorted(set(payload) - allowed_fields(instrument))
    ]
    if "store" in payload and type(payload["store"]) is not bool:
        errors.append(_("\"store\" must be true or false."))
    if payload.get("previous") is not None and not isinstance(payload["previous"], str):
        errors.append(_("\"previous\" must be an earlier result code, as text."))
    if instrument.yes_no:
        errors += _check_pcptsd5(payload)
    else:
        errors += _check_ratings(payload, instrument)
    when_values = [option.value for option in instrument.when_options]
    if when_values and payload.get("when") is not None and payload["when"] not in when_values:
        errors.append(_("\"when\" must be null or one of: %(known)s.", known=", ".join(when_values)))
    return instrument, errors


def change_json(change: Change) -> dict:
    """The change since the earlier result: later minus earlier, so negative means a lower score."""
    body = {"total": change.total, "clusters": dict(change.clusters), "meaningful": change.meaningful}
    if change.dso_total is not None:
        assert change.dso_clusters is not None  # an ITQ change carries both
        body["dso_total"] = change.dso_total
        body["dso_clusters"] = dict(change.dso_clusters)
    return body


def result_json(result: ScreeningResult, code: str | None, change: Change | None = None) -> dict:
    """The reply body for a scored screening; `change` only when an earlier code was given."""
    body = {
        "instrument": result.instrument.id,
        "version": result.instrument.version,
        "total": result.total,
        "max_total": result.max_total,
        "clusters": dict(result.clusters),
        "cutoff": result.cutoff,
        "at_or_above_cutoff": result.at_or_above_cutoff,
        "code": codes.display(code) if code else None,
    }
    if result.dsm5_clusters is not None:
        body["dsm5_clusters"] = dict(result.dsm5_clusters)
        body["dsm5_rule_met"] = result.dsm5_rule_met
    if result.icd11_pattern is not None:
        assert result.dso_clusters is not None  # an ITQ result (it has a diagnosis) has its DSO clusters
        body["dso_total"] = result.dso_total
        body["dso_clusters"] = dict(result.dso_clusters)
        body["ptsd_criteria_met"] = result.ptsd_criteria_met
        body["dso_criteria_met"] = result.dso_criteria_met
        body["diagnosis"] = result.icd11_pattern
        body["when"] = result.when
    if change is not None:
        body["change"] = change_json(change)
    return body


@bp.post("/screenings")
def create_screening():
    """Score a screening; with "store": true keep it and answer 201 with its Location."""
    if not request.is_json:
        return errors_response([_("Send the body as JSON with Content-Type: application/json.")], 415)
    try:
        payload = json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):
        return errors_response([_("The body is not valid JSON.")])
    instrument, errors = validate_payload(payload)
    clinic = None
    if instrument is not None and "clinic" in payload:  # a clinic's link token: the result is shared with it
        clinic = find_clinic_by_token(payload["clinic"])
        if clinic is None:
            errors.append(_("\"clinic\" must be the token of a clinic's current link."))
    previous = None
    if instrument is not None and isinstance(payload.get("previous"), str):
        try:
            previous = resolve_previous(instrument, payload["previous"])
        except PreviousCodeError as error:
            errors.append(str(error.message))
    if errors:
        return errors_response(errors)
    assert instrument is not None  # validate_payload reports an error whenever it finds no instrument
    try:
        result = score(instrument, payload.get("answers", []), payload.get("exposure"), when=payload.get("when"))
    except InvalidAnswers as invalid:  # validate_payload should have caught it; never score partially
        return errors_response(list(invalid.errors))
    change = change_since(previous, result) if previous is not None else None
    if not payload.get("store", False):
        return jsonify(result_json(result, None, change)), 200
    code = add_screening(result, previous=previous, clinic=clinic)
    response = jsonify(result_json(result, code, change))
    response.status_code = 201
    response.headers["Location"] = url_for("screening.result", code=codes.display(code))
    return response


@bp.delete("/screenings/<code>")
def delete_screening_by_code(code: str):
    """Delete a stored result for good: 204, or 404 for a code that is unknown, malformed or already gone."""
    row = find_screening(code)
    if row is None:
        return errors_response([_("No stored result has that code.")], 404)
    delete_screening(row)
    return "", 204


def instrument_json(instrument: Instrument) -> dict:
    """An instrument definition with everything a front end needs to render and explain it."""
    return {
        "id": instrument.id,
        "version": instrument.version,
        "name": instrument.name,
        "title": instrument.title,
        "time_frame": instrument.time_frame,
        "instructions": instrument.instructions,
        "gate": instrument.gate,
        "stem": instrument.stem,
        "items": [
            {"number": item.number, "field": item.field, "text": item.text,
             "cluster": item.cluster, "dsm5_cluster": item.dsm5_cluster, "lead_in": item.lead_in}
            for item in instrument.items
        ],
        "options": [{"value": o.value, "label": o.label, "score": o.score} for o in instrument.options],
        "clusters": [
            {"id": cluster, "items": [item.number for item in instrument.cluster_items(cluster)],
             "max": instrument.cluster_max(cluster)}
            for cluster in ("reexperiencing", "avoidance", "arousal")
        ],
        "max_total": instrument.max_total,
        "cutoff": configured_cutoff(instrument),
        "credit": instrument.credit,
        "source_url": instrument.source_url,
        **(_second_clusters_definition(instrument) if instrument.second_clusters else {}),
    }


def _second_clusters_definition(instrument: Instrument) -> dict:
    """What the ITQ adds: its self-organisation clusters, its rules and the optional `when` ranges."""
    return {
        "dso_clusters": [
            {"id": cluster, "items": [item.number for item in instrument.cluster_items(cluster)],
             "max": instrument.cluster_max(cluster)}
            for cluster in instrument.second_clusters
        ],
        "dso_max_total": sum(instrument.cluster_max(cluster) for cluster in instrument.second_clusters),
        "endorsed_at": ENDORSED_AT,
        "when_options": [{"value": option.value, "label": option.label} for option in instrument.when_options],
    }


@bp.get("/instruments")
def list_instruments():
    """Every instrument definition."""
    return jsonify(instruments=[instrument_json(instrument) for instrument in INSTRUMENTS.values()])


@bp.get("/instruments/<instrument_id>")
def get_instrument(instrument_id: str):
    """One instrument definition, or 404."""
    instrument = INSTRUMENTS.get(instrument_id) or abort(404)
    return jsonify(instrument_json(instrument))
