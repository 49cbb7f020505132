"""The clinician's triage order, in one place: each result's tier and its severity within the tier."""
from __future__ import annotations

from dataclasses import dataclass

from .instruments import Instrument, ScreeningResult
from .instruments.itq import DSO_CLUSTERS

# Tiers, most urgent first (the queue sorts unreviewed before reviewed, then by these):
SAFETY = 0  # a safety item endorsed (e.g. the PCL-5's item on risk-taking or self-harm)
FULL_POSITIVE = 1  # a full measure at or above its cut-off, or meeting the ITQ's PTSD or complex PTSD criteria
BRIEF_POSITIVE = 2  # a brief screen at or above its cut-off: it calls for a full assessment
REST = 3  # below the cut-off, or no ITQ pattern
TIERS = (SAFETY, FULL_POSITIVE, BRIEF_POSITIVE, REST)


@dataclass(frozen=True)
class Triage:
    """Where a result sits in the queue: its tier, its severity (0–1) within it, and the safety items endorsed."""

    tier: int
    severity: float
    safety_items: tuple[int, ...]

    @property
    def safety_text(self) -> str | None:
        """The endorsed items' numbers as stored (`16`, or `9,16`), None when there are none."""
        return ",".join(str(number) for number in self.safety_items) or None


def severity_of(instrument: Instrument, total: int, dso_total: int | None) -> float:
    """The share of every scored symptom item's maximum: the total's share, and for the ITQ the PTSD and
    self-organisation items together, so complex PTSD ranks above PTSD with the same PTSD items."""
    if dso_total is None:
        return total / instrument.max_total
    dso_max = sum(instrument.cluster_max(cluster) for cluster in DSO_CLUSTERS)
    return (total + dso_total) / (instrument.max_total + dso_max)


def triage_of(instrument: Instrument, answers, total: int, at_or_above_cutoff: bool,
              dso_total: int | None = None) -> Triage:
    """A result's tier and severity from its stored scores (answers as scores, Yes as 1)."""
    endorsed = tuple(item.number for item in instrument.safety_items_endorsed([int(a) for a in answers]))
    if endorsed:
        tier = SAFETY
    elif at_or_above_cutoff:
        tier = BRIEF_POSITIVE if instrument.brief_screen else FULL_POSITIVE
    else:
        tier = REST
    return Triage(tier, severity_of(instrument, total, dso_total), endorsed)


def triage_of_result(result: ScreeningResult) -> Triage:
    """The triage of a freshly scored result."""
    return triage_of(result.instrument, result.answers, result.total, result.at_or_above_cutoff, result.dso_total)
