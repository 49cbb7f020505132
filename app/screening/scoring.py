"""Pure scoring of the instruments by their published rules (standard library only)."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Sequence

from .instruments import PCL5, PCPTSD5, PRODUCT_CLUSTERS, Instrument

# An item rated "Moderately" (2) or higher counts as a symptom endorsed (Weathers et al. 2013).
PCL5_ENDORSED_AT = 2
# Provisional DSM-5 rule: endorsed items needed in each DSM-5 cluster.
DSM5_RULE = MappingProxyType({"B": 1, "C": 1, "D": 2, "E": 2})


class InvalidAnswers(ValueError):
    """The answers cannot be scored; `errors` holds one message per problem."""

    def __init__(self, errors: Sequence[str]):
        super().__init__("; ".join(errors))
        self.errors = tuple(errors)


@dataclass(frozen=True)
class ScreeningResult:
    """Everything computed from one set of answers."""

    instrument: Instrument
    answers: tuple[int, ...]
    exposure: bool | None
    total: int
    clusters: Mapping[str, int]
    cutoff: int
    at_or_above_cutoff: bool
    dsm5_clusters: Mapping[str, int] | None = None
    dsm5_endorsed: Mapping[str, int] | None = field(default=None, repr=False)
    dsm5_rule_met: bool | None = None

    @property
    def max_total(self) -> int:
        """Highest possible total for this instrument."""
        return self.instrument.max_total


def _check_cutoff(instrument: Instrument, cutoff: int) -> None:
    if type(cutoff) is not int or not 0 <= cutoff <= instrument.max_total:
        raise ValueError(f"cut-off for {instrument.id} must be an integer 0–{instrument.max_total}")


def _cluster_sums(instrument: Instrument, answers: Sequence[int]) -> dict[str, int]:
    return {
        cluster: sum(answers[item.number - 1] for item in instrument.cluster_items(cluster))
        for cluster in PRODUCT_CLUSTERS
    }


def score_pcl5(answers: Sequence[int], cutoff: int = PCL5.default_cutoff) -> ScreeningResult:
    """Score 20 PCL-5 ratings (0–4): total, clusters, DSM-5 sums and the provisional rule."""
    _check_cutoff(PCL5, cutoff)
    answers = tuple(answers)
    errors = []
    if len(answers) != len(PCL5.items):
        errors.append(f"PCL-5 needs {len(PCL5.items)} answers, got {len(answers)}.")
    for number, value in enumerate(answers, start=1):
        if type(value) is not int or not 0 <= value <= 4:
            errors.append(f"Answer {number} must be a whole number from 0 to 4.")
    if errors:
        raise InvalidAnswers(errors)

    dsm5_sums = {letter: 0 for letter in DSM5_RULE}
    dsm5_endorsed = {letter: 0 for letter in DSM5_RULE}
    for item in PCL5.items:
        value = answers[item.number - 1]
        dsm5_sums[item.dsm5_cluster] += value
        dsm5_endorsed[item.dsm5_cluster] += value >= PCL5_ENDORSED_AT
    total = sum(answers)
    return ScreeningResult(
        instrument=PCL5,
        answers=answers,
        exposure=None,
        total=total,
        clusters=MappingProxyType(_cluster_sums(PCL5, answers)),
        cutoff=cutoff,
        at_or_above_cutoff=total >= cutoff,
        dsm5_clusters=MappingProxyType(dsm5_sums),
        dsm5_endorsed=MappingProxyType(dsm5_endorsed),
        dsm5_rule_met=all(dsm5_endorsed[letter] >= needed for letter, needed in DSM5_RULE.items()),
    )


def score_pcptsd5(
    exposure: bool, answers: Sequence[bool] = (), cutoff: int = PCPTSD5.default_cutoff
) -> ScreeningResult:
    """Score the PC-PTSD-5: no exposure scores 0 and ends the screen; otherwise count the Yes answers."""
    _check_cutoff(PCPTSD5, cutoff)
    answers = tuple(answers)
    if type(exposure) is not bool:
        raise InvalidAnswers(["The exposure answer must be yes or no."])
    if not exposure:
        if answers:
            raise InvalidAnswers(["With no traumatic event, the five questions are not asked."])
        values = (0,) * len(PCPTSD5.items)
    else:
        errors = []
        if len(answers) != len(PCPTSD5.items):
            errors.append(f"PC-PTSD-5 needs {len(PCPTSD5.items)} answers, got {len(answers)}.")
        for number, value in enumerate(answers, start=1):
            if type(value) is not bool:
                errors.append(f"Answer {number} must be yes or no.")
        if errors:
            raise InvalidAnswers(errors)
        values = tuple(int(value) for value in answers)
    total = sum(values)
    return ScreeningResult(
        instrument=PCPTSD5,
        answers=values if exposure else (),
        exposure=exposure,
        total=total,
        clusters=MappingProxyType(_cluster_sums(PCPTSD5, values)),
        cutoff=cutoff,
        at_or_above_cutoff=total >= cutoff,
    )
