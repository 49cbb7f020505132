"""Security headers on every response, and the Mozilla Observatory's top grade for the real ones."""
from __future__ import annotations

import re

import pytest
from werkzeug.exceptions import Forbidden

from app.security import CSP_DIRECTIVES, csp_nonce
from tests import observatory
from tests.apps import app_with_tables
from tests.clinician_support import PASSWORD, cheap_hashes, reference_of_code  # noqa: F401  (autouse: quick hashes)

PCL5 = {"instrument": "pcl5", "answers": [2] * 20, "store": True}
EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


@pytest.fixture
def production(tmp_path):
    """The production configuration (HSTS on), redirecting plain HTTP as a directly served site would."""
    with app_with_tables("production", tmp_path, HTTPS_REDIRECT=True) as app:
        yield app


def stored_code(client) -> str:
    response = client.post("/api/v1/screenings", json=PCL5, base_url="https://ptsd.example")
    assert response.status_code == 201
    return response.headers["Location"]


def test_observatory_grades_every_kind_of_response_a_plus(production):
    """Mozilla HTTP Observatory scoring (mozilla/http-observatory httpobs/docs/scoring.md, and MDN's
    current "Tests & Scoring"), applied to the production app's real responses: home, the screening
    pages, a stored result and an API response. None of them sets a cookie any more."""
    client = production.test_client()
    paths = ["/", "/screen/pcl5", "/screen/pcptsd5", stored_code(client), "/api/v1/instruments"]
    for path in paths:
        report = observatory.grade(client, path)
        penalties = {test: result for test, result in report.results.items() if result[1] < 0}
        assert report.status_code == 200, path
        assert penalties == {}, (path, penalties)
        assert report.grade == "A+" and report.score >= 100, (path, report.score, report.results)
    # The person gets no cookie at all (the sign-in page below shows the workspace's cookie graded).
    first_visit = observatory.grade(production.test_client(), "/screen/pcl5")
    assert first_visit.results["cookies"] == ("cookies-not-found", 0)
    assert first_visit.score == 130  # every bonus the current rules offer a page that sets no cookie


def test_observatory_grades_the_clinician_pages_a_plus(production):
    """The clinician sign-in page and signed-in workspace pages (queue, a result, statistics, the audit log),
    each of which re-issues the session cookie, graded like the public pages."""
    from app.auth.passwords import hash_password
    from app.extensions import db
    from app.models import ROLE_ADMIN, Clinician
    from tests.conftest import csrf_token_from

    production.config["REQUIRE_2FA"] = False  # headers are graded here; two-factor: tests/test_two_factor.py
    with production.app_context():
        db.session.add(Clinician(email="doc@example.org", password_hash=hash_password(PASSWORD), role=ROLE_ADMIN))
        db.session.commit()
    anonymous = production.test_client()
    sign_in_page = observatory.grade(anonymous, "/clinician/login")
    assert sign_in_page.status_code == 200 and sign_in_page.grade == "A+" and sign_in_page.score == 135
    assert sign_in_page.results["cookies"] == ("cookies-secure-with-httponly-sessions-and-samesite", 5)

    client = production.test_client()
    https = {"base_url": "https://ptsd.example"}
    token = csrf_token_from(client.get("/clinician/login", **https).get_data(as_text=True))
    signed = client.post("/clinician/login", data={"email": "doc@example.org", "password": PASSWORD,
                                                   "csrf_token": token}, **https)
    assert signed.status_code == 303
    code = stored_code(client).rsplit("/", 1)[1]
    detail = f"/clinician/results/{reference_of_code(code, production)}"
    for path in ["/clinician/", detail, "/clinician/stats", "/clinician/audit"]:
        report = observatory.grade(client, path)
        penalties = {test: result for test, result in report.results.items() if result[1] < 0}
        assert report.status_code == 200, path
        assert penalties == {}, (path, penalties)
        assert report.grade == "A+" and report.score == 135, (path, report.score, report.results)
        assert report.results["cookies"] == ("cookies-secure-with-httponly-sessions-and-samesite", 5), path


@pytest.mark.parametrize(
    "headers, test, expected",
    [
        ({}, "content-security-policy", ("csp-not-implemented", -25)),
        ({"Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'"},
         "content-security-policy", ("csp-implemented-with-unsafe-inline", -20)),
        ({"Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'"},
         "content-security-policy", ("csp-implemented-with-unsafe-inline-in-style-src-only", 0)),
        ({"Content-Security-Policy": "default-src 'self'"}, "content-security-policy",
         ("csp-implemented-with-no-unsafe", 5)),
        ({"Content-Security-Policy": "default-src 'none'"}, "content-security-policy",
         ("csp-implemented-with-no-unsafe", 5)),  # form-action unrestricted: no top bonus
        ({"Strict-Transport-Security": "max-age=300"}, "strict-transport-security",
         ("hsts-implemented-max-age-less-than-six-months", -10)),
        ({"Referrer-Policy": "unsafe-url"}, "referrer-policy", ("referrer-policy-unsafe", -5)),
        ({"X-Frame-Options": "SAMEORIGIN"}, "x-frame-options", ("x-frame-options-sameorigin-or-deny", 0)),
        ({}, "x-frame-options", ("x-frame-options-not-implemented", -20)),
        ({"Cross-Origin-Resource-Policy": "cross-origin"}, "cross-origin-resource-policy",
         ("corp-implemented-with-cross-origin", 0)),
        ({"Access-Control-Allow-Origin": "https://observatory.example", "Access-Control-Allow-Credentials": "true"},
         "cross-origin-resource-sharing", ("cross-origin-resource-sharing-implemented-with-universal-access", -50)),
        ({"Set-Cookie": "session=abc; Path=/"}, "cookies", ("cookies-session-without-secure-flag", -40)),
    ],
)
def test_grader_penalises_what_the_rules_penalise(headers, test, expected):
    """The grader is not a rubber stamp: weak headers get the documented modifiers."""
    from flask import Flask

    bare = Flask(__name__)

    @bare.get("/")
    def page():
        return "<!doctype html><p>hi</p>", 200, headers

    report = observatory.grade(bare.test_client(), "/")
    assert report.results[test] == expected
    assert report.grade != "A+"


def test_bare_flask_app_scores_f():
    from flask import Flask

    bare = Flask(__name__)
    bare.add_url_rule("/", "page", lambda: "<p>hi</p>")
    report = observatory.grade(bare.test_client(), "/")
    assert report.score == 100 - 25 - 20 - 20 - 5 - 20 and report.grade == "F"


def test_csp_is_exactly_the_strict_policy_and_never_unsafe_inline(client):
    csp = client.get("/").headers["Content-Security-Policy"]
    assert csp == CSP
    assert "unsafe" not in csp and "http:" not in csp and "https:" not in csp


def test_a_template_nonce_is_added_to_the_policy_only_when_used(app):
    with app.test_request_context("/"):
        from app.security import content_security_policy

        assert "nonce" not in content_security_policy()
        nonce = csp_nonce()
        assert csp_nonce() == nonce  # one per response
        policy = content_security_policy()
        assert f"script-src 'self' 'nonce-{nonce}'" in policy and f"style-src 'self' 'nonce-{nonce}'" in policy
    assert set(CSP_DIRECTIVES) >= {"default-src", "frame-ancestors", "form-action", "base-uri", "object-src"}


def test_permissions_policy_switches_off_powerful_features(client):
    policy = client.get("/").headers["Permissions-Policy"]
    features = dict(item.strip().split("=") for item in policy.split(","))
    assert {"camera", "microphone", "geolocation", "browsing-topics", "payment", "usb"} <= set(features)
    assert set(features.values()) == {"()"}


@pytest.fixture
def app_with_failing_views(tmp_path):
    """The testing app plus views that fail in the ways a real bug or a refusal would."""
    with app_with_tables("testing", tmp_path) as app:
        app.add_url_rule("/boom", "boom", lambda: 1 / 0)
        app.add_url_rule("/api/v1/boom", "api_boom", lambda: 1 / 0)

        def forbidden():
            raise Forbidden()

        app.add_url_rule("/forbidden", "forbidden", forbidden)
        yield app


REQUESTS = {
    "page 200": ("GET", "/", None, 200),
    "json 200": ("GET", "/api/v1/instruments", None, 200),
    "static 200": ("GET", "/static/css/base.css", None, 200),
    "form 400": ("POST", "/screen/pcl5", {"data": {"q1": "9"}}, 400),
    "api 400": ("POST", "/api/v1/screenings", {"json": {"instrument": "x"}}, 400),
    "page 403": ("GET", "/forbidden", None, 403),
    "page 404": ("GET", "/nowhere", None, 404),
    "json 404": ("GET", "/api/v1/instruments/gad7", None, 404),
    "page 405": ("DELETE", "/", None, 405),
    "json 405": ("GET", "/api/v1/screenings", None, 405),
    "page 413": ("POST", "/screen/pcl5", {"data": {"q1": "x" * 40_000}}, 413),
    "json 413": ("POST", "/api/v1/screenings", {"data": "[" * 40_000, "content_type": "application/json"}, 413),
    "page 500": ("GET", "/boom", None, 500),
    "json 500": ("GET", "/api/v1/boom", None, 500),
}


@pytest.mark.parametrize("method, path, kwargs, status", REQUESTS.values(), ids=REQUESTS.keys())
def test_every_response_carries_the_headers(app_with_failing_views, method, path, kwargs, status):
    response = app_with_failing_views.test_client().open(path, method=method, **(kwargs or {}))
    body = response.get_data(as_text=True)
    response.close()  # a static file is streamed from an open file
    assert response.status_code == status
    assert response.headers["Content-Security-Policy"] == CSP
    for name, value in EXPECTED.items():
        assert response.headers[name] == value, name
    assert "Strict-Transport-Security" not in response.headers  # HTTPS is production's business
    assert "Traceback" not in body and "ZeroDivisionError" not in body
    if path.startswith("/static/"):
        assert response.headers["Cache-Control"] == "public, max-age=3600"
    else:
        assert response.headers["Cache-Control"] == "no-store"


def test_production_sends_hsts_for_two_years_with_subdomains(production):
    response = production.test_client().get("/", base_url="https://ptsd.example")
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


def test_https_redirect_keeps_host_and_path(production):
    response = production.test_client().get("/results/ABCD?x=1", base_url="http://ptsd.example")
    assert response.status_code == 308
    assert response.headers["Location"] == "https://ptsd.example/results/ABCD?x=1"


def test_trusted_proxy_forwarded_proto_counts_as_https(tmp_path):
    with app_with_tables("production", tmp_path, HTTPS_REDIRECT=True, TRUSTED_PROXIES=1) as app:
        client = app.test_client()
        assert client.get("/", headers={"X-Forwarded-Proto": "https"}).status_code == 200
        assert client.get("/").status_code == 308


def test_result_and_api_replies_are_never_cached(client, db):
    created = client.post("/api/v1/screenings", json=PCL5)
    assert created.headers["Cache-Control"] == "no-store"
    assert client.get(created.headers["Location"]).headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/", "/screen/pcl5", "/screen/pcptsd5", "/nowhere"])
def test_pages_load_nothing_from_another_site_and_nothing_inline(client, path):
    html = client.get(path).get_data(as_text=True)
    loaded = re.findall(r'<(?:script|img|iframe|link|source|audio|video)\b[^>]*?(?:src|href)="([^"]*)"', html)
    assert loaded and all(url.startswith("/") or url.startswith("data:") for url in loaded), loaded
    assert not re.search(r"<script\b(?![^>]*\bsrc=)", html)  # no inline script body
    assert not re.search(r'\sstyle="', html) and not re.search(r"\son[a-z]+=", html)
    assert "<style" not in html


@pytest.mark.parametrize("fetch_site, status", [(None, 303), ("same-origin", 303), ("none", 303),
                                                ("cross-site", 403)])
def test_signed_in_forms_work_over_https_without_a_referer(production, fetch_site, status):
    """Referrer-Policy: no-referrer means a browser sends no Referer to this site either: the sign-in
    must still work over HTTPS (Flask-WTF's strict Referer check is off), while a post a browser marks
    as coming from another site is refused before anything happens."""
    from app.auth.passwords import hash_password
    from app.extensions import db
    from app.models import AuditEvent, Clinician
    from tests.conftest import csrf_token_from

    production.config["REQUIRE_2FA"] = False  # the workspace page itself, not its two-factor set-up
    with production.app_context():
        db.session.add(Clinician(email="doc@example.org", password_hash=hash_password(PASSWORD)))
        db.session.commit()
    client = production.test_client()
    https = {"base_url": "https://ptsd.example"}
    token = csrf_token_from(client.get("/clinician/login", **https).get_data(as_text=True))
    headers = {"Sec-Fetch-Site": fetch_site} if fetch_site else {}
    response = client.post("/clinician/login", data={"email": "doc@example.org", "password": PASSWORD,
                                                     "csrf_token": token}, headers=headers, **https)
    assert response.status_code == status
    assert "Referer" not in response.request.headers
    with production.app_context():
        assert db.session.query(AuditEvent).count() == (1 if status == 303 else 0)
    assert client.get("/clinician/", **https).status_code == (200 if status == 303 else 302)
