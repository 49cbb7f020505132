"""Scoring, kept importable from here: each instrument's rules live in its own module under instruments/."""
from __future__ import annotations

from .instruments import InvalidAnswers, ScreeningResult
from .instruments.itq import score_itq
from .instruments.pcl5 import DSM5_RULE, PCL5_ENDORSED_AT, score_pcl5
from .instruments.pcptsd5 import score_pcptsd5

__all__ = ["DSM5_RULE", "PCL5_ENDORSED_AT", "InvalidAnswers", "ScreeningResult", "score_itq", "score_pcl5",
           "score_pcptsd5"]
