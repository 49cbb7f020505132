"""Plausible demo results, scored by the real scoring core and inserted in bulk (for demos and benchmarks)."""
from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Screening, utcnow
from ..screening import codes
from ..screening.case_references import new_case_reference
from ..screening.instruments import ITQ, PCL5, PCPTSD5
from ..screening.instruments.itq import DSO_IMPAIRMENT, DSO_SYMPTOMS_PART, WHEN_VALUES
from ..screening.scoring import score_itq, score_pcl5, score_pcptsd5
from ..screening.service import required_cutoff, result_columns

BATCH = 5000
# The share of each instrument, in the order drawn: the rest after these two take the PC-PTSD-5.
PCL5_SHARE, ITQ_SHARE = 0.55, 0.15
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


# Arousal and re-experiencing items are typically rated a little higher than avoidance and numbing.
CLUSTER_SHIFT = {"reexperiencing": 0.2, "avoidance": -0.3, "arousal": 0.4}
DSO_PART = (DSO_SYMPTOMS_PART, DSO_IMPAIRMENT)  # the ITQ's C1–C9


def _rating(rng: random.Random, severity: float, shift: float = 0.0) -> int:
    """A 0–4 rating around a severity, with item-to-item variation."""
    return min(4, max(0, round(rng.gauss(severity * 4 + shift, 0.9))))


def pcl5_answers(rng: random.Random, severity: float) -> list[int]:
    """Twenty 0–4 ratings around a person's severity, with cluster and item-to-item variation."""
    return [_rating(rng, severity, CLUSTER_SHIFT[item.cluster]) for item in PCL5.items]


def pcptsd5_answers(rng: random.Random, severity: float) -> tuple[bool, list[bool]]:
    """The exposure gate (about one in five say No) and five Yes/No answers."""
    if rng.random() < 0.2:
        return False, []
    return True, [rng.random() < 0.1 + 0.8 * severity for _item in PCPTSD5.items]


def itq_answers(rng: random.Random, severity: float) -> tuple[list[int], str]:
    """Eighteen 0–4 ratings and the time since the event. The self-organisation items follow a second,
    weaker severity: only some of those with PTSD symptoms also have the disturbances of complex PTSD."""
    dso_severity = severity * rng.uniform(0.2, 1.1)
    answers = [_rating(rng, dso_severity) if item.section in DSO_PART else
               _rating(rng, severity, CLUSTER_SHIFT.get(item.cluster, 0.0)) for item in ITQ.items]
    return answers, rng.choice(WHEN_VALUES)


def demo_row(rng: random.Random, now, cutoffs: dict[str, int]) -> dict:
    """One result's column values, with a time in the past year and older ones more often reviewed."""
    severity = _severity(rng)
    instrument_draw = rng.random()
    if instrument_draw < PCL5_SHARE:
        result = score_pcl5(pcl5_answers(rng, severity), cutoffs[PCL5.id])
    elif instrument_draw < PCL5_SHARE + ITQ_SHARE:
        result = score_itq(*itq_answers(rng, severity))
    else:
        result = score_pcptsd5(*pcptsd5_answers(rng, severity), cutoffs[PCPTSD5.id])
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
    cutoffs = {PCL5.id: required_cutoff(PCL5), PCPTSD5.id: required_cutoff(PCPTSD5)}
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
