"""The person's journey: no cookie anywhere (the language switch aside), the code box, /about, one name
per questionnaire, the folded comparison, the PC-PTSD-5 gate without script."""
from __future__ import annotations

import re

import pytest

from app.screening.instruments import INSTRUMENTS
from tests import clinician_support
from tests.clinician_support import sign_in
from tests.conftest import kept_code, one_time_value, stored_count
from tests.results_helpers import pcl5_answers, row_for

# clinician_support's fixtures these tests use, bound by name in this module where pytest finds them
# (a star import would also bring its autouse long_retention).
cheap_hashes = clinician_support.cheap_hashes  # autouse
make_clinician = clinician_support.make_clinician
clinician = clinician_support.clinician
LANGUAGES = ["en", "es"]
NO_COOKIES = {"en": "This site sets no cookies unless you choose a language.",
              "es": "Este sitio no guarda cookies, salvo si usted elige un idioma."}


def _once(store: str) -> dict:
    """The one-time value the questionnaire's script adds to a form that keeps its result."""
    return {"submission": one_time_value()} if store == "yes" else {}


def pcl5_data(total: int, store: str, **extra) -> dict:
    return {"store": store, **{f"q{n}": str(v) for n, v in enumerate(pcl5_answers(total), 1)}, **_once(store),
            **extra}


def pcptsd5_data(store: str, exposure: str = "yes", yes: int = 3, **extra) -> dict:
    answers = {f"q{n}": "yes" if n <= yes else "no" for n in range(1, 6)} if exposure == "yes" else {}
    return {"store": store, "exposure": exposure, **answers, **_once(store), **extra}


def crawl(client, language: str) -> list[tuple[str, object]]:
    """Every kind of person-facing response, in the order a person meets them, as (what, response)."""
    headers = {"Accept-Language": language}
    seen: list[tuple[str, object]] = []

    def get(path, **kwargs):
        seen.append((f"GET {path}", client.get(path, headers=headers, **kwargs)))
        return seen[-1][1]

    def post(path, data, extra_headers=None, **kwargs):
        sent = {**headers, **(extra_headers or {})}
        seen.append((f"POST {path}", client.post(path, data=data, headers=sent, **kwargs)))
        return seen[-1][1]

    for path in ("/", "/about", "/learn", "/learn/ptsd", "/learn/treatments", "/learn/mdma-assisted-therapy",
                 "/learn/find-help", "/screen/pcl5", "/screen/pcptsd5", "/api/v1/instruments"):
        assert get(path).status_code == 200, path
    # Screen without keeping, with an error first, then keep: both questionnaires.
    assert post("/screen/pcl5", {"store": "no"}).status_code == 400
    assert post("/screen/pcl5", pcl5_data(40, "no")).status_code == 200
    assert post("/screen/pcptsd5", pcptsd5_data("no", exposure="no")).status_code == 200
    first = post("/screen/pcl5", pcl5_data(50, "yes"))
    quick = post("/screen/pcptsd5", pcptsd5_data("yes"))
    code, quick_code = kept_code(first), kept_code(quick)
    assert first.status_code == quick.status_code == 200 and code and quick_code
    # Come back: by the home page's code box (typed loosely), a link kept from before, the FHIR file.
    for each in (code, quick_code):
        assert post("/results", {"code": each.lower().replace("-", " ")}).status_code == 200
        assert get(f"/results/{each}").status_code == 200
        assert post("/results/download", {"code": each}).status_code == 200
        assert get(f"/results/{each}.fhir.json").status_code == 200
    # Compare: the button, a link kept from before, a comparison not kept, one kept.
    assert post("/screen/pcl5/compare", {"previous": code}).status_code == 200
    assert get(f"/screen/pcl5?previous={code}").status_code == 200
    assert post("/screen/pcl5", pcl5_data(30, "no", previous=code)).status_code == 200
    later = kept_code(post("/screen/pcl5", pcl5_data(20, "yes", previous=code)))
    assert later
    # Delete (the button, then the confirmation), and the errors a person can meet on the way.
    assert post("/results/delete", {"code": later}).status_code == 200
    assert post("/results/delete", {"code": later, "confirm": "yes"}).status_code == 303
    assert get("/results/deleted").status_code == 200
    assert get(f"/results/{later}").status_code == 404
    assert get(f"/results/{quick_code}/delete").status_code == 200
    assert post("/results", {"code": "0000-0000-0000"}).status_code == 404
    assert post("/results", {"code": ""}).status_code == 400
    assert get("/no-such-page").status_code == 404
    assert client.put("/screen/pcl5", headers=headers).status_code == 405
    seen.append(("PUT /screen/pcl5", client.put("/screen/pcl5", headers=headers)))
    refused = post("/screen/pcl5", pcl5_data(40, "yes"), extra_headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403
    assert post("/screen/pcl5", "{}", content_type="application/json").status_code == 415
    return seen


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_person_facing_response_sets_a_cookie(client, db, language):
    seen = crawl(client, language)
    assert len(seen) >= 35
    with_cookies = {what: response.headers.getlist("Set-Cookie") for what, response in seen
                    if response.headers.getlist("Set-Cookie")}
    assert with_cookies == {}
    assert client.get_cookie("session") is None and not list(client._cookies)  # the jar is still empty
    assert all(f'<html lang="{language}">' in response.get_data(as_text=True)
               for what, response in seen if response.mimetype == "text/html" and response.status_code != 303)


def test_the_language_switch_is_the_one_cookie(client, db):
    switched = client.get("/language/es?next=/screen/pcl5")
    cookies = switched.headers.getlist("Set-Cookie")
    assert len(cookies) == 1 and cookies[0].startswith("lang=es;")
    # With the language chosen, the pages still set nothing more.
    for what, response in crawl(client, "es"):
        assert not response.headers.getlist("Set-Cookie"), what
    assert [cookie.key for cookie in client._cookies.values()] == ["lang"]


def test_a_signed_in_clinician_keeps_a_session_but_the_person_pages_leave_it_alone(app, client, db, clinician):
    assert sign_in(client).status_code == 303
    session_cookie = client.get_cookie("session", path="/")
    assert session_cookie is not None
    for what, response in crawl(client, "en"):
        assert not response.headers.getlist("Set-Cookie"), what
    assert client.get_cookie("session", path="/").value == session_cookie.value
    assert client.get("/clinician/").status_code == 200  # still signed in


# --- "Already have a result code?" ---------------------------------------------------------------

@pytest.mark.parametrize("typed", ["{code}", "{lower}", "{spaced}", "  {plain}  ", "{oh_for_zero}"])
def test_the_home_page_code_box_opens_the_result(client, db, typed):
    code = kept_code(client.post("/screen/pcl5", data=pcl5_data(44, "yes")))
    assert code
    plain = code.replace("-", "")
    variants = {"code": code, "lower": code.lower(), "spaced": " ".join(plain[i:i + 4] for i in (0, 4, 8)),
                "plain": plain, "oh_for_zero": code.replace("0", "O").lower()}
    response = client.post("/results", data={"code": typed.format(**variants)})
    # The result is the answer to the POST: no redirect, so no address ever holds the code.
    assert response.status_code == 200 and "Location" not in response.headers
    assert kept_code(response) == code and "<strong>44</strong> out of 80" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers and response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("typed", ["0000-0000-0000", "not a code", "x" * 200, "7KQ2-M9XD-4TP"])
def test_an_unknown_code_gets_its_error_beside_the_box_with_what_was_typed(client, db, typed):
    code = kept_code(client.post("/screen/pcl5", data=pcl5_data(44, "yes")))
    response = client.post("/results", data={"code": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "Already have a result code?" in html
    box = html[html.index('<section class="card code-lookup"'):]
    assert 'class="field-error"' in box and f'value="{typed}"' in box and 'aria-invalid="true"' in box
    # One message whatever was wrong: unknown, mistyped, or deleted.
    message = re.search(r'<p class="field-error" id="[^"]+">([^<]+)</p>', box).group(1)
    client.post("/results/delete", data={"code": code, "confirm": "yes"})
    deleted = client.post("/results", data={"code": code}).get_data(as_text=True)
    assert deleted.count(message) >= 1 and f'value="{code}"' in deleted
    assert stored_count() == 0


def test_an_empty_code_box_says_what_to_type(client, db):
    response = client.post("/results", data={"code": "   "})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="error-summary"' in html
    assert '<a href="#code">Type the code you were given' in html and 'aria-invalid="true"' in html


def test_the_home_page_offers_the_code_box_without_script(client):
    html = client.get("/").get_data(as_text=True)
    box = html[html.index("Already have a result code?"):]
    assert '<form method="post" action="/results" novalidate>' in box
    assert 'name="code"' in box and '<label for="code">Your result code</label>' in box


# --- /about ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
def test_about_says_who_runs_it_what_is_kept_and_who_sees_it(client, language):
    html = client.get("/about", headers={"Accept-Language": language}).get_data(as_text=True)
    assert NO_COOKIES[language] in html
    assert "365" in html  # RETENTION_DAYS
    for instrument in INSTRUMENTS.values():
        assert instrument.title in html and instrument.credit.split(":")[0] in html
    if language == "en":
        assert "have not added their name and contact details here yet" in html  # the calm, factual default
        assert "do not keep a result here" not in html
        assert "No trackers" in html and "that clinic's staff can see it" in html
        assert "A clinician you give the code to" in html


def test_about_names_the_configured_operator(app, client):
    app.config.update(SITE_OPERATOR_NAME="Riverside Veterans Clinic", SITE_OPERATOR_URL="https://riverside.example",
                      SITE_CONTACT="privacy@riverside.example", RETENTION_DAYS=90, PAGE_CACHE=False)
    html = client.get("/about").get_data(as_text=True)
    assert '<a href="https://riverside.example" rel="noreferrer">Riverside Veterans Clinic</a>' in html
    assert 'href="mailto:privacy@riverside.example"' in html
    assert "90 days after it was taken" in html and "have not added their name" not in html


@pytest.mark.parametrize("path", ["/", "/screen/pcl5", "/learn", "/results/deleted", "/no-such-page"])
def test_about_is_linked_from_every_footer_and_from_the_privacy_note(client, path):
    html = client.get(path).get_data(as_text=True)
    footer = html[html.index('<footer'):]
    assert 'href="/about"' in footer
    if path == "/":
        privacy = html[html.index("Your privacy"):html.index('id="learn-heading"')]
        assert NO_COOKIES["en"] in privacy and 'href="/about"' in privacy


# --- One name per questionnaire; the form's order; the gate without script ---------------------

NAMES = {"pcl5": "Full checklist", "pcptsd5": "Quick screen"}


@pytest.mark.parametrize("language, names", [("en", NAMES), ("es", {"pcl5": "Lista completa",
                                                                      "pcptsd5": "Prueba rápida"})])
def test_one_name_per_questionnaire_in_menu_home_and_headings(client, language, names):
    headers = {"Accept-Language": language}
    home = client.get("/", headers=headers).get_data(as_text=True)
    for instrument_id, name in names.items():
        abbreviation = INSTRUMENTS[instrument_id].name
        full = re.escape(name) + r' <span class="nowrap[^"]*">\(' + re.escape(abbreviation) + r"\)</span>"
        nav = home[home.index('class="wrap site-nav"'):home.index("</nav>", home.index('class="wrap site-nav"'))]
        assert re.search(full, nav), (instrument_id, "menu")
        assert re.search(r'<h2 id="start-' + instrument_id + '">' + full, home), (instrument_id, "home")
        form = client.get(f"/screen/{instrument_id}", headers=headers).get_data(as_text=True)
        assert re.search(r"<h1>" + full + "</h1>", form), (instrument_id, "heading")
    for old in ("PCL-5 checklist", "5-question screen", "Lista PCL-5", "Prueba de 5 preguntas"):
        assert old not in home


def test_the_learn_index_shows_each_summary_once(client):
    from app.education import content

    html = client.get("/learn").get_data(as_text=True)
    for slug in ("ptsd", "treatments", "mdma-assisted-therapy", "find-help"):
        assert html.count(content.load_page(slug, "en").summary) <= 1, slug
    assert html.count('href="/learn/ptsd"') >= 1
    assert "What PTSD is, how its symptoms are grouped" not in html  # the links list is titles only


def test_the_comparison_box_is_folded_unless_the_page_came_from_a_compare_link(client, db):
    code = kept_code(client.post("/screen/pcl5", data=pcl5_data(44, "yes")))
    plain = client.get("/screen/pcl5").get_data(as_text=True)
    assert '<details class="compare-box">' in plain
    assert plain.index('id="store"') < plain.index('class="compare-box"')
    linked = client.get(f"/screen/pcl5?previous={code}").get_data(as_text=True)
    assert 'class="compare-note"' in linked and 'name="previous" value="' in linked  # kept, not asked again
    # The result page's button does the same with the code in the body; the form's address holds none.
    button = client.post("/screen/pcl5/compare", data={"previous": code.lower()}).get_data(as_text=True)
    assert 'class="compare-note"' in button and f'name="previous" value="{code}"' in button
    assert '<form method="post" action="/screen/pcl5" novalidate' in button and "Before you start" in button
    assert 'id="error-summary"' not in button
    bad_link = client.get("/screen/pcl5?previous=0000-0000-0000").get_data(as_text=True)
    assert '<details class="compare-box" open>' in bad_link  # shown, with what is wrong
    typed = client.post("/screen/pcl5", data=pcl5_data(30, "no", previous="junk")).get_data(as_text=True)
    assert '<details class="compare-box" open>' in typed


def test_the_pcptsd5_says_the_questions_may_be_left_blank_after_no(client, db):
    html = client.get("/screen/pcptsd5").get_data(as_text=True)
    assert "If you answered No, the screen ends here: you can leave the questions below blank" in html
    assert html.index('id="exposure"') < html.index("data-gate-hint") < html.index('class="items"')
    # …and a No with the five left blank (or filled in) is scored as the published screen says.
    response = client.post("/screen/pcptsd5", data={"store": "yes", "exposure": "no", "q1": "yes", **_once("yes")})
    assert response.status_code == 200 and row_for(kept_code(response)).exposure is False


def test_the_pcl5_parts_and_progress_are_readable_without_script(client):
    html = client.get("/screen/pcl5").get_data(as_text=True)
    assert "20 questions in 3 parts." in html
    assert re.findall(r'<span class="part-number">(Part \d of 3)</span>', html) == [
        "Part 1 of 3", "Part 2 of 3", "Part 3 of 3"]
    counter = re.search(r'<p class="progress-count" data-template="([^"]+)" hidden></p>', html)
    assert counter and counter.group(1) == "{answered} of {total} answered"  # filled in by form.js
    # Still one fieldset with a legend per question, radio buttons inside their labels.
    assert len(re.findall(r'<fieldset id="q\d+" class="question qrow"', html)) == 20
    assert html.count('<label><input type="radio" name="q7"') == 5
