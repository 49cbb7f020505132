"""Retake and compare: the `previous` field in the forms, `?previous=` links and the API's "change"."""
from __future__ import annotations

import re

import pytest

from app.screening.service import earlier_in_series
from tests.conftest import kept_code, one_time_value, stored_count
from tests.results_helpers import (
    pcl5_answers,
    row_for,
    store_pcl5,
    store_pcl5_earlier,
    store_pcptsd5,
    taken_days_ago,
    typed_sloppily,
)

API = "/api/v1/screenings"


def pcl5_form(total, store="no", **extra):
    data = {f"q{n}": str(v) for n, v in enumerate(pcl5_answers(total), start=1)}
    once = {"submission": one_time_value()} if store == "yes" else {}
    return {"store": store, **data, **once, **extra}


# ---- API ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("earlier, later, meaningful", [
    (40, 30, False), (40, 23, False), (40, 22, True), (40, 35, False), (40, 36, False), (40, 40, False),
    (40, 44, False), (40, 50, False), (40, 57, False), (40, 58, True), (0, 80, True), (80, 0, True),
])
def test_api_change_and_meaningful_at_the_boundaries(client, db, earlier, later, meaningful):
    """"meaningful" is the reliable change (18 points, Marx et al. 2022): 10 points never is."""
    code = store_pcl5_earlier(client, earlier)
    body = {"instrument": "pcl5", "answers": pcl5_answers(later), "previous": typed_sloppily(code)}
    response = client.post(API, json=body)
    assert response.status_code == 200
    change = response.get_json()["change"]
    assert set(change) == {"total", "clusters", "meaningful"}
    assert change["total"] == later - earlier and change["meaningful"] is meaningful
    assert set(change["clusters"]) == {"reexperiencing", "avoidance", "arousal"}
    assert all(type(value) is int for value in change["clusters"].values())
    assert stored_count() == 1  # store defaults to false: the comparison stores nothing


def test_api_cluster_changes_are_later_minus_earlier(client, db):
    earlier = client.post(API, json={"instrument": "pcl5", "answers": [4] * 5 + [0] * 15, "store": True})
    code = earlier.get_json()["code"]
    reply = client.post(API, json={"instrument": "pcl5", "answers": [0] * 14 + [2] * 6, "previous": code}).get_json()
    assert reply["change"] == {"total": -8, "clusters": {"reexperiencing": -20, "avoidance": 0, "arousal": 12},
                               "meaningful": False}


def test_api_stored_comparison_links_the_series(app, client, db):
    first = store_pcl5(client, 50)
    second = store_pcl5(client, 38, previous=typed_sloppily(first))
    third = store_pcl5(client, 20, previous=second)
    assert row_for(second).previous_id == row_for(first).id
    assert row_for(third).previous_id == row_for(second).id
    assert row_for(first).previous_id is None
    with app.app_context():  # the series query runs in the app: its session and its retention setting
        assert [row.code for row in earlier_in_series(row_for(third))] == [row_for(first).code, row_for(second).code]
        assert earlier_in_series(row_for(first)) == []


@pytest.mark.parametrize("previous", [None, "absent"])
def test_api_without_previous_has_no_change(client, db, previous):
    body = {"instrument": "pcl5", "answers": [1] * 20}
    if previous != "absent":
        body["previous"] = previous
    reply = client.post(API, json=body)
    assert reply.status_code == 200 and "change" not in reply.get_json()


def test_api_pcptsd5_change_is_numbers_only(client, db):
    code = store_pcptsd5(client, 5)
    reply = client.post(API, json={"instrument": "pcptsd5", "exposure": False, "previous": code}).get_json()
    assert reply["change"] == {"total": -5, "clusters": {"reexperiencing": -1, "avoidance": -3, "arousal": -1},
                               "meaningful": False}


BAD_PREVIOUS = {
    "malformed": lambda codes: "not-a-code",
    "empty": lambda codes: "",
    "too short": lambda codes: codes["pcl5"][:-1],
    "unknown": lambda codes: "0000-0000-0000",
    "other instrument": lambda codes: codes["pcptsd5"],
    "deleted": lambda codes: codes["deleted"],
    "number": lambda codes: 12345,
    "list": lambda codes: [codes["pcl5"]],
    "object": lambda codes: {"code": codes["pcl5"]},
    "boolean": lambda codes: True,
}


@pytest.fixture
def stored_codes(client, db):
    deleted = store_pcl5(client, 10)
    assert client.delete(f"{API}/{deleted}").status_code == 204
    return {"pcl5": store_pcl5(client, 30), "pcptsd5": store_pcptsd5(client, 3), "deleted": deleted}


@pytest.mark.parametrize("store", [True, False])
@pytest.mark.parametrize("make", BAD_PREVIOUS.values(), ids=BAD_PREVIOUS.keys())
def test_api_bad_previous_is_400_and_stores_nothing(client, db, stored_codes, make, store):
    before = stored_count()
    response = client.post(API, json={"instrument": "pcl5", "answers": [2] * 20, "store": store,
                                      "previous": make(stored_codes)})
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert len(errors) == 1 and ('"previous"' in errors[0] or "earlier code" in errors[0])
    assert stored_count() == before


def test_api_other_instrument_message_names_both(client, db, stored_codes):
    errors = client.post(API, json={"instrument": "pcl5", "answers": [2] * 20,
                                    "previous": stored_codes["pcptsd5"]}).get_json()["errors"]
    assert "PC-PTSD-5" in errors[0] and "PCL-5" in errors[0]


def test_api_bad_previous_is_reported_with_other_problems(client, db):
    errors = client.post(API, json={"instrument": "pcl5", "answers": [9] + [0] * 19,
                                    "previous": "0000-0000-0000"}).get_json()["errors"]
    assert len(errors) == 2


# ---- forms ---------------------------------------------------------------------------------------

def test_retake_link_prefills_a_hidden_previous_and_says_so(client, db):
    code = store_pcl5(client, 40)
    response = client.get(f"/screen/pcl5?previous={typed_sloppily(code)}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<input type="hidden" name="previous" value="{code}">' in html
    assert 'type="text" id="previous"' not in html
    assert "compared with your earlier result from" in html and code in html
    # The form's address holds no code (the hidden field carries it), and the result page's button
    # opens the same form with the code in its body.
    assert '<form method="post" action="/screen/pcl5" novalidate' in html
    button = client.post("/screen/pcl5/compare", data={"previous": typed_sloppily(code)})
    assert button.status_code == 200 and button.headers["Cache-Control"] == "no-store"
    page = button.get_data(as_text=True)
    assert f'<input type="hidden" name="previous" value="{code}">' in page and 'type="text" id="previous"' not in page


def test_form_offers_a_visible_optional_previous_box(client):
    html = client.get("/screen/pcl5").get_data(as_text=True)
    assert '<label for="previous">Compare with an earlier code (optional)</label>' in html
    assert re.search(r'<input type="text" id="previous" name="previous" value=""', html)


@pytest.mark.parametrize("make, message", [
    (lambda codes: "nonsense", "does not look like a result code"),
    (lambda codes: "0000-0000-0000", "could not find"),
    (lambda codes: codes["pcptsd5"], "cannot be compared"),
    (lambda codes: codes["deleted"], "could not find"),
])
def test_retake_link_with_a_bad_code_shows_an_editable_box_with_the_problem(client, db, stored_codes, make, message):
    response = client.get("/screen/pcl5", query_string={"previous": make(stored_codes)})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'type="hidden" name="previous"' not in html
    assert 'id="previous" name="previous"' in html and 'aria-invalid="true"' in html
    assert message in html
    assert 'class="error-summary"' not in html  # nothing was submitted yet


@pytest.mark.parametrize("later, phrases", [
    (22, ["18 points lower", "larger than chance", "real improvement"]),
    (23, ["17 points lower", "may be a real change", "18 points or more"]),
    (30, ["10 points lower", "may be a real change", "18 points or more"]),
    (35, ["5 points lower", "may be a real change"]),
    (36, ["4 points lower", "ordinary variation"]),
    (39, ["1 point lower", "ordinary variation"]),
    (40, ["the same as on", "ordinary variation"]),
    (44, ["4 points higher", "ordinary variation"]),
    (45, ["5 points higher", "may be a real change"]),
    (50, ["10 points higher", "may be a real change"]),
    (58, ["18 points higher", "larger than chance", "bother you more", "worth talking over with a clinician"]),
])
def test_form_compare_without_storing_shows_the_band_and_the_source(client, db, later, phrases):
    code = store_pcl5_earlier(client, 40)
    assert client.get("/screen/pcl5").status_code == 200
    response = client.post("/screen/pcl5", data=pcl5_form(later, previous=typed_sloppily(code)))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Change since your earlier result" in html
    for phrase in phrases:
        assert phrase in html
    assert "National Center for PTSD" in html and "Marx, B. P." in html and "Psychological Assessment, 34(2)" in html
    assert "no validated thresholds" in html  # clusters: numbers only
    if abs(later - 40) < 18:  # below the reliable-change figure nothing is called real or an improvement
        assert "larger than chance alone" not in html and "real improvement" not in html
        assert "large enough to count" not in html
    assert f"<td>40</td><td>{later}</td>" in html
    assert stored_count() == 1


def test_form_compare_and_store_links_and_redirects_to_a_page_with_the_change(client, db):
    code = store_pcl5_earlier(client, 52)
    assert client.post("/screen/pcl5/compare", data={"previous": code}).status_code == 200
    response = client.post("/screen/pcl5", data=pcl5_form(30, store="yes", previous=code, previous_fixed="1"))
    assert response.status_code == 200
    new_code = kept_code(response)
    assert new_code and row_for(new_code).previous_id == row_for(code).id
    html = response.get_data(as_text=True)
    assert "22 points lower" in html and "\u221222" in html


def test_pcptsd5_compare_shows_numbers_only(client, db):
    code = store_pcptsd5(client, 4)
    taken_days_ago(code, 40)
    assert client.get("/screen/pcptsd5").status_code == 200
    data = {"previous": code, "exposure": "yes", "q1": "yes", "q2": "no", "q3": "no",
            "q4": "no", "q5": "no"}
    html = client.post("/screen/pcptsd5", data=data).get_data(as_text=True)
    assert "no published thresholds for change on the PC-PTSD-5" in html
    assert "\u22123" in html and "larger than chance" not in html and "Marx, B. P., Lee" not in html


@pytest.mark.parametrize("store", ["yes", "no"])
@pytest.mark.parametrize("make, message", [
    (lambda codes: "nonsense", "does not look like a result code"),
    (lambda codes: "0000-0000-0000", "could not find a result with the earlier code 0000-0000-0000"),
    (lambda codes: codes["pcptsd5"], "cannot be compared with the PCL-5"),
    (lambda codes: codes["deleted"], "could not find"),
], ids=["malformed", "unknown", "other instrument", "deleted"])
def test_form_bad_previous_rerenders_with_answers_kept_and_stores_nothing(client, db, stored_codes,
                                                                          make, message, store):
    before = stored_count()
    assert client.get("/screen/pcl5").status_code == 200
    typed = make(stored_codes)
    response = client.post("/screen/pcl5", data=pcl5_form(60, store=store, previous=typed))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="error-summary"' in html and '<a href="#previous">' in html and message in html
    assert f'name="previous" value="{typed}"' in html  # what they typed is kept to correct
    assert re.search(r'name="q1" value="4"\s+checked', html)
    assert stored_count() == before


def test_stored_result_page_lists_the_whole_series(client, db):
    first = store_pcl5(client, 50)
    second = store_pcl5(client, 40, previous=first)
    third = store_pcl5(client, 25, previous=second)
    html = client.get(f"/results/{third}").get_data(as_text=True)
    assert "All results in this series" in html
    assert re.findall(r"total (\d+)", html)[-3:] == ["50", "40", "25"]
    assert "15 points lower" in html  # the change is against the direct previous (40 → 25)
