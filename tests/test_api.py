"""The JSON API: replies, stored rows, and every bad-input class answered without storing."""
from __future__ import annotations

import json

import pytest

from app.screening import codes
from tests.conftest import stored_count

URL = "/api/v1/screenings"
PCL5_MAX = {"instrument": "pcl5", "answers": [4] * 20}


def post(client, body, content_type="application/json"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(URL, data=data, content_type=content_type)


def test_pcl5_not_stored_replies_200_with_every_field(client, db):
    response = post(client, {"instrument": "pcl5", "answers": [2] * 20, "store": False})
    assert response.status_code == 200
    body = response.get_json()
    assert body == {
        "instrument": "pcl5", "version": body["version"], "total": 40, "max_total": 80,
        "clusters": {"reexperiencing": 10, "avoidance": 18, "arousal": 12},
        "cutoff": 33, "at_or_above_cutoff": True, "code": None,
        "dsm5_clusters": {"B": 10, "C": 4, "D": 14, "E": 12}, "dsm5_rule_met": True,
    }
    assert "Location" not in response.headers
    assert stored_count() == 0


def test_store_defaults_to_false(client, db):
    assert post(client, PCL5_MAX).status_code == 200
    assert stored_count() == 0


def test_pcl5_stored_replies_201_with_location_that_shows_it(client, db):
    response = post(client, {**PCL5_MAX, "store": True})
    assert response.status_code == 201
    code = response.get_json()["code"]
    assert codes.normalise(code) is not None
    assert response.headers["Location"] == f"/results/{code}"
    assert stored_count() == 1
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "80" in page.get_data(as_text=True)


def test_stored_row_keeps_raw_answers_scores_and_nothing_identifying(app, client, db):
    from app.models import Screening

    post(client, {"instrument": "pcl5", "answers": list(range(5)) * 4, "store": True},)
    with app.app_context():
        row = db.session.scalars(db.select(Screening)).one()
        assert row.answers == list(range(5)) * 4
        assert (row.total, row.reexperiencing, row.avoidance, row.arousal) == (40, 10, 16, 14)
        assert (row.dsm5_b, row.dsm5_c, row.dsm5_d, row.dsm5_e, row.dsm5_rule_met) == (10, 1, 15, 14, False)
        assert row.cutoff == 33 and row.at_or_above_cutoff is True
        assert row.taken_at.tzinfo is not None
    columns = set(Screening.__table__.columns.keys())
    assert not columns & {"ip", "ip_address", "user_agent", "session_id", "cookie", "remote_addr"}


@pytest.mark.parametrize(
    "body, total, clusters, at_or_above",
    [
        ({"instrument": "pcptsd5", "exposure": False}, 0, {"reexperiencing": 0, "avoidance": 0, "arousal": 0}, False),
        ({"instrument": "pcptsd5", "exposure": False, "answers": []}, 0,
         {"reexperiencing": 0, "avoidance": 0, "arousal": 0}, False),
        ({"instrument": "pcptsd5", "exposure": True, "answers": [True, False, True, False, True]}, 3,
         {"reexperiencing": 1, "avoidance": 1, "arousal": 1}, True),
    ],
)
def test_pcptsd5(client, db, body, total, clusters, at_or_above):
    response = post(client, body)
    assert response.status_code == 200
    reply = response.get_json()
    assert (reply["total"], reply["clusters"], reply["at_or_above_cutoff"]) == (total, clusters, at_or_above)
    assert reply["max_total"] == 5 and reply["cutoff"] == 3
    assert "dsm5_clusters" not in reply and "dsm5_rule_met" not in reply


def test_pcptsd5_stored(client, db):
    response = post(client, {"instrument": "pcptsd5", "exposure": True, "answers": [True] * 5, "store": True})
    assert response.status_code == 201
    assert stored_count() == 1


def test_configured_cutoff_is_used(app, client, db):
    app.config["PCL5_CUTOFF"] = 31
    reply = post(client, {"instrument": "pcl5", "answers": [4] * 7 + [3] + [0] * 12}).get_json()
    assert (reply["total"], reply["cutoff"], reply["at_or_above_cutoff"]) == (31, 31, True)


BAD_BODIES = {
    "malformed JSON": '{"instrument": "pcl5", ',
    "trailing garbage": '{"instrument": "pcl5"} x',
    "empty body": "",
    "not an object (list)": [1, 2, 3],
    "not an object (string)": "\"pcl5\"",
    "not an object (null)": "null",
    "deep nesting": "[" * 15000 + "]" * 15000,
    "unknown instrument": {"instrument": "gad7", "answers": [0] * 7},
    "instrument not a string": {"instrument": ["pcl5"], "answers": [0] * 20},
    "missing instrument": {"answers": [0] * 20},
    "missing answers": {"instrument": "pcl5"},
    "answers not a list": {"instrument": "pcl5", "answers": "0" * 20},
    "too few answers": {"instrument": "pcl5", "answers": [0] * 19},
    "too many answers": {"instrument": "pcl5", "answers": [0] * 21},
    "boolean is not an integer": {"instrument": "pcl5", "answers": [True] + [0] * 19},
    "string is not an integer": {"instrument": "pcl5", "answers": ["2"] + [0] * 19},
    "float is not an integer": {"instrument": "pcl5", "answers": [2.0] + [0] * 19},
    "null answer": {"instrument": "pcl5", "answers": [None] + [0] * 19},
    "above range": {"instrument": "pcl5", "answers": [5] + [0] * 19},
    "below range": {"instrument": "pcl5", "answers": [-1] + [0] * 19},
    "huge integer": {"instrument": "pcl5", "answers": [10**30] + [0] * 19},
    "NaN": '{"instrument": "pcl5", "answers": [NaN, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}',
    "unknown field": {"instrument": "pcl5", "answers": [0] * 20, "name": "Jo"},
    "exposure on pcl5": {"instrument": "pcl5", "answers": [0] * 20, "exposure": True},
    "store not a boolean": {"instrument": "pcl5", "answers": [0] * 20, "store": "yes"},
    "exposure missing": {"instrument": "pcptsd5", "answers": [True] * 5},
    "exposure not a boolean": {"instrument": "pcptsd5", "exposure": "yes", "answers": [True] * 5},
    "answers with no exposure": {"instrument": "pcptsd5", "exposure": False, "answers": [True] * 5},
    "pcptsd5 integers": {"instrument": "pcptsd5", "exposure": True, "answers": [1, 0, 1, 0, 1]},
    "pcptsd5 too few": {"instrument": "pcptsd5", "exposure": True, "answers": [True] * 4},
    "pcptsd5 missing answers": {"instrument": "pcptsd5", "exposure": True},
    "invalid UTF-8": b'{"instrument": "pcl5\xff"}',
}


@pytest.mark.parametrize("store", [True, False])
@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_input_is_400_with_messages_and_stores_nothing(client, db, body, store):
    if isinstance(body, dict):
        body = {**body, "store": body.get("store", store)}
    response = post(client, body)
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert errors and all(isinstance(message, str) and message for message in errors)
    assert stored_count() == 0


def test_every_problem_is_reported_at_once(client, db):
    errors = post(client, {"instrument": "pcl5", "answers": [9, "x"] + [0] * 18, "extra": 1}).get_json()["errors"]
    assert len(errors) == 3
    assert any("extra" in message for message in errors)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""])
def test_non_json_content_type_is_415(client, db, content_type):
    response = post(client, json.dumps({**PCL5_MAX, "store": True}), content_type=content_type)
    assert response.status_code == 415
    assert response.get_json()["errors"]
    assert stored_count() == 0


def test_oversized_body_is_413(client, db):
    body = json.dumps({**PCL5_MAX, "store": True, "padding": "x" * 200_000})
    response = post(client, body)
    assert response.status_code == 413
    assert response.get_json()["errors"]
    assert stored_count() == 0


def test_wrong_method_is_json_405(client):
    response = client.get(URL)
    assert response.status_code == 405
    assert response.get_json()["errors"]


def test_instruments_list_and_detail(client):
    listing = client.get("/api/v1/instruments").get_json()["instruments"]
    assert [i["id"] for i in listing] == ["pcl5", "pcptsd5", "itq", "phq9"]
    pcl5 = client.get("/api/v1/instruments/pcl5").get_json()
    assert len(pcl5["items"]) == 20 and pcl5["items"][0]["field"] == "q1"
    assert pcl5["items"][16]["text"] == "Being \u201csuperalert\u201d or watchful or on guard?"
    assert [o["value"] for o in pcl5["options"]] == ["0", "1", "2", "3", "4"]
    assert {c["id"]: c["max"] for c in pcl5["clusters"]} == {"reexperiencing": 20, "avoidance": 36, "arousal": 24}
    assert pcl5["cutoff"] == 33 and "Weathers" in pcl5["credit"]
    pc = client.get("/api/v1/instruments/pcptsd5").get_json()
    assert pc["gate"] and len(pc["items"]) == 5 and pc["cutoff"] == 3
    assert client.get("/api/v1/instruments/nope").status_code == 404
    assert client.get("/api/v1/instruments/nope").get_json()["errors"]
