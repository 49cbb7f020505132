"""What a trauma psychologist must sign off, held in both languages: change is only called reliable at
the instrument's reliable-change figure, retakes under a month apart are not labelled, 31–32 is not
reassuring, cut-off sentences follow the settings, the ITQ names the unmet part, every tel: link
dials with its country code, and the PC-PTSD-5 has no group bars."""
from __future__ import annotations

import re

import pytest

from app.crisis_lines import CRISIS_LINES
from app.education.content import PAGES
from config import CUTOFF_SETTINGS, Config
from tests.apps import app_with_tables
from tests.results_helpers import pcl5_answers, store_itq, store_pcl5, store_pcl5_earlier, store_pcptsd5

LANGUAGES = ["en", "es"]


def text_of(html: str) -> str:
    """The page's words, tags dropped and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def result_page(client, code: str, language: str) -> str:
    response = client.get(f"/results/{code}", headers={"Accept-Language": language})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def verdict(html: str) -> str:
    return text_of(re.search(r'<p class="verdict" id="verdict">(.*?)</p>', html, re.S).group(1)).strip()


# ---- 1. change between results -----------------------------------------------------------------

CALLED_REAL = {"en": ("larger than chance alone would explain", "real improvement", "large enough to count"),
               "es": ("mayor de lo que el azar por sí solo", "mejora real")}
MAY_BE_REAL = {"en": "may be a real change", "es": "puede ser un cambio real"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("earlier, later", [(40, 30), (40, 50), (50, 33), (30, 47)])
def test_a_change_below_the_reliable_figure_is_never_called_real(client, db, language, earlier, later):
    first = store_pcl5_earlier(client, earlier)
    text = text_of(result_page(client, store_pcl5(client, later, previous=first), language))
    for phrase in CALLED_REAL[language]:
        assert phrase not in text, phrase
    assert MAY_BE_REAL[language] in text
    assert "Marx" in text and "National Center for PTSD" in text  # both sources, cited


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_change_at_the_reliable_figure_is_called_larger_than_chance_with_marx_cited(client, db, language):
    first = store_pcl5_earlier(client, 50)
    text = text_of(result_page(client, store_pcl5(client, 32, previous=first), language))
    assert {"en": "larger than chance", "es": "mayor de lo que el azar"}[language] in text
    assert "Psychological Assessment, 34(2), 197–203" in text


# ---- 2. retakes less than a month apart ----------------------------------------------------------

OVERLAP = {"en": "less than a month apart", "es": "menos de un mes de diferencia"}
LABELS = {"en": ("improvement", "larger than chance", "may be a real change", "ordinary ups and downs",
                 "bother you more"),
          "es": ("mejora real", "mayor de lo que el azar", "puede ser un cambio real", "subidas y bajadas",
                 "molestarle más")}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("earlier, later", [(60, 20), (20, 60), (40, 34), (40, 40)])
def test_a_retake_minutes_later_shows_numbers_with_the_overlap_caution_and_no_label(client, db, language,
                                                                                    earlier, later):
    first = store_pcl5(client, earlier)
    html = result_page(client, store_pcl5(client, later, previous=first), language)
    text = text_of(html)
    assert OVERLAP[language] in text
    assert {"en": "overlap", "es": "se solapan"}[language] in text
    for label in LABELS[language]:
        assert label not in text, label
    assert f"<td>{earlier}</td><td>{later}</td>" in html  # the numbers are still shown


def test_a_retake_minutes_later_through_the_api_is_never_meaningful(client, db):
    first = store_pcl5(client, 70)
    reply = client.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": pcl5_answers(0),
                                                    "previous": first}).get_json()
    assert reply["change"]["total"] == -70 and reply["change"]["meaningful"] is False


# ---- 3. 31–32 is not reassuring --------------------------------------------------------------------

@pytest.mark.parametrize("language, within, reassuring", [
    ("en", "within the range of 31 to 33", "below the level at which this checklist suggests PTSD"),
    ("es", "dentro del intervalo de 31 a 33", "por debajo del nivel"),
])
@pytest.mark.parametrize("total", [31, 32])
def test_totals_31_and_32_open_with_the_31_to_33_range(client, db, language, within, reassuring, total):
    sentence = verdict(result_page(client, store_pcl5(client, total), language))
    assert within in sentence and str(total) in sentence
    assert reassuring not in sentence


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("total", [30, 33])
def test_the_range_sentence_is_only_for_31_to_just_below_the_cut_off(client, db, language, total):
    sentence = verdict(result_page(client, store_pcl5(client, total), language))
    assert "31" not in sentence


@pytest.mark.parametrize("language, phrase", [("en", "fit the pattern of symptoms that DSM-5"),
                                              ("es", "encajan con el patrón de síntomas que el DSM-5")])
def test_the_dsm5_pattern_met_below_the_cut_off_is_in_the_opening_sentence(client, db, language, phrase):
    answers = [2, 0, 0, 0, 0, 2, 0, 2, 2, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2]  # total 12, rule met
    code = client.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": answers,
                                                   "store": True}).get_json()["code"]
    assert phrase in verdict(result_page(client, code, language))


# ---- 4. the cut-off text follows the setting --------------------------------------------------------

def test_cut_offs_have_one_home_the_instrument_overridable_by_one_mapping():
    assert CUTOFF_SETTINGS == {"pcl5": "PCL5_CUTOFF", "pcptsd5": "PCPTSD5_CUTOFF", "phq9": "PHQ9_CUTOFF"}
    assert Config.PCL5_CUTOFF is None and Config.PCPTSD5_CUTOFF is None  # not a second source


@pytest.mark.parametrize("language, pcl5_phrases, pcptsd5_phrases", [
    ("en", ["Why 33:", "This site uses 33, the value the Center first proposed", "the cut-off is 33"],
     ["Why 3:", "So this site keeps 3."]),
    ("es", ["Por qué 33:", "Este sitio usa 33, el valor que el Centro propuso primero"],
     ["Por qué 3:", "Por eso este sitio mantiene 3."]),
])
def test_the_default_cut_offs_are_explained(client, db, language, pcl5_phrases, pcptsd5_phrases):
    for code, phrases in ((store_pcl5(client, 20), pcl5_phrases), (store_pcptsd5(client, 2), pcptsd5_phrases)):
        text = text_of(result_page(client, code, language))
        for phrase in phrases:
            assert phrase in text, phrase


@pytest.mark.parametrize("language, pcl5_phrases, pcptsd5_phrases, absent", [
    ("en", ["Why 31:", "This site uses 31, a value within that range", "the cut-off is 31"],
     ["Why 4:", "This site uses 4, a value chosen by the people who run it"],
     ["uses 33", "Why 33", "keeps 3", "cut-off is 33", "cut-off is 3 "]),
    ("es", ["Por qué 31:", "Este sitio usa 31, un valor dentro de ese intervalo", "el punto de corte es 31"],
     ["Por qué 4:", "Este sitio usa 4, un valor elegido"],
     ["usa 33", "Por qué 33", "mantiene 3"]),
])
def test_the_cut_off_text_follows_flask_pcl5_cutoff_and_flask_pcptsd5_cutoff(monkeypatch, tmp_path, language,
                                                                            pcl5_phrases, pcptsd5_phrases, absent):
    monkeypatch.setenv("FLASK_PCL5_CUTOFF", "31")
    monkeypatch.setenv("FLASK_PCPTSD5_CUTOFF", "4")
    with app_with_tables("testing", tmp_path) as app:
        client = app.test_client()
        pcl5_text = text_of(result_page(client, store_pcl5(client, 32), language))
        pcptsd5_text = text_of(result_page(client, store_pcptsd5(client, 3), language))
        for phrase in pcl5_phrases:
            assert phrase in pcl5_text, phrase
        for phrase in pcptsd5_phrases:
            assert phrase in pcptsd5_text, phrase
        for phrase in absent:
            assert phrase not in pcl5_text and phrase not in pcptsd5_text, phrase
        # 32 is at or above 31 here, so the range sentence (for below the cut-off) is not used.
        assert "31 to 33" not in verdict(result_page(client, store_pcl5(client, 32), "en"))


# ---- 5. ITQ: severe symptoms, impairment not met -------------------------------------------------------

SEVERE_NO_IMPAIRMENT = [4] * 6 + [1, 0, 1] + [4] * 6 + [0, 1, 0]


@pytest.mark.parametrize("language, opening, detail, clinician", [
    ("en", "not the effect on daily life", "the part about effects on daily life", "talk to a clinician"),
    ("es", "no el efecto en la vida diaria", "la parte sobre los efectos en la vida diaria",
     "hable con un profesional clínico"),
])
def test_itq_severe_symptoms_without_impairment_names_the_unmet_part(client, db, language, opening, detail,
                                                                     clinician):
    html = result_page(client, store_itq(client, SEVERE_NO_IMPAIRMENT), language)
    sentence = verdict(html)
    assert opening in sentence and clinician in sentence
    text = text_of(html)
    assert detail in text and {"en": "24 out of 24", "es": "24 de 24"}[language] in text


def test_itq_without_symptoms_keeps_the_plain_sentence(client, db):
    sentence = verdict(result_page(client, store_itq(client, [1] * 18), "en"))
    assert sentence.startswith("Your answers do not match the pattern") and "daily life" not in sentence


# ---- 6. crisis numbers dial the right place ----------------------------------------------------------

def test_every_crisis_line_with_a_tel_target_is_in_e164_or_an_in_country_short_number():
    for line in CRISIS_LINES:
        assert line.tel is None or re.fullmatch(r"\+[1-9]\d{6,14}|\d{3,6}", line.tel), line.key
        # A long national number (Mexico's 800 line) is never dialled without its country code.
        assert line.tel is None or line.tel.startswith("+") or len(line.tel) <= 6, line.key
    mexico = next(line for line in CRISIS_LINES if line.key == "mx-linea-de-la-vida")
    assert mexico.tel == "+528009112000"


def person_pages(app, client) -> list[str]:
    """Every GET page without arguments in the URL map, each learn page and a stored result of each kind."""
    pages = sorted(rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith("/api/"))
    pages += [f"/learn/{slug}" for slug in PAGES if slug != "index"]
    pages += [f"/screen/{instrument}" for instrument in ("pcl5", "pcptsd5", "itq")]
    pages += [f"/results/{store_pcl5(client, 50)}", f"/results/{store_pcptsd5(client, 4)}",
              f"/results/{store_itq(client, SEVERE_NO_IMPAIRMENT)}"]
    return pages


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_tel_link_on_every_page_carries_a_country_code(app, client, db, language):
    """A tel: link carries its country code, except a crisis line's short number that exists only in
    the country its label names (988 in the US, 024 in Spain), where the reader dials it."""
    from app.crisis_lines import CRISIS_LINES, in_country_short_number
    short = {f"tel:{line.tel}" for line in CRISIS_LINES if line.tel and in_country_short_number(line.tel)}
    assert "tel:988" in short and "tel:8009112000" not in short
    checked = 0
    for path in person_pages(app, client):
        response = client.get(path, headers={"Accept-Language": language})
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        for target in re.findall(r'href="(tel:[^"]*)"', html):
            assert target.startswith("tel:+") or target in short, (path, target)
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("language, from_mexico, ending", [
    ("en", "from a phone in Mexico, call", "or your local emergency number."),
    ("es", "desde un teléfono en México, llame al", "o al número de emergencias de su país."),
])
def test_the_compact_box_labels_mexico_and_ends_with_the_local_emergency_number(client, db, language,
                                                                                from_mexico, ending):
    html = result_page(client, store_pcl5(client, 50), language)
    box = html[html.index('class="crisis-box'):html.index("</aside>", html.index('class="crisis-box'))]
    assert 'href="tel:+528009112000"' in box and from_mexico in text_of(box)
    assert text_of(box).strip().endswith(ending)
    assert "tel:8009112000" not in html


def test_translated_strings_carry_no_crisis_markup():
    from babel.messages.pofile import read_po
    with open("app/translations/es/LC_MESSAGES/messages.po", "rb") as po:
        catalog = read_po(po)
    for message in catalog:
        for text in (message.id if isinstance(message.id, tuple) else (message.id,)):
            assert "tel:" not in text and "sms:" not in text, text


# ---- 7. PC-PTSD-5: no group bars ---------------------------------------------------------------------

@pytest.mark.parametrize("language, bothered", [("en", "how much these problems bothered you"),
                                                ("es", "cuánto le molestaron")])
def test_pcptsd5_has_no_group_bars_and_says_its_score_counts_yes_answers(client, db, language, bothered):
    html = result_page(client, store_pcptsd5(client, 4), language)
    assert 'id="clusters-heading"' not in html and 'class="clusters"' not in html
    text = text_of(html)
    assert not re.search(r"\b\d (out of|de) 1\b(?![\d–-])", text)
    assert bothered not in text
    assert {"en": "counts your Yes answers", "es": "cuenta sus respuestas"}[language] in text


def test_pcl5_keeps_its_group_bars(client, db):
    assert 'id="clusters-heading"' in result_page(client, store_pcl5(client, 50), "en")


# ---- 8. the PCL-5's three parts are this site's grouping, said so ----------------------------------

@pytest.mark.parametrize("language, phrase", [
    ("en", "The three parts are this site’s grouping, not the checklist’s (after DSM-IV’s three symptom groups); "
           "they do not change your score."),
    ("es", "las tres partes son una agrupación de este sitio (según el DSM-IV), no de la lista, y no cambian su "
           "puntuación."),
])
def test_the_pcl5_form_says_once_that_its_parts_are_this_sites_grouping(client, language, phrase):
    html = client.get("/screen/pcl5", headers={"Accept-Language": language}).get_data(as_text=True)
    assert text_of(html).count(phrase) == 1
    assert html.index(phrase) < html.index('class="part"')
    for other in ("pcptsd5", "itq"):
        assert "DSM-IV" not in client.get(f"/screen/{other}", headers={"Accept-Language": language}).get_data(
            as_text=True)


@pytest.mark.parametrize("language, phrase", [
    ("en", "the three part headings are this site’s own grouping"),
    ("es", "los títulos de las tres partes son una agrupación de este sitio"),
])
def test_the_about_page_claims_word_for_word_questions_not_headings(client, language, phrase):
    assert phrase in text_of(client.get("/about", headers={"Accept-Language": language}).get_data(as_text=True))


# ---- 9. learn-page corrections -------------------------------------------------------------------

def learn(client, slug: str, language: str) -> str:
    return text_of(client.get(f"/learn/{slug}", headers={"Accept-Language": language}).get_data(as_text=True))


@pytest.mark.parametrize("language, phrases, gone", [
    ("en", ["67% (MAPP1) and 71% (MAPP2)", "32% and 48% of the placebo groups", "18 weeks after treatment began",
            "71% of the MDMA group no longer met the criteria for PTSD, compared with 48%",
            "No US state allows MDMA therapy today", "Colorado", "moved out of Schedule I", "HB22-1344"],
     ["likely comes from", "medauth2"]),
    ("es", ["67 % (MAPP1) y el 71 % (MAPP2)", "32 % y el 48 % de los grupos con placebo",
            "18 semanas después de empezar el tratamiento", "ningún estado de EE. UU. permite la terapia con MDMA",
            "Colorado", "Lista I", "HB22-1344"],
     ["Es probable que venga", "medauth2", "puntaje"]),
])
def test_the_mdma_page_sets_the_figures_beside_placebo_and_says_no_state_allows_it(client, language, phrases,
                                                                                   gone):
    text = learn(client, "mdma-assisted-therapy", language)
    for phrase in phrases:
        assert phrase in text, phrase
    html = client.get("/learn/mdma-assisted-therapy", headers={"Accept-Language": language}).get_data(as_text=True)
    for phrase in gone:
        assert phrase not in html, phrase


@pytest.mark.parametrize("language, phrases, gone", [
    ("en", ["ICD-11 is the current international classification", "countries are moving to it over time",
            "DSM-5-TR", "2022"], ["used in most of the world"]),
    ("es", ["la clasificación internacional vigente", "los países la van adoptando poco a poco", "DSM-5-TR",
            "2022"], ["se usa en la mayor parte del mundo", "puntaje"]),
])
def test_the_ptsd_page_calls_icd11_current_not_used_in_most_of_the_world(client, language, phrases, gone):
    text = learn(client, "ptsd", language)
    for phrase in phrases:
        assert phrase in text, phrase
    for phrase in gone:
        assert phrase not in text, phrase


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_result_page_sentence_on_the_pattern_is_grammatical(client, db, language):
    answers = [2, 0, 0, 0, 0, 2, 0, 2, 2, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2]
    code = client.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": answers,
                                                   "store": True}).get_json()["code"]
    text = text_of(result_page(client, code, language))
    assert "as the more reliable" not in text
    assert {"en": "as a more reliable screening signal than this pattern",
            "es": "una señal de detección más fiable que este patrón"}[language] in text


def test_no_source_link_points_at_a_staging_host(client):
    for slug in PAGES:
        for language in LANGUAGES:
            html = client.get(f"/learn/{slug}", headers={"Accept-Language": language}).get_data(as_text=True)
            hosts = re.findall(r'href="https://([^/"]+)', html)
            assert not [host for host in hosts if re.search(r"staging|medauth|preview|\bdev\b|\d\.", host)], hosts


# ---- 10. Spanish readers -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["pcl5", "pcptsd5", "itq"])
def test_the_spanish_result_says_near_the_score_that_the_questions_were_in_english(client, db, kind):
    code = {"pcl5": lambda: store_pcl5(client, 40), "pcptsd5": lambda: store_pcptsd5(client, 3),
            "itq": lambda: store_itq(client, [2] * 18)}[kind]()
    html = result_page(client, code, "es")
    note = "Usted respondió en inglés, así que la puntuación depende"
    assert note in html
    assert html.index('class="verdict"') < html.index(note) < html.index('class="crisis-box')
    assert "intérprete" in text_of(html)
    assert "You answered in English" not in result_page(client, code, "en")


@pytest.mark.parametrize("language, safe, gone", [
    ("en", "ask someone close to you only if it is safe to do so", "someone you trust"),
    ("es", "a alguien cercano solo si es seguro para usted", "alguien de confianza"),
])
def test_the_form_points_to_a_clinician_or_interpreter_first_and_to_someone_close_only_if_safe(
        client, language, safe, gone):
    for instrument in ("pcl5", "pcptsd5", "itq"):
        html = client.get(f"/screen/{instrument}", headers={"Accept-Language": "es"}).get_data(as_text=True)
        if language == "es":
            note = text_of(html)
            assert safe in note and gone not in note
            assert note.index("intérprete") < note.index(safe)
    from babel.messages.pofile import read_po
    with open("app/translations/es/LC_MESSAGES/messages.po", "rb") as po:
        catalog = read_po(po)
    texts = [m.id if language == "en" else m.string for m in catalog if m.id and isinstance(m.id, str)]
    assert any(safe in text for text in texts) and not any(gone in text for text in texts
                                                           if "code" not in text and "código" not in text)


SPANISH_TERMS = {"puntaje": "puntuación", "cribado": "prueba de detección", "tamizaje": "prueba de detección",
                 "evento traumático": "suceso traumático", "eventos traumáticos": "sucesos traumáticos",
                 "puntaje límite": "punto de corte", "la PCL-5": "el PCL-5", "la PC-PTSD-5": "el PC-PTSD-5",
                 "la ITQ": "el ITQ", "“": "«", "«Moderadamente»": "«Moderately» (moderadamente)"}


def spanish_texts() -> list[str]:
    from pathlib import Path

    from babel.messages.pofile import read_po
    with open("app/translations/es/LC_MESSAGES/messages.po", "rb") as po:
        catalog = read_po(po)
    texts = []
    for message in catalog:
        if message.id:
            texts += [message.string] if isinstance(message.string, str) else list(message.string)
    texts += [path.read_text() for path in Path("app/education/content/es").glob("*.md")]
    return texts


@pytest.mark.parametrize("avoid, use", sorted(SPANISH_TERMS.items()))
def test_the_spanish_pages_use_one_term_for_each_idea(avoid, use):
    # Words are matched in any case ("Puntaje" in a table heading too); names and marks exactly.
    offending = [text[:80] for text in spanish_texts()
                 if (avoid.lower() in text.lower() if avoid.islower() else avoid in text)]
    assert not offending, f"use {use!r} instead of {avoid!r}: {offending}"


@pytest.mark.parametrize("path", ["/screen/pcl5", "/learn/ptsd", "/about", "/"])
def test_spanish_pages_quote_answer_labels_as_the_form_shows_them(client, path):
    text = text_of(client.get(path, headers={"Accept-Language": "es"}).get_data(as_text=True))
    for translated in ("«Moderadamente»", "«Nada»", "«Extremadamente»", "«Sí»"):
        assert translated not in text


# ---- 11. finding help outside the US ---------------------------------------------------------------

@pytest.mark.parametrize("language, heading, places", [
    ("en", "Outside the US", {"United Kingdom": ["GP", "NHS Talking Therapies"],
                              "Spain": ["family doctor", "centro de salud"],
                              "Mexico": ["IMSS", "CECOSAMA", "Línea de la Vida"],
                              "Canada": ["province"], "Australia": ["GP", "mental health treatment plan"],
                              "Elsewhere": ["family doctor", "trauma-focused"]}),
    ("es", "Fuera de EE. UU.", {"Reino Unido": ["GP", "NHS Talking Therapies"],
                                "España": ["médico de familia", "centro de salud"],
                                "México": ["IMSS", "CECOSAMA", "Línea de la Vida"],
                                "Canadá": ["provincia"], "Australia": ["GP", "plan de tratamiento de salud mental"],
                                "Otros países": ["médico de familia", "centrada en el trauma"]}),
])
def test_find_help_gives_the_non_crisis_next_step_outside_the_us_with_sources(client, language, heading, places):
    html = client.get("/learn/find-help", headers={"Accept-Language": language}).get_data(as_text=True)
    section = html[html.index(f">{heading}</h2>"):]
    section = section[:section.index("<h2")]
    for place, words in places.items():
        item = re.search(rf"<li><strong>{re.escape(place)}\.</strong>(.*?)</li>", section, re.S)
        assert item, place
        for word in words:
            assert word in item.group(1), (place, word)
        if place not in ("Elsewhere", "Otros países"):
            assert 'class="cite"' in item.group(1), place  # each country's step is sourced
    sources = html[html.index('id="sources-heading"'):]
    for host in ("nhs.uk", "boe.es", "mentalhealthcommission.ca", "health.gov.au", "nice.org.uk"):
        assert host in sources, host


# ---- 12. Spanish items: the candidates recorded, none used without its full text -------------------

def test_translations_doc_records_each_named_candidate_and_what_using_it_needs():
    from pathlib import Path
    doc = Path("docs/translations.md").read_text()
    candidates = doc[doc.index("## Candidates a clinical reviewer named"):doc.index("### PCL-5: what was looked for")]
    for needle in ("Fresno", "14(2):2263313", "CC BY", "Latin American Spanish", "Cloitre", "Haghish",
                   "15:1216435", "Durón-Figueroa", "9(1):26–36", "Needed before use", "None is used"):
        assert needle in candidates, needle
    from app.screening.instruments import INSTRUMENTS
    assert {instrument.language for instrument in INSTRUMENTS.values()} == {"en"}  # no Spanish items shown
