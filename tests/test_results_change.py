"""Change between two results: the PCL-5 thresholds at their boundaries, both directions; PC-PTSD-5 numbers only."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.screening.change import (
    POSSIBLE,
    RELIABLE,
    WITHIN_VARIATION,
    NotComparable,
    band_of,
    compare,
    signed,
)
from app.screening.instruments import INSTRUMENTS, PCL5


def pcl5_band(total_change: int) -> str:
    assert PCL5.change_rule is not None
    return band_of(PCL5.change_rule, total_change)


def test_pcl5_change_rule_is_marx_2022_with_the_provisional_figure_below_it():
    """Reliable change in one person: 15 and 18 points in Marx et al. 2022's two samples, the larger used."""
    rule = PCL5.change_rule
    assert rule is not None and (rule.reliable, rule.possible) == (18, 5)
    assert "Marx" in rule.reliable_source and "34(2)" in rule.reliable_source
    assert "provisional" in rule.possible_source

ZERO = {"reexperiencing": 0, "avoidance": 0, "arousal": 0}


@pytest.mark.parametrize(
    "change, band",
    [(0, WITHIN_VARIATION), (1, WITHIN_VARIATION), (4, WITHIN_VARIATION), (5, POSSIBLE), (9, POSSIBLE),
     (10, POSSIBLE), (15, POSSIBLE), (17, POSSIBLE), (18, RELIABLE), (20, RELIABLE), (80, RELIABLE)],
)
@pytest.mark.parametrize("sign", [1, -1], ids=["worse", "better"])
def test_pcl5_bands_at_their_boundaries_in_both_directions(change, band, sign):
    assert pcl5_band(sign * change) == band


@pytest.mark.parametrize("earlier, later, total, reliable, direction", [
    (50, 40, -10, False, "lower"), (50, 33, -17, False, "lower"), (50, 32, -18, True, "lower"),
    (40, 50, 10, False, "higher"), (40, 58, 18, True, "higher"), (30, 30, 0, False, "same"),
    (80, 0, -80, True, "lower"),
])
def test_pcl5_change_is_later_minus_earlier(earlier, later, total, reliable, direction):
    change = compare("pcl5", earlier, ZERO, "pcl5", later, ZERO)
    assert (change.total, change.reliable, change.direction) == (total, reliable, direction)
    assert change.meaningful is reliable  # the API's name for it


NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("instrument_id", sorted(i for i in INSTRUMENTS if i != "phq9"))
@pytest.mark.parametrize("apart, overlapping", [
    (timedelta(minutes=3), True), (timedelta(days=29, hours=23), True), (timedelta(days=30), False),
    (timedelta(days=90), False),
])
def test_results_less_than_the_time_frame_apart_overlap(instrument_id, apart, overlapping):
    """Every PTSD instrument here asks about the past month (30 days, in its own module); the PHQ-9 below."""
    assert INSTRUMENTS[instrument_id].time_frame_days == 30
    change = compare(instrument_id, 0, ZERO, instrument_id, 0, ZERO, earlier_at=NOW - apart, later_at=NOW)
    assert change.overlapping is overlapping


@pytest.mark.parametrize("apart, overlapping", [
    (timedelta(minutes=3), True), (timedelta(days=13, hours=23), True), (timedelta(days=14), False),
    (timedelta(days=30), False),
])
def test_phq9_results_less_than_two_weeks_apart_overlap(apart, overlapping):
    """The PHQ-9 asks about the last 2 weeks (14 days, in its own module)."""
    assert INSTRUMENTS["phq9"].time_frame_days == 14
    change = compare("phq9", 0, ZERO, "phq9", 0, ZERO, earlier_at=NOW - apart, later_at=NOW)
    assert change.overlapping is overlapping


def test_an_overlapping_change_is_never_reliable():
    change = compare("pcl5", 60, ZERO, "pcl5", 10, ZERO, earlier_at=NOW - timedelta(minutes=5), later_at=NOW)
    assert change.band == RELIABLE and change.overlapping
    assert change.reliable is False and change.meaningful is False


def test_without_times_a_change_does_not_overlap():
    assert compare("pcl5", 40, ZERO, "pcl5", 10, ZERO).overlapping is False


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
