"""Demo data through the instrument interface: each instrument makes up its own answers, which its own
scoring accepts, and the demo's mix comes from the instruments' weights (the PHQ-9 among them)."""
from __future__ import annotations

import random
from collections import Counter

import pytest

from app.clinician.demo import MIX, demo_row
from app.models import utcnow
from app.screening.instruments import INSTRUMENTS, DemoAnswers
from app.screening.instruments.phq9 import PHQ9


@pytest.mark.parametrize("instrument_id", sorted(INSTRUMENTS))
@pytest.mark.parametrize("severity", [0.0, 0.12, 0.4, 0.7, 1.0])
def test_each_instruments_made_up_answers_score_by_its_own_rules(instrument_id, severity):
    instrument = INSTRUMENTS[instrument_id]
    rng = random.Random(11)
    for _attempt in range(50):
        made_up = instrument.demo_answers(rng, severity)
        assert isinstance(made_up, DemoAnswers)
        result = instrument.score(made_up.answers, made_up.exposure, instrument.default_cutoff, made_up.when)
        assert 0 <= result.total <= instrument.max_total


def test_made_up_answers_follow_the_severity():
    rng = random.Random(3)
    low = sum(PHQ9.score(PHQ9.demo_answers(rng, 0.1).answers).total for _ in range(200))
    high = sum(PHQ9.score(PHQ9.demo_answers(rng, 0.8).answers).total for _ in range(200))
    assert high > 3 * low


def test_the_mix_is_every_weighted_instrument_and_adds_up_to_one():
    assert {instrument_id for instrument_id, _share in MIX} == {"pcl5", "pcptsd5", "itq", "phq9"}
    assert sum(share for _id, share in MIX) == pytest.approx(1.0)
    assert dict(MIX)["phq9"] == pytest.approx(0.1)


def test_demo_rows_draw_the_mix_and_phq9_item_9_sometimes(app):
    rng, now = random.Random(21), utcnow()
    with app.app_context():
        rows = [demo_row(rng, now, {}) for _ in range(2000)]
    counts = Counter(row["instrument"] for row in rows)
    for instrument_id, share in MIX:
        assert abs(counts[instrument_id] / len(rows) - share) < 0.04, (instrument_id, counts)
    phq9 = [row for row in rows if row["instrument"] == "phq9"]
    flagged = [row for row in phq9 if row["answers"][8] >= 1]
    assert 0.03 < len(flagged) / len(phq9) < 0.4
    assert all(row["safety_items"] == "9" for row in flagged)


def test_a_mix_given_as_data_limits_the_instruments(app):
    rng, now = random.Random(4), utcnow()
    with app.app_context():
        rows = [demo_row(rng, now, {"pcl5": 33}, (("pcl5", 1.0),)) for _ in range(50)]
    assert {row["instrument"] for row in rows} == {"pcl5"}
