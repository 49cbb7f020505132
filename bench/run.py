"""One benchmark run, side by side: the bare-Flask ceiling, the person-facing endpoints and the clinician
workspace on seeded SQLite and PostgreSQL databases, all under gunicorn with the production settings + wrk.

    .venv/bin/python bench/run.py                                     # everything (1,000,000 rows: ~1 hour)
    .venv/bin/python bench/run.py --sizes 10000,100000 --databases sqlite --workdir /tmp/bench

PostgreSQL comes from TEST_DATABASE_URL; without it, the run re-starts itself under .ci/with-postgres
(a throw-away cluster). Seeded SQLite databases are kept in --workdir and reused by later runs.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import http.cookiejar
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GUNICORN_ARGS = ["--workers", "2", "--worker-class", "sync", "--log-level", "warning"]
CLINICIAN_EMAIL, CLINICIAN_PASSWORD = "bench@example.org", "bench-password-" + "x" * 8
PCL5_JSON = {"instrument": "pcl5", "answers": [2, 1, 0, 3, 2, 1, 0, 2, 1, 1, 2, 3, 1, 0, 2, 1, 2, 2, 1, 3]}


@dataclass
class Measurement:
    """One scenario's figures, from wrk."""

    name: str
    requests_per_second: float
    median_ms: float
    p99_ms: float
    non_2xx_3xx: int = 0
    ratio: float | None = None
    notes: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


class Server:
    """A gunicorn process on a free loopback port, stopped on exit."""

    def __init__(self, target: str, env: dict, cwd: Path, extra: tuple[str, ...] = ()):
        self.port = free_port()
        self.command = [str(BIN / "gunicorn"), *GUNICORN_ARGS, *extra, "--bind", f"127.0.0.1:{self.port}", target]
        self.process = subprocess.Popen(self.command, cwd=cwd, env=env, start_new_session=True)
        wait_for(self.port)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=20)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def duration_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def wrk(name: str, port: int, path: str, seconds: int, connections: int, lua: str | None = None,
        cookie: str | None = None) -> Measurement:
    """Run wrk against one URL; a Lua script sets method, body and headers for POSTs."""
    command = ["wrk", "--latency", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s",
               "--timeout", "60s"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    script = None
    if lua:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write(lua)
        script.close()
        command += ["-s", script.name]
    command.append(f"http://127.0.0.1:{port}{path}")
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if script:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    if int(re.search(r"(\d+) requests in", output).group(1)) == 0:  # every request outlasted the run
        return Measurement(name, 0.0, float("inf"), float("inf"), notes=[f"no request completed in {seconds} s"])
    median = duration_ms(re.search(r"\s50%\s+(\S+)", output).group(1))
    p99 = duration_ms(re.search(r"\s99%\s+(\S+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Measurement(name, rps, median, p99, int(errors.group(1)) if errors else 0)


def lua_post(body: str, content_type: str, cookie: str | None = None) -> str:
    headers = f'wrk.headers["Content-Type"] = {json.dumps(content_type)}\n'
    if cookie:
        headers += f'wrk.headers["Cookie"] = {json.dumps(cookie)}\n'
    return f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n{headers}'


def form_session(port: int) -> tuple[str, str]:
    """A session cookie and its CSRF token, as a browser holds them after opening the form."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", "/screen/pcl5")
    response = connection.getresponse()
    html = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    return cookie, token


def page_weight(port: int, path: str) -> tuple[int, int]:
    """Bytes of a page plus the same-site CSS/JS it references, and how many requests that takes."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", path)
    html = connection.getresponse().read()
    assets = re.findall(rb'(?:href|src)="(/static/[^"]+\.(?:css|js))"', html)
    total = len(html)
    for asset in assets:
        connection.request("GET", asset.decode())
        total += len(connection.getresponse().read())
    return total, 1 + len(assets)


def app_environment(database_url: str) -> dict:
    env = dict(os.environ)
    env.update(APP_ENV="production", SECRET_KEY=secrets.token_hex(32), DATABASE_URL=database_url,
               FLASK_RATELIMIT_ENABLED="false")
    return env


def person_facing(seconds: int, connections: int, workdir: Path) -> tuple[list[Measurement], dict]:
    """The ceiling and the person-facing endpoints, in one run on one fresh SQLite database."""
    for stale in workdir.glob("bench.sqlite*"):
        stale.unlink()
    env = app_environment(f"sqlite:///{workdir / 'bench.sqlite'}")
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    results = []
    with Server("hello:app", dict(os.environ), ROOT / "bench") as hello:
        wrk("warm-up", hello.port, "/", 2, connections)
        results.append(wrk("ceiling: bare Flask hello world", hello.port, "/", seconds, connections))
    weights = {}
    with Server("wsgi:app", env, ROOT) as app:
        wrk("warm-up", app.port, "/screen/pcl5", 2, connections)
        results.append(wrk("GET /", app.port, "/", seconds, connections))
        results.append(wrk("GET /screen/pcl5", app.port, "/screen/pcl5", seconds, connections))
        for store in (False, True):
            body = json.dumps({**PCL5_JSON, "store": store})
            results.append(wrk(f"POST /api/v1/screenings (store={str(store).lower()})", app.port,
                               "/api/v1/screenings", seconds, connections, lua_post(body, "application/json")))
        cookie, token = form_session(app.port)
        form = "&".join([f"csrf_token={token}", "store=no"] + [f"q{n}={v}" for n, v in enumerate(PCL5_JSON["answers"], 1)])
        results.append(wrk("POST /screen/pcl5 (form, not stored)", app.port, "/screen/pcl5", seconds, connections,
                           lua_post(form, "application/x-www-form-urlencoded", cookie)))
        for path in ("/", "/screen/pcl5", "/screen/pcptsd5"):
            weights[path] = page_weight(app.port, path)
    ceiling = results[0].requests_per_second
    for measurement in results:
        measurement.ratio = measurement.requests_per_second / ceiling
    return results, weights


# --- the clinician workspace on seeded databases ---------------------------------------------------

@dataclass
class Export:
    """A full CSV export: its rows, its time and the serving worker's peak memory."""

    database: str
    results: int
    rows: int
    seconds: float
    peak_mib: float | None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


def flask_command(database_url: str, *args: str, stdin: str | None = None, check: bool = True):
    """A `flask` command against the benchmark database; seed-demo refuses production, so development."""
    env = {**os.environ, "APP_ENV": "development", "DATABASE_URL": database_url}
    done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True)
    if check and done.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stderr}")
    return done


def stored(database_url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT count(*) FROM screenings")).scalar_one()
    finally:
        engine.dispose()


def seed_to(database_url: str, size: int) -> float | None:
    """Top the database up to `size` results (10k, then 100k, then 1M reuse what is there); seconds taken."""
    missing = size - stored(database_url)
    if missing <= 0:
        return None
    start = time.perf_counter()
    flask_command(database_url, "seed-demo", "--count", str(missing), "--seed", str(size))
    return time.perf_counter() - start


def workers_of(pid: int) -> list[int]:
    """The gunicorn master's worker processes."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                found.append(int(entry.name))
    return found


def peak_kib(pid: int) -> int:
    """VmHWM: the process's peak resident memory."""
    return int(re.search(r"^VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M).group(1))


def reset_peak(pid: int) -> None:
    """Writing 5 to clear_refs resets VmHWM to the current resident size (our own child process)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def signed_in(port: int) -> tuple[urllib.request.OpenerDirector, str]:
    """An opener holding a clinician's session, and the Cookie header that carries it (for wrk)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    html = opener.open(base + "/clinician/login", timeout=60).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    data = urllib.parse.urlencode({"email": CLINICIAN_EMAIL, "password": CLINICIAN_PASSWORD, "csrf_token": token})
    with opener.open(base + "/clinician/login", data=data.encode(), timeout=60) as response:
        if not response.geturl().endswith("/clinician/"):
            raise SystemExit("clinician sign-in failed")
    return opener, "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def csv_export(opener, port: int, workers: list[int], database: str, results: int) -> Export:
    """Download the full CSV once, reading it in pieces; the peak is the highest worker's VmHWM, reset before."""
    for pid in workers:
        reset_peak(pid)
    start = time.perf_counter()
    lines = 0
    with opener.open(f"http://127.0.0.1:{port}/clinician/export.csv", timeout=3600) as response:
        while piece := response.read(1 << 16):
            lines += piece.count(b"\n")
    seconds = time.perf_counter() - start
    return Export(database, results, lines - 1, seconds, max(peak_kib(pid) for pid in workers) / 1024)


def sqlite_for(workdir: Path, size: int, sizes: list[int]) -> str:
    """One SQLite file per size, kept in the workdir for later runs; a new one starts as a copy of the
    next smaller size's file, so seeding 10k → 100k → 1M only ever adds the missing results."""
    import sqlite3

    path = workdir / f"clinician-{size}.sqlite"
    smaller = [workdir / f"clinician-{other}.sqlite" for other in sizes if other < size]
    if not path.exists() and smaller and smaller[-1].exists():
        source, target = sqlite3.connect(smaller[-1]), sqlite3.connect(path)
        source.backup(target)
        source.close()
        target.close()
    return f"sqlite:///{path}"


def clinician_scenarios(database: str, url_for, sizes: list[int], seconds: int,
                        connections: int) -> tuple[list[tuple[str, int, Measurement]], list[Export], dict]:
    """For each size (ascending, seeding on top of the last): the queue, a filtered queue, the statistics
    page under wrk with a signed-in session, then one full CSV export."""
    since = (date.today() - timedelta(days=90)).isoformat()
    pages = {
        "clinician queue": "/clinician/",
        "filtered queue (PCL-5, at/above cut-off, unreviewed, last 90 days)":
            f"/clinician/?instrument=pcl5&cutoff=yes&reviewed=no&from={since}",
        "statistics": "/clinician/stats",
    }
    measurements, exports, seeding = [], [], {}
    for size in sizes:
        database_url = url_for(size)
        flask_command(database_url, "db", "upgrade")
        flask_command(database_url, "clinician", "create", CLINICIAN_EMAIL,
                      stdin=f"{CLINICIAN_PASSWORD}\n{CLINICIAN_PASSWORD}\n", check=False)  # may exist already
        env = app_environment(database_url)
        env["FLASK_SESSION_COOKIE_SECURE"] = "false"  # production cookies are Secure; this is plain http
        took = seed_to(database_url, size)
        if took is not None:
            seeding[(database, size)] = took
        results = stored(database_url)
        with Server("wsgi:app", env, ROOT, ("--timeout", "3600")) as app:
            opener, cookie = signed_in(app.port)
            for name, path in pages.items():
                wrk("warm-up", app.port, path, 1, connections, cookie=cookie)
                measurements.append((database, results, wrk(name, app.port, path, seconds, connections, cookie=cookie)))
            exports.append(csv_export(opener, app.port, workers_of(app.process.pid), database, results))
        print(f"{database} {results:,}: done", file=sys.stderr)
    return measurements, exports, seeding


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {int(memory) // 1024 // 1024} GiB, {platform.platform()}, Python {platform.python_version()}"


def report(results: list[Measurement], weights: dict, clinician: list, exports: list[Export], seeding: dict,
           command: str) -> str:
    lines = [
        "# Benchmark results", "",
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}; load average at the end {os.getloadavg()[0]:.1f} (the machine was shared)",
        f"- Command: `{command}`",
        f"- Server: `gunicorn {' '.join(GUNICORN_ARGS)}` for the app and the ceiling alike, APP_ENV=production; "
        "load from `wrk` on the same machine",
    ]
    if results:
        lines += [
            "", "## Person-facing throughput and latency", "",
            "| scenario | req/s | × ceiling | median ms | p99 ms | non-2xx/3xx |", "|---|---:|---:|---:|---:|---:|",
        ]
        for m in results:
            lines.append(f"| {m.name} | {m.requests_per_second:,.0f} | {m.ratio:.2f} | {m.median_ms:.2f} | {m.p99_ms:.2f} | {m.non_2xx_3xx} |")
        lines += ["", "## Page weight (HTML + same-site CSS/JS, uncompressed)", "", "| page | bytes | requests |", "|---|---:|---:|"]
        lines += [f"| {path} | {size:,} | {count} |" for path, (size, count) in weights.items()]
    if clinician:
        lines += [
            "", "## Clinician workspace (target: median under 100 ms at 1,000,000 results)", "",
            "Signed in (session cookie passed to wrk), FLASK_SESSION_COOKIE_SECURE=false for plain http, "
            "FLASK_RATELIMIT_ENABLED=false; results seeded with `flask seed-demo` (APP_ENV=development).", "",
            "| database | results | page | req/s | median ms | p99 ms | non-2xx/3xx |", "|---|---:|---|---:|---:|---:|---:|",
        ]
        for database, count, m in clinician:
            median, p99 = (f"{m.median_ms:.1f}", f"{m.p99_ms:.1f}") if not m.notes else (m.notes[0], "")
            lines.append(f"| {database} | {count:,} | {m.name} | {m.requests_per_second:,.1f} | {median} "
                         f"| {p99} | {m.non_2xx_3xx} |")
        lines += [
            "", "## Full CSV export (target at 1,000,000 results: ≥ 50,000 rows/s, worker peak < 150 MB)", "",
            "Downloaded once per size; peak = the highest VmHWM among the gunicorn workers, each reset "
            "(`/proc/<pid>/clear_refs`) just before the export.", "",
            "| database | results | rows | seconds | rows/s | worker peak MiB |", "|---|---:|---:|---:|---:|---:|",
        ]
        for e in exports:
            lines.append(f"| {e.database} | {e.results:,} | {e.rows:,} | {e.seconds:.1f} | {e.rows_per_second:,.0f} "
                         f"| {e.peak_mib:.1f} |")
        if seeding:
            lines += ["", "Seeding in this run: " + "; ".join(
                f"{database} up to {size:,} in {took:.0f} s" for (database, size), took in seeding.items())]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--clinician-seconds", type=int, default=5, help="duration of each clinician wrk run")
    parser.add_argument("--clinician-connections", type=int, default=2,
                        help="one per worker: the median is then the page's own time, not a queue's")
    parser.add_argument("--parts", default="person,clinician", help="person, clinician or both")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="seeded results, ascending")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgresql-sizes", help="sizes for PostgreSQL if not --sizes (seeding is the slow part)")
    parser.add_argument("--workdir", help="keeps the seeded SQLite database between runs (default: a temporary one)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS.md"))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    parts = set(args.parts.split(","))
    databases = args.databases.split(",") if "clinician" in parts else []
    if "postgresql" in databases and not os.environ.get("TEST_DATABASE_URL"):
        # A throw-away PostgreSQL cluster for this run: the same command again, under .ci/with-postgres.
        os.execv(str(ROOT / ".ci" / "with-postgres"), [str(ROOT / ".ci" / "with-postgres"), sys.executable, *sys.argv])
    sizes = sorted(int(size) for size in args.sizes.split(","))
    with tempfile.TemporaryDirectory() as temporary:
        workdir = Path(args.workdir or temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        results, weights = person_facing(args.seconds, args.connections, workdir) if "person" in parts else ([], {})
        clinician, exports, seeding = [], [], {}
        for database in databases:
            these = sizes
            if database == "postgresql":
                url_for = lambda size: os.environ["TEST_DATABASE_URL"]  # one database, topped up size by size
                if args.postgresql_sizes:
                    these = sorted(int(size) for size in args.postgresql_sizes.split(","))
            else:
                url_for = lambda size: sqlite_for(workdir, size, sizes)
            measured, exported, seeded = clinician_scenarios(database, url_for, these, args.clinician_seconds,
                                                             args.clinician_connections)
            clinician += measured
            exports += exported
            seeding.update(seeded)
    command = " ".join(["python", *sys.argv])
    text = report(results, weights, clinician, exports, seeding, command)
    Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
