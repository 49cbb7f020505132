"""The instruments on Spanish pages: published wording only, marked with its language, the honest note,
the PC-PTSD-5 as one published list, the official PCL-5 instructions and full credits, scoring unchanged."""
from __future__ import annotations

import dataclasses
import re

import pytest

from app.models import Screening
from app.screening import instruments
from app.screening.instruments import INSTRUMENTS, PCL5, PCPTSD5
from app.screening.views import item_sections
from tests.conftest import kept_code, one_time_value, stored_count

# Typed in from the National Center for PTSD's fillable PCL-5 (version date 11 April 2018); see
# docs/translations.md for the copy it was checked against.
PCL5_2018_INSTRUCTIONS = (
    "Below is a list of problems that people sometimes have in response to a very stressful "
    "experience. Please read each problem and then select one of the options to indicate how much "
    "you have been bothered by that problem in the past month. The options include not at all, a "
    "little bit, moderately, quite a bit, and extremely."
)
PCPTSD5_FULL_TITLE = (
    "The Primary Care PTSD Screen for DSM-5 (PC-PTSD-5): Development and Evaluation Within a "
    "Veteran Primary Care Sample. Journal of General Internal Medicine, 31(10), 1206\u20131211."
)
NOTE_EN = "they were tested and validated in English"
NOTE_ES = "el idioma en que se validaron"


def page(client, path: str, language: str) -> str:
    """The page as a reader whose browser asks for `language` (no language cookie involved)."""
    response = client.get(path, headers={"Accept-Language": language})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers or "lang=" not in response.headers["Set-Cookie"]
    return response.get_data(as_text=True)


def items_block(html: str) -> str:
    """The questionnaire's item area, from the stem to the end of its last section."""
    return html[html.index('<div class="items"'):html.index('name="store"')]


# --- no translation is reproduced, so the published English stays, marked and explained -----------

def test_every_instrument_is_in_its_published_english():
    assert all(instrument.language == "en" for instrument in INSTRUMENTS.values())


@pytest.mark.parametrize("path, items", [("/screen/pcl5", 20), ("/screen/pcptsd5", 5)])
def test_spanish_page_marks_the_english_wording_and_says_why(client, path, items):
    html = page(client, path, "es")
    assert '<html lang="es"' in html
    assert '<p class="instructions" lang="en">' in html and '<p class="stem" lang="en">' in html
    # Each question's fieldset (its wording and its answer labels) is marked as English.
    numbered = re.findall(r'<fieldset id="q\d+" class="[^"]*" lang="en">', html)
    assert len(numbered) == items
    assert '<span lang="en">' + INSTRUMENTS[path.rsplit("/", 1)[1]].credit.replace("&", "&amp;") in html
    # The honest note: validated in English, and who could help with the words; no unproven claim.
    assert NOTE_ES in html and "un médico, un consejero o un intérprete" in html
    # Someone nearby only if it is safe: the person nearby may be the one who hurt them.
    assert "a alguien cercano solo si es seguro para usted" in html and "alguien de confianza" not in html
    assert "igual de válidas" not in html and "just as valid" not in html


@pytest.mark.parametrize("path", ["/screen/pcl5", "/screen/pcptsd5"])
def test_english_page_needs_no_note(client, path):
    html = page(client, path, "en")
    assert '<html lang="en"' in html and 'class="language-note' not in html
    assert NOTE_EN not in html


def test_a_published_translation_would_be_marked_with_its_own_language(client, monkeypatch):
    """The form reads the instrument's language: a copy in Spanish is marked es and needs no note."""
    spanish = dataclasses.replace(PCL5, language="es")
    monkeypatch.setitem(instruments.INSTRUMENTS, "pcl5", spanish)
    html = page(client, "/screen/pcl5", "es")
    assert 'class="language-note' not in html
    assert '<p class="instructions" lang="es">' in html
    assert len(re.findall(r'<fieldset id="q\d+" class="[^"]*" lang="es">', html)) == 20


# --- point 2: the PC-PTSD-5 as published -------------------------------------------------------

def test_pcptsd5_is_one_untitled_section_and_the_pcl5_keeps_its_groups():
    assert item_sections(PCPTSD5) == [(None, list(PCPTSD5.items))]
    assert [cluster for cluster, _ in item_sections(PCL5)] == ["reexperiencing", "avoidance", "arousal"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_pcptsd5_form_has_no_headings_between_its_questions(client, language):
    block = items_block(page(client, "/screen/pcptsd5", language))
    assert "<h2" not in block and "aria-labelledby" not in block
    assert '<section' not in block  # one published list, not parts
    numbers = [int(n) for n in re.findall(r'class="qnum">(\d+)\.', block)]
    assert numbers == [1, 2, 3, 4, 5]


# --- point 3: one official version of the PCL-5 instructions -------------------------------------

def test_pcl5_instructions_are_the_2018_fillable_form_word_for_word(client):
    assert PCL5.instructions == PCL5_2018_INSTRUCTIONS
    html = page(client, "/screen/pcl5", "en")
    assert f'<p class="instructions" lang="en">{PCL5_2018_INSTRUCTIONS}</p>' in html
    # Not mixed with the 2013 paper form's wording.
    assert "carefully" not in PCL5.instructions and "circle" not in PCL5.instructions
    assert PCL5.stem == "In the past month, how much were you bothered by:"


# --- point 6: the PC-PTSD-5 credit with its full title ------------------------------------------

@pytest.mark.parametrize("language", ["en", "es"])
def test_pcptsd5_credit_has_its_full_title_on_the_form(client, language):
    assert PCPTSD5_FULL_TITLE in PCPTSD5.credit
    assert PCPTSD5_FULL_TITLE in page(client, "/screen/pcptsd5", language)


def test_pcptsd5_credit_has_its_full_title_in_the_api(client):
    body = client.get("/api/v1/instruments/pcptsd5").get_json()
    assert PCPTSD5_FULL_TITLE in body["credit"]


# --- scoring and storage do not depend on the page's language -----------------------------------

def submit(client, form_token, path: str, data: dict, language: str):
    assert client.get(path).status_code == 200  # as a person would: the page first, then the answers
    return client.post(path, data=data, headers={"Accept-Language": language})


@pytest.mark.parametrize("language", ["en", "es"])
def test_pcl5_scores_and_stores_the_same_in_both_languages(app, client, db, form_token, language):
    answers = [0, 1, 2, 3, 4] * 4
    data = {f"q{n}": str(value) for n, value in enumerate(answers, start=1)}
    kept = {**data, "store": "yes", "submission": one_time_value()}
    response = submit(client, form_token, "/screen/pcl5", kept, language)
    assert response.status_code == 200 and kept_code(response) and stored_count() == 1
    with app.app_context():
        row = db.session.execute(db.select(Screening)).scalar_one()
        assert (row.instrument, row.instrument_version, row.total) == ("pcl5", PCL5.version, 40)
        assert row.answers == answers


@pytest.mark.parametrize("language", ["en", "es"])
def test_pcptsd5_scores_the_same_in_both_languages(app, client, db, form_token, language):
    data = {"exposure": "yes", "q1": "yes", "q2": "no", "q3": "yes", "q4": "yes", "q5": "no"}
    kept = {**data, "store": "yes", "submission": one_time_value()}
    response = submit(client, form_token, "/screen/pcptsd5", kept, language)
    assert response.status_code == 200 and kept_code(response) and stored_count() == 1
    with app.app_context():
        row = db.session.execute(db.select(Screening)).scalar_one()
        assert (row.instrument, row.instrument_version, row.total) == ("pcptsd5", PCPTSD5.version, 3)
