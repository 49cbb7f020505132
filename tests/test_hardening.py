"""Issue 17 in the app: no trust in the Host header, strict filters, form fields that must be strings,
streamed exports that fail quietly and visibly, chunked bodies held to MAX_CONTENT_LENGTH."""
from __future__ import annotations

import io
import json
import logging

import pytest
import sqlalchemy as sa
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from app import audit
from app.clinician import exports
from app.clinician.filter_parsing import parse_date, parse_page
from app.errors import StreamInterrupted
from app.models import AuditEvent
from tests import clinician_support
from tests.apps import app_with_tables, count_rows
from tests.clinician_support import PASSWORD, reference_of_code, sign_in, store
from tests.conftest import csrf_token_from, in_app_context, reloaded

PCL5 = {"instrument": "pcl5", "answers": [2] * 20, "store": True}
PCPTSD5 = {"instrument": "pcptsd5", "exposure": True, "answers": [True, False, True, False, True], "store": True}
LIMIT = 32 * 1024
# clinician_support's fixtures these tests use, bound by name in this module where pytest finds them
# (a star import would also bring its autouse long_retention).
cheap_hashes = clinician_support.cheap_hashes  # autouse
make_clinician = clinician_support.make_clinician
admin_client = clinician_support.admin_client
clinician = clinician_support.clinician
signed_in = clinician_support.signed_in


# --- 3. the Host header -------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [PCL5, PCPTSD5], ids=["pcl5", "pcptsd5"])
def test_fhir_urls_are_the_same_whatever_host_was_asked(client, body):
    """The person's download: the questionnaire and answer-system URLs are fixed names, never the Host."""
    code = client.post("/api/v1/screenings", json=body).get_json()["code"]
    downloads = [client.get(f"/results/{code}.fhir.json", headers={"Host": host}).get_data(as_text=True)
                 for host in ("localhost", "evil.example", "evil.example:8443")]
    assert downloads[0] == downloads[1] == downloads[2]
    assert "evil" not in downloads[1] and "localhost" not in downloads[0]
    resource = json.loads(downloads[1])
    QuestionnaireResponse.model_validate(resource)
    expected = {"pcl5": "http://loinc.org/q/101697-1", "pcptsd5": "urn:ptsd-self-check:questionnaire:pcptsd5"}
    assert resource["questionnaire"] == expected[body["instrument"]]
    systems = {answer["valueCoding"]["system"] for item in resource["item"][0]["item"]
               for answer in item["answer"] if "valueCoding" in answer}
    assert systems == {expected[body["instrument"]] + "#options"}


def client_at_host(app, host: str):
    """A signed-in client whose every request says `Host: host` (its cookies belong to that host)."""
    client = app.test_client()
    client.environ_base["HTTP_HOST"] = host
    assert sign_in(client).status_code == 303
    return client


def test_clinician_fhir_export_does_not_depend_on_the_host(app, clinician):
    store("pcl5")
    store("pcptsd5")
    bodies = [client_at_host(app, host).get("/clinician/export.fhir.json").get_data(as_text=True)
              for host in ("localhost", "evil.example")]
    assert "evil" not in bodies[1] and "localhost" not in bodies[0]
    questionnaires = {entry["resource"]["questionnaire"] for entry in json.loads(bodies[1])["entry"]}
    assert questionnaires == {"http://loinc.org/q/101697-1", "urn:ptsd-self-check:questionnaire:pcptsd5"}


@pytest.fixture
def hosts_app(tmp_path):
    with app_with_tables("testing", tmp_path, TRUSTED_HOSTS="screening.example.org, .clinic.example") as app:
        yield app


@pytest.mark.parametrize("path", ["/", "/screen/pcl5", "/api/v1/instruments", "/static/css/base.css",
                                  "/results/0000-0000-0000", "/clinician/login"])
@pytest.mark.parametrize("host", ["evil.example", "screening.example.org.evil.example", "clinic.example.evil",
                                  "", "screening.example.org@evil.example"])
def test_hosts_not_in_trusted_hosts_get_a_400_page_before_anything_runs(hosts_app, path, host):
    response = hosts_app.test_client().get(path, headers={"Host": host})
    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    assert "evil" not in text and "Traceback" not in text
    if path.startswith("/api/"):
        assert response.get_json() == {"errors": ["Something in the request was not right"]}
    else:
        # The person's pages answer in their layout, the workspace's (sign-in included) in its own.
        layout = 'class="ws-header"' if path.startswith("/clinician/") else 'class="site-header"'
        assert "Something in the request was not right" in text and layout in text


def test_a_refused_host_stores_nothing(hosts_app):
    response = hosts_app.test_client().post("/api/v1/screenings", json=PCL5, headers={"Host": "evil.example"})
    assert response.status_code == 400 and count_rows(hosts_app) == 0


@pytest.mark.parametrize("host", ["screening.example.org", "screening.example.org:8443", "a.clinic.example"])
def test_trusted_hosts_are_served(hosts_app, host):
    assert hosts_app.test_client().get("/", headers={"Host": host}).status_code == 200


def test_trusted_hosts_from_the_environment_as_json_or_a_list(monkeypatch):
    from app import create_app

    for value in ('["a.example", "b.example"]', "a.example, b.example"):
        monkeypatch.setenv("FLASK_TRUSTED_HOSTS", value)
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
        assert app.config["TRUSTED_HOSTS"] == ["a.example", "b.example"]
    monkeypatch.delenv("FLASK_TRUSTED_HOSTS")
    assert create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["TRUSTED_HOSTS"] is None


@pytest.fixture
def redirecting_app(tmp_path):
    with app_with_tables("testing", tmp_path, HTTPS_REDIRECT=True,
                         PUBLIC_BASE_URL="https://screening.example.org") as app:
        yield app


@pytest.mark.parametrize("path", ["/", "/static/css/base.css", "/assets/site.000000000000.css",
                                  "/results/7KQ2%20M9XD?previous=a%26b&x=1", "/no-such-page"])
def test_https_redirect_goes_to_the_public_base_url_and_is_never_cached(redirecting_app, path):
    response = redirecting_app.test_client().get(path, headers={"Host": "evil.example"})
    assert response.status_code == 308
    assert response.headers["Location"] == "https://screening.example.org" + path
    assert response.headers["Cache-Control"] == "no-store"


def test_https_redirect_without_a_public_base_url_keeps_a_trusted_host(tmp_path):
    with app_with_tables("testing", tmp_path, HTTPS_REDIRECT=True, TRUSTED_HOSTS=["screening.example.org"]) as app:
        client = app.test_client()
        response = client.get("/static/css/base.css", headers={"Host": "screening.example.org"})
        assert response.headers["Location"] == "https://screening.example.org/static/css/base.css"
        assert response.headers["Cache-Control"] == "no-store"
        assert client.get("/static/css/base.css", headers={"Host": "evil.example"}).status_code == 400


@pytest.mark.parametrize("path, location", [("/clinician", "/clinician/"),
                                            ("/static//css/base.css", "/static/css/base.css")])
def test_routing_redirects_point_at_a_path_never_at_the_host_asked_for(client, path, location):
    """Werkzeug's trailing-slash and merge-slashes redirects are absolute URLs built from Host."""
    response = client.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 308
    assert response.headers["Location"] == location and response.headers["Cache-Control"] == "no-store"


def test_static_files_keep_their_cache_headers_but_their_errors_do_not(client):
    with client.get("/static/css/base.css") as response:
        assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", "")
    for path in ("/assets/site.000000000000.css", "/static/no-such-file.css"):
        with client.get(path) as response:
            assert response.status_code == 404 and response.headers["Cache-Control"] == "no-store"


# --- 5. edge inputs: filters and pages -------------------------------------------------------------

@pytest.mark.parametrize("raw", ["2026-11-28", "2000-01-01", "2199-12-31"])
def test_dates_in_the_one_accepted_form(raw):
    assert parse_date(raw).isoformat() == raw


@pytest.mark.parametrize("raw", ["2026-W48-1", "20261128", "2026-11-28T00:00", "2026-1-28", "２０２６-11-28",
                                 "2026-11-2８", "9999-12-31", "0001-01-01", "1999-12-31", "2200-01-01",
                                 "2026-02-30", " 2026-11-28", "2026-11-28\n", ""])
def test_other_date_forms_are_refused(raw):
    with pytest.raises(ValueError):
        parse_date(raw)


@pytest.mark.parametrize("raw, page", [("1", 1), ("7", 7), ("999999", 999999), ("0", 1), (None, 1), ("", 1),
                                       ("²", 1), ("٣", 1), ("1000000", 1), ("-2", 1), ("+2", 1), (" 2", 1),
                                       ("2.0", 1), ("１", 1)])
def test_page_numbers_are_ascii_digits_or_the_first_page(raw, page):
    assert parse_page(raw) == page


@in_app_context
def audit_actions(db) -> list[str]:
    """The audit trail's actions, oldest first, read in the test app's context."""
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


BAD_FILTERS = ["to=9999-12-31", "from=0001-01-01", "from=2026-W48-1", "to=20261128", "to=2026-11-2%D9%A3",
               "from=2026-02-30", "to=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-11-28"]


@pytest.mark.parametrize("query", BAD_FILTERS)
@pytest.mark.parametrize("path", ["/clinician/", "/clinician/stats", "/clinician/export.csv",
                                  "/clinician/export.fhir.json"])
def test_bad_dates_are_a_400_page_before_anything_is_read_streamed_or_audited(db, signed_in, path, query):
    store("pcl5")
    before = audit_actions(db)
    response = signed_in.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.mimetype == "text/html" and "Content-Disposition" not in response.headers
    text = response.get_data(as_text=True)
    assert "must be a date" in text and "Traceback" not in text
    assert audit_actions(db) == before


def test_the_far_future_gets_its_own_message(signed_in):
    text = signed_in.get("/clinician/?to=9999-12-31").get_data(as_text=True)
    assert "must be a date between 2000-01-01 and 2199-12-31" in text


def test_a_good_filter_still_exports_and_is_audited(db, signed_in):
    store("pcl5")
    response = signed_in.get("/clinician/export.csv?from=2000-01-01&to=2199-12-31")
    assert response.status_code == 200 and len(response.get_data(as_text=True).splitlines()) == 2
    assert audit_actions(db)[-1] == audit.EXPORT_CSV


@pytest.mark.parametrize("page", ["²", "٣", "１", "9" * 40, "-1", "1e3"])
def test_odd_page_numbers_show_the_first_page(db, admin_client, page):
    store("pcl5")
    for path in ("/clinician/", "/clinician/audit"):
        response = admin_client.get(f"{path}?page={page}")
        assert response.status_code == 200, path


# --- 5. form fields sent as files --------------------------------------------------------------------

def file_field(value: str = "x"):
    return (io.BytesIO(value.encode()), "field.txt")


def test_sign_in_fields_sent_as_files_are_a_400_and_sign_no_one_in(app, db, client, clinician):
    for field in ("email", "password", "csrf_token"):
        token = csrf_token_from(client.get("/clinician/login").get_data(as_text=True))
        data = {"email": "doc@example.org", "password": PASSWORD, "csrf_token": token}
        data[field] = file_field(data[field])
        response = client.post("/clinician/login", data=data, content_type="multipart/form-data")
        assert response.status_code == 400, field
        assert client.get("/clinician/").status_code == 302  # still signed out
    assert audit_actions(db) == []


def test_a_review_note_sent_as_a_file_is_a_400_and_stores_nothing(db, signed_in):
    row = store("pcl5")
    page = f"/clinician/results/{reference_of_code(row.code)}"
    token = csrf_token_from(signed_in.get(page).get_data(as_text=True))
    before = audit_actions(db)
    response = signed_in.post(page + "/review", data={"csrf_token": token, "note": file_field("a note")},
                              content_type="multipart/form-data")
    assert response.status_code == 400
    assert reloaded(row).reviewed is False
    assert audit_actions(db) == before
    # The same form as text is accepted: the file was the only problem.
    assert signed_in.post(page + "/review", data={"csrf_token": token, "note": "a note"},
                          content_type="multipart/form-data").status_code == 303


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_nul_character_in_a_form_field_is_a_400_and_stores_nothing(db, signed_in, content_type):
    """PostgreSQL refuses NUL in text: a review note holding one was a 500 there (found by the sweep)."""
    row = store("pcl5")
    page = f"/clinician/results/{reference_of_code(row.code)}"
    token = csrf_token_from(signed_in.get(page).get_data(as_text=True))
    before = audit_actions(db)
    for data in ({"csrf_token": token, "note": "called\x00back"}, {"csrf_token": token, "note\x00": "x"}):
        response = signed_in.post(page + "/review", data=data, content_type=content_type)
        assert response.status_code == 400
    assert reloaded(row).reviewed is False and audit_actions(db) == before


def test_answers_sent_as_files_store_nothing(app, client):
    assert client.get("/screen/pcl5").status_code == 200
    data = {"store": "yes", "submission": "0123456789abcdef0123", **{f"q{n}": "2" for n in range(1, 21)}}
    data["q7"] = file_field("2")
    response = client.post("/screen/pcl5", data=data, content_type="multipart/form-data")
    assert response.status_code == 400 and count_rows(app) == 0


# --- 5. an error inside a streamed export --------------------------------------------------------------

def test_an_error_inside_a_streamed_export_is_logged_with_class_and_place_only(db, signed_in, monkeypatch, caplog):
    store("pcl5")

    def failing(connection, filters, scope):
        yield "first line\r\n"
        raise ValueError("row 17 holds SECRET-ANSWERS 4,4,4")

    monkeypatch.setattr(exports, "_formatted_lines", failing)
    monkeypatch.setattr(exports, "_copied_lines", failing)
    response = signed_in.get("/clinician/export.csv")
    assert response.status_code == 200  # the headers went out before the failure
    with caplog.at_level(logging.ERROR), pytest.raises(StreamInterrupted) as raised:
        response.get_data()
    assert str(raised.value) == "" and raised.value.__suppress_context__
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "ValueError" in logged and "/clinician/export.csv" in logged
    assert "test_hardening.py" in logged and "in failing" in logged  # the place: file, line, function
    assert "SECRET" not in logged and "row 17" not in logged and "raise" not in logged


# --- 6. chunked bodies ---------------------------------------------------------------------------------

def chunked_post(client, path: str, body: bytes, content_type: str):
    """A body with no Content-Length, as a server hands over a Transfer-Encoding: chunked request."""
    return client.post(path, input_stream=io.BytesIO(body), content_type=content_type,
                       headers={"Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""})


def padded_json(size: int) -> bytes:
    """A valid submission followed by spaces: cut anywhere after the JSON, it would still be accepted."""
    body = json.dumps(PCL5).encode()
    return body + b" " * (size - len(body))


def padded_form(size: int) -> bytes:
    body = "&".join(f"q{n}=2" for n in range(1, 21)).encode() + b"&store=yes&submission=0123456789abcdef0123&pad="
    return body + b"x" * (size - len(body))


@pytest.mark.parametrize("size", [LIMIT + 1, LIMIT + 5000, 10 * LIMIT])
def test_chunked_api_bodies_over_the_limit_are_a_413_and_store_nothing(app, client, size):
    body = padded_json(size)
    assert len(body) == size
    response = chunked_post(client, "/api/v1/screenings", body, "application/json")
    assert response.status_code == 413 and response.get_json() == {"errors": ["Too much data"]}
    assert count_rows(app) == 0


def test_chunked_api_bodies_within_the_limit_are_read_whole(app, client):
    body = padded_json(LIMIT)
    assert chunked_post(client, "/api/v1/screenings", body, "application/json").status_code == 201
    assert count_rows(app) == 1


@pytest.mark.parametrize("size", [LIMIT + 1, 3 * LIMIT])
def test_chunked_form_bodies_over_the_limit_are_a_413_and_store_nothing(app, size):
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    response = chunked_post(client, "/screen/pcl5", padded_form(size), "application/x-www-form-urlencoded")
    assert response.status_code == 413 and "Too much data" in response.get_data(as_text=True)
    assert count_rows(app) == 0


def test_declared_and_chunked_lengths_get_the_same_answer(app, client):
    body = padded_json(LIMIT + 100)
    declared = client.post("/api/v1/screenings", data=body, content_type="application/json")
    chunked = chunked_post(client, "/api/v1/screenings", body, "application/json")
    assert declared.status_code == chunked.status_code == 413
    assert declared.get_json() == chunked.get_json()


def test_a_nul_in_any_path_argument_is_not_found_before_a_query_runs(app):
    """Every rule with a string argument, as anyone would reach it: a NUL there is a 404 (on PostgreSQL it
    reached a query and was a 500)."""
    client = app.test_client()
    for rule in app.url_map.iter_rules():
        if not rule.arguments or any(rule._converters[name].__class__.__name__ != "UnicodeConverter"
                                     for name in rule.arguments):
            continue
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<{name}>", "a\x00b")
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        assert client.open(url, method=method).status_code == 404, rule.rule
