"""The PHQ-9's change rule (Löwe et al. 2004: 5 points, two standard errors of measurement) over its edges,
and the pages that read it: the person's result, the clinician's result and the outcomes page."""
from __future__ import annotations

import html as html_module
import re

import pytest

from app.screening.change import POSSIBLE, RELIABLE, WITHIN_VARIATION, band_of, compare
from app.screening.instruments import PCL5
from app.screening.instruments.phq9 import PHQ9
from tests.clinician_support import WORKSPACE_FIXTURES, ref, store, utc
from tests.results_helpers import row_for, taken_days_ago

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)

URL = "/api/v1/screenings"


def nine(total: int) -> list[int]:
    """Nine PHQ-9 ratings (0–3) adding up to `total`, item 9 left at 0."""
    answers = [0] * 9
    for index in range(8):
        answers[index] = min(3, total - sum(answers))
    assert sum(answers) == total
    return answers


def test_the_rule_is_loewe_2004_with_no_provisional_band():
    rule = PHQ9.change_rule
    assert rule is not None and (rule.reliable, rule.possible) == (5, 5)
    assert "Löwe" in rule.reliable_source and "Medical Care, 42(12), 1194" in rule.reliable_source
    assert rule.possible_words == "" and rule.clinician_possible_words == ""


@pytest.mark.parametrize("change, band", [
    (0, WITHIN_VARIATION), (1, WITHIN_VARIATION), (-1, WITHIN_VARIATION), (4, WITHIN_VARIATION),
    (-4, WITHIN_VARIATION), (5, RELIABLE), (-5, RELIABLE), (6, RELIABLE), (-6, RELIABLE),
    (27, RELIABLE), (-27, RELIABLE),
])
def test_band_over_the_rules_edges(change, band):
    assert band_of(PHQ9.change_rule, change) == band
    assert band != POSSIBLE


@pytest.mark.parametrize("earlier, later, band", [(14, 10, WITHIN_VARIATION), (14, 9, RELIABLE),
                                                  (9, 14, RELIABLE), (10, 14, WITHIN_VARIATION)])
def test_compare_reads_the_phq9_rule(earlier, later, band):
    zero = dict.fromkeys(("reexperiencing", "avoidance", "arousal"), 0)  # stored for every instrument
    change = compare("phq9", earlier, zero, "phq9", later, zero)
    assert change.band == band and change.reliable is (band == RELIABLE)


def test_the_pcl5_rule_keeps_its_own_words_and_figures():
    rule = PCL5.change_rule
    assert (rule.reliable, rule.possible) == (18, 5)
    assert "chance" in rule.improved_words and "Marx" in rule.headline_source and "PCL-5" in rule.possible_words


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html_module.unescape(html)))


def change_parts(html: str) -> str:
    """The words of the change headline and the change section of a result page."""
    return text(re.search(r'<p class="change-headline".*?</p>', html, re.S).group(0)
                + re.search(r'<section aria-labelledby="change-heading".*?</section>', html, re.S).group(0))


def stored(client, total: int, previous: str | None = None, days_ago: float | None = None) -> str:
    body = {"instrument": "phq9", "answers": nine(total), "store": True}
    if previous:
        body["previous"] = previous
    response = client.post(URL, json=body)
    assert response.status_code == 201, response.get_json()
    code = response.get_json()["code"]
    if days_ago is not None:
        taken_days_ago(code, days_ago)
    return code


@pytest.mark.parametrize("language, measurement_error, source", [
    ("en", "larger than this questionnaire’s measurement error", "Löwe and others, 2004"),
    ("es", "mayor que el error de medición de este cuestionario", "Löwe y otros, 2004"),
])
@pytest.mark.parametrize("earlier, later, reliable", [(15, 10, True), (10, 15, True), (15, 11, False)])
def test_the_result_page_reads_the_change_by_the_phq9_rule(client, db, language, measurement_error, source,
                                                            earlier, later, reliable):
    first = stored(client, earlier, days_ago=20)
    html = client.get(f"/results/{stored(client, later, previous=first)}",
                      headers={"Accept-Language": language}).get_data(as_text=True)
    page = change_parts(html)
    assert (measurement_error in page) is reliable
    assert source in page and "Medical Care, 42(12)" in page
    # Never the PCL-5's sources or its "larger than chance" figure.
    assert "Marx" not in page and "National Center for PTSD" not in page and "PCL-5" not in page
    if not reliable:
        assert {"en": "within the ordinary", "es": "variación"}[language] in page
    # It has no groups, so the page says nothing about changes in groups.
    assert {"en": "in each group", "es": "en cada grupo"}[language] not in page


@pytest.mark.parametrize("language, overlap", [("en", "less than 14 days apart"),
                                               ("es", "menos de 14 días de diferencia")])
def test_retakes_within_two_weeks_show_numbers_only_in_the_phq9s_own_window(client, db, language, overlap):
    first = stored(client, 20, days_ago=3)
    page = change_parts(client.get(f"/results/{stored(client, 5, previous=first)}",
                                   headers={"Accept-Language": language}).get_data(as_text=True))
    assert overlap in page and "month" not in page and " mes" not in page
    assert {"en": "measurement error", "es": "error de medición"}[language] not in page
    assert row_for(first) is not None


def test_the_clinicians_result_page_names_the_phq9_rule(signed_in):
    first = store("phq9", answers=nine(16), taken_at=utc(2026, 1, 5))
    later = store("phq9", answers=nine(9), taken_at=utc(2026, 2, 5), previous_id=first.id)
    page = text(signed_in.get(f"/clinician/results/{ref(later)}").get_data(as_text=True))
    assert "beyond measurement error (5 points or more, 2 standard errors of measurement; Löwe et al. 2004)" in page
    assert "Marx" not in page


def test_outcomes_count_phq9_series_by_its_rule(signed_in):
    improved = store("phq9", answers=nine(16), taken_at=utc(2026, 1, 5))
    store("phq9", answers=nine(11), taken_at=utc(2026, 2, 5), previous_id=improved.id)  # −5: improved
    steady = store("phq9", answers=nine(16), taken_at=utc(2026, 1, 6))
    store("phq9", answers=nine(12), taken_at=utc(2026, 2, 6), previous_id=steady.id)  # −4: neither
    page = text(signed_in.get("/clinician/outcomes").get_data(as_text=True))
    assert "PHQ-9" in page and "Löwe" in page
    section = page[page.index("PHQ-9"):]
    assert "5 points or more" in section
