"""The ITQ's scoring against its published rules: every criterion boundary, and random vectors."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.screening.instruments import INSTRUMENTS
from app.screening.instruments.itq import ITQ, WHEN_VALUES
from app.screening.scoring import InvalidAnswers, score_itq


def itq_with(*endorsed: int, value: int = 2, rest: int = 1) -> list[int]:
    """18 ratings: the given item numbers (1-based) at `value`, every other item at `rest`."""
    answers = [rest] * 18
    for number in endorsed:
        answers[number - 1] = value
    return answers


def reference_itq(answers):
    """The rules restated independently from Cloitre et al. 2018, to compare against."""
    p = answers[0:9]
    c = answers[9:18]
    yes = [a >= 2 for a in answers]
    ptsd = (yes[0] or yes[1]) and (yes[2] or yes[3]) and (yes[4] or yes[5]) and (yes[6] or yes[7] or yes[8])
    dso = (yes[9] or yes[10]) and (yes[11] or yes[12]) and (yes[13] or yes[14]) and (yes[15] or yes[16] or yes[17])
    return {
        "total": sum(p[0:6]),
        "clusters": {"reexperiencing": p[0] + p[1], "avoidance": p[2] + p[3], "arousal": p[4] + p[5]},
        "dso_total": sum(c[0:6]),
        "dso_clusters": {"affective_dysregulation": c[0] + c[1], "negative_self_concept": c[2] + c[3],
                         "disturbed_relationships": c[4] + c[5]},
        "ptsd": ptsd,
        "dso": dso,
        "diagnosis": "cptsd" if ptsd and dso else "ptsd" if ptsd else "none",
    }


# The smallest vectors that meet each set of criteria: one item of each pair and one impairment item.
PTSD_MINIMAL = (1, 3, 5, 7)
DSO_MINIMAL = (10, 12, 14, 16)


@pytest.mark.parametrize(
    "endorsed, ptsd, dso, diagnosis",
    [
        ((), False, False, "none"),
        (PTSD_MINIMAL, True, False, "ptsd"),
        (DSO_MINIMAL, False, True, "none"),  # DSO without PTSD is no diagnosis
        (PTSD_MINIMAL + DSO_MINIMAL, True, True, "cptsd"),  # never both PTSD and complex PTSD
        # Either item of each PTSD pair will do, and any one impairment item.
        ((2, 3, 5, 7), True, False, "ptsd"),
        ((1, 4, 5, 7), True, False, "ptsd"),
        ((1, 3, 6, 7), True, False, "ptsd"),
        ((1, 3, 5, 8), True, False, "ptsd"),
        ((1, 3, 5, 9), True, False, "ptsd"),
        # A missing PTSD pair or impairment fails the PTSD criteria.
        ((3, 5, 7), False, False, "none"),
        ((1, 5, 7), False, False, "none"),
        ((1, 3, 7), False, False, "none"),
        ((1, 3, 5), False, False, "none"),
        ((1, 2, 3, 4, 5, 6), False, False, "none"),  # every symptom, no impairment
        # Either item of each DSO pair, and any one DSO impairment item.
        (PTSD_MINIMAL + (11, 12, 14, 16), True, True, "cptsd"),
        (PTSD_MINIMAL + (10, 13, 14, 16), True, True, "cptsd"),
        (PTSD_MINIMAL + (10, 12, 15, 16), True, True, "cptsd"),
        (PTSD_MINIMAL + (10, 12, 14, 17), True, True, "cptsd"),
        (PTSD_MINIMAL + (10, 12, 14, 18), True, True, "cptsd"),
        # A missing DSO pair or DSO impairment leaves PTSD only.
        (PTSD_MINIMAL + (12, 14, 16), True, False, "ptsd"),
        (PTSD_MINIMAL + (10, 14, 16), True, False, "ptsd"),
        (PTSD_MINIMAL + (10, 12, 16), True, False, "ptsd"),
        (PTSD_MINIMAL + (10, 12, 14), True, False, "ptsd"),
        # The PTSD impairment items do not stand in for the DSO ones, nor the other way round.
        ((1, 3, 5, 16) + (10, 12, 14), False, True, "none"),
        (PTSD_MINIMAL + (10, 12, 14, 7, 8, 9), True, False, "ptsd"),
    ],
)
def test_criteria_boundaries(endorsed, ptsd, dso, diagnosis):
    result = score_itq(itq_with(*endorsed))
    assert (result.ptsd_criteria_met, result.dso_criteria_met, result.icd11_pattern) == (ptsd, dso, diagnosis)
    assert result.at_or_above_cutoff is (diagnosis != "none")


@pytest.mark.parametrize("value, counts", [(0, False), (1, False), (2, True), (3, True), (4, True)])
def test_an_item_counts_from_moderately(value, counts):
    answers = itq_with(*PTSD_MINIMAL, value=4, rest=0)
    answers[0] = value  # P1 alone carries re-experiencing
    assert score_itq(answers).ptsd_criteria_met is counts


@pytest.mark.parametrize(
    "answers, total, clusters, dso_total, dso_clusters",
    [
        ([0] * 18, 0, (0, 0, 0), 0, (0, 0, 0)),
        ([4] * 18, 24, (8, 8, 8), 24, (8, 8, 8)),
        ([0, 1, 2, 3, 4, 0, 4, 4, 4, 1, 1, 2, 2, 3, 3, 0, 0, 0], 10, (1, 5, 4), 12, (2, 4, 6)),
    ],
)
def test_dimensional_scores(answers, total, clusters, dso_total, dso_clusters):
    result = score_itq(answers)
    assert result.total == total
    assert tuple(result.clusters[k] for k in ("reexperiencing", "avoidance", "arousal")) == clusters
    assert result.dso_total == dso_total
    assert tuple(result.dso_clusters.values()) == dso_clusters
    assert result.max_total == 24
    assert result.cutoff is None


@given(st.lists(st.integers(0, 4), min_size=18, max_size=18))
def test_random_vectors_match_the_restated_rules(answers):
    result = score_itq(answers)
    expected = reference_itq(answers)
    assert result.total == expected["total"]
    assert dict(result.clusters) == expected["clusters"]
    assert result.dso_total == expected["dso_total"]
    assert dict(result.dso_clusters) == expected["dso_clusters"]
    assert result.ptsd_criteria_met is expected["ptsd"]
    assert result.dso_criteria_met is expected["dso"]
    assert result.icd11_pattern == expected["diagnosis"]
    assert result.at_or_above_cutoff is (expected["diagnosis"] != "none")


@pytest.mark.parametrize(
    "answers",
    [[0] * 17, [0] * 19, [], [0] * 17 + [5], [0] * 17 + [-1], [0] * 17 + [True], [0] * 17 + ["2"], [0] * 17 + [2.0]],
)
def test_invalid_answers_are_refused_whole(answers):
    with pytest.raises(InvalidAnswers):
        score_itq(answers)


@pytest.mark.parametrize("when", WHEN_VALUES)
def test_when_is_kept_and_never_scored(when):
    answers = itq_with(*PTSD_MINIMAL)
    result = score_itq(answers, when)
    assert result.when == when
    assert (result.total, result.icd11_pattern) == (score_itq(answers).total, score_itq(answers).icd11_pattern)


@pytest.mark.parametrize("when", ["", "yesterday", "LT6M", 3])
def test_unknown_when_is_refused(when):
    with pytest.raises(InvalidAnswers):
        score_itq([0] * 18, when)


def test_definition_follows_the_published_order():
    assert INSTRUMENTS["itq"] is ITQ
    assert [item.field for item in ITQ.items] == [f"q{n}" for n in range(1, 19)]
    assert [option.label for option in ITQ.options] == ["Not at all", "A little bit", "Moderately",
                                                       "Quite a bit", "Extremely"]
    assert [ITQ.cluster_max(c) for c in ("reexperiencing", "avoidance", "arousal")] == [8, 8, 8]
    assert ITQ.items[0].text.startswith("Having upsetting dreams")
    assert ITQ.items[9].text == "When I am upset, it takes me a long time to calm down."
    assert ITQ.items[17].text.startswith("Affected any other important parts of your life")
