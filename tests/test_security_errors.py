"""Error pages: every status in the site's layout or as JSON, never a traceback; an unreachable database."""
from __future__ import annotations

import logging
import re

import pytest
from flask import abort, request

from app import create_app

STATUSES = {
    400: "Something in the request was not right",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    413: "Too much data",
    415: "This page only takes its own form",
    429: "Too many requests",
    500: "Something went wrong on our side",
    503: "The service is busy or down",
}
UNREACHABLE = {
    "sqlite in a missing directory": "sqlite:////nonexistent-directory/for/sure/ptsd.sqlite",
    "postgresql on a closed port": "postgresql+psycopg://postgres@127.0.0.1:1/ptsd?connect_timeout=2",
}
NOT_SAVED = "Your answers were not saved — please try again."


@pytest.fixture
def failing_app():
    """The testing app with views that abort with each status, or raise, under / and /api/."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    app.add_url_rule("/fail/<int:status>", "fail", lambda status: abort(status))
    app.add_url_rule("/api/v1/fail/<int:status>", "api_fail", lambda status: abort(status))

    def explode():
        raise ValueError(f"bad value {request.args.get('q1')}")  # a message quoting what was sent

    app.add_url_rule("/explode", "explode", explode, methods=["GET", "POST"])
    app.add_url_rule("/api/v1/explode", "api_explode", explode, methods=["GET", "POST"])
    return app


@pytest.mark.parametrize("status, title", STATUSES.items())
def test_each_status_is_a_page_in_the_site_layout(failing_app, status, title):
    response = failing_app.test_client().get(f"/fail/{status}")
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert f"<h1>{title}</h1>" in html
    assert 'class="site-header"' in html and 'class="site-footer"' in html and "988" in html
    assert "Traceback" not in html and "werkzeug" not in html.lower()
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("status, title", STATUSES.items())
def test_each_status_is_json_under_api(failing_app, status, title):
    response = failing_app.test_client().get(f"/api/v1/fail/{status}")
    assert response.status_code == status
    assert response.get_json() == {"errors": [title]}


@pytest.mark.parametrize("path", ["/explode", "/api/v1/explode"])
def test_an_exception_in_a_view_is_a_500_without_trace_or_message(failing_app, path, caplog):
    with caplog.at_level(logging.ERROR):
        response = failing_app.test_client().get(path, query_string={"q1": "secret-answer-7KQ2"})
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "ValueError" not in body and "secret-answer" not in body
    assert "ValueError" in caplog.text and "explode" in caplog.text  # where, for the operator
    assert "secret-answer" not in caplog.text  # but not what: the message may quote answers


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000, b"1", b"[1, 2]", b'"x"', b'{"q1": "2"}'])
def test_json_posted_to_a_page_is_415_not_a_crash(failing_app, body):
    response = failing_app.test_client().post("/screen/pcl5", data=body, content_type="application/json")
    assert response.status_code == 415
    assert "<h1>This page only takes its own form</h1>" in response.get_data(as_text=True)


def test_405_lists_the_allowed_methods(failing_app):
    response = failing_app.test_client().put("/")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]


@pytest.fixture(params=UNREACHABLE.values(), ids=UNREACHABLE.keys())
def down(request):
    """The app pointed at a database that cannot be reached."""
    return create_app("testing", {"SQLALCHEMY_DATABASE_URI": request.param})


def test_form_submission_answers_503_and_keeps_the_answers(down):
    client = down.test_client()
    assert client.get("/screen/pcl5").status_code == 200
    answers = {f"q{n}": str(n % 5) for n in range(1, 21)}
    response = client.post("/screen/pcl5", data={"store": "yes", "submission": "0123456789abcdef0123", **answers})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert response.headers["Cache-Control"] == "no-store"  # the answers are in this page
    html = response.get_data(as_text=True)
    assert NOT_SAVED in html and 'role="alert"' in html
    for name, value in answers.items():
        assert re.search(rf'name="{name}" value="{value}"\s+checked', html), name
    assert re.search(r'name="store" value="yes"\s+checked', html)
    assert 'name="csrf_token"' not in html  # no token to expire: submitting again just works
    assert "Traceback" not in html and "OperationalError" not in html


def test_pcptsd5_form_keeps_its_gate_and_answers(down):
    client = down.test_client()
    assert client.get("/screen/pcptsd5").status_code == 200
    data = {"store": "yes", "submission": "0123456789abcdef0123", "exposure": "yes", "q1": "yes", "q2": "no",
            "q3": "yes", "q4": "no", "q5": "yes"}
    html = client.post("/screen/pcptsd5", data=data).get_data(as_text=True)
    assert NOT_SAVED in html
    assert re.search(r'name="exposure" value="yes"\s+checked', html)
    assert re.search(r'name="q2" value="no"\s+checked', html) and re.search(r'name="q5" value="yes"\s+checked', html)


def test_api_submission_answers_503_json(down):
    response = down.test_client().post("/api/v1/screenings", json={"instrument": "pcl5", "answers": [1] * 20,
                                                                    "store": True})
    assert response.status_code == 503
    assert response.get_json() == {"errors": [NOT_SAVED]}
    assert response.headers["Retry-After"] == "30"
    assert "Location" not in response.headers


def test_lookup_answers_503_page_without_claiming_answers_were_lost(down):
    response = down.test_client().get("/results/0000-0000-0000")
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "The service is busy or down" in html and NOT_SAVED not in html


def test_unstored_screenings_still_work_while_the_database_is_down(down):
    client = down.test_client()
    assert client.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": [4] * 20}).status_code == 200
    assert client.get("/screen/pcl5").status_code == 200
    data = {"store": "no", **{f"q{n}": "4" for n in range(1, 21)}}
    assert "<strong>80</strong>" in client.post("/screen/pcl5", data=data).get_data(as_text=True)


def test_database_errors_are_logged_without_statement_or_values(down, caplog):
    from app import log_throttle

    log_throttle.forget()  # one line per failure class a minute: earlier tests' outages logged theirs
    with caplog.at_level(logging.DEBUG):
        down.test_client().post("/api/v1/screenings", json={"instrument": "pcl5", "answers": [3] * 20,
                                                             "store": True})
    assert "database unavailable" in caplog.text and "OperationalError" in caplog.text
    assert "INSERT" not in caplog.text and "[3, 3" not in caplog.text
