"""Change between two results: the PCL-5 thresholds at their boundaries, both directions; PC-PTSD-5 numbers only."""
from __future__ import annotations

import pytest

from app.screening.change import (
    MEANINGFUL,
    POSSIBLE,
    WITHIN_VARIATION,
    NotComparable,
    compare,
    pcl5_band,
    signed,
)

ZERO = {"reexperiencing": 0, "avoidance": 0, "arousal": 0}


@pytest.mark.parametrize(
    "change, band",
    [(0, WITHIN_VARIATION), (1, WITHIN_VARIATION), (4, WITHIN_VARIATION), (5, POSSIBLE), (9, POSSIBLE),
     (10, MEANINGFUL), (11, MEANINGFUL), (20, MEANINGFUL), (80, MEANINGFUL)],
)
@pytest.mark.parametrize("sign", [1, -1], ids=["worse", "better"])
def test_pcl5_bands_at_their_boundaries_in_both_directions(change, band, sign):
    assert pcl5_band(sign * change) == band


@pytest.mark.parametrize("earlier, later, total, meaningful, direction", [
    (50, 40, -10, True, "lower"), (50, 41, -9, False, "lower"), (40, 50, 10, True, "higher"),
    (41, 50, 9, False, "higher"), (30, 30, 0, False, "same"), (80, 0, -80, True, "lower"),
])
def test_pcl5_change_is_later_minus_earlier(earlier, later, total, meaningful, direction):
    change = compare("pcl5", earlier, ZERO, "pcl5", later, ZERO)
    assert (change.total, change.meaningful, change.direction) == (total, meaningful, direction)


def test_cluster_changes_are_numbers_per_cluster():
    change = compare("pcl5", 30, {"reexperiencing": 10, "avoidance": 15, "arousal": 5},
                     "pcl5", 31, {"reexperiencing": 4, "avoidance": 15, "arousal": 12})
    assert dict(change.clusters) == {"reexperiencing": -6, "avoidance": 0, "arousal": 7}


@pytest.mark.parametrize("earlier, later", [(0, 5), (5, 0), (3, 3), (1, 4)])
def test_pcptsd5_has_no_thresholds_so_never_meaningful(earlier, later):
    """Decision (README): no published change thresholds exist for the PC-PTSD-5, so no band and meaningful=False."""
    change = compare("pcptsd5", earlier, ZERO, "pcptsd5", later, ZERO)
    assert change.band is None and change.meaningful is False
    assert change.total == later - earlier


def test_different_instruments_cannot_be_compared():
    with pytest.raises(NotComparable):
        compare("pcl5", 10, ZERO, "pcptsd5", 3, ZERO)


@pytest.mark.parametrize("number, shown", [(4, "+4"), (-4, "\u22124"), (0, "0")])
def test_signed(number, shown):
    assert signed(number) == shown
