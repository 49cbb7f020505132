"""The pure scoring core against the published rules: tables, boundaries and random vectors."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.screening.instruments import PCL5, PCPTSD5
from app.screening.scoring import InvalidAnswers, score_pcl5, score_pcptsd5

B, C, D, E = range(0, 5), range(5, 7), range(7, 14), range(14, 20)


def pcl5_with(**ratings_by_index) -> list[int]:
    answers = [0] * 20
    for index, value in ratings_by_index.items():
        answers[int(index[1:])] = value
    return answers


def reference_pcl5(answers):
    """The rules restated independently from instruments.md, to compare against."""
    endorsed = lambda rng: sum(1 for i in rng if answers[i] >= 2)  # noqa: E731
    return {
        "total": sum(answers),
        "clusters": {
            "reexperiencing": sum(answers[0:5]),
            "avoidance": sum(answers[5:14]),
            "arousal": sum(answers[14:20]),
        },
        "dsm5": {"B": sum(answers[0:5]), "C": sum(answers[5:7]), "D": sum(answers[7:14]), "E": sum(answers[14:20])},
        "rule": endorsed(B) >= 1 and endorsed(C) >= 1 and endorsed(D) >= 2 and endorsed(E) >= 2,
    }


@pytest.mark.parametrize(
    "answers, total, clusters, dsm5, rule",
    [
        ([0] * 20, 0, (0, 0, 0), (0, 0, 0, 0), False),
        ([4] * 20, 80, (20, 36, 24), (20, 8, 28, 24), True),
        ([1] * 20, 20, (5, 9, 6), (5, 2, 7, 6), False),  # "A little bit" never counts as endorsed
        ([2] * 20, 40, (10, 18, 12), (10, 4, 14, 12), True),
        (list(range(5)) * 4, 40, (10, 16, 14), (10, 1, 15, 14), False),  # C has no item at 2+
    ],
)
def test_pcl5_table(answers, total, clusters, dsm5, rule):
    result = score_pcl5(answers)
    assert result.total == total
    assert tuple(result.clusters.values()) == clusters
    assert tuple(result.dsm5_clusters[k] for k in "BCDE") == dsm5
    assert result.dsm5_rule_met is rule
    assert result.max_total == 80


MINIMAL_RULE = pcl5_with(q0=2, q5=2, q7=2, q8=2, q14=2, q15=2)


@pytest.mark.parametrize(
    "answers, met",
    [
        (MINIMAL_RULE, True),
        (pcl5_with(q0=2, q5=2, q7=2, q8=2, q14=2, q15=1), False),  # only 1 E
        (pcl5_with(q0=2, q5=2, q7=2, q8=1, q14=2, q15=2), False),  # only 1 D
        (pcl5_with(q0=2, q5=1, q6=1, q7=2, q8=2, q14=2, q15=2), False),  # no C at 2+
        (pcl5_with(q0=1, q1=1, q2=1, q3=1, q4=1, q5=2, q7=2, q8=2, q14=2, q15=2), False),  # no B at 2+
        (pcl5_with(q4=2, q6=2, q13=2, q12=2, q19=2, q18=2), True),  # last item of each cluster
        (pcl5_with(q0=4, q5=4, q7=4, q8=4, q14=4, q15=4), True),
    ],
)
def test_pcl5_dsm5_rule_boundaries(answers, met):
    assert score_pcl5(answers).dsm5_rule_met is met


@pytest.mark.parametrize(
    "total, cutoff, at_or_above",
    [(32, 33, False), (33, 33, True), (34, 33, True), (30, 31, False), (31, 31, True), (0, 0, True), (80, 80, True),
     (79, 80, False)],
)
def test_pcl5_cutoff_boundary(total, cutoff, at_or_above):
    answers = [4] * (total // 4) + ([total % 4] if total % 4 else [])
    answers += [0] * (20 - len(answers))
    result = score_pcl5(answers, cutoff)
    assert result.total == total
    assert result.at_or_above_cutoff is at_or_above


def test_pcl5_default_cutoff_is_33():
    assert PCL5.default_cutoff == 33
    assert score_pcl5([4] * 8 + [1] + [0] * 11).at_or_above_cutoff is True  # 33
    assert score_pcl5([4] * 8 + [0] * 12).at_or_above_cutoff is False  # 32


@pytest.mark.parametrize(
    "answers",
    [[0] * 19, [0] * 21, [], [5] + [0] * 19, [-1] + [0] * 19, [True] + [0] * 19, ["2"] + [0] * 19, [2.0] + [0] * 19,
     [None] * 20],
)
def test_pcl5_rejects_invalid_answers(answers):
    with pytest.raises(InvalidAnswers):
        score_pcl5(answers)


@pytest.mark.parametrize("cutoff", [-1, 81, 33.0, True, "33"])
def test_pcl5_rejects_invalid_cutoff(cutoff):
    with pytest.raises(ValueError):
        score_pcl5([0] * 20, cutoff)


@given(st.lists(st.integers(0, 4), min_size=20, max_size=20), st.integers(0, 80))
def test_pcl5_agrees_with_reference_on_any_vector(answers, cutoff):
    result = score_pcl5(answers, cutoff)
    expected = reference_pcl5(answers)
    assert result.total == expected["total"]
    assert dict(result.clusters) == expected["clusters"]
    assert dict(result.dsm5_clusters) == expected["dsm5"]
    assert result.dsm5_rule_met is expected["rule"]
    assert result.at_or_above_cutoff is (expected["total"] >= cutoff)
    assert sum(result.clusters.values()) == result.total == sum(result.dsm5_clusters.values())


@pytest.mark.parametrize(
    "exposure, answers, total, clusters, at_or_above",
    [
        (False, [], 0, (0, 0, 0), False),
        (True, [False] * 5, 0, (0, 0, 0), False),
        (True, [True] * 5, 5, (1, 3, 1), True),
        (True, [True, True, False, False, False], 2, (1, 1, 0), False),
        (True, [True, True, True, False, False], 3, (1, 1, 1), True),  # 3 = default cut-off
        (True, [False, True, False, True, True], 3, (0, 3, 0), True),
        (True, [False, False, True, False, False], 1, (0, 0, 1), False),
    ],
)
def test_pcptsd5_table(exposure, answers, total, clusters, at_or_above):
    result = score_pcptsd5(exposure, answers)
    assert result.total == total
    assert tuple(result.clusters.values()) == clusters
    assert result.at_or_above_cutoff is at_or_above
    assert result.dsm5_rule_met is None and result.dsm5_clusters is None
    assert result.max_total == 5


def test_pcptsd5_gate_no_exposure_scores_zero_even_with_cutoff_zero():
    result = score_pcptsd5(False, [], cutoff=0)
    assert result.total == 0 and result.answers == ()
    assert result.at_or_above_cutoff is True  # 0 >= 0: the cut-off rule is applied literally


@pytest.mark.parametrize(
    "exposure, answers",
    [(False, [True] * 5), (True, []), (True, [True] * 4), (True, [True] * 6), (True, [1, 0, 1, 0, 1]),
     ("yes", [True] * 5), (None, [])],
)
def test_pcptsd5_rejects_invalid(exposure, answers):
    with pytest.raises(InvalidAnswers):
        score_pcptsd5(exposure, answers)


@pytest.mark.parametrize("total, cutoff, at_or_above", [(3, 4, False), (4, 4, True), (2, 3, False), (3, 3, True)])
def test_pcptsd5_cutoff_boundary(total, cutoff, at_or_above):
    answers = [True] * total + [False] * (5 - total)
    assert score_pcptsd5(True, answers, cutoff).at_or_above_cutoff is at_or_above


@given(st.lists(st.booleans(), min_size=5, max_size=5), st.integers(0, 5))
def test_pcptsd5_agrees_with_reference_on_any_vector(answers, cutoff):
    result = score_pcptsd5(True, answers, cutoff)
    assert result.total == sum(answers)
    assert result.clusters["reexperiencing"] == int(answers[0])
    assert result.clusters["avoidance"] == int(answers[1]) + int(answers[3]) + int(answers[4])
    assert result.clusters["arousal"] == int(answers[2])
    assert result.at_or_above_cutoff is (sum(answers) >= cutoff)


def test_instrument_structure_matches_published_layout():
    assert [item.number for item in PCL5.items] == list(range(1, 21))
    assert [item.dsm5_cluster for item in PCL5.items] == list("BBBBBCCDDDDDDDEEEEEE")
    assert [PCL5.cluster_max(c) for c in ("reexperiencing", "avoidance", "arousal")] == [20, 36, 24]
    assert ([item.cluster for item in PCPTSD5.items]
            == ["reexperiencing", "avoidance", "arousal", "avoidance", "avoidance"])
    assert PCPTSD5.default_cutoff == 3
    assert "Weathers" in PCL5.credit and "Prins" in PCPTSD5.credit
