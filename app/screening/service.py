"""Scoring with the configured cut-offs, and storing or loading results."""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Screening
from . import codes
from .instruments import PCL5, Instrument
from .scoring import ScreeningResult, score_pcl5, score_pcptsd5


def configured_cutoff(instrument: Instrument) -> int:
    """The cut-off in force: PCL5_CUTOFF or PCPTSD5_CUTOFF from the configuration."""
    return int(current_app.config[f"{instrument.id.upper()}_CUTOFF"])


def score(instrument: Instrument, answers: Sequence, exposure: bool | None = None,
          cutoff: int | None = None) -> ScreeningResult:
    """Score typed answers with the configured cut-off unless one is given."""
    cutoff = configured_cutoff(instrument) if cutoff is None else cutoff
    if instrument is PCL5:
        return score_pcl5(answers, cutoff)
    return score_pcptsd5(exposure, answers, cutoff)


def raw_answers(result: ScreeningResult) -> list:
    """The answers as the person gave them: ratings for PCL-5, booleans for PC-PTSD-5."""
    if result.instrument is PCL5:
        return list(result.answers)
    return [bool(value) for value in result.answers]


def add_screening(result: ScreeningResult) -> Screening:
    """Store a result under a fresh code and commit; the caller has the person's consent."""
    for _attempt in range(3):
        row = Screening(
            code=codes.new_code(),
            instrument=result.instrument.id,
            instrument_version=result.instrument.version,
            exposure=result.exposure,
            answers=raw_answers(result),
            total=result.total,
            reexperiencing=result.clusters["reexperiencing"],
            avoidance=result.clusters["avoidance"],
            arousal=result.clusters["arousal"],
            dsm5_b=result.dsm5_clusters["B"] if result.dsm5_clusters else None,
            dsm5_c=result.dsm5_clusters["C"] if result.dsm5_clusters else None,
            dsm5_d=result.dsm5_clusters["D"] if result.dsm5_clusters else None,
            dsm5_e=result.dsm5_clusters["E"] if result.dsm5_clusters else None,
            dsm5_rule_met=result.dsm5_rule_met,
            cutoff=result.cutoff,
            at_or_above_cutoff=result.at_or_above_cutoff,
        )
        db.session.add(row)
        try:
            db.session.commit()
            return row
        except IntegrityError:
            # A 60-bit collision is astronomically unlikely, but a retry costs nothing.
            db.session.rollback()
    raise RuntimeError("could not allocate a unique result code")


def find_screening(typed_code: str) -> Screening | None:
    """The stored screening for a typed code, or None when it is malformed, unknown or deleted."""
    code = codes.normalise(typed_code)
    if code is None:
        return None
    return db.session.scalar(sa.select(Screening).where(Screening.code == code))


def result_of(row: Screening) -> ScreeningResult:
    """Re-score a stored row from its raw answers with the cut-off it was stored with."""
    instrument_answers = row.answers
    if row.instrument == PCL5.id:
        return score_pcl5(instrument_answers, row.cutoff)
    return score_pcptsd5(bool(row.exposure), instrument_answers, row.cutoff)
