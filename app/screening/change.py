"""Change between two administrations of one instrument, interpreted only where its module publishes a rule."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from .instruments import INSTRUMENTS, PRODUCT_CLUSTERS, ChangeRule

# The bands a total change falls in; the sizes come from the instrument's own ChangeRule.
RELIABLE = "reliable"  # at or above ChangeRule.reliable: larger than chance in one person
POSSIBLE = "possible"  # from ChangeRule.possible: may be a real change (provisional figures)
WITHIN_VARIATION = "within-variation"


class NotComparable(ValueError):
    """Two results of different instruments cannot be compared."""


@dataclass(frozen=True)
class Change:
    """The later score minus the earlier one (negative: fewer or milder problems), with its band."""

    instrument_id: str
    earlier_total: int
    later_total: int
    total: int
    clusters: Mapping[str, int]
    band: str | None  # None where the instrument has no published change rule
    # ITQ only: the change in the self-organisation total and its clusters (numbers only).
    dso_total: int | None = None
    dso_clusters: Mapping[str, int] | None = None
    # Taken less than the instrument's time frame apart: the two windows asked about overlap, so the
    # numbers are shown without a label of improvement or worsening.
    overlapping: bool = False

    @property
    def rule(self) -> ChangeRule | None:
        """The instrument's change rule, the one place its thresholds and sources are written."""
        return INSTRUMENTS[self.instrument_id].change_rule

    @property
    def reliable(self) -> bool:
        """Larger than chance by the instrument's reliable-change figure, between non-overlapping windows."""
        return self.band == RELIABLE and not self.overlapping

    @property
    def meaningful(self) -> bool:
        """The API's name for `reliable` (kept for its clients)."""
        return self.reliable

    @property
    def direction(self) -> str:
        """`lower`, `higher` or `same` total; on every instrument a lower total means less bothered."""
        return "lower" if self.total < 0 else "higher" if self.total > 0 else "same"


def band_of(rule: ChangeRule, total_change: int) -> str:
    """The band of a total change under one instrument's rule, the same in both directions."""
    size = abs(total_change)
    if size >= rule.reliable:
        return RELIABLE
    if size >= rule.possible:
        return POSSIBLE
    return WITHIN_VARIATION


def windows_overlap(instrument_id: str, earlier_at: datetime | None, later_at: datetime | None) -> bool:
    """Whether two results were taken closer together than the period the instrument asks about."""
    days = INSTRUMENTS[instrument_id].time_frame_days
    if days is None or earlier_at is None or later_at is None:
        return False
    return abs(later_at - earlier_at) < timedelta(days=days)


def compare(instrument_id: str, earlier_total: int, earlier_clusters: Mapping[str, int],
            other_instrument_id: str, later_total: int, later_clusters: Mapping[str, int],
            earlier_dso: Mapping[str, int] | None = None, later_dso: Mapping[str, int] | None = None,
            earlier_at: datetime | None = None, later_at: datetime | None = None) -> Change:
    """The change from an earlier result to a later one of the same instrument; with both ITQ
    self-organisation cluster sums given, their change too; with both times, whether they overlap."""
    if instrument_id != other_instrument_id:
        raise NotComparable(f"cannot compare {instrument_id} with {other_instrument_id}")
    total = later_total - earlier_total
    rule = INSTRUMENTS[instrument_id].change_rule
    return Change(
        instrument_id=instrument_id,
        earlier_total=earlier_total,
        later_total=later_total,
        total=total,
        clusters=MappingProxyType(
            {cluster: later_clusters[cluster] - earlier_clusters[cluster] for cluster in PRODUCT_CLUSTERS}
        ),
        band=band_of(rule, total) if rule is not None else None,
        overlapping=windows_overlap(instrument_id, earlier_at, later_at),
        **_dso_change(earlier_dso, later_dso),
    )


def _dso_change(earlier: Mapping[str, int] | None, later: Mapping[str, int] | None) -> dict:
    if earlier is None or later is None:
        return {}
    clusters = {cluster: later[cluster] - earlier[cluster] for cluster in later}
    return {"dso_total": sum(clusters.values()), "dso_clusters": MappingProxyType(clusters)}


def signed(number: int) -> str:
    """A change as people read it: +4, −4 (a true minus sign) or 0."""
    return f"+{number}" if number > 0 else f"\u2212{-number}" if number < 0 else "0"
