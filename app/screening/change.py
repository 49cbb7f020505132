"""Change between two administrations of one instrument, interpreted only where thresholds are published."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .instruments import PCL5, PRODUCT_CLUSTERS

# PCL-5 change thresholds (instruments.md, "Change between two administrations"): the National
# Center for PTSD's guidance treats 5–10 points as reliable change and 10–20 as clinically
# meaningful. The bands below follow it: 10 or more meaningful, 5–9 possible, under 5 ordinary
# variation. The PC-PTSD-5 has no published change thresholds, so it gets numbers only.
PCL5_MEANINGFUL_CHANGE = 10
PCL5_POSSIBLE_CHANGE = 5

MEANINGFUL = "meaningful"
POSSIBLE = "possible"
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
    band: str | None  # None where the instrument has no published change thresholds
    # ITQ only: the change in the self-organisation total and its clusters (numbers only).
    dso_total: int | None = None
    dso_clusters: Mapping[str, int] | None = None

    @property
    def meaningful(self) -> bool:
        """A clinically meaningful change by the published threshold; never for the PC-PTSD-5."""
        return self.band == MEANINGFUL

    @property
    def direction(self) -> str:
        """`lower`, `higher` or `same` total; on both instruments a lower total means less bothered."""
        return "lower" if self.total < 0 else "higher" if self.total > 0 else "same"


def pcl5_band(total_change: int) -> str:
    """The band of a PCL-5 total change, the same in both directions."""
    size = abs(total_change)
    if size >= PCL5_MEANINGFUL_CHANGE:
        return MEANINGFUL
    if size >= PCL5_POSSIBLE_CHANGE:
        return POSSIBLE
    return WITHIN_VARIATION


def compare(instrument_id: str, earlier_total: int, earlier_clusters: Mapping[str, int],
            other_instrument_id: str, later_total: int, later_clusters: Mapping[str, int],
            earlier_dso: Mapping[str, int] | None = None, later_dso: Mapping[str, int] | None = None) -> Change:
    """The change from an earlier result to a later one of the same instrument; with both ITQ
    self-organisation cluster sums given, their change too."""
    if instrument_id != other_instrument_id:
        raise NotComparable(f"cannot compare {instrument_id} with {other_instrument_id}")
    total = later_total - earlier_total
    return Change(
        instrument_id=instrument_id,
        earlier_total=earlier_total,
        later_total=later_total,
        total=total,
        clusters=MappingProxyType(
            {cluster: later_clusters[cluster] - earlier_clusters[cluster] for cluster in PRODUCT_CLUSTERS}
        ),
        band=pcl5_band(total) if instrument_id == PCL5.id else None,
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
