"""The PHQ-9, added through the instrument interface: scoring, the person's pages, the API, FHIR and the clinic."""
from __future__ import annotations

import csv
import html as html_module
import io

import pytest
import sqlalchemy as sa
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from app.models import Screening
from app.screening.fhir import questionnaire_response
from app.screening.instruments import INSTRUMENTS, InvalidAnswers
from app.screening.instruments.phq9 import PHQ9, score_phq9
from app.screening.triage import FULL_POSITIVE, REST, SAFETY
from tests.clinician_support import WORKSPACE_FIXTURES, ref, store
from tests.conftest import stored_count

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)

URL = "/api/v1/screenings"


def answers_totalling(total: int, item9: int = 0) -> list[int]:
    """Nine ratings 0–3 adding up to `total`, with item 9 as given."""
    answers = [0] * 8 + [item9]
    left = total - item9
    for index in range(8):
        answers[index] = min(3, left)
        left -= answers[index]
    assert left == 0 and sum(answers) == total
    return answers


@pytest.mark.parametrize("total, band, at_or_above", [
    (0, "minimal", False), (4, "minimal", False), (5, "mild", False), (9, "mild", False),
    (10, "moderate", True), (14, "moderate", True), (15, "moderately severe", True),
    (19, "moderately severe", True), (20, "severe", True), (27, "severe", True),
])
def test_total_band_and_cut_off_at_every_band_edge(total, band, at_or_above):
    result = score_phq9(answers_totalling(total, item9=min(total, 3) if total == 27 else 0))
    assert (result.total, PHQ9.severity_band(result.total), result.at_or_above_cutoff) == (total, band, at_or_above)
    assert result.cutoff == 10 and result.max_total == 27


@pytest.mark.parametrize("item9, endorsed", [(0, False), (1, True), (2, True), (3, True)])
def test_item_9_above_not_at_all_is_a_safety_item(item9, endorsed):
    answers = answers_totalling(item9, item9=item9)
    assert bool(PHQ9.safety_items_endorsed(answers)) is endorsed


@pytest.mark.parametrize("answers", [[0] * 8, [0] * 10, [0] * 8 + [4], [0] * 8 + [-1], [0] * 8 + [True]])
def test_bad_answers_are_refused(answers):
    with pytest.raises(InvalidAnswers):
        score_phq9(answers)


def text_of(response) -> str:
    return html_module.unescape(response.get_data(as_text=True))


def test_form_shows_the_published_items_options_and_credit(client):
    page = text_of(client.get("/screen/phq9"))
    assert "Over the last 2 weeks, how often have you been bothered by any of the following problems?" in page
    position = 0
    for item in PHQ9.items:
        position = page.index(item.text, position) + 1
    for label in ("Not at all", "Several days", "More than half the days", "Nearly every day"):
        assert label in page
    assert "No permission required to reproduce" in page


def test_home_and_menu_stay_about_ptsd_and_a_ptsd_result_offers_the_mood_check(client, db):
    assert "/screen/phq9" not in client.get("/").get_data(as_text=True)
    page = text_of(client.post("/screen/pcl5", data={"store": "no", **{f"q{n}": "1" for n in range(1, 21)}}))
    assert "Also check your mood" in page and "/screen/phq9" in page
    page = text_of(client.post("/screen/phq9", data={"store": "no", **{f"q{n}": "0" for n in range(1, 10)}}))
    assert "Also check your mood" not in page


@pytest.mark.parametrize("answers, verdict, band, heading", [
    ([0] * 9, "below the level at which this questionnaire suggests depression", "“minimal”", "If you need help now"),
    ([2] * 8 + [0], "suggest depression symptoms", "“moderately severe”", "If you need help now"),
    ([0] * 8 + [1], "below the level", "“minimal”", "Please reach out today"),
])
def test_result_page_says_the_verdict_the_band_and_emphasises_the_crisis_box(client, db, answers, verdict, band,
                                                                            heading):
    page = text_of(client.post("/screen/phq9", data={"store": "no", **{f"q{n}": str(v)
                                                                      for n, v in enumerate(answers, 1)}}))
    assert verdict in page and band in page and heading in page
    assert page.index(heading) < page.index("About your score")
    assert "Why 10" in page and "not a diagnosis" in page.lower()
    assert "A questionnaire cannot diagnose depression." in page and "cannot diagnose PTSD" not in page
    # The emphasised box says why in the PHQ-9's own terms, never the PCL-5's.
    said = "You said you have had thoughts that you would be better off dead or of hurting yourself."
    assert (said in page) is (heading == "Please reach out today")
    assert "doing things that could cause you harm" not in page and "Treatments for PTSD" not in page
    assert stored_count() == 0


def test_spanish_result_keeps_the_english_items_with_the_caveat(client, db):
    client.set_cookie("lang", "es")
    page = text_of(client.post("/screen/phq9", data={"store": "no", **{f"q{n}": "1" for n in range(1, 10)}}))
    assert "Sus autores llaman a una puntuación como la suya «leve»" in page
    form = text_of(client.get("/screen/phq9"))
    assert 'lang="en"' in form and PHQ9.items[0].text in form


def test_api_scores_stores_compares_and_deletes(client, db):
    first = client.post(URL, json={"instrument": "phq9", "answers": [2] * 9, "store": True})
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["total"] == 18 and body["max_total"] == 27 and body["at_or_above_cutoff"] is True
    later = client.post(URL, json={"instrument": "phq9", "answers": [1] * 9, "store": True,
                                   "previous": body["code"]}).get_json()
    assert later["change"]["total"] == -9
    assert client.get(f"/results/{later['code']}").status_code == 200
    assert client.get(f"/results/{later['code']}?print=1").status_code == 200
    definition = client.get("/api/v1/instruments/phq9").get_json()
    assert definition["max_total"] == 27 and definition["cutoff"] == 10
    assert [o["label"] for o in definition["options"]][-1] == "Nearly every day"


@pytest.mark.parametrize("body", [
    {"instrument": "phq9", "answers": [4] * 9},
    {"instrument": "phq9", "answers": [1] * 8},
    {"instrument": "phq9", "answers": [1] * 9, "when": "lt6m"},
    {"instrument": "phq9", "answers": [1] * 9, "exposure": True},
])
def test_api_bad_bodies_are_400_and_store_nothing(client, db, body):
    response = client.post(URL, json={**body, "store": True})
    assert response.status_code == 400 and response.get_json()["errors"]
    assert stored_count() == 0


def test_fhir_validates_with_the_loinc_panel_and_total(app, client, db):
    code = client.post(URL, json={"instrument": "phq9", "answers": [1] * 8 + [2], "store": True}).get_json()["code"]
    assert client.get(f"/results/{code}.fhir.json").status_code == 200
    with app.test_request_context():
        row = db.session.scalars(sa.select(Screening)).one()
        resource = questionnaire_response(row)
    QuestionnaireResponse.model_validate(resource)
    assert resource["questionnaire"].endswith("44249-1")
    by_link = {item["linkId"]: item["answer"][0] for item in resource["item"][1]["item"]}
    assert by_link["44261-6"] == {"valueInteger": 10}


def test_clinician_queue_detail_statistics_csv_triage_and_safety_flag(signed_in):
    flagged = store("phq9", answers=[0] * 8 + [1])
    positive = store("phq9", answers=[2] * 8 + [0])
    low = store("phq9", answers=[0] * 9)
    assert (flagged.triage_tier, positive.triage_tier, low.triage_tier) == (SAFETY, FULL_POSITIVE, REST)
    assert flagged.safety_items == "9"
    queue = signed_in.get("/clinician/?instrument=phq9").get_data(as_text=True)
    assert all(ref(row) in queue for row in (flagged, positive, low))
    assert queue.index(ref(flagged)) < queue.index(ref(positive)) < queue.index(ref(low))
    detail = signed_in.get(f"/clinician/results/{ref(flagged)}")
    assert detail.status_code == 200
    assert "thoughts of being better off dead or of self-harm" in detail.get_data(as_text=True)
    stats = signed_in.get("/clinician/stats")
    assert stats.status_code == 200 and "PHQ-9" in stats.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(signed_in.get("/clinician/export.csv").get_data(as_text=True))))
    assert sorted(int(row["total"]) for row in rows if row["instrument"] == "phq9") == [0, 1, 16]


def test_clinic_link_offers_it_only_when_chosen(app, signed_in):
    from app.clinics import offered_instruments
    from tests.clinician_support import clinic_named
    clinic = clinic_named()
    assert "phq9" not in offered_instruments(clinic)
    clinic.instruments = "pcl5,phq9"
    assert offered_instruments(clinic) == ["pcl5", "phq9"]
    assert INSTRUMENTS["phq9"].menu_order is None


def test_statistics_from_the_daily_counts_equal_those_from_the_results(app, monkeypatch):
    from app.clinician import statistics
    from app.clinician.filters import Filters, Scope
    from app.clinician.statistics import instrument_summaries
    from tests.clinician_support import counts_from_results, counts_in_table
    for answers in ([0] * 9, [3] * 9, [1] * 8 + [0], [1] * 8 + [0]):
        store("phq9", answers=answers)
    assert counts_in_table() == counts_from_results()
    with app.app_context():
        assert statistics.uses_daily_counts(Filters(), Scope(None))
        counted = instrument_summaries(Filters(), Scope(None))
        monkeypatch.setattr(statistics, "uses_daily_counts", lambda filters, scope: False)
        aggregated = instrument_summaries(Filters(), Scope(None))
    assert counted == aggregated
    phq9 = next(summary for summary in counted if summary.instrument_id == "phq9")
    assert (phq9.count, phq9.at_or_above, phq9.totals) == (4, 1, {0: 1, 27: 1, 8: 2})
    assert len(phq9.distribution()) == 28
