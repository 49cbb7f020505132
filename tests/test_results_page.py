"""The stored result page, its FHIR download, the same 404 for unknown and deleted codes, and the
trauma-informed controls (content note, "Leave this site") — including the whole round trip."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from tests.conftest import kept_code, one_time_value, scripts_are_only_the_site_script, stored_count
from tests.results_helpers import pcl5_answers, row_for, store_pcl5, store_pcptsd5, typed_sloppily

STATIC_JS = Path(__file__).resolve().parent.parent / "app" / "static" / "js"
NEUTRAL = "https://www.google.com/search?q=weather"


def test_stored_result_shows_date_and_what_to_do_with_the_code(client, db):
    code = store_pcl5(client, 44)
    response = client.get(f"/results/{typed_sloppily(code)}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    taken = row_for(code).taken_at
    assert f"Taken on {taken:%B} {taken.day}, {taken.year}" in html
    assert "What to do with this code" in html
    assert "Give it to your clinician" in html
    # Compare, download and delete are buttons posting the code in their body: no address holds it.
    assert (f'<form method="post" action="/screen/pcl5/compare">\n'
            f'<input type="hidden" name="previous" value="{code}">') in html
    assert f'action="/results/download" class="code-actions">\n<input type="hidden" name="code" value="{code}">' in html
    assert 'formaction="/results/delete">Delete this result</button>' in html
    assert not re.search(r'(?:href|action)="[^"]*' + code, html)
    # Opened from a link kept from before: kept, and a word about such links and private windows.
    assert "Kept — you can come back to it with this code" in html and "stay in the browser’s history" in html
    assert "use a private window" in html
    assert '<button type="button" class="button secondary" data-print hidden>Print / Save as PDF</button>' in html
    assert scripts_are_only_the_site_script(html)  # leave-site.js and print.js, one bundle
    assert response.headers["Cache-Control"] == "no-store"
    assert '<meta name="robots" content="noindex, nofollow">' in html


def test_unsaved_result_has_print_but_no_code_actions(client, db):
    assert client.get("/screen/pcl5").status_code == 200
    data = {"store": "no", **{f"q{n}": "1" for n in range(1, 21)}}
    response = client.post("/screen/pcl5", data=data)
    html = response.get_data(as_text=True)
    assert "(not saved)" in html and "data-print" in html
    assert ".fhir.json" not in html and "/delete" not in html and "?previous=" not in html
    assert response.headers["Cache-Control"] == "no-store"


# ---- FHIR ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda c: store_pcl5(c, 37), lambda c: store_pcptsd5(c, 2)], ids=["pcl5", "pcptsd5"])
def test_fhir_download_is_a_valid_r4_questionnaire_response(client, db, make):
    code = make(client)
    response = client.get(f"/results/{typed_sloppily(code)}.fhir.json")
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="ptsd-result-{code}.fhir.json"'
    assert response.headers["Cache-Control"] == "no-store"
    resource = json.loads(response.get_data(as_text=True))
    parsed = QuestionnaireResponse.model_validate(resource)
    assert parsed.status == "completed" and parsed.identifier.value == code
    scores = {item["linkId"]: item["answer"][0] for item in resource["item"][1]["item"]}
    total_link = "101698-9" if resource["questionnaire"].endswith("101697-1") else "total"
    assert scores[total_link]["valueInteger"] == row_for(code).total


def test_fhir_rule_is_matched_before_the_result_page(app):
    adapter = app.url_map.bind("localhost")
    assert adapter.match("/results/7KQ2-M9XD-4TPA.fhir.json") == ("screening.result_fhir", {"code": "7KQ2-M9XD-4TPA"})
    assert adapter.match("/results/7KQ2-M9XD-4TPA") == ("screening.result", {"code": "7KQ2-M9XD-4TPA"})
    assert adapter.match("/results/7KQ2-M9XD-4TPA/delete")[0] == "screening.delete_result"
    assert adapter.match("/results/deleted")[0] == "screening.result_deleted"


# ---- the same 404 ---------------------------------------------------------------------------------

def test_unknown_malformed_and_deleted_codes_get_the_very_same_404(client, db):
    deleted = store_pcl5(client, 20)
    assert client.delete(f"/api/v1/screenings/{deleted}").status_code == 204
    kept = store_pcl5(client, 20)
    bodies = set()
    for code in ("0000-0000-0000", "zzzzzzzzzzzz", "not-a-code", deleted, typed_sloppily(deleted)):
        for suffix in ("", ".fhir.json"):
            response = client.get(f"/results/{code}{suffix}")
            assert response.status_code == 404
            bodies.add(response.get_data())
    assert len(bodies) == 1
    assert "Page not found" in bodies.pop().decode()
    assert client.get(f"/results/{kept}").status_code == 200


# ---- trauma-informed controls ----------------------------------------------------------------------

@pytest.mark.parametrize("instrument", ["pcl5", "pcptsd5"])
def test_content_note_comes_before_the_questions(client, instrument):
    html = client.get(f"/screen/{instrument}").get_data(as_text=True)
    note = html.index('class="content-note"')
    assert note < html.index("<fieldset")
    text = html[note:html.index("</aside>", note)]
    assert "stressful experience" in text and "stop at any time" in text and "Nothing is kept unless you choose" in text


def leave_link(html: str) -> str:
    match = re.search(r'<div class="exit-this-page">\s*<a class="exit-this-page-button" id="leave-site" '
                      r'href="([^"]+)" rel="noreferrer"[^>]*>Exit this page</a>', html)
    assert match, "no Exit this page link"
    return match.group(1)


def test_leave_this_site_is_on_every_screening_and_result_page(client, db):
    code = store_pcl5(client, 30)
    assert client.get("/screen/pcptsd5").status_code == 200
    fresh = client.post("/screen/pcptsd5", data={"exposure": "no"})
    pages = [client.get(path) for path in ("/", "/screen/pcl5", "/screen/pcptsd5", f"/screen/pcl5?previous={code}",
                                           f"/results/{code}", f"/results/{code}/delete", "/results/deleted",
                                           "/results/0000-0000-0000")] + [fresh]
    for page in pages:
        html = page.get_data(as_text=True)
        assert leave_link(html).replace("&amp;", "&") == NEUTRAL
        assert scripts_are_only_the_site_script(html)


def test_leave_site_target_is_configurable(app, client):
    app.config["LEAVE_SITE_URL"] = "https://www.bbc.co.uk/weather"
    assert leave_link(client.get("/screen/pcl5").get_data(as_text=True)) == "https://www.bbc.co.uk/weather"


def test_exit_script_replaces_history_and_listens_for_shift_three_times_not_escape():
    source = (STATIC_JS / "leave-site.js").read_text()
    assert "window.location.replace(link.href)" in source
    assert '"Shift"' in source and "keyup" in source and "count > 2" in source
    assert "Escape" not in source.split("*/", 1)[1]  # one stray key must not throw the answers away
    assert "preventDefault" in source


@pytest.mark.parametrize("path", ["/", "/screen/pcl5", "/screen/pcptsd5", "RESULT", "DELETE", "/results/deleted"])
def test_no_inline_script_style_or_handlers_for_the_csp(client, db, path):
    code = store_pcl5(client, 30)
    path = {"RESULT": f"/results/{code}", "DELETE": f"/results/{code}/delete"}.get(path, path)
    html = client.get(path).get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"<script[^>]*>\s*[^<\s]", html)  # no script bodies
    assert "<style" not in html and not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)
    for src in re.findall(r'<script src="([^"]+)"', html):
        with client.get(src) as script:  # static files are streamed: close them
            assert script.status_code == 200 and script.mimetype == "text/javascript"


def test_print_script_reveals_the_button_and_prints(client):
    source = (STATIC_JS / "print.js").read_text()
    assert "[data-print]" in source and ".hidden = false" in source and "window.print()" in source


# ---- the round trip -----------------------------------------------------------------------------

def test_a_code_survives_the_whole_round_trip(client, db):
    """Stored, typed back in lower case without dashes, shown, compared, printed, downloaded as valid
    FHIR, deleted — and then a 404 exactly like a code that never existed."""
    assert client.get("/screen/pcl5").status_code == 200
    data = {"store": "yes", "submission": one_time_value(),
            **{f"q{n}": str(v) for n, v in enumerate(pcl5_answers(48), 1)}}
    stored = client.post("/screen/pcl5", data=data)
    assert stored.status_code == 200
    code = kept_code(stored)
    assert code
    typed = typed_sloppily(code)

    shown = client.post("/results", data={"code": typed})
    assert shown.status_code == 200 and code in shown.get_data(as_text=True)
    assert client.get(f"/results/{typed}").status_code == 200  # a link kept from before

    assert client.post("/screen/pcl5/compare", data={"previous": typed}).status_code == 200
    assert client.get(f"/screen/pcl5?previous={typed}").status_code == 200
    retake = {"store": "no", "previous": code,
              **{f"q{n}": str(v) for n, v in enumerate(pcl5_answers(36), 1)}}
    compared = client.post("/screen/pcl5", data=retake).get_data(as_text=True)
    # Minutes apart: the past months asked about overlap, so numbers only, no label.
    assert "12 points lower" in compared and "less than a month apart" in compared
    assert "improvement" not in compared and "larger than chance" not in compared
    assert stored_count() == 1

    printable = shown.get_data(as_text=True)
    # @media print
    assert "data-print" in printable and re.search(r'href="/assets/result\.[0-9a-f]{12}\.css"', printable)

    for fhir in (client.post("/results/download", data={"code": typed}), client.get(f"/results/{typed}.fhir.json")):
        assert QuestionnaireResponse.model_validate(fhir.get_json(force=True)).identifier.value == code
        assert fhir.headers["Cache-Control"] == "no-store"

    assert client.post("/results/delete", data={"code": typed}).status_code == 200
    assert stored_count() == 1
    assert client.get(f"/results/{typed}/delete").status_code == 200
    assert client.post("/results/delete", data={"code": typed, "confirm": "yes"}).status_code == 303
    assert stored_count() == 0

    never = client.get("/results/0000-0000-0000")
    for path in (f"/results/{typed}", f"/results/{code}"):
        gone = client.get(path)
        assert gone.status_code == never.status_code == 404
        assert gone.get_data() == never.get_data()
