"""Words that follow the instrument rather than restating one: the retake interval on the result page,
the questionnaires the queue's order names, and abbreviations kept on one line."""
from __future__ import annotations

import html as html_module

import pytest

from tests.clinician_support import WORKSPACE_FIXTURES

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)

ANSWERS = {"pcl5": [1] * 20, "phq9": [0] * 9}


def stored_result_page(client, instrument: str, language: str) -> str:
    """A result kept through the API, as its page shows it in `language`."""
    stored = client.post("/api/v1/screenings", json={"instrument": instrument, "answers": ANSWERS[instrument],
                                                     "store": True})
    assert stored.status_code == 201
    client.set_cookie("lang", language)
    response = client.get(f"/results/{stored.get_json()['code']}")
    assert response.status_code == 200
    return html_module.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("instrument, language, interval, other", [
    ("phq9", "en", "for example in 2 weeks.", "in a month"),
    ("phq9", "es", "por ejemplo dentro de 2 semanas.", "dentro de un mes"),
    ("pcl5", "en", "for example in a month.", "weeks"),
    ("pcl5", "es", "por ejemplo dentro de un mes.", "semanas"),
])
def test_the_code_box_suggests_a_retake_after_the_period_the_questions_ask_about(client, db, instrument, language,
                                                                                interval, other):
    page = stored_result_page(client, instrument, language)
    uses = page[page.index('class="code-uses"'):page.index("</ul>", page.index('class="code-uses"'))]
    assert interval in uses and other not in uses


@pytest.mark.parametrize("instrument, language, heading", [
    ("phq9", "es", "Su resultado del "), ("pcl5", "en", "Your "), ("phq9", "en", "Your "),
])
def test_the_result_heading_keeps_the_abbreviation_on_one_line(client, db, instrument, language, heading):
    page = stored_result_page(client, instrument, language)
    name = {"phq9": "PHQ-9", "pcl5": "PCL-5"}[instrument]
    assert f'<h1>{heading}<span class="nowrap">{name}</span>' in page


@pytest.mark.parametrize("language, expected", [
    ("en", ["a positive full measure (PCL-5, ITQ, PHQ-9: at or above the cut-off, or meeting the criteria), "
            "complex PTSD on the ITQ first, then the most severe; a positive brief screen (PC-PTSD-5)"]),
    ("es", ["una medida completa positiva (PCL-5, ITQ, PHQ-9: en el punto de corte o por encima, o que cumple "
            "los criterios), primero TEPT complejo en el ITQ y después de mayor a menor gravedad; una prueba de "
            "detección breve positiva (PC-PTSD-5)"]),
])
def test_the_queue_states_its_order_naming_every_questionnaire_from_the_instruments(signed_in, language, expected):
    signed_in.set_cookie("lang", language)
    page = signed_in.get("/clinician/").get_data(as_text=True)
    lede = page[page.index('<p class="lede-order">'):page.index("</p>", page.index('<p class="lede-order">'))]
    text = html_module.unescape(lede.replace('<span class="nowrap">', "").replace("</span>", ""))
    for words in expected:
        assert words in text
    assert '<span class="nowrap">PC-PTSD-5</span>' in lede
