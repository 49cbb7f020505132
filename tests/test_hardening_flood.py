"""A sign-in flood against the documented server (2 workers, Redis, argon2 at its production cost)
leaves a person's stored submissions quick: the flood gets fast 429/503 answers instead of the CPU."""
from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.cookies import SimpleCookie

import pytest

from tests.conftest import csrf_token_from
from tests.production_server import Gunicorn, flask_command, migrate, production_environment
from tests.test_ratelimit import redis_url  # noqa: F401  (fixture: a private redis-server)

pytestmark = pytest.mark.slow
PCL5 = json.dumps({"instrument": "pcl5", "answers": [2] * 20, "store": True}).encode()
FLOOD_CLIENTS = 24
FLOOD_ADDRESSES = 48


def attempt(server: Gunicorn, address: str) -> int:
    """One wrong sign-in from `address` (as nginx would name it in X-Forwarded-For)."""
    forwarded = {"X-Forwarded-For": address}
    status, headers, body = server.request("GET", "/clinician/login", headers=forwarded)
    if status != 200:
        return status
    cookie = SimpleCookie(headers["set-cookie"])
    session = "; ".join(f"{name}={morsel.value}" for name, morsel in cookie.items())
    form = urllib.parse.urlencode({"email": "doc@example.org", "password": f"wrong guess {address}",
                                   "csrf_token": csrf_token_from(body.decode())}).encode()
    return server.request("POST", "/clinician/login", form, {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": session, **forwarded})[0]


def test_a_sign_in_flood_leaves_a_persons_stored_submission_under_a_second_at_p90(redis_url, tmp_path):  # noqa: F811
    environment = production_environment(tmp_path, FLASK_RATELIMIT_STORAGE_URI=redis_url, FLASK_TRUSTED_PROXIES="1")
    migrate(environment)
    flask_command(environment, "clinician", "create", "doc@example.org", stdin="correct horse battery 9\n")
    with Gunicorn(environment, tmp_path / "flood.log", "--workers", "2") as server:
        stop = threading.Event()
        flood_statuses: list[int] = []

        def flood(number: int) -> None:
            turn = number
            while not stop.is_set():
                try:
                    flood_statuses.append(attempt(server, f"198.51.100.{turn % FLOOD_ADDRESSES + 1}"))
                except OSError:
                    flood_statuses.append(0)
                turn += FLOOD_CLIENTS

        flooders = [threading.Thread(target=flood, args=(n,), daemon=True) for n in range(FLOOD_CLIENTS)]
        for thread in flooders:
            thread.start()
        time.sleep(2)  # the flood is under way
        timings = []
        try:
            for _ in range(15):
                started = time.perf_counter()
                status = server.request("POST", "/api/v1/screenings", PCL5,
                                        {"Content-Type": "application/json"}, timeout=30)[0]
                timings.append(time.perf_counter() - started)
                assert status == 201
                time.sleep(0.2)
        finally:
            stop.set()
            for thread in flooders:
                thread.join(30)
        timings.sort()
        p90 = timings[int(0.9 * len(timings)) - 1]
        refused = sum(status in (429, 503) for status in flood_statuses)
        print(f"\nsign-in flood: {len(flood_statuses)} attempts ({refused} refused with 429/503), "
              f"stored submissions p50 {timings[len(timings) // 2] * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms")
        assert refused > 0  # the flood was answered with refusals, not queued
        assert 0 not in flood_statuses  # and never with a dropped connection
        assert p90 < 1.0, f"stored submissions took {p90:.2f} s at p90 during the flood"
