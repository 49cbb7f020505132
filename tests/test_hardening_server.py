"""Issue 17 against a real gunicorn started as documented (APP_ENV=production, SECRET_KEY, SQLite file):
slow clients, rate limits across workers, result codes in the access log, chunked bodies."""
from __future__ import annotations

import json
import re
import socket
import time
import urllib.parse
from http.cookies import SimpleCookie

import pytest

from app.screening import codes
from tests.conftest import csrf_token_from
from tests.production_server import ROOT, Gunicorn, flask_command, migrate, production_environment, refused_start
from tests.test_ratelimit import redis_url  # noqa: F401  (fixture: a private redis-server)

pytestmark = pytest.mark.slow
PCL5 = {"instrument": "pcl5", "answers": [2] * 20, "store": True}
REFUSAL = re.compile(r"^Error: refusing to start (\d+) workers with rate limits counted in each worker's memory")


@pytest.fixture
def production(tmp_path):
    """A migrated SQLite file and the documented environment for it."""
    environment = production_environment(tmp_path)
    migrate(environment)
    return environment


# --- 1. slow clients ------------------------------------------------------------------------------

HALF_SENT = {
    "headers": b"GET /screen/pcl5 HTTP/1.1\r\nHost: localhost\r\nAccept: text/ht",
    "body": (b"POST /api/v1/screenings HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
             b"Content-Length: 400\r\n\r\n{\"instrument\": \"pc"),
}


def timed_get(server: Gunicorn, path: str) -> tuple[int, float]:
    started = time.perf_counter()
    status = server.request("GET", path, timeout=1)[0]  # a stalled server raises TimeoutError here
    return status, time.perf_counter() - started


@pytest.mark.parametrize("workers", [1, 2])
def test_two_half_sent_requests_do_not_hold_up_anyone_else(production, redis_url, tmp_path, workers):  # noqa: F811
    """Two connections that send part of a request and wait (one in its headers, one in its body) stay
    open while other people's requests are answered within a second, on one worker as on two."""
    environment = {**production, "FLASK_RATELIMIT_STORAGE_URI": redis_url}
    with Gunicorn(environment, tmp_path / "gunicorn.log", "--workers", str(workers)) as server:
        assert "Using worker: gthread" in server.log()
        server.request("GET", "/screen/pcl5")  # every worker has rendered the page once before the clock runs
        stalled = [socket.create_connection(("127.0.0.1", server.port)) for _ in HALF_SENT]
        try:
            for sock, part in zip(stalled, HALF_SENT.values()):
                sock.sendall(part)
            time.sleep(0.5)  # the server has read what there is and waits for the rest
            timings = [timed_get(server, path) for path in ["/screen/pcl5", "/", "/learn/ptsd"] * 2]
            assert [status for status, _ in timings] == [200] * 6
            assert max(seconds for _, seconds in timings) < 1.0, timings
            status, _, body = server.request("POST", "/api/v1/screenings", json.dumps(PCL5).encode(),
                                             {"Content-Type": "application/json"}, timeout=1)
            assert status == 201 and json.loads(body)["code"]
            for sock in stalled:  # the stalled ones are still open, not dropped to make room
                sock.setblocking(False)
                with pytest.raises(BlockingIOError):
                    sock.recv(1)
        finally:
            for sock in stalled:
                sock.close()


# --- 2. rate limits and workers ---------------------------------------------------------------------

def conf_with_two_workers(tmp_path) -> str:
    """A site's own conf file that takes ours and sets the worker count there."""
    path = tmp_path / "site.conf.py"
    path.write_text(f"exec(open({str(ROOT / 'gunicorn.conf.py')!r}).read())\nworkers = 2\n")
    return str(path)


@pytest.mark.parametrize("source", ["command line", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY", "conf file"])
def test_several_workers_with_limits_in_memory_refuse_to_start_with_one_line(production, tmp_path, source):
    environment, arguments = dict(production), []
    if source == "command line":
        arguments = ["--workers", "2"]  # the README's production command, as written
    elif source == "GUNICORN_CMD_ARGS":
        environment["GUNICORN_CMD_ARGS"] = "--workers 3"
    elif source == "WEB_CONCURRENCY":
        environment["WEB_CONCURRENCY"] = "2"
    else:
        arguments = ["--config", conf_with_two_workers(tmp_path)]
    status, output = refused_start(environment, tmp_path / "refused.log", *arguments)
    assert status == 1, output
    reasons = [line for line in output.splitlines() if REFUSAL.match(line)]
    assert len(reasons) == 1 and "FLASK_RATELIMIT_STORAGE_URI=redis://" in reasons[0], output
    assert "Traceback" not in output and "Booting worker" not in output


def test_one_worker_with_limits_in_memory_starts(production, tmp_path):
    """The guard is about several processes: a single worker (with its threads) counts every request."""
    with Gunicorn(production, tmp_path / "one.log", "--workers", "1") as server:
        assert server.request("GET", "/")[0] == 200


def sign_in_attempt(server: Gunicorn, email: str, password: str) -> int:
    """GET the form (its session cookie and token), then POST it, each on a new connection."""
    status, headers, body = server.request("GET", "/clinician/login")
    assert status == 200
    cookie = SimpleCookie(headers["set-cookie"])
    session = "; ".join(f"{name}={morsel.value}" for name, morsel in cookie.items())
    form = urllib.parse.urlencode({"email": email, "password": password,
                                   "csrf_token": csrf_token_from(body.decode())}).encode()
    return server.request("POST", "/clinician/login", form,
                          {"Content-Type": "application/x-www-form-urlencoded", "Cookie": session})[0]


def test_ten_wrong_sign_ins_over_two_workers_are_limited_at_the_configured_count(production, redis_url,  # noqa: F811
                                                                                  tmp_path):
    """The documented command with Redis: 5 per minute per account holds across both workers."""
    environment = {**production, "FLASK_RATELIMIT_STORAGE_URI": redis_url}
    flask_command(environment, "clinician", "create", "doc@example.org", stdin="correct horse battery 9\n")
    # The access log names the worker (%(p)s) here only, to show that both workers answered.
    with Gunicorn(environment, tmp_path / "two.log", "--workers", "2",
                  "--access-logformat", '%(p)s "%(m)s %(U)s %(H)s" %(s)s') as server:
        statuses = [sign_in_attempt(server, "doc@example.org", f"wrong password {n}") for n in range(10)]
        # Five wrong passwords are answered as wrong; from the sixth the account's limit refuses.
        assert statuses == [400] * 5 + [429] * 5
        served = re.findall(r'^<(\d+)> "POST /clinician/login HTTP/1.1" (\d+)$', server.log(), re.MULTILINE)
        assert sorted(int(status) for _pid, status in served) == sorted(statuses)
        assert len({pid for pid, _status in served}) == 2, "both workers answered sign-ins"


# --- 4. result codes in the access log --------------------------------------------------------------

def odd_spellings(code: str) -> list[str]:
    """How people and scripts may write one code: every one of these opens the same result."""
    plain = code.replace("-", "")
    groups = [plain[:4], plain[4:8], plain[8:]]
    return [
        code,
        plain.lower(),
        " ".join(groups),
        "  ".join(groups).lower(),
        "--".join(groups),
        "-" + "-".join(plain) + "-",
        "\t".join(groups),
        plain[:6].lower() + "-" + plain[6:],
        plain.replace("1", "ı").replace("S", "ſ").lower(),
        plain.replace("1", "I").replace("0", "o"),
    ]


def quoted(spelling: str) -> str:
    return urllib.parse.quote(spelling, safe="-")


def test_access_log_redacts_result_codes_in_any_spelling_on_every_code_route(production, tmp_path):
    environment = {**production, "FLASK_RATELIMIT_ENABLED": "false"}  # 70 look-ups of one code, on purpose
    with Gunicorn(environment, tmp_path / "access.log", "--workers", "1") as server:
        status, _, body = server.request("POST", "/api/v1/screenings", json.dumps(PCL5).encode(),
                                         {"Content-Type": "application/json"})
        code = json.loads(body)["code"]
        spellings = odd_spellings(code)
        assert {codes.normalise(urllib.parse.unquote(quoted(s))) for s in spellings} == {codes.normalise(code)}
        requests = []
        for spelling in spellings:
            path = quoted(spelling)
            requests += [("GET", f"/results/{path}"), ("GET", f"/results/{path}.fhir.json"),
                         ("GET", f"/results/{path}/delete"), ("GET", f"/clinician/results/{path}"),
                         ("POST", f"/clinician/results/{path}/review"), ("GET", f"/results/{path}/typo"),
                         ("GET", f"/no-such-page/{path}")]
        requests.append(("DELETE", f"/api/v1/screenings/{quoted(spellings[-2])}"))  # last: it deletes
        statuses = [server.request(method, path)[0] for method, path in requests]
        # Every spelling opened the result (and the last request deleted it): these are real code look-ups.
        assert statuses[:-1][0::7] == [200] * len(spellings) and statuses[-1] == 204, statuses
    log = server.log()
    lines = [line for line in log.splitlines() if " HTTP/1.1\" " in line]
    assert len(lines) >= len(requests) + 2  # and the start-up probe and the submission
    assert sum("[code]" in line for line in lines) == len(requests)
    # No trace of the code, however it was spelled: fold the log as the normaliser folds a code.
    folded = re.sub(r"[\s\-]", "", log.upper().translate(str.maketrans({"I": "1", "L": "1", "O": "0"})))
    plain = codes.normalise(code)
    for start in range(len(plain) - 5):
        assert plain[start:start + 6] not in folded, plain[start:start + 6]
