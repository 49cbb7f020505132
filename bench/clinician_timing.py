"""Time the clinician workspace under gunicorn on a seeded database, and the export's worker peak memory.

    python bench/clinician_timing.py --database-url sqlite:////tmp/bench.sqlite --count 100000
    .ci/with-postgres bash -c '.venv/bin/python bench/clinician_timing.py --database-url "$TEST_DATABASE_URL"'

Seeds (with `flask seed-demo`) up to --count results, creates a clinician, starts gunicorn (2 workers,
APP_ENV=production) on 127.0.0.1 only, signs in, and reports the median of --requests timed requests
per page, the full CSV export's time and each worker's peak resident memory (VmHWM) around it.
Production cookies are Secure; this plain-http measurement sets FLASK_SESSION_COOKIE_SECURE=false.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
EMAIL, PASSWORD = "bench@example.org", "bench-password-" + "x" * 8


def flask(database_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "APP_ENV": "development", "DATABASE_URL": database_url}
    return subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=1800)


def stored(database_url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT count(*) FROM screenings")).scalar_one()
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def memory_kib(pid: int, field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(match.group(1)) if match else -1


def reset_peak(pid: int) -> bool:
    """Linux resets VmHWM to the current RSS when 5 is written to clear_refs (our own process)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Client:
    """A cookie-keeping HTTP client for 127.0.0.1."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, bytes, float]:
        start = time.perf_counter()
        with self.opener.open(self.base + path, timeout=600) as response:
            body = response.read()
            return response.status, body, time.perf_counter() - start

    def download(self, path: str) -> tuple[int, int, int, float]:
        """(status, bytes, newlines, seconds), reading in pieces so the client's memory stays small."""
        start = time.perf_counter()
        size = lines = 0
        with self.opener.open(self.base + path, timeout=600) as response:
            while piece := response.read(1 << 16):
                size += len(piece)
                lines += piece.count(b"\n")
            return response.status, size, lines, time.perf_counter() - start

    def sign_in(self) -> None:
        _status, body, _t = self.get("/clinician/login")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1).decode()
        data = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": token}).encode()
        with self.opener.open(self.base + "/clinician/login", data=data, timeout=60) as response:
            if not response.geturl().endswith("/clinician/"):
                raise SystemExit("sign-in failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--exports", type=int, default=3)
    args = parser.parse_args()
    report: dict = {"database": args.database_url.split(":", 1)[0]}

    upgrade = flask(args.database_url, "db", "upgrade")
    if upgrade.returncode:
        raise SystemExit(upgrade.stderr)
    missing = args.count - stored(args.database_url)
    if missing > 0:
        start = time.perf_counter()
        seeded = flask(args.database_url, "seed-demo", "--count", str(missing), "--seed", "1")
        if seeded.returncode:
            raise SystemExit(seeded.stderr)
        report["seed_seconds"] = round(time.perf_counter() - start, 1)
    report["results"] = stored(args.database_url)
    flask(args.database_url, "clinician", "create", EMAIL, stdin=f"{PASSWORD}\n{PASSWORD}\n")  # may exist already

    port = free_port()
    env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
           "DATABASE_URL": args.database_url, "FLASK_SESSION_COOKIE_SECURE": "false"}
    server = subprocess.Popen([str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "600",
                               "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    try:
        client = Client(f"http://127.0.0.1:{port}")
        for _attempt in range(100):
            try:
                client.get("/clinician/login")
                break
            except OSError:
                time.sleep(0.1)
        client.sign_in()
        since = (date.today() - timedelta(days=90)).isoformat()
        pages = {
            "queue": "/clinician/",
            "queue page 100": "/clinician/?page=100",
            "filtered queue": f"/clinician/?instrument=pcl5&cutoff=yes&reviewed=no&from={since}",
            "code search": "/clinician/?code=7K",
            "statistics": "/clinician/stats",
            "filtered statistics": f"/clinician/stats?instrument=pcl5&from={since}",
        }
        timings = {}
        for name, path in pages.items():
            client.get(path)  # warm up
            times = []
            for _ in range(args.requests):
                status, _body, seconds = client.get(path)
                assert status == 200, (path, status)
                times.append(seconds)
            timings[name] = {"median_ms": round(1000 * statistics.median(times), 1),
                             "max_ms": round(1000 * max(times), 1)}
        report["pages"] = timings

        workers = children(server.pid)
        exports = {}
        for name, path in (("csv", "/clinician/export.csv"), ("fhir", "/clinician/export.fhir.json")):
            before = {pid: memory_kib(pid, "VmRSS") for pid in workers}
            resettable = all(reset_peak(pid) for pid in workers)
            times, size, lines = [], 0, 0
            for _ in range(args.exports):
                status, size, lines, seconds = client.download(path)
                assert status == 200
                times.append(seconds)
            exports[name] = {
                "median_s": round(statistics.median(times), 2), "bytes": size, "newlines": lines,
                "worker_rss_before_kib": sorted(before.values()),
                "worker_peak_kib": sorted(memory_kib(pid, "VmHWM") for pid in workers),
                "peak_reset_before": resettable,
            }
        report["exports"] = exports
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    json.dump(report, sys.stdout, indent=2)
    print()
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / f"clinician-{report['database']}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
