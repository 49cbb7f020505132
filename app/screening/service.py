"""Scoring with the configured cut-offs, and storing or loading results."""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, cast

import sqlalchemy as sa
from blinker import Namespace
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from config import CUTOFF_SETTINGS

from ..database import DriverInsert
from ..extensions import db
from ..models import Clinic, Screening, utcnow
from ..retention import expiry_cutoff, unexpired
from ..translated_text import WithParameters
from . import case_references, codes
from .change import Change, compare
from .instruments import INSTRUMENTS, Instrument
from .scoring import ScreeningResult
from .triage import triage_of_result

# A series is short in practice (a retake every few weeks); the cap only bounds a pathological chain.
MAX_SERIES_LENGTH = 100


def configured_cutoff(instrument: Instrument) -> int | None:
    """The cut-off in force: the instrument's default_cutoff unless its setting (config.CUTOFF_SETTINGS)
    overrides it; None for the ITQ, which is scored by its criteria."""
    if instrument.default_cutoff is None:
        return None
    setting = CUTOFF_SETTINGS.get(instrument.id)
    value = current_app.config.get(setting) if setting else None
    return instrument.default_cutoff if value is None else int(value)


def required_cutoff(instrument: Instrument) -> int:
    """The cut-off in force for an instrument scored by one (the PCL-5, the PC-PTSD-5)."""
    cutoff = configured_cutoff(instrument)
    assert cutoff is not None, f"{instrument.id} is scored by criteria, not by a cut-off"
    return cutoff


def score(instrument: Instrument, answers: Sequence, exposure: bool | None = None,
          cutoff: int | None = None, when: str | None = None) -> ScreeningResult:
    """Score typed answers with the configured cut-off unless one is given."""
    if cutoff is None and instrument.default_cutoff is not None:
        cutoff = required_cutoff(instrument)
    return instrument.score(answers, exposure, cutoff, when)


def raw_answers(result: ScreeningResult) -> list:
    """The answers as the person gave them: ratings for the PCL-5 and the ITQ, booleans for PC-PTSD-5."""
    if result.instrument.yes_no:
        return [bool(value) for value in result.answers]
    return list(result.answers)


def add_screening(result: ScreeningResult, previous: Screening | None = None,
                  clinic: Clinic | None = None, submission_key: str | None = None) -> str:
    """Store a result under a fresh code (linked to the earlier result it was compared with), commit,
    and return the code.

    The caller has the person's consent. Through a clinic's link the result is shared with that clinic,
    and so is the earlier result it follows if no clinic has it yet (the form says so before storing).
    A `submission_key` (app/screening/submissions.py) already stored returns that row's code instead:
    the same form sent twice stores one result, even when both arrive at once.
    """
    if submission_key is not None:
        earlier = _stored_by(submission_key)
        if earlier is not None:
            if not earlier.expired:
                return earlier.code
            submission_key = None  # a form kept open past the retention period: a new result
    values = {**result_columns(result), "previous_id": previous.id if previous is not None else None,
              "clinic_id": clinic.id if clinic is not None else None, "submission_key": submission_key}
    # Read before the first attempt: a rollback expires `previous`, and the shared flag must not change.
    file_previous_under_clinic = (
        {"previous": values["previous_id"], "clinic": values["clinic_id"]}
        if clinic is not None and previous is not None and previous.clinic_id is None else None)
    supersede = None
    if previous is not None:
        values["series_start_id"] = previous.series_start_id or previous.id
        if previous.clinic_id is None or previous.clinic_id == values["clinic_id"]:
            # The same caseload: the retake becomes the series' one row, unreviewed, with its assignee.
            values["assigned_to_id"] = previous.assigned_to_id
            supersede = {"previous": previous.id}
    # The earlier result's updates, in the same transaction, made again by every attempt (a rollback undoes them).
    first = [(statement, parameters) for statement, parameters in (
        (_FILE_PREVIOUS_UNDER_CLINIC, file_previous_under_clinic), (_SUPERSEDE_PREVIOUS, supersede))
        if parameters is not None]
    for _attempt in range(3):
        values["code"] = codes.new_code()
        values["case_reference"] = case_references.new_case_reference()
        # One constant INSERT on the session's connection, in the request's transaction: the ORM's unit
        # of work would build, flush and track an object nobody reads (callers need only the code). On
        # SQLite the writers queue for the write lock and hold it for SQLite's own work only
        # (app/database.py, DriverInsert).
        try:
            _INSERT_SCREENING.write(db.session, values, first)
        except IntegrityError:
            # The same submission stored by a request that arrived at the same moment (a double click),
            # or a 60-bit code or 35-bit reference collision: unlikely, but a retry costs nothing.
            if submission_key is not None:
                earlier = _stored_by(submission_key)
                if earlier is not None and not earlier.expired:
                    return earlier.code
            continue
        if clinic is not None:
            result_shared_with_clinic.send()
        return values["code"]
    raise RuntimeError("could not allocate a unique result code")


class StoredSubmission(NamedTuple):
    code: str
    expired: bool  # past the retention period, not yet purged


def _stored_by(submission_key: str) -> StoredSubmission | None:
    """The result this submission stored, if any (one query: the key is unique)."""
    row = db.session.connection().execute(_STORED_BY, {"key": submission_key}).first()
    return None if row is None else StoredSubmission(row.code, row.taken_at < expiry_cutoff())


# Sent once a result shared with a clinic is committed, in the request that stored it: the workspace's
# review alerts listen (clinician/alerts.py), so the screening side imports nothing of the workspace.
result_shared_with_clinic = Namespace().signal("result-shared-with-clinic")

_SCREENINGS = cast(sa.Table, Screening.__table__)
_INSERT_SCREENING = DriverInsert(_SCREENINGS)
_FILE_PREVIOUS_UNDER_CLINIC = (sa.update(_SCREENINGS)
                               .where(_SCREENINGS.c.id == sa.bindparam("previous"), _SCREENINGS.c.clinic_id.is_(None))
                               .values(clinic_id=sa.bindparam("clinic")))
_STORED_BY = sa.select(_SCREENINGS.c.code, _SCREENINGS.c.taken_at).where(
    _SCREENINGS.c.submission_key == sa.bindparam("key"))
_SUPERSEDE_PREVIOUS = (sa.update(_SCREENINGS).where(_SCREENINGS.c.id == sa.bindparam("previous"))
                       .values(latest_in_series=False))


def result_columns(result: ScreeningResult) -> dict:
    """A scored result as `screenings` columns: the answers beside every score computed from them (no
    code, time, clinic or series link)."""
    dsm5 = result.dsm5_clusters
    return {
        "instrument": result.instrument.id,
        "instrument_version": result.instrument.version,
        "exposure": result.exposure,
        "answers": raw_answers(result),
        "total": result.total,
        "share": result.total / result.max_total,
        "reexperiencing": result.clusters["reexperiencing"],
        "avoidance": result.clusters["avoidance"],
        "arousal": result.clusters["arousal"],
        "dsm5_b": dsm5["B"] if dsm5 else None,
        "dsm5_c": dsm5["C"] if dsm5 else None,
        "dsm5_d": dsm5["D"] if dsm5 else None,
        "dsm5_e": dsm5["E"] if dsm5 else None,
        "dsm5_rule_met": result.dsm5_rule_met,
        "cutoff": result.cutoff,
        "at_or_above_cutoff": result.at_or_above_cutoff,
        **_itq_columns(result),
        **_triage_columns(result),
    }


def _triage_columns(result: ScreeningResult) -> dict:
    """The result's place in the clinician's triage order (app/screening/triage.py)."""
    triage = triage_of_result(result)
    return {"triage_tier": triage.tier, "severity": triage.severity, "safety_items": triage.safety_text}


def _itq_columns(result: ScreeningResult) -> dict:
    """The ITQ's own columns (self-organisation sums, criteria, pattern, time since the event)."""
    if result.icd11_pattern is None:
        return {}
    assert result.dso_clusters is not None  # an ITQ result (it has a pattern) has its DSO clusters
    return {
        "dso_total": result.dso_total,
        "affective_dysregulation": result.dso_clusters["affective_dysregulation"],
        "negative_self_concept": result.dso_clusters["negative_self_concept"],
        "disturbed_relationships": result.dso_clusters["disturbed_relationships"],
        "ptsd_criteria_met": result.ptsd_criteria_met,
        "dso_criteria_met": result.dso_criteria_met,
        "icd11_pattern": result.icd11_pattern,
        "event_when": result.when,
    }


def find_screening(typed_code: str) -> Screening | None:
    """The stored screening for a typed code, or None when it is malformed, unknown, deleted or expired
    (older than RETENTION_DAYS: gone at that moment, whether or not a purge has deleted it yet)."""
    code = codes.normalise(typed_code)
    if code is None:
        return None
    return db.session.scalar(sa.select(Screening).where(Screening.code == code, unexpired()))


def previous_of(row: Screening) -> Screening | None:
    """The earlier result this one was compared with, unless it has since been deleted or expired."""
    previous = row.previous
    if previous is None or previous.taken_at < expiry_cutoff():
        return None
    return previous


LINK_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def find_clinic_by_token(token) -> Clinic | None:
    """The clinic whose current public link carries `token`; None for an unknown or rotated one."""
    # Only the alphabet tokens are made of (secrets.token_urlsafe) goes to the database: PostgreSQL
    # refuses a NUL character in a parameter with an error, not a miss.
    if not isinstance(token, str) or not LINK_TOKEN.fullmatch(token):
        return None
    return db.session.scalar(sa.select(Clinic).where(Clinic.link_token == token))


def result_of(row: Screening) -> ScreeningResult:
    """Re-score a stored row from its raw answers with the cut-off it was stored with."""
    instrument = INSTRUMENTS[row.instrument]
    assert row.cutoff is not None or instrument.default_cutoff is None  # stored with its cut-off
    return instrument.score(row.answers, bool(row.exposure), row.cutoff, row.event_when)


class PreviousCodeError(ValueError):
    """An earlier code that cannot be compared with; `message` says why, for the person."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def resolve_previous(instrument: Instrument, typed_code) -> Screening:
    """The stored earlier result a new one of `instrument` is compared with, or PreviousCodeError."""
    code = codes.normalise(typed_code) if isinstance(typed_code, str) else None
    if code is None:
        raise PreviousCodeError(_l(
            "The earlier code does not look like a result code: it has 12 letters and numbers, "
            "like 7KQ2-M9XD-4TPA."))
    row = db.session.scalar(sa.select(Screening).where(Screening.code == code, unexpired()))
    if row is None:  # an expired result is as gone as a deleted one
        raise PreviousCodeError(WithParameters(_l(
            "We could not find a result with the earlier code %(code)s. Check it, or leave it out "
            "to see this result on its own."), code=codes.display(code)))
    if row.instrument != instrument.id:
        raise PreviousCodeError(WithParameters(_l(
            "The earlier code %(code)s is for the %(other)s, so it cannot be compared with the "
            "%(this)s. Compare results of the same questionnaire."),
            code=codes.display(code), other=INSTRUMENTS[row.instrument].name, this=instrument.name))
    return row


def change_since(previous: Screening, result: ScreeningResult, taken_at: datetime | None = None) -> Change:
    """The change from a stored earlier result to a new one (taken now) or a stored one (taken at
    `taken_at`) of the same instrument."""
    return compare(
        previous.instrument, previous.total,
        {"reexperiencing": previous.reexperiencing, "avoidance": previous.avoidance, "arousal": previous.arousal},
        result.instrument.id, result.total, result.clusters,
        earlier_dso=_stored_dso_clusters(previous), later_dso=result.dso_clusters,
        earlier_at=previous.taken_at, later_at=taken_at or utcnow(),
    )


def _stored_dso_clusters(row: Screening) -> dict[str, int] | None:
    """A stored ITQ result's self-organisation cluster sums; None for the other instruments."""
    if row.dso_total is None:
        return None
    affective, self_concept, relationships = (row.affective_dysregulation, row.negative_self_concept,
                                              row.disturbed_relationships)
    assert affective is not None and self_concept is not None and relationships is not None  # stored together
    return {"affective_dysregulation": affective, "negative_self_concept": self_concept,
            "disturbed_relationships": relationships}


def earlier_in_series(row: Screening) -> list[Screening]:
    """The results this one follows through its previous links, earliest first (not itself)."""
    chain = (
        sa.select(Screening.id, Screening.previous_id, sa.literal(1).label("depth"))
        .where(Screening.id == row.previous_id)
        .cte("chain", recursive=True)
    )
    chain = chain.union_all(
        sa.select(Screening.id, Screening.previous_id, (chain.c.depth + 1).label("depth"))
        .join(chain, Screening.id == chain.c.previous_id)
        .where(chain.c.depth < MAX_SERIES_LENGTH)
    )
    rows = db.session.execute(
        sa.select(Screening, chain.c.depth).join(chain, Screening.id == chain.c.id).where(unexpired())
        .order_by(chain.c.depth.desc())
    ).all()
    return [screening for screening, _depth in rows]


def later_in_series(row: Screening) -> list[Screening]:
    """The retakes that follow this result through their previous links, oldest first (not itself)."""
    chain = (
        sa.select(Screening.id, sa.literal(1).label("depth"))
        .where(Screening.previous_id == row.id)
        .cte("later", recursive=True)
    )
    chain = chain.union_all(
        sa.select(Screening.id, (chain.c.depth + 1).label("depth"))
        .join(chain, Screening.previous_id == chain.c.id)
        .where(chain.c.depth < MAX_SERIES_LENGTH)
    )
    return list(db.session.scalars(
        sa.select(Screening).join(chain, Screening.id == chain.c.id).where(unexpired())
        .order_by(Screening.taken_at, Screening.id)
    ))


def delete_screening(row: Screening) -> None:
    """Delete a stored result for good and commit; later results that linked to it are unlinked, and
    if it was its series' row in the queue, the result it followed in the same caseload takes its place."""
    if row.latest_in_series and row.previous_id is not None:
        db.session.execute(sa.update(Screening).where(Screening.id == row.previous_id,
                                                      Screening.clinic_id.is_not_distinct_from(row.clinic_id))
                           .values(latest_in_series=True))
    db.session.delete(row)
    db.session.commit()
