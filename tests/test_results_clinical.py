"""The result page's clinical content: one thing first, the crisis box before the details (emphasised
when PCL-5 item 16 is rated 2 or more), the DSM-5 sentence per case, cut-offs explained, the change
headline with its source, PC-PTSD-5 "No" without empty groups, and crisis lines in Spanish."""
from __future__ import annotations

import re

import pytest

from app.screening.scoring import score_pcl5
from tests.results_helpers import store_pcl5, store_pcl5_earlier, store_pcptsd5

# Item 16 is answers[15]; this vector totals 12 and meets the DSM-5 rule (B1, C1, D2, E2).
RULE_MET_BELOW_CUTOFF = [2, 0, 0, 0, 0, 2, 0, 2, 2, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2]
RULE_MET_ABOVE_CUTOFF = [3, 3, 2, 3, 2, 3, 3, 2, 3, 2, 3, 2, 2, 3, 2, 1, 3, 2, 3, 3]
RULE_NOT_MET_ABOVE = [4] * 8 + [0] * 12  # 32 in B and C and one D item: rule not met
DSM5_NAMES = ("intrusion", "avoidance", "negative changes in thinking and mood", "arousal")


def store(client, answers: list[int]) -> str:
    response = client.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": answers, "store": True})
    assert response.status_code == 201
    return response.get_json()["code"]


def page(client, code: str, language: str = "en") -> str:
    return client.get(f"/results/{code}", headers={"Accept-Language": language}).get_data(as_text=True)


def main(html: str) -> str:
    return html[html.index('<main'):html.index('</main>')]


def test_the_vectors_are_what_their_names_say():
    assert (score_pcl5(RULE_MET_BELOW_CUTOFF).total, score_pcl5(RULE_MET_BELOW_CUTOFF).dsm5_rule_met) == (12, True)
    assert score_pcl5(RULE_MET_ABOVE_CUTOFF).at_or_above_cutoff and score_pcl5(RULE_MET_ABOVE_CUTOFF).dsm5_rule_met
    below = score_pcl5([4] * 8 + [0] * 12)
    assert below.total == 32 and not below.dsm5_rule_met


@pytest.mark.parametrize("kind", ["pcl5-above", "pcl5-below", "pcptsd5", "pcptsd5-no"])
def test_sentence_score_next_step_and_crisis_box_come_before_any_detail(client, db, kind):
    if kind == "pcptsd5-no":
        response = client.post("/api/v1/screenings", json={"instrument": "pcptsd5", "exposure": False,
                                                            "answers": [], "store": True})
        code = response.get_json()["code"]
    else:
        code = {"pcl5-above": lambda: store_pcl5(client, 50), "pcl5-below": lambda: store_pcl5(client, 12),
                "pcptsd5": lambda: store_pcptsd5(client, 4)}[kind]()
    html = main(page(client, code))
    order = [html.index(marker) for marker in (
        "</h1>", 'class="verdict"', 'class="score"', 'href="/learn/find-help"', 'class="crisis-box',
        'id="notice-heading"', 'id="about-heading"', 'id="code-heading"', 'id="keep-heading"',
        'id="sources-heading"')]
    assert order == sorted(order)
    if kind.startswith("pcl5"):  # the PC-PTSD-5 has no group bars: only its total is validated
        assert order[5] < html.index('id="clusters-heading"') < order[7]
    # One main next step, and delete offered once.
    assert html.count('class="button"') == 1
    assert html.count('formaction="/results/delete"') == 1
    assert "FHIR" in html and "Download a file for your clinic" in html


def test_crisis_box_is_emphasised_when_item_16_is_rated_moderately_or_more(client, db):
    for rating, emphasised in ((0, False), (1, False), (2, True), (4, True)):
        answers = list(RULE_MET_ABOVE_CUTOFF)
        answers[15] = rating
        html = main(page(client, store(client, answers)))
        assert ('class="crisis-box emphasised"' in html) is emphasised, rating
        box = html[html.index('class="crisis-box'):html.index("</aside>", html.index('class="crisis-box'))]
        assert ("You said you have been doing things that could cause you harm" in box) is emphasised, rating
        assert "988" in html[:html.index('id="about-heading"')]
    assert "emphasised" not in main(page(client, store_pcptsd5(client, 5)))


def test_dsm5_wording_for_a_total_of_12_that_meets_the_rule(client, db):
    html = main(page(client, store(client, RULE_MET_BELOW_CUTOFF)))
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Your total is below the cut-off, yet your answers fit the pattern" in text
    assert "also fit" not in text and "do not fit" not in text
    for name in DSM5_NAMES:
        assert name in text, name
    for condition in ("traumatic event", "more than a month", "problems in daily life",
                      "treats the total score with a cut-off as a more reliable screening signal than"):
        assert condition in text, condition


@pytest.mark.parametrize("answers, expected, absent", [
    (RULE_MET_ABOVE_CUTOFF, "Your answers also fit the pattern", "yet your answers fit"),
    (RULE_NOT_MET_ABOVE, "do not fit the full pattern", "also fit"),
])
def test_dsm5_wording_has_its_own_sentence_per_case(client, db, answers, expected, absent):
    html = main(page(client, store(client, answers)))
    assert expected in html and absent not in html
    assert "A diagnosis also needs a traumatic event" in html


def test_cut_offs_are_explained_with_their_sources(client, db):
    pcl5 = main(page(client, store_pcl5(client, 40)))
    assert "31 to 33" in pcl5 and "lower cut-off suits screening" in pcl5 and "ptsd.va.gov" in pcl5
    pc = main(page(client, store_pcptsd5(client, 3)))
    for phrase in ("Prins", "Bovin", "women may need 3",
                   "Development and Evaluation Within a Veteran Primary Care Sample", "2021;4(2):e2036733"):
        assert phrase in pc, phrase


def test_pcptsd5_no_says_what_it_means_without_empty_groups_or_read_about_links(client, db):
    response = client.post("/api/v1/screenings", json={"instrument": "pcptsd5", "exposure": False,
                                                        "answers": [], "store": True})
    html = main(page(client, response.get_json()["code"]))
    assert "this screen does not apply to you" in html
    assert "scores 0 and ends" in html
    for absent in ('id="clusters-heading"', "bar-fill", "Read about", "the cut-off is", 'id="answers-heading"'):
        assert absent not in html, absent
    assert 'class="crisis-box' in html  # the crisis box still shows


def test_a_retake_states_the_change_at_the_top_with_its_source(client, db):
    first = store_pcl5_earlier(client, 50)
    later = store_pcl5(client, 38, previous=first)
    html = main(page(client, later))
    headline = html[html.index('id="change-headline"'):html.index("</p>", html.index('id="change-headline"'))]
    assert html.index('id="change-headline"') < html.index('class="verdict"')
    # 12 points: below the reliable-change figure (18), so "may be", never "real" or "reliable".
    assert re.search(r"<strong>Your total is 12 points lower than on .*?: this may be a real change", headline, re.S)
    assert "larger than chance" not in headline and "improvement" not in headline
    assert "Marx and others, 2022" in headline and 'class="small source"' in headline
    change = html[html.index('id="change-heading"'):]
    assert "carried over from the checklist’s older version for DSM-IV" in change
    assert "Marx, B. P., Lee, D. J., Norman, S. B., et al. (2022)" in change


def test_item_answers_are_on_the_page_and_kept_in_print(client, db):
    code = store_pcl5(client, 44)
    html = main(page(client, code))
    answers = html[html.index('id="answers-heading"'):]
    assert len(re.findall(r'<li value="\d+">', answers)) == 20
    assert "Trouble falling or staying asleep?" in answers and "<strong>Extremely</strong>" in answers
    css_url = re.search(r'href="(/assets/result\.[0-9a-f]{12}\.css)"', page(client, code)).group(1)
    css = client.get(css_url).get_data(as_text=True)
    print_rules = css[css.index("@media print"):]
    hidden = re.findall(r"([^{}]*)\{[^}]*display:\s*none", print_rules)
    assert not any("answers" in selectors or "answer-list" in selectors for selectors in hidden)
    assert ".answer-list" in print_rules


SPANISH_CRISIS = ("AYUDA", "741741", "442-AYUDAME", "024", "800 911 2000", "112", "9-8-8", "116 123",
                  "13 11 14", "findahelpline.com")


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("path", ["/", "/learn/find-help", "result"])
def test_crisis_lines_for_spanish_speakers_and_other_countries_are_everywhere(client, db, language, path):
    if path == "result":
        path = f"/results/{store_pcl5(client, 20)}"
    html = client.get(path, headers={"Accept-Language": language}).get_data(as_text=True)
    crisis = html[html.index('id="crisis-heading"'):]
    for keyword in SPANISH_CRISIS:
        assert keyword in crisis, keyword
    assert "text HOME" not in crisis or language == "en"
    assert 'href="https://findahelpline.com/"' in crisis


def test_the_spanish_crisis_box_offers_spanish_first(client, db):
    html = page(client, store_pcl5(client, 40), "es")
    box = html[html.index('class="crisis-box'):html.index("</aside>", html.index('class="crisis-box'))]
    assert "988" in box and "2" in box and "español" in box.lower()
