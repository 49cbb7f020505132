"""The instruments: the registry of every questionnaire. Shared definitions are in base.py (re-exported here),
and one module per instrument owns its items and rules."""
from __future__ import annotations

from .base import (
    AROUSAL,
    AVOIDANCE,
    DEMO_ANSWERS,
    DEMO_CLUSTER_SHIFT,
    N_,
    NOT_AT_ALL_TO_EXTREMELY,
    PRODUCT_CLUSTERS,
    REEXPERIENCING,
    SCORERS,
    ChangeRule,
    DemoAnswers,
    Instrument,
    InvalidAnswers,
    Item,
    Option,
    SafetyItem,
    ScreeningResult,
    check_cutoff,
    cluster_sums,
    demo_rating,
)
from .itq import ITQ, demo_itq, score_itq
from .pcl5 import PCL5, demo_pcl5, score_pcl5
from .pcptsd5 import PCPTSD5, demo_pcptsd5, score_pcptsd5
from .phq9 import PHQ9, demo_phq9, score_phq9

# The shared definitions, re-exported: code outside this folder imports them from here.
__all__ = [
    "INSTRUMENTS",
    "ITQ",
    "PCL5",
    "PCPTSD5",
    "PHQ9",
    "get",
    "REEXPERIENCING",
    "AVOIDANCE",
    "AROUSAL",
    "PRODUCT_CLUSTERS",
    "Option",
    "NOT_AT_ALL_TO_EXTREMELY",
    "ChangeRule",
    "DemoAnswers",
    "demo_rating",
    "DEMO_CLUSTER_SHIFT",
    "N_",
    "SafetyItem",
    "Item",
    "Instrument",
    "InvalidAnswers",
    "ScreeningResult",
    "check_cutoff",
    "cluster_sums",
]

INSTRUMENTS: dict[str, Instrument] = {PCL5.id: PCL5, PCPTSD5.id: PCPTSD5, ITQ.id: ITQ, PHQ9.id: PHQ9}

SCORERS.update({
    PCL5.id: lambda answers, _exposure, cutoff, _when: score_pcl5(answers, cutoff),
    PCPTSD5.id: lambda answers, exposure, cutoff, _when: score_pcptsd5(exposure, answers, cutoff),
    ITQ.id: lambda answers, _exposure, _cutoff, when: score_itq(answers, when),
    PHQ9.id: lambda answers, _exposure, cutoff, _when: score_phq9(answers, cutoff),
})
DEMO_ANSWERS.update({PCL5.id: demo_pcl5, PCPTSD5.id: demo_pcptsd5, ITQ.id: demo_itq, PHQ9.id: demo_phq9})


def get(instrument_id: str) -> Instrument | None:
    """The instrument with this id, or None."""
    return INSTRUMENTS.get(instrument_id)
