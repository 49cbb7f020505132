"""Plausible demo results, scored by the real scoring core and inserted in bulk (for demos and benchmarks)."""
from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Screening, utcnow
from ..screening import codes
from ..screening.case_references import new_case_reference
from ..screening.instruments import INSTRUMENTS, Instrument
from ..screening.service import configured_cutoff, result_columns

BATCH = 5000
# The demo's instrument mix, from each instrument's own weight: (id, share of the results), in the order
# drawn (the last takes whatever rounding leaves). Each instrument makes up its own answers
# (Instrument.demo_answers).
MIX: tuple[tuple[str, float], ...] = tuple(
    (instrument.id, instrument.demo_weight / sum(other.demo_weight for other in INSTRUMENTS.values()))
    for instrument in INSTRUMENTS.values() if instrument.demo_weight
)
UNATTACHED_SHARE = 0.1  # with clinics: results kept without a clinic's link (seen once added by code)
# Latent severity of the people who take a screen: most mildly affected, a sizeable minority severely.
SEVERITY = ((0.55, 0.12, 0.10), (0.30, 0.40, 0.12), (0.15, 0.70, 0.10))  # (weight, mean, spread)


def _severity(rng: random.Random) -> float:
    weight = rng.random()
    for component in SEVERITY:  # the component the weight falls in (the last if rounding leaves some over)
        weight -= component[0]
        if weight <= 0:
            break
    _share, mean, spread = component
    return min(1.0, max(0.0, rng.gauss(mean, spread)))


def _instrument(rng: random.Random, mix: tuple[tuple[str, float], ...]) -> Instrument:
    """An instrument drawn by its share of the mix."""
    draw = rng.random()
    for instrument_id, share in mix[:-1]:
        if draw < share:
            return INSTRUMENTS[instrument_id]
        draw -= share
    return INSTRUMENTS[mix[-1][0]]


def demo_row(rng: random.Random, now, cutoffs: dict[str, int | None],
             mix: tuple[tuple[str, float], ...] = MIX) -> dict:
    """One result's column values, with a time in the past year and older ones more often reviewed; an
    instrument without an entry in `cutoffs` is scored with its default cut-off."""
    severity = _severity(rng)
    instrument = _instrument(rng, mix)
    made_up = instrument.demo_answers(rng, severity)
    result = instrument.score(made_up.answers, made_up.exposure, cutoffs.get(instrument.id), made_up.when)
    taken_at = now - timedelta(seconds=rng.uniform(0, 365 * 24 * 3600))
    reviewed = rng.random() < min(0.9, (now - taken_at).days / 120)
    return {
        **result_columns(result), "code": codes.new_code(), "taken_at": taken_at, "reviewed": reviewed,
        "reviewed_at": taken_at + timedelta(days=rng.uniform(0.1, 7)) if reviewed else None,
    }


def seed(count: int, random_seed: int | None = None, clinic_ids: list[int] | None = None,
         unattached: float = UNATTACHED_SHARE) -> None:
    """Insert `count` results in batches of BATCH rows, committing each batch. With `clinic_ids`, each
    result is shared with one of those clinics at random, except about `unattached` of them."""
    rng = random.Random(random_seed)
    now = utcnow()
    cutoffs = {instrument.id: configured_cutoff(instrument) for instrument in INSTRUMENTS.values()}
    issued: set[str] = set()
    remaining = count
    while remaining:
        rows: list[dict] = []
        while len(rows) < min(BATCH, remaining):
            row = demo_row(rng, now, cutoffs)
            row["case_reference"] = new_case_reference()
            # Codes (60 random bits) practically never repeat; references (35) do, at a million results.
            if row["code"] in issued or row["case_reference"] in issued:
                continue
            issued.update((row["code"], row["case_reference"]))
            row["clinic_id"] = rng.choice(clinic_ids) if clinic_ids and rng.random() >= unattached else None
            rows.append(row)
        db.session.execute(sa.insert(Screening), rows)
        db.session.commit()
        remaining -= len(rows)
