"""Logs carry no answers, result codes, passwords or client addresses: the app's and gunicorn's."""
from __future__ import annotations

import logging
import runpy
from datetime import timedelta
from pathlib import Path

import pytest
from flask import request

from app.ratelimits import limit_sign_in
from app.screening import codes
from tests.apps import app_with_tables
from tests.clinician_support import reference_of_code
from tests.conftest import csrf_token_from, kept_code, one_time_value

ADDRESS = "203.0.113.99"
PASSWORD = "hunter2-correct-horse"
ANSWERS = [3, 1, 4, 1, 0, 2, 4, 3, 2, 1, 0, 4, 3, 2, 1, 0, 1, 2, 3, 4]
CONFIG = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))


@pytest.fixture
def logged_app(tmp_path):
    overrides = {"RATELIMIT_ENABLED": True, "RATELIMIT_SUBMISSIONS": "4 per minute",
                 "RATELIMIT_SIGN_IN_ACCOUNT": "1 per minute"}
    with app_with_tables("testing", tmp_path, **overrides) as app:
        app.add_url_rule("/explode", "explode", lambda: 1 / int(request.args["q1"]))

        @limit_sign_in()
        def sign_in():
            return "no", 200

        app.add_url_rule("/sign-in", "sign_in", sign_in, methods=["POST"])
        yield app


def test_app_logs_nothing_identifying_or_clinical(logged_app, caplog):
    client = logged_app.test_client()
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    seen_codes = []
    with caplog.at_level(logging.DEBUG):
        api = client.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": ANSWERS, "store": True})
        seen_codes.append(api.get_json()["code"])
        form = {"store": "yes", "submission": one_time_value(), **{f"q{n}": str(v) for n, v in enumerate(ANSWERS, 1)}}
        seen_codes.append(kept_code(client.post("/screen/pcl5", data=form)))
        client.post("/results", data={"code": seen_codes[-1]})
        for code in seen_codes:
            assert client.get(f"/results/{code}").status_code == 200
            client.get(f"/results/{code.lower().replace('-', '')}")
        client.get("/results/ZZZZ-ZZZZ-ZZ99")
        client.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": ANSWERS[:-1] + [9]})
        assert client.get("/explode", query_string={"q1": "0"}).status_code == 500
        for _ in range(3):
            client.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": ANSWERS})
        assert client.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": ANSWERS}).status_code == 429
        for _ in range(2):
            client.post("/sign-in", data={"email": "dr@example.org", "password": PASSWORD})
    text = caplog.text
    assert "ZeroDivisionError" in text  # something was logged, so the absences below mean something
    forbidden = [ADDRESS, PASSWORD, "ZZZZ-ZZZZ-ZZ99", str(ANSWERS)[1:-1], ", ".join(map(str, ANSWERS[:8]))]
    for code in seen_codes:
        forbidden += [code, codes.normalise(code), code.lower().replace("-", "")]
    for value in forbidden:
        assert value not in text, value


class FakeResponse:
    status = "200 OK"
    sent = 1234
    headers = [("Content-Type", "text/html"), ("Set-Cookie", "session=secret-cookie")]


def access_line(path: str, query: str = "") -> str:
    from gunicorn.config import Config

    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", CONFIG["access_log_format"])
    logger = CONFIG["logger_class"](cfg)
    records = []
    logger.access_log.handlers = []
    logger.access_log.addHandler(type("H", (logging.Handler,), {"emit": lambda self, r: records.append(r)})())
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"{path}?{query}", "PATH_INFO": path, "QUERY_STRING": query,
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": ADDRESS, "HTTP_REFERER": f"https://x.example{path}",
               "HTTP_USER_AGENT": "Browser/1.0 secret-agent", "HTTP_X_FORWARDED_FOR": ADDRESS}
    headers = [("X-Forwarded-For", ADDRESS), ("User-Agent", "Browser/1.0 secret-agent")]
    logger.access(FakeResponse(), headers, environ, timedelta(milliseconds=12))
    assert len(records) == 1
    return records[0].getMessage()


@pytest.mark.parametrize("path", ["/results/7KQ2-M9XD-4TPA", "/results/7kq2m9xd4tpa", "/results/7KQ2%20M9XD%204TPA",
                                  "/clinician/screenings/7KQ2-M9XD-4TPA/fhir", "/results/anything-at-all"])
def test_gunicorn_access_log_redacts_codes_and_drops_address_query_and_agent(path):
    line = access_line(path, query="code=7KQ2-M9XD-4TPA&answers=3,1,4")
    assert '"GET /' in line and " 200 1234 " in line and "12ms" in line
    assert "[code]" in line
    for value in (ADDRESS, "7KQ2", "7kq2", "secret-agent", "answers", "x.example", "secret-cookie"):
        assert value not in line, value


def test_gunicorn_access_log_keeps_ordinary_paths():
    assert '"GET /screen/pcl5 HTTP/1.1" 200' in access_line("/screen/pcl5")


def test_even_a_careless_format_cannot_reach_the_address():
    logger_class = CONFIG["logger_class"]
    atoms = logger_class.atoms(logger_class.__new__(logger_class), FakeResponse(), [("X-Real-Ip", ADDRESS)],
                               {"REQUEST_METHOD": "GET", "RAW_URI": "/", "PATH_INFO": "/",
                                "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": ADDRESS}, timedelta(0))
    assert ADDRESS not in str(atoms) and "h" not in atoms and "{x-real-ip}i" not in atoms


def test_clinician_flows_log_no_password_code_or_address(tmp_path, caplog):
    """A wrong-password sign-in, a limited one, the real sign-in, a review, both exports, sign-out."""
    from tests.clinician_support import PASSWORD as RIGHT
    from tests.test_ratelimit import add_clinician, attempt

    overrides = {"RATELIMIT_ENABLED": True, "RATELIMIT_SIGN_IN_ACCOUNT": "3 per minute"}
    with app_with_tables("testing", tmp_path, **overrides) as app:
        app.add_url_rule("/clinician-explode", "clinician_explode", lambda: 1 / 0)
        add_clinician(app, role="admin")  # sees and exports results that no clinic has
        person = app.test_client()
        code = person.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": ANSWERS,
                                                        "store": True}).get_json()["code"]
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = ADDRESS
        with caplog.at_level(logging.DEBUG):
            assert attempt(client, "doc@example.org", PASSWORD).status_code == 400  # wrong password
            assert attempt(client, "nobody@example.org", PASSWORD).status_code == 400
            assert attempt(client, "doc@example.org", RIGHT).status_code == 303
            page = f"/clinician/results/{reference_of_code(code, app)}"
            token = csrf_token_from(client.get(page).get_data(as_text=True))
            review = client.post(page + "/review", data={"csrf_token": token, "note": "called " + code})
            assert review.status_code == 303
            assert client.post(page + "/review", data={"csrf_token": token, "note": "x" * 2001}).status_code == 400
            for export in ("/clinician/export.csv", "/clinician/export.fhir.json"):
                response = client.get(export)
                assert response.status_code == 200 and code not in response.get_data(as_text=True)
            assert client.get(f"/clinician/results/{reference_of_code(code.lower(), app)}").status_code == 200
            assert client.get("/clinician-explode").status_code == 500
            client.post("/clinician/logout", data={"csrf_token": token})
            # Over the per-account limit: refused, audited, and logged by Flask-Limiter (a hashed key).
            assert attempt(client, "doc@example.org", PASSWORD).status_code == 400
            assert attempt(client, "doc@example.org", PASSWORD).status_code == 429
    text = caplog.text
    assert "ZeroDivisionError" in text and "ratelimit" in text.lower()  # things were logged
    for value in (ADDRESS, PASSWORD, RIGHT, code, codes.normalise(code), code.lower(), "doc@example.org",
                  "nobody@example.org"):
        assert value not in text, value


@pytest.mark.parametrize("path, expected", [
    ("/clinician/invite/Qx7-abcDEF_0123456789abcdef", "/clinician/invite/[code]"),
    ("/clinician/reset/Qx7-abcDEF_0123456789abcdef", "/clinician/reset/[code]"),
    ("/c/r1vErS1de-l1nk-t0ken", "/c/[code]"),
])
def test_access_log_hides_link_tokens(app, path, expected):
    from app.access_log import code_routes, redact_path

    routes = code_routes(rule.rule for rule in app.url_map.iter_rules())
    assert redact_path(path, routes) == expected
    if path.startswith("/clinician/"):  # without the URL map, the account links' prefixes still hide them
        assert redact_path(path) == expected
