"""Rate limits: submissions (form and API share one budget), code look-ups, the sign-in helper, off-switch."""
from __future__ import annotations

import re
import secrets

import pytest
from flask import request

from app import create_app
from app.extensions import limiter
from app.ratelimits import limit_sign_in
from tests.apps import app_with_tables, count_rows
from tests.clinician_support import PASSWORD, cheap_hashes, reference_of_code  # noqa: F401  (autouse: quick hashes)
from tests.conftest import csrf_token_from, using_postgres

PCL5 = {"instrument": "pcl5", "answers": [1] * 20, "store": True}
SMALL = {
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_SUBMISSIONS": "3 per minute",
    "RATELIMIT_CODE_LOOKUPS": "4 per minute",
    "RATELIMIT_SIGN_IN_ACCOUNT": "2 per minute",
    "RATELIMIT_SIGN_IN_CLIENT": "3 per minute",
}


@pytest.fixture
def limited(tmp_path):
    with app_with_tables("testing", tmp_path, **SMALL) as app:
        yield app


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def form_post(client, store="yes"):
    """The questionnaire sent as a browser with script sends it: a kept one carries its one-time value."""
    data = {"store": store, **{f"q{n}": "2" for n in range(1, 21)}}
    if store == "yes":
        data["submission"] = secrets.token_hex(16)
    return client.post("/screen/pcl5", data=data)


def assert_limited_form_comes_back_filled_in(response):
    """A refused questionnaire is the form again, every answer still chosen, with a plain message."""
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    html = response.get_data(as_text=True)
    assert "it was not sent this time" in html and "Your answers are still filled in below" in html
    assert all(f'name="q{n}" value="2" checked' in html for n in range(1, 21))


def assert_friendly_429(response, json_expected: bool, staff: bool = False):
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    if json_expected:
        assert response.get_json() == {"errors": ["Too many requests"]}
    else:
        html = response.get_data(as_text=True)
        assert "<h1>Too many requests</h1>" in html and "Please wait a minute" in html
        if staff:  # the workspace's own layout: no crisis footer there
            assert 'class="ws-header"' in html and "site-footer" not in html
        else:
            assert 'class="site-header"' in html and "988" in html  # the site's layout, crisis lines included


def test_form_submissions_are_limited_with_a_friendly_page(limited):
    client = client_at(limited, "192.0.2.1")
    assert [form_post(client).status_code for _ in range(3)] == [200, 200, 200]
    assert client.get("/screen/pcl5").status_code == 200  # reading the form costs nothing
    assert_limited_form_comes_back_filled_in(form_post(client))
    assert count_rows(limited) == 3


def test_api_submissions_are_limited_with_json(limited):
    client = client_at(limited, "192.0.2.2")
    assert [client.post("/api/v1/screenings", json=PCL5).status_code for _ in range(3)] == [201] * 3
    assert_friendly_429(client.post("/api/v1/screenings", json=PCL5), json_expected=True)
    assert count_rows(limited) == 3


def test_form_and_api_share_one_budget_and_rejected_bodies_count_too(limited):
    client = client_at(limited, "192.0.2.3")
    assert form_post(client).status_code == 200
    assert client.post("/api/v1/screenings", json={"instrument": "nope"}).status_code == 400
    assert client.post("/api/v1/screenings", json=PCL5).status_code == 201
    assert client.post("/api/v1/screenings", json=PCL5).status_code == 429
    assert form_post(client).status_code == 429
    assert count_rows(limited) == 2


def test_each_client_has_its_own_budget(limited):
    first, second = client_at(limited, "192.0.2.4"), client_at(limited, "198.51.100.4")
    for _ in range(3):
        first.post("/api/v1/screenings", json=PCL5)
    assert first.post("/api/v1/screenings", json=PCL5).status_code == 429
    assert second.post("/api/v1/screenings", json=PCL5).status_code == 201


def test_result_code_lookups_are_limited_whether_codes_exist_or_not(limited):
    owner = client_at(limited, "192.0.2.5")
    location = owner.post("/api/v1/screenings", json=PCL5).headers["Location"]
    guesser = client_at(limited, "203.0.113.5")
    statuses = [guesser.get(path).status_code
                for path in ["/results/0000-0000-0000", "/results/ZZZZ-ZZZZ-ZZZZ", "/results/junk", location]]
    assert statuses == [404, 404, 404, 200]
    assert_friendly_429(guesser.get(location), json_expected=False)  # even the right code, once over
    assert owner.get(location).status_code == 200


def test_rate_limit_counters_never_hold_the_client_address(limited):
    client = client_at(limited, "192.0.2.77")
    client.post("/api/v1/screenings", json=PCL5)
    client.get("/results/0000-0000-0000")
    storage = limiter._storage
    keys = " ".join(map(str, list(storage.events) + list(storage.storage)))
    assert keys and "192.0.2.77" not in keys


def test_disabled_limits_never_answer_429(tmp_path):
    with app_with_tables("testing", tmp_path, **{**SMALL, "RATELIMIT_ENABLED": False}) as app:
        client = client_at(app, "192.0.2.8")
        statuses = {client.post("/api/v1/screenings", json=PCL5).status_code for _ in range(10)}
        statuses |= {client.get("/results/0000-0000-0000").status_code for _ in range(10)}
        assert statuses == {201, 404}
        assert count_rows(app) == 10


def test_environment_switch_is_read_by_flask_limiter(monkeypatch, tmp_path):
    """FLASK_RATELIMIT_ENABLED=false reaches RATELIMIT_ENABLED, which Flask-Limiter itself reads."""
    monkeypatch.setenv("FLASK_RATELIMIT_ENABLED", "false")
    app = create_app("production", {"SECRET_KEY": "k" * 64, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["RATELIMIT_ENABLED"] is False and limiter.enabled is False
    monkeypatch.setenv("FLASK_RATELIMIT_ENABLED", "true")
    app = create_app("production", {"SECRET_KEY": "k" * 64, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["RATELIMIT_ENABLED"] is True and limiter.enabled is True


def test_production_defaults_are_on_in_memory_and_configurable(monkeypatch):
    monkeypatch.setenv("FLASK_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:1/0")
    app = create_app("production", {"SECRET_KEY": "k" * 64, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:1/0"
    assert type(limiter._storage).__name__ == "RedisStorage"
    monkeypatch.delenv("FLASK_RATELIMIT_STORAGE_URI")
    app = create_app("production", {"SECRET_KEY": "k" * 64, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["RATELIMIT_ENABLED"] is True and app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert type(limiter._storage).__name__ == "MemoryStorage"


def test_unreachable_redis_falls_back_to_memory_rather_than_refusing_answers(tmp_path):
    overrides = {**SMALL, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}
    with app_with_tables("testing", tmp_path, **overrides) as app:
        client = client_at(app, "192.0.2.9")
        statuses = [client.post("/api/v1/screenings", json=PCL5).status_code for _ in range(4)]
        assert statuses == [201, 201, 201, 429]  # still limited, per instance, in memory


@pytest.fixture
def sign_in_app(tmp_path):
    """A stand-in sign-in view using the prepared helper, as the clinician sign-in will."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://", "WTF_CSRF_ENABLED": False, **SMALL})

    @limit_sign_in(account_field="email")
    def sign_in():
        return ("welcome" if request.form.get("password") == "right" else "wrong"), 200

    app.add_url_rule("/sign-in", "sign_in", sign_in, methods=["GET", "POST"])
    return app


def test_sign_in_is_limited_per_account_from_one_client_not_for_others(sign_in_app):
    guesser = client_at(sign_in_app, "192.0.2.10")
    for _ in range(2):
        assert guesser.post("/sign-in", data={"email": "Dr.Who@Example.org ", "password": "x"}).status_code == 200
    blocked = guesser.post("/sign-in", data={"email": "dr.who@example.org", "password": "right"})
    assert_friendly_429(blocked, json_expected=False)
    # The guesses spent the guesser's budget for that account, not the clinician's own.
    elsewhere = client_at(sign_in_app, "198.51.100.10")
    own = elsewhere.post("/sign-in", data={"email": "dr.who@example.org", "password": "right"})
    assert own.get_data() == b"welcome"
    assert guesser.post("/sign-in", data={"email": "someone@example.org", "password": "x"}).status_code == 200


def test_sign_in_is_limited_per_client_across_accounts(sign_in_app):
    client = client_at(sign_in_app, "192.0.2.11")
    statuses = [client.post("/sign-in", data={"email": f"user{n}@example.org"}).status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/sign-in").status_code == 200  # only attempts count


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A private redis-server on a free loopback port, stopped afterwards."""
    import shutil
    import subprocess
    import time

    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
def test_two_gunicorn_instances_share_limits_through_redis(redis_url, tmp_path):
    """Two instances on different ports, one database, one Redis: a client's budget is shared."""
    import redis

    from tests.test_load_crash import load_bench

    bench = load_bench()
    database = bench.Database("postgresql" if using_postgres() else "sqlite", tmp_path)
    settings = {"FLASK_RATELIMIT_ENABLED": "true", "FLASK_RATELIMIT_STORAGE_URI": redis_url,
                "FLASK_RATELIMIT_SUBMISSIONS": "3 per minute", "FLASK_RATELIMIT_CODE_LOOKUPS": "4 per minute"}
    first = bench.Server(database.url, 1, 2, tmp_path / "first.log", settings=settings)
    second = bench.Server(database.url, 1, 2, tmp_path / "second.log", secret_key=first.secret_key,
                          settings=settings)
    try:
        first.migrate()
        first.start()
        second.start()
        assert first.port != second.port
        statuses = [server.request("POST", "/api/v1/screenings", PCL5)[0] for server in (first, second, first)]
        assert statuses == [201, 201, 201]
        for server in (second, first):
            status, headers = server.request("POST", "/api/v1/screenings", PCL5)
            assert status == 429 and int(headers["Retry-After"]) > 0
        lookups = [server.get("/results/0000-0000-0000") for server in (first, second) * 3]
        assert lookups == [404, 404, 404, 404, 429, 429]
        keys = sorted(key.decode() for key in redis.Redis.from_url(redis_url).keys("*"))
        # One counter per scope, named by a keyed hash of the address, never the address itself.
        assert [re.sub(r"/[0-9a-f]{32}/", "/<hash>/", key) for key in keys] == [
            "LIMITS:LIMITER/ptsd/<hash>/code-lookups/4/1/minute", "LIMITS:LIMITER/ptsd/<hash>/submissions/3/1/minute"]
    finally:
        first.stop()
        second.stop()
        database.drop()


# --- The real clinician sign-in (POST /clinician/login) --------------------------------------------

def add_clinician(app, email="doc@example.org", role="clinician"):
    from app.auth.passwords import hash_password
    from app.extensions import db
    from app.models import Clinician

    with app.app_context():
        clinician = Clinician(email=email, password_hash=hash_password(PASSWORD), role=role)
        db.session.add(clinician)
        db.session.commit()
        return clinician.id


def audit_rows(app) -> list[tuple]:
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import AuditEvent

    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.clinician_id, AuditEvent.target, AuditEvent.detail)
            .order_by(AuditEvent.id))]


def attempt(client, email, password, address=None, headers=None):
    """One sign-in through the real form, from `address` (the socket's REMOTE_ADDR)."""
    environ = {"REMOTE_ADDR": address} if address else {}
    token = csrf_token_from(client.get("/clinician/login", environ_overrides=environ).get_data(as_text=True))
    return client.post("/clinician/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_overrides=environ, headers=headers or {})


@pytest.fixture
def sign_in_limited(tmp_path):
    with app_with_tables("testing", tmp_path, **SMALL) as app:
        yield app


def test_real_sign_in_wrong_passwords_from_one_client_do_not_lock_out_another(sign_in_limited):
    app = sign_in_limited
    doctor = add_clinician(app)
    client = app.test_client()
    assert [attempt(client, "doc@example.org", "wrong " + n, "192.0.2.10").status_code for n in "12"] == [400, 400]
    blocked = attempt(client, " DOC@example.org", PASSWORD, "192.0.2.10")  # even the right password, there
    assert_friendly_429(blocked, json_expected=False, staff=True)
    assert client.get("/clinician/").status_code == 302  # not signed in
    # The clinician, from their own computer, signs in at once.
    assert attempt(app.test_client(), "doc@example.org", PASSWORD, "198.51.100.10").status_code == 303
    rows = audit_rows(app)
    assert rows[:2] == [("sign_in_failed", doctor, None, None)] * 2
    assert rows[2] == ("sign_in_limited", doctor, None, "too many attempts (per account)")
    assert rows[3] == ("sign_in", doctor, None, None)
    assert PASSWORD not in str(rows) and "wrong" not in str(rows) and "doc@example.org" not in str(rows)


def test_real_sign_in_is_limited_per_client_across_emails(sign_in_limited):
    app = sign_in_limited
    doctor = add_clinician(app)
    client = app.test_client()
    statuses = [attempt(client, f"user{n}@example.org", "guess-" + str(n), "192.0.2.11").status_code
                for n in range(3)]
    assert statuses == [400, 400, 400]
    assert_friendly_429(attempt(client, "doc@example.org", PASSWORD, "192.0.2.11"), json_expected=False, staff=True)
    assert client.get("/clinician/login", environ_overrides={"REMOTE_ADDR": "192.0.2.11"}).status_code == 200
    # Recorded against the account the refused attempt named.
    assert audit_rows(app)[-1] == ("sign_in_limited", doctor, None, "too many attempts (per client)")
    # The real clinician, from elsewhere, still gets in.
    assert attempt(app.test_client(), "doc@example.org", PASSWORD, "198.51.100.11").status_code == 303


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(tmp_path):
    spoofed = [{"X-Forwarded-For": f"198.51.100.{n}"} for n in range(4)]
    with app_with_tables("testing", tmp_path, **SMALL) as app:  # TRUSTED_PROXIES = 0
        client = app.test_client()
        statuses = [attempt(client, f"u{n}@example.org", "x" * 12, "192.0.2.12", headers).status_code
                    for n, headers in enumerate(spoofed)]
        assert statuses == [400, 400, 400, 429]  # a forged header does not buy a fresh budget
    with app_with_tables("testing", tmp_path, **SMALL, TRUSTED_PROXIES=1) as app:
        client = app.test_client()
        statuses = [attempt(client, f"u{n}@example.org", "x" * 12, "10.0.0.1", headers).status_code
                    for n, headers in enumerate(spoofed)]
        assert statuses == [400, 400, 400, 400]  # behind the proxy, each client has its own budget
        statuses = [attempt(client, "one@example.org", "x" * 12, "10.0.0.1", spoofed[0]).status_code
                    for _ in range(3)]
        assert statuses == [400, 400, 429]  # and the per-account limit holds for each of them
        assert attempt(client, "one@example.org", "x" * 12, "10.0.0.1", spoofed[1]).status_code == 400


def test_sign_in_limits_are_off_when_disabled(tmp_path):
    with app_with_tables("testing", tmp_path, **{**SMALL, "RATELIMIT_ENABLED": False}) as app:
        add_clinician(app)
        client = app.test_client()
        assert {attempt(client, "doc@example.org", "wrong-password", "192.0.2.13").status_code
                for _ in range(8)} == {400}
        assert attempt(client, "doc@example.org", PASSWORD, "192.0.2.13").status_code == 303
        assert "sign_in_limited" not in [row[0] for row in audit_rows(app)]


# --- Every view that takes a result code shares one look-up budget ---------------------------------

LOOKUPS = {**SMALL, "RATELIMIT_SUBMISSIONS": "100 per minute"}  # so only the look-up budget can run out


def pcl5_form(client, previous: str, url="/screen/pcl5"):
    data = {"store": "no", "previous": previous, **{f"q{n}": "2" for n in range(1, 21)}}
    return client.post(url, data=data)


CODE_PATHS = {
    "result page": lambda client, code: client.get(f"/results/{code}"),
    "FHIR download": lambda client, code: client.get(f"/results/{code}.fhir.json"),
    "delete confirmation": lambda client, code: client.get(f"/results/{code}/delete"),
    "delete POST": lambda client, code: client.post(f"/results/{code}/delete", data={}),
    "home page code box": lambda client, code: client.post("/results", data={"code": code}),
    "API DELETE": lambda client, code: client.delete(f"/api/v1/screenings/{code}"),
    "form link ?previous=": lambda client, code: client.get(f"/screen/pcl5?previous={code}"),
    "form previous field": pcl5_form,
    "compare button": lambda client, code: client.post("/screen/pcl5/compare", data={"previous": code}),
    "download button": lambda client, code: client.post("/results/download", data={"code": code}),
    "delete button": lambda client, code: client.post("/results/delete", data={"code": code}),
    "delete confirmed": lambda client, code: client.post("/results/delete", data={"code": code, "confirm": "yes"}),
    "API previous": lambda client, code: client.post("/api/v1/screenings", json={**PCL5, "store": False,
                                                                                 "previous": code}),
}
GUESS_STATUSES = {"result page": 404, "FHIR download": 404, "delete confirmation": 404, "delete POST": 404,
                  "home page code box": 404,
                  "API DELETE": 404, "form link ?previous=": 200, "form previous field": 400, "API previous": 400,
                  "compare button": 200, "download button": 404, "delete button": 404, "delete confirmed": 404}


@pytest.fixture
def lookup_limited(tmp_path):
    with app_with_tables("testing", tmp_path, **LOOKUPS) as app:
        yield app


@pytest.mark.parametrize("path", CODE_PATHS, ids=list(CODE_PATHS))
def test_code_enumeration_is_cut_off_on_every_path(lookup_limited, path):
    app = lookup_limited
    real = client_at(app, "192.0.2.20").post("/api/v1/screenings", json=PCL5).get_json()["code"]
    guesser = client_at(app, "203.0.113.20")
    guesses = ["0000-0000-0000", "ZZZZ-ZZZZ-ZZZZ", "junk", "7KQ2-M9XD-4TPA"]
    assert [CODE_PATHS[path](guesser, code).status_code for code in guesses] == [GUESS_STATUSES[path]] * 4
    over = CODE_PATHS[path](guesser, real)  # the right code, once over the budget, tells nothing
    if path == "home page code box":  # the home page again, what was typed still in the box
        assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0
        html = over.get_data(as_text=True)
        assert f'value="{real}"' in html and "Too many codes were tried" in html and 'aria-invalid="true"' in html
    elif path == "form previous field":
        assert_limited_form_comes_back_filled_in(over)
    else:
        assert_friendly_429(over, json_expected=path.startswith("API"))
    assert count_rows(app) == 1  # not deleted, nothing stored
    assert client_at(app, "192.0.2.20").get(f"/results/{real}").status_code == 200  # others unaffected


def test_one_budget_is_shared_by_every_code_path(lookup_limited):
    app = lookup_limited
    guesser = client_at(app, "203.0.113.21")
    paths = list(CODE_PATHS)
    statuses = [CODE_PATHS[path](guesser, "0000-0000-000" + str(n)).status_code for n, path in enumerate(paths[:4])]
    assert statuses == [404] * 4
    assert {CODE_PATHS[path](guesser, "ZZZZ-ZZZZ-ZZZZ").status_code for path in paths} == {429}


def test_submissions_without_a_previous_code_do_not_spend_the_lookup_budget(lookup_limited):
    app = lookup_limited
    client = client_at(app, "203.0.113.22")
    for n in range(4):
        client.get(f"/results/0000-0000-000{n}")
    assert client.get("/results/0000-0000-0009").status_code == 429
    assert client.get("/screen/pcl5").status_code == 200
    assert pcl5_form(client, previous="").status_code == 200  # scored, not stored, no comparison
    assert client.post("/api/v1/screenings", json=PCL5).status_code == 201
    assert client.post("/api/v1/screenings", json={**PCL5, "previous": None}).status_code == 201
    assert client.post("/api/v1/screenings", json={**PCL5, "previous": "0000-0000-0000"}).status_code == 429
    assert count_rows(app) == 2


def test_storing_a_result_is_never_blocked_by_the_lookup_limit(lookup_limited):
    """Over the look-up budget, a form that keeps its result and compares with an earlier code is still
    stored and shown (the submissions' budget governs it); one that only compares is refused, filled in."""
    app = lookup_limited
    client = client_at(app, "203.0.113.24")
    earlier = client.post("/api/v1/screenings", json=PCL5).get_json()["code"]
    for n in range(4):
        client.get(f"/results/0000-0000-000{n}")
    assert client.get("/results/0000-0000-0009").status_code == 429
    data = {"store": "yes", "previous": earlier, "submission": secrets.token_hex(16),
            **{f"q{n}": "2" for n in range(1, 21)}}
    kept = client.post("/screen/pcl5", data=data)
    assert kept.status_code == 200 and "Kept — you can come back to it with this code" in kept.get_data(as_text=True)
    assert client.post("/screen/pcl5", data=data).status_code == 200  # Reload: the same result
    assert count_rows(app) == 2
    assert_limited_form_comes_back_filled_in(pcl5_form(client, previous=earlier))


def test_clinician_views_are_not_limited_by_code_lookups(lookup_limited):
    """Signed in and audited, the workspace is not limited this way: a clinician can open many results."""
    app = lookup_limited
    add_clinician(app, role="admin")  # sees a result by its whole code, though no clinic has it
    client = client_at(app, "192.0.2.23")
    code = client.post("/api/v1/screenings", json=PCL5).get_json()["code"]
    assert attempt(client, "doc@example.org", PASSWORD).status_code == 303
    statuses = {client.get(f"/clinician/results/{reference_of_code(code, app)}").status_code for _ in range(8)}
    statuses |= {client.get("/clinician/results/0000-0000-0000").status_code for _ in range(8)}
    assert statuses == {200, 404}
