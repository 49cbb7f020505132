"""The OpenAPI 3.1 document at /api/v1/openapi.json, held to the implementation by schemathesis."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from app.api_spec import openapi_document
from app.screening import codes
from tests.apps import app_with_tables, count_rows

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
MAX_EXAMPLES = 150  # per operation; the whole module stays well under a minute
TRIED: dict[str, int] = {}
STATUSES: dict[str, set[int]] = {}


@pytest.fixture
def api_app(tmp_path):
    # Limits off (the default for tests): the fuzzer would otherwise spend its budget on 429s.
    with app_with_tables("testing", tmp_path) as app:
        yield app


# Invalid data exists only for the request body: any string is a valid instrument id (404 or 200).
RUNS = [
    ("POST /api/v1/screenings", GenerationMode.POSITIVE),
    ("POST /api/v1/screenings", GenerationMode.NEGATIVE),
    ("GET /api/v1/instruments", GenerationMode.POSITIVE),
    ("GET /api/v1/instruments/{id}", GenerationMode.POSITIVE),
    ("DELETE /api/v1/screenings/{code}", GenerationMode.POSITIVE),
]


@pytest.mark.parametrize("label, mode", RUNS, ids=[f"{label} {mode}" for label, mode in RUNS])
def test_api_conforms_to_its_openapi_document(api_app, label, mode):
    """Schemathesis cases, valid and invalid by the document, against the app in-process: no 5xx,
    documented status codes, content types and bodies; nothing stored beyond what a 201 acknowledged."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    operation = next(result.ok() for result in schema.get_all_operations() if result.ok().label == label)
    acknowledged: set[str] = set()
    cases = operation.as_strategy(generation_mode=mode)
    if label.startswith("DELETE"):
        # Random codes are all unknown (404): a stored result's own code, in several spellings, reaches 204.
        kept = api_app.test_client().post("/api/v1/screenings", json=PCL5).get_json()["code"]
        acknowledged.add(kept)
        spellings = st.sampled_from([kept, kept.lower(), kept.replace("-", ""), kept.replace("-", " ")])
        cases = cases | spellings.map(lambda code: operation.Case(path_parameters={"code": code}))
    if label.startswith("POST") and mode == GenerationMode.POSITIVE:
        # A random "clinic" token names no clinic (400): valid bodies carry a real clinic's token.
        from app.clinics import create_clinic
        from app.extensions import db as _db

        with api_app.app_context():
            token = create_clinic("Riverside Clinic").link_token
            _db.session.commit()

        def with_real_clinic(case):
            if isinstance(case.body, dict) and "clinic" in case.body:
                case.body = {**case.body, "clinic": token}
            return case

        # Schema-valid bodies rarely pair an instrument with the right number of answers and store: true
        # (about half of the runs stored nothing): stored bodies of each kind are drawn beside them.
        stored = st.sampled_from([PCL5, {**PCL5, "clinic": token}, {**PCL5, "answers": [1] * 20, "previous": None}])
        cases = cases.map(with_real_clinic) | stored.map(lambda body: operation.Case(body=dict(body)))

    @given(case=cases)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def call(case):
        response = case.call_and_validate(checks=CHECKS)
        TRIED[f"{label} {mode}"] = TRIED.get(f"{label} {mode}", 0) + 1
        STATUSES.setdefault(label, set()).add(response.status_code)
        if response.status_code == 201:
            acknowledged.add(response.json()["code"])
        if response.status_code == 204:
            acknowledged.discard(codes.display(codes.normalise(case.path_parameters["code"])))
        assert count_rows(api_app) == len(acknowledged)

    call()
    if label.startswith("POST") and mode == GenerationMode.POSITIVE:
        assert acknowledged, "valid bodies with store: true were generated and stored"
    if label.startswith("DELETE"):
        assert STATUSES[label] == {204, 404} and not acknowledged


def operation_of(app, label: str):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return next(result.ok() for result in schema.get_all_operations() if result.ok().label == label)


PCL5 = {"instrument": "pcl5", "answers": [3] * 20, "store": True}
EXPLICIT = {
    "pcl5 stored 201": ("POST /api/v1/screenings", {"body": PCL5, "media_type": "application/json"}, 201),
    "pcptsd5 200": ("POST /api/v1/screenings", {"body": {"instrument": "pcptsd5", "exposure": True,
                    "answers": [True, False, True, False, True]}, "media_type": "application/json"}, 200),
    "pcptsd5 no exposure 200": ("POST /api/v1/screenings", {"body": {"instrument": "pcptsd5", "exposure": False},
                                "media_type": "application/json"}, 200),
    "not json 415": ("POST /api/v1/screenings", {"body": "answers=1", "media_type": "text/plain"}, 415),
    "too large 413": ("POST /api/v1/screenings", {"body": {**PCL5, "pad": "x" * 40_000},
                      "media_type": "application/json"}, 413),
    "instrument pcl5": ("GET /api/v1/instruments/{id}", {"path_parameters": {"id": "pcl5"}}, 200),
    "instrument pcptsd5": ("GET /api/v1/instruments/{id}", {"path_parameters": {"id": "pcptsd5"}}, 200),
    "instrument itq": ("GET /api/v1/instruments/{id}", {"path_parameters": {"id": "itq"}}, 200),
    "itq cptsd stored 201": ("POST /api/v1/screenings", {"body": {"instrument": "itq", "answers": [3] * 18,
                             "store": True, "when": "1to5y"}, "media_type": "application/json"}, 201),
    "itq none 200": ("POST /api/v1/screenings", {"body": {"instrument": "itq", "answers": [1] * 18, "when": None},
                     "media_type": "application/json"}, 200),
    "itq bad when 400": ("POST /api/v1/screenings", {"body": {"instrument": "itq", "answers": [1] * 18,
                         "when": "yesterday"}, "media_type": "application/json"}, 400),
    "instrument unknown": ("GET /api/v1/instruments/{id}", {"path_parameters": {"id": "gad7"}}, 404),
    "delete unknown 404": ("DELETE /api/v1/screenings/{code}", {"path_parameters": {"code": "ZZZZ-ZZZZ-ZZZZ"}}, 404),
    "delete malformed 404": ("DELETE /api/v1/screenings/{code}", {"path_parameters": {"code": "not a code"}}, 404),
    "previous unknown 400": ("POST /api/v1/screenings", {"body": {**PCL5, "previous": "ZZZZ-ZZZZ-ZZZZ"},
                             "media_type": "application/json"}, 400),
    "previous null 201": ("POST /api/v1/screenings", {"body": {**PCL5, "previous": None},
                          "media_type": "application/json"}, 201),
}


@pytest.mark.parametrize("label, case_kwargs, status", EXPLICIT.values(), ids=EXPLICIT.keys())
def test_each_documented_response_conforms(api_app, label, case_kwargs, status):
    """Responses random data rarely reaches (both instruments, 201, 413, 415) checked the same way."""
    operation = operation_of(api_app, label)
    response = operation.Case(**case_kwargs).call_and_validate(checks=CHECKS)
    assert response.status_code == status
    assert count_rows(api_app) == (1 if status == 201 else 0)
    if status == 201:
        assert "change" not in response.json()  # only when an earlier result was named


FIRST_ANSWERS = {"pcl5": {"answers": [3] * 20}, "pcptsd5": {"exposure": True, "answers": [True, False] * 2 + [True]},
                 "itq": {"answers": [3] * 18}}


@pytest.mark.parametrize("instrument, answers, store, later_status", [
    ("pcl5", {"answers": [1] * 20}, True, 201),
    ("pcl5", {"answers": [4] * 20}, False, 200),
    ("pcptsd5", {"exposure": True, "answers": [True] * 5}, True, 201),
    ("pcptsd5", {"exposure": False}, False, 200),
    ("itq", {"answers": [2] * 18}, True, 201),
])
def test_previous_and_change_conform(api_app, instrument, answers, store, later_status):
    """A reply to a body naming an earlier result carries `change`, as documented; deleting by code is 204."""
    first = {"instrument": instrument, "store": True,
             **FIRST_ANSWERS[instrument]}
    operation = operation_of(api_app, "POST /api/v1/screenings")
    earlier = operation.Case(body=first, media_type="application/json").call_and_validate(checks=CHECKS)
    code = earlier.json()["code"]
    body = {"instrument": instrument, "store": store, "previous": code.lower().replace("-", " "), **answers}
    later = operation.Case(body=body, media_type="application/json").call_and_validate(checks=CHECKS)
    assert later.status_code == later_status
    change = later.json()["change"]
    itq_only = {"dso_total", "dso_clusters"} if instrument == "itq" else set()
    assert set(change) == {"total", "clusters", "meaningful"} | itq_only
    assert change["total"] == later.json()["total"] - earlier.json()["total"]
    assert set(change["clusters"]) == {"reexperiencing", "avoidance", "arousal"}
    delete = operation_of(api_app, "DELETE /api/v1/screenings/{code}")
    assert delete.Case(path_parameters={"code": code}).call_and_validate(checks=CHECKS).status_code == 204
    again = delete.Case(path_parameters={"code": code}).call_and_validate(checks=CHECKS)
    assert again.status_code == 404
    assert count_rows(api_app) == (1 if store else 0)


def test_429_and_503_conform(tmp_path):
    overrides = {"RATELIMIT_ENABLED": True, "RATELIMIT_SUBMISSIONS": "1 per minute"}
    overrides["RATELIMIT_CODE_LOOKUPS"] = "1 per minute"
    with app_with_tables("testing", tmp_path, **overrides) as limited:
        case = operation_of(limited, "POST /api/v1/screenings").Case(body=PCL5, media_type="application/json")
        assert case.call_and_validate(checks=CHECKS).status_code == 201
        assert case.call_and_validate(checks=CHECKS).status_code == 429
        delete = operation_of(limited, "DELETE /api/v1/screenings/{code}")
        unknown_delete = delete.Case(path_parameters={"code": "ZZZZ-ZZZZ-ZZZZ"}).call_and_validate(checks=CHECKS)
        assert unknown_delete.status_code == 404
        limited_delete = delete.Case(path_parameters={"code": "ZZZZ-ZZZZ-ZZZ0"}).call_and_validate(checks=CHECKS)
        assert limited_delete.status_code == 429
    down = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent-directory/ptsd.sqlite"})
    without_5xx_check = [c for c in CHECKS if c is not not_a_server_error]
    case = operation_of(down, "POST /api/v1/screenings").Case(body=PCL5, media_type="application/json")
    assert case.call_and_validate(checks=without_5xx_check).status_code == 503
    delete = operation_of(down, "DELETE /api/v1/screenings/{code}").Case(path_parameters={"code": "ZZZZ-ZZZZ-ZZZZ"})
    assert delete.call_and_validate(checks=without_5xx_check).status_code == 503


def test_document_is_openapi_3_1_and_covers_every_api_route(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert document == openapi_document()
    assert document["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    routes = {
        (rule.rule.replace("<instrument_id>", "{id}").replace("<code>", "{code}"), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.endpoint != "api_spec.openapi"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == routes


def test_screening_request_is_one_of_the_instruments(app):
    body = openapi_document()["paths"]["/api/v1/screenings"]["post"]
    variants = body["requestBody"]["content"]["application/json"]["schema"]
    request = openapi_document()["components"]["schemas"][variants["$ref"].rsplit("/", 1)[1]]
    names = [ref["$ref"].rsplit("/", 1)[1] for ref in request["oneOf"]]
    assert names == ["Pcl5Request", "PcPtsd5Request", "ItqRequest", "Phq9Request"]
    assert set(body["responses"]) == {"200", "201", "400", "413", "415", "429", "503"}
    assert body["responses"]["201"]["headers"]["Location"]["required"] is True
    delete = openapi_document()["paths"]["/api/v1/screenings/{code}"]["delete"]
    assert set(delete["responses"]) == {"204", "404", "429", "503"}
    schemas = openapi_document()["components"]["schemas"]
    assert schemas["ScreeningResult"]["properties"]["change"] == {"$ref": "#/components/schemas/Change"}
    assert "change" not in schemas["ScreeningResult"]["required"]  # only when previous is given
    assert schemas["Change"]["required"] == ["total", "clusters", "meaningful"]
    assert schemas["Pcl5Request"]["properties"]["previous"] == {"$ref": "#/components/schemas/PreviousCode"}


def test_report_how_many_cases_schemathesis_tried():
    """Runs after the fuzzing above (file order); prints the totals for the record."""
    if TRIED:
        print("\nschemathesis cases:", TRIED, "total", sum(TRIED.values()), "statuses seen:", STATUSES)
