"""Several instances: two gunicorn servers over one database and one Redis share clinician sessions
(sign-out on one ends the session on both, even for a copied cookie) and every rate limit."""
from __future__ import annotations

import http.client
import re
import subprocess
import sys
from urllib.parse import urlencode

import pytest

from tests.conftest import using_postgres
from tests.test_ratelimit import redis_url  # noqa: F401  (fixture: a private redis-server)

EMAIL, PASSWORD = "doc@example.org", "a long enough passphrase 42"
TOKEN = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


class Browser:
    """Keeps cookies like a browser, but lets the test send them to either instance, or replay old ones."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, server, method: str, path: str, form: dict | None = None, cookies: dict | None = None):
        cookies = self.cookies if cookies is None else cookies
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        if cookies is self.cookies:
            for header in response.headers.get_all("Set-Cookie") or []:
                name, value = header.split(";", 1)[0].split("=", 1)
                if value and "01 Jan 1970" not in header:
                    self.cookies[name] = value
                else:
                    self.cookies.pop(name, None)
        return response.status, response.headers, text

    def token(self, server, path: str) -> str:
        status, _headers, html = self.request(server, "GET", path)
        assert status == 200, (path, status)
        return TOKEN.search(html).group(1)


@pytest.mark.slow
def test_two_instances_share_clinician_sessions_and_every_limit(redis_url, tmp_path):  # noqa: F811
    from tests.test_load_crash import load_bench

    bench = load_bench()
    database = bench.Database("postgresql" if using_postgres() else "sqlite", tmp_path)
    # Plain http on loopback in this test only: production cookies are Secure. Two-factor (required in
    # production) is not what this test is about: tests/test_two_factor.py covers it.
    settings = {"FLASK_RATELIMIT_ENABLED": "true", "FLASK_RATELIMIT_STORAGE_URI": redis_url,
                "FLASK_SESSION_COOKIE_SECURE": "false", "FLASK_REQUIRE_2FA": "false",
                "FLASK_RATELIMIT_SIGN_IN_ACCOUNT": "3 per minute",
                "FLASK_RATELIMIT_CODE_LOOKUPS": "4 per minute"}
    a = bench.Server(database.url, 1, 2, tmp_path / "a.log", settings=settings)
    b = bench.Server(database.url, 1, 2, tmp_path / "b.log", secret_key=a.secret_key, settings=settings)
    try:
        a.migrate()
        created = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "clinician", "create", EMAIL],
                                 cwd=bench.ROOT, env=a.environment(), input=f"{PASSWORD}\n{PASSWORD}\n",
                                 capture_output=True, text=True, timeout=120)
        assert created.returncode == 0, created.stderr
        a.start()
        b.start()
        assert a.port != b.port

        # Sessions: sign in on A through the real form, use the same cookie on B, sign out on B.
        browser = Browser()
        token = browser.token(a, "/clinician/login")
        status, headers, _ = browser.request(a, "POST", "/clinician/login",
                                             {"email": EMAIL, "password": PASSWORD, "csrf_token": token})
        assert status == 303 and headers["Location"].endswith("/clinician/")
        assert browser.request(a, "GET", "/clinician/")[0] == 200
        status, _headers, html = browser.request(b, "GET", "/clinician/")
        assert status == 200 and "Sign out" in html  # B knows the session A started
        copied = dict(browser.cookies)  # e.g. a second tab, or a cookie lifted from the machine
        status, headers, _ = browser.request(b, "POST", "/clinician/logout",
                                             {"csrf_token": browser.token(b, "/clinician/")})
        assert status == 303 and headers["Location"].endswith("/clinician/login")
        for server in (a, b):
            for cookies in (browser.cookies, copied):
                status, headers, _ = browser.request(server, "GET", "/clinician/", cookies=cookies)
                assert status == 302 and "/clinician/login" in headers["Location"], (server.port, status)

        # Limits: the per-account sign-in limit counts attempts on both instances together…
        guesser = Browser()
        statuses = []
        for server in (a, b, a, b):
            token = guesser.token(server, "/clinician/login")
            statuses.append(guesser.request(server, "POST", "/clinician/login",
                                            {"email": "other@example.org", "password": "guess " * 3,
                                             "csrf_token": token})[0])
        assert statuses == [400, 400, 400, 429]
        # …and so does the code look-up budget, over every path that takes a code.
        looker = Browser()
        statuses = [looker.request(a, "GET", "/results/0000-0000-0000.fhir.json")[0],
                    looker.request(b, "GET", "/results/0000-0000-0000/delete")[0],
                    looker.request(a, "DELETE", "/api/v1/screenings/0000-0000-0000")[0],
                    looker.request(b, "GET", "/screen/pcl5?previous=0000-0000-0000")[0],
                    looker.request(a, "GET", "/results/0000-0000-0000")[0],
                    looker.request(b, "DELETE", "/api/v1/screenings/0000-0000-0000")[0]]
        assert statuses == [404, 404, 404, 200, 429, 429]
    finally:
        a.stop()
        b.stop()
        database.drop()
