"""The ITQ through the person's pages and the API: form, result, storing, compare, delete and FHIR."""
from __future__ import annotations

import html as html_module
import re

import pytest
import sqlalchemy as sa
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from app.models import Screening
from app.screening.fhir import questionnaire_response
from app.screening.instruments.itq import ITQ
from tests.conftest import CSRF_INPUT, kept_code, one_time_value, stored_count
from tests.results_helpers import taken_days_ago

NONE = [1] * 18
PTSD = [2, 0, 0, 3, 2, 0, 4, 0, 0] + [1] * 9
CPTSD = [3] * 18
DSO_ONLY = [1] * 9 + [2, 0, 2, 0, 2, 0, 2, 0, 0]
URL = "/api/v1/screenings"


def itq_form(token, answers, store="no", **extra):
    """The form's fields; `token` only where the page carries a CSRF token (the person's forms may not)."""
    once = {"submission": one_time_value()} if store == "yes" else {}
    fields = {"store": store, **{f"q{n}": str(v) for n, v in enumerate(answers, 1)}, **once, **extra}
    return {"csrf_token": token, **fields} if token else fields


@pytest.fixture
def form_token(client):
    """The ITQ page's CSRF token if it has one, else None."""
    def fetch(url: str) -> str | None:
        response = client.get(url)
        assert response.status_code == 200
        match = CSRF_INPUT.search(response.get_data(as_text=True))
        return (match.group(1) or match.group(2)) if match else None

    return fetch


def text_of(response) -> str:
    return html_module.unescape(response.get_data(as_text=True))


def test_form_shows_the_published_items_in_order_and_never_asks_for_a_description(client):
    page = text_of(client.get("/screen/itq"))
    position = 0
    for item in ITQ.items:  # each found after the one before (P8 and C8 read the same)
        position = page.index(item.text, position) + 1
    for number in range(1, 19):
        assert f'name="q{number}"' in page
    assert "Please identify the experience that troubles you most" in page
    assert "How true is this of you?" in page
    assert "In the past month have the above problems:" in page
    assert 'name="when"' in page and "more than 20 years ago" in page
    assert "<textarea" not in page and "description" not in page.lower().split("<form", 1)[1].split("</form>")[0]
    assert "keep that experience in mind" in page


@pytest.mark.parametrize("answers, sentence", [
    (NONE, "do not match the pattern that this questionnaire uses for PTSD or complex PTSD"),
    (PTSD, "match the pattern that this questionnaire uses for PTSD, as the World Health Organization"),
    (CPTSD, "match the pattern that this questionnaire uses for complex PTSD"),
    (DSO_ONLY, "do match its pattern for these difficulties"),
])
def test_form_result_says_what_the_pattern_suggests_never_a_diagnosis(client, db, form_token, answers, sentence):
    token = form_token("/screen/itq")
    response = client.post("/screen/itq", data=itq_form(token, answers))
    page = text_of(response)
    assert response.status_code == 200
    assert sentence in page
    assert "This is not a diagnosis" in page
    assert "you have complex PTSD" not in page.replace("whether you have", "").lower()
    assert "Sense of current threat" in page and "Negative self-concept" in page
    for score in (sum(answers[:6]), sum(answers[9:15])):  # the PTSD and the self-organisation totals
        assert f"<strong>{score}</strong> out of 24" in page
    assert stored_count() == 0


def test_form_stores_with_consent_and_the_stored_result_rescored_from_its_answers(app, client, db, form_token):
    token = form_token("/screen/itq")
    response = client.post("/screen/itq", data=itq_form(token, CPTSD, store="yes", when="5to10y"))
    assert response.status_code == 200 and kept_code(response)
    with app.app_context():
        row = db.session.scalars(sa.select(Screening)).one()
        assert (row.instrument, row.answers, row.total, row.dso_total) == ("itq", CPTSD, 18, 18)
        assert (row.ptsd_criteria_met, row.dso_criteria_met, row.icd11_pattern, row.at_or_above_cutoff) == (
            True, True, "cptsd", True)
        assert (row.cutoff, row.event_when, row.affective_dysregulation) == (None, "5to10y", 6)
    page = text_of(response)
    assert "complex PTSD" in page and "5 to 10 years ago" in page


@pytest.mark.parametrize("extra", [{"when": "yesterday"}, {"q18": "5"}, {"q3": ""}])
def test_invalid_form_stores_nothing(client, db, form_token, extra):
    token = form_token("/screen/itq")
    response = client.post("/screen/itq", data={**itq_form(token, PTSD, store="yes"), **extra})
    assert response.status_code == 400
    assert stored_count() == 0


def test_when_may_be_left_out(app, client, db, form_token):
    token = form_token("/screen/itq")
    assert kept_code(client.post("/screen/itq", data=itq_form(token, PTSD, store="yes")))
    with app.app_context():
        assert db.session.scalars(sa.select(Screening)).one().event_when is None


@pytest.mark.parametrize("answers, diagnosis, ptsd, dso", [
    (NONE, "none", False, False), (PTSD, "ptsd", True, False), (CPTSD, "cptsd", True, True),
    (DSO_ONLY, "none", False, True),
])
def test_api_reply_keeps_the_common_fields_and_adds_the_itq_ones(client, db, answers, diagnosis, ptsd, dso):
    body = client.post(URL, json={"instrument": "itq", "answers": answers}).get_json()
    assert body["instrument"] == "itq" and body["max_total"] == 24 and body["cutoff"] is None
    assert body["total"] == sum(answers[:6])
    assert set(body["clusters"]) == {"reexperiencing", "avoidance", "arousal"}
    assert body["dso_total"] == sum(answers[9:15])
    assert set(body["dso_clusters"]) == {"affective_dysregulation", "negative_self_concept", "disturbed_relationships"}
    assert (body["diagnosis"], body["ptsd_criteria_met"], body["dso_criteria_met"]) == (diagnosis, ptsd, dso)
    assert body["at_or_above_cutoff"] is (diagnosis != "none")
    assert stored_count() == 0


def test_api_stores_with_when_and_returns_its_location(app, client, db):
    response = client.post(URL, json={"instrument": "itq", "answers": PTSD, "store": True, "when": "lt6m"})
    assert response.status_code == 201
    assert response.get_json()["when"] == "lt6m"
    assert client.get(response.headers["Location"]).status_code == 200
    with app.app_context():
        assert db.session.scalars(sa.select(Screening)).one().icd11_pattern == "ptsd"


@pytest.mark.parametrize("body", [
    {"instrument": "itq", "answers": [1] * 17},
    {"instrument": "itq", "answers": [1] * 19},
    {"instrument": "itq", "answers": [1] * 17 + [5]},
    {"instrument": "itq", "answers": [1] * 17 + [-1]},
    {"instrument": "itq", "answers": [1] * 17 + [True]},
    {"instrument": "itq", "answers": [1] * 17 + ["2"]},
    {"instrument": "itq", "answers": [1] * 17 + [2.0]},
    {"instrument": "itq", "answers": "2" * 18},
    {"instrument": "itq"},
    {"instrument": "itq", "answers": [1] * 18, "when": "last year"},
    {"instrument": "itq", "answers": [1] * 18, "when": 3},
    {"instrument": "itq", "answers": [1] * 18, "exposure": True},
    {"instrument": "itq", "answers": [1] * 18, "description": "what happened"},
    {"instrument": "itq", "answers": [1] * 18, "store": "yes"},
])
def test_api_bad_bodies_are_400_and_store_nothing(client, db, body):
    response = client.post(URL, json={**body, "store": body.get("store", True)})
    assert response.status_code == 400
    assert response.get_json()["errors"]
    assert stored_count() == 0


def test_api_instrument_definition(client):
    body = client.get("/api/v1/instruments/itq").get_json()
    assert [item["field"] for item in body["items"]] == [f"q{n}" for n in range(1, 19)]
    assert body["cutoff"] is None and body["max_total"] == 24 and "Cloitre" in body["credit"]
    assert {c["id"]: c["items"] for c in body["clusters"]} == {"reexperiencing": [1, 2], "avoidance": [3, 4],
                                                               "arousal": [5, 6]}
    assert {c["id"]: c["items"] for c in body["dso_clusters"]} == {
        "affective_dysregulation": [10, 11], "negative_self_concept": [12, 13], "disturbed_relationships": [14, 15]}
    assert [o["value"] for o in body["when_options"]] == ["lt6m", "6to12m", "1to5y", "5to10y", "10to20y", "gt20y"]
    assert body["items"][6]["lead_in"] == "In the past month have the above problems:"


def test_compare_gives_numbers_only_and_says_no_threshold_is_published(client, db):
    first = client.post(URL, json={"instrument": "itq", "answers": CPTSD, "store": True}).get_json()
    taken_days_ago(first["code"], 40)  # a month apart: the past months asked about do not overlap
    later = client.post(URL, json={"instrument": "itq", "answers": PTSD, "store": True,
                                   "previous": first["code"]})
    body = later.get_json()
    assert body["change"]["total"] == body["total"] - first["total"]
    assert body["change"]["meaningful"] is False
    assert body["change"]["dso_total"] == body["dso_total"] - first["dso_total"]
    page = text_of(client.get(later.headers["Location"]))
    assert "There are no published thresholds for change on the ITQ" in page
    assert "Emotions, self and relationships (out of 24)" in page


def test_compare_with_another_questionnaire_is_refused(client, db):
    pcl5 = client.post(URL, json={"instrument": "pcl5", "answers": [2] * 20, "store": True}).get_json()
    response = client.post(URL, json={"instrument": "itq", "answers": PTSD, "store": True, "previous": pcl5["code"]})
    assert response.status_code == 400
    assert stored_count() == 1


def test_delete_by_code(client, db):
    code = client.post(URL, json={"instrument": "itq", "answers": PTSD, "store": True}).get_json()["code"]
    assert client.delete(f"{URL}/{code}").status_code == 204
    assert client.get(f"/results/{code}").status_code == 404
    assert stored_count() == 0


@pytest.mark.parametrize("answers, when", [(CPTSD, "gt20y"), (NONE, None)])
def test_fhir_questionnaire_response_validates_and_has_no_loinc_code(app, client, db, answers, when):
    body = {"instrument": "itq", "answers": answers, "store": True, "when": when}
    code = client.post(URL, json=body).get_json()["code"]
    download = client.get(f"/results/{code}.fhir.json")
    assert download.status_code == 200
    with app.test_request_context():
        row = db.session.scalars(sa.select(Screening)).one()
        resource = questionnaire_response(row)
    QuestionnaireResponse.model_validate(resource)
    assert "loinc" not in download.get_data(as_text=True).lower()
    answer_items, scores = resource["item"]
    assert [a["answer"][0]["valueCoding"]["code"] for a in answer_items["item"]] == [str(v) for v in answers]
    by_link = {item["linkId"]: item["answer"][0] for item in scores["item"]}
    assert by_link["total"] == {"valueInteger": sum(answers[:6])}
    assert by_link["dso-total"] == {"valueInteger": sum(answers[9:15])}
    assert by_link["diagnosis"]["valueCoding"]["code"] == row.icd11_pattern
    assert "cutoff" not in by_link
    assert ("when" in by_link) is (when is not None)


def test_home_offers_the_itq_and_says_when_to_choose_it(client):
    page = text_of(client.get("/"))
    assert "/screen/itq" in page
    assert "ICD-11" in page


@pytest.mark.parametrize("language, links", [
    ("en", ["Read about it under “Re-experiencing”", "Read about it under “Avoidance and numbing”",
            "Read about it under “Arousal and reactivity”"]),
    ("es", ["Leer sobre esto en «", "Leer sobre esto en «", "Leer sobre esto en «"]),
])
def test_the_itq_groups_say_under_which_name_the_learn_page_covers_them(client, db, form_token, language, links):
    """The ITQ names its groups in ICD-11's words ("Sense of current threat"); the learn page's sections
    use the site's ("Arousal and reactivity"): each link says which section it opens."""
    token = form_token("/screen/itq")
    page = text_of(client.post("/screen/itq", data=itq_form(token, PTSD), headers={"Accept-Language": language}))
    found = re.findall(r'<a class="learn-link" href="/learn/ptsd#[^"]+">([^<]+)</a>', page)
    assert len(found) == 3 and all(text.startswith(link) for text, link in zip(found, links, strict=True))
