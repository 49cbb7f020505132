"""The OpenAPI 3.1 document at /api/v1/openapi.json, held to the implementation by schemathesis."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from app.api_spec import openapi_document
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
]


@pytest.mark.parametrize("label, mode", RUNS, ids=[f"{label} {mode}" for label, mode in RUNS])
def test_api_conforms_to_its_openapi_document(api_app, label, mode):
    """Schemathesis cases, valid and invalid by the document, against the app in-process: no 5xx,
    documented status codes, content types and bodies; nothing stored beyond what a 201 acknowledged."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    operation = next(result.ok() for result in schema.get_all_operations() if result.ok().label == label)
    acknowledged: set[str] = set()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def call(case):
        response = case.call_and_validate(checks=CHECKS)
        TRIED[f"{label} {mode}"] = TRIED.get(f"{label} {mode}", 0) + 1
        STATUSES.setdefault(label, set()).add(response.status_code)
        if response.status_code == 201:
            acknowledged.add(response.json()["code"])
        assert count_rows(api_app) == len(acknowledged)

    call()
    if label.startswith("POST") and mode == GenerationMode.POSITIVE:
        assert acknowledged, "valid bodies with store: true were generated and stored"


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
    "instrument unknown": ("GET /api/v1/instruments/{id}", {"path_parameters": {"id": "phq9"}}, 404),
}


@pytest.mark.parametrize("label, case_kwargs, status", EXPLICIT.values(), ids=EXPLICIT.keys())
def test_each_documented_response_conforms(api_app, label, case_kwargs, status):
    """Responses random data rarely reaches (both instruments, 201, 413, 415) checked the same way."""
    operation = operation_of(api_app, label)
    response = operation.Case(**case_kwargs).call_and_validate(checks=CHECKS)
    assert response.status_code == status
    assert count_rows(api_app) == (1 if status == 201 else 0)


def test_429_and_503_conform(tmp_path):
    overrides = {"RATELIMIT_ENABLED": True, "RATELIMIT_SUBMISSIONS": "1 per minute"}
    with app_with_tables("testing", tmp_path, **overrides) as limited:
        case = operation_of(limited, "POST /api/v1/screenings").Case(body=PCL5, media_type="application/json")
        assert case.call_and_validate(checks=CHECKS).status_code == 201
        assert case.call_and_validate(checks=CHECKS).status_code == 429
    down = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent-directory/ptsd.sqlite"})
    case = operation_of(down, "POST /api/v1/screenings").Case(body=PCL5, media_type="application/json")
    assert case.call_and_validate(checks=[c for c in CHECKS if c is not not_a_server_error]).status_code == 503


def test_document_is_openapi_3_1_and_covers_every_api_route(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert document == openapi_document()
    assert document["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    routes = {
        (rule.rule.replace("<instrument_id>", "{id}"), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.endpoint != "api_spec.openapi"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == routes


def test_screening_request_is_one_of_both_instruments(app):
    body = openapi_document()["paths"]["/api/v1/screenings"]["post"]
    variants = body["requestBody"]["content"]["application/json"]["schema"]
    request = openapi_document()["components"]["schemas"][variants["$ref"].rsplit("/", 1)[1]]
    assert [ref["$ref"].rsplit("/", 1)[1] for ref in request["oneOf"]] == ["Pcl5Request", "PcPtsd5Request"]
    assert set(body["responses"]) == {"200", "201", "400", "413", "415", "429", "503"}
    assert body["responses"]["201"]["headers"]["Location"]["required"] is True


def test_report_how_many_cases_schemathesis_tried():
    """Runs after the fuzzing above (file order); prints the totals for the record."""
    if TRIED:
        print("\nschemathesis cases:", TRIED, "total", sum(TRIED.values()), "statuses seen:", STATUSES)
