"""The clinician's triage order, in one place: each result's tier and its severity within the tier."""
from __future__ import annotations

from dataclasses import dataclass

from .instruments import Instrument, ScreeningResult

# Tiers, most urgent first (the queue sorts unreviewed before reviewed, then by these):
SAFETY = 0  # a safety item endorsed (e.g. the PCL-5's item on risk-taking or self-harm)
FULL_POSITIVE = 1  # a full measure at or above its cut-off, or meeting the ITQ's PTSD or complex PTSD criteria
BRIEF_POSITIVE = 2  # a brief screen at or above its cut-off: it calls for a full assessment
REST = 3  # below the cut-off, or no ITQ pattern
TIERS = (SAFETY, FULL_POSITIVE, BRIEF_POSITIVE, REST)
# Within a tier: the instrument's rank first (the ITQ's complex PTSD above every other result), then the
# severity share, then the longest waiting. Rank and share are stored in one indexed column,
# `severity` = RANK_STEP × rank + share: the share is 0–1, so a higher rank always sorts first.
RANK_STEP = 2


@dataclass(frozen=True)
class Triage:
    """Where a result sits in the queue: its tier, its severity within it (rank and share, see RANK_STEP), and
    the safety items endorsed."""

    tier: int
    severity: float
    safety_items: tuple[int, ...]

    @property
    def safety_text(self) -> str | None:
        """The endorsed items' numbers as stored (`16`, or `9,16`), None when there are none."""
        return ",".join(str(number) for number in self.safety_items) or None


def severity_of(instrument: Instrument, answers: list[int], total: int) -> float:
    """The value stored as `severity`: the result's rank inside its tier (the instrument's), then its
    severity share (0–1), in one number the queue sorts on (see RANK_STEP)."""
    return RANK_STEP * instrument.triage_rank(answers) + instrument.severity_share(answers, total)


def triage_of(instrument: Instrument, answers, total: int, at_or_above_cutoff: bool) -> Triage:
    """A result's tier and severity from its stored scores (answers as scores, Yes as 1)."""
    scores = [int(a) for a in answers]
    endorsed = tuple(item.number for item in instrument.safety_items_endorsed(scores))
    if endorsed:
        tier = SAFETY
    elif at_or_above_cutoff:
        tier = BRIEF_POSITIVE if instrument.brief_screen else FULL_POSITIVE
    else:
        tier = REST
    return Triage(tier, severity_of(instrument, scores, total), endorsed)


def triage_of_result(result: ScreeningResult) -> Triage:
    """The triage of a freshly scored result."""
    return triage_of(result.instrument, result.answers, result.total, result.at_or_above_cutoff)
