"""One benchmark run, side by side: the bare-Flask ceiling, the person-facing endpoints and the clinician
workspace on seeded SQLite and PostgreSQL databases, all under gunicorn with the production settings + wrk.

    .venv/bin/python bench/run.py                                     # everything (1,000,000 rows: ~1 hour)
    .venv/bin/python bench/run.py --sizes 10000,100000 --databases sqlite --workdir /tmp/bench
    .venv/bin/python bench/run.py --postgresql-url postgresql+psycopg://postgres@127.0.0.1:5432 --workdir /tmp/bench

Seeded SQLite databases are kept in --workdir (one file per size) and reused by later runs. With
--postgresql-url (a server, no database), PostgreSQL likewise keeps one database per size,
`<--postgresql-prefix><size>` (default ptsd_bench_10000 …), created through the `postgres` database
when missing (as a copy of the next smaller one) and topped up to its size; the person-facing stored
submissions use a fresh `<prefix>person`. Without it, PostgreSQL comes from TEST_DATABASE_URL (one
database topped up size by size), and without that the run re-starts itself under .ci/with-postgres
(a throw-away cluster).
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
from functools import partial
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The app's own gunicorn.conf.py (its access log and logger class) for the app and the ceiling alike:
# gunicorn reads it from the working directory only, and the ceiling runs from bench/.
GUNICORN_ARGS = ["-c", str(ROOT / "gunicorn.conf.py"), "--workers", "2", "--log-level", "warning"]
# The shipped gunicorn.conf.py runs threaded workers (gthread, 8 threads); --worker-class sync measures
# one request per worker at a time, as the first rounds of this benchmark did.
WORKER_CLASS_ARGS = {"gthread": [], "sync": ["--worker-class", "sync"]}
WORKER_CLASS = "gthread"  # set from --worker-class


def server_args() -> list[str]:
    return [*GUNICORN_ARGS, *WORKER_CLASS_ARGS[WORKER_CLASS]]
# issue 8: ≤ 30 KB over the wire in ≤ 3 requests; counted in thousands, as tests/test_page_weight.py does
PAGE_BYTES_TARGET, PAGE_REQUESTS_TARGET = 30_000, 3
CLINICIAN_EMAIL, CLINICIAN_PASSWORD = "bench@example.org", "bench-password-" + "x" * 8
ADMIN_EMAIL = "bench-admin@example.org"
# issue 13: the results are shared among this many clinics (a tenth with none); the clinician belongs to one.
CLINICS, CLINICIAN_CLINIC = 50, "demo-clinic-1"
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
    database: str = ""  # the database behind the app, if the scenario touches one
    ceiling_rps: float = 0.0  # the paired ceiling round's req/s
    rounds: list = field(default_factory=list)  # every paired round's measurement, by ratio


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
        self.command = [str(BIN / "gunicorn"), *server_args(), *extra, "--bind", f"127.0.0.1:{self.port}", target]
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
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:  # removed after the run
            script.write(lua)
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


def check_no_cookie(port: int) -> None:
    """The person's form sets no cookie and carries no CSRF token (issue 15): a browser posts it back
    with nothing but the answers, which is what the form scenarios send."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", "/screen/pcl5")
    response = connection.getresponse()
    html = response.read().decode()
    if response.getheader("Set-Cookie") or 'name="csrf_token"' in html:
        raise SystemExit("the questionnaire page set a cookie or carries a CSRF token")


class _Assets(HTMLParser):
    """The URLs a browser fetches for a page: stylesheets, icons, preloads, scripts, images, frames."""

    FETCHED_LINKS = {"stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "modulepreload", "manifest"}

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "link" and self.FETCHED_LINKS & set((attributes.get("rel") or "").lower().split()):
            url = attributes.get("href")
        elif tag in ("script", "img", "source", "iframe", "embed", "video", "audio", "input"):
            url = attributes.get("src")
        else:
            return
        if url:
            self.urls.append(url)


def same_site(base: str, url: str) -> str | None:
    """The path of a same-site URL (what costs this server a request), None for data: or other sites."""
    absolute = urllib.parse.urljoin(base, url)
    parts = urllib.parse.urlsplit(absolute)
    if parts.scheme not in ("http", "https") or parts.netloc != urllib.parse.urlsplit(base).netloc:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def page_weight(port: int, path: str) -> tuple[int, int]:
    """Bytes of a page plus every same-site stylesheet, script, image (and what the CSS pulls in with
    url() or @import) it references, uncompressed, and how many requests that takes on a first visit."""
    base = f"http://127.0.0.1:{port}"
    connection = http.client.HTTPConnection("127.0.0.1", port)

    def fetch(target: str) -> bytes:
        connection.request("GET", target)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"page weight: GET {target} answered {response.status}")
        return body

    html = fetch(path)
    parser = _Assets()
    parser.feed(html.decode("utf-8", "replace"))
    pending = [found for url in parser.urls if (found := same_site(base + path, url))]
    seen: set[str] = set()
    total = len(html)
    while pending:
        asset = pending.pop(0)
        if asset in seen:
            continue
        seen.add(asset)
        body = fetch(asset)
        total += len(body)
        if asset.split("?")[0].endswith(".css"):
            for url in re.findall(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""", body.decode("utf-8", "replace")):
                if (found := same_site(base + asset, url)):
                    pending.append(found)
    return total, 1 + len(seen)


def app_environment(database_url: str) -> dict:
    env = dict(os.environ)
    env.update(APP_ENV="production", SECRET_KEY=secrets.token_hex(32), DATABASE_URL=database_url,
               FLASK_RATELIMIT_ENABLED="false")
    return env


PERSON_PAGES = ["/", "/about", "/screen/pcl5", "/screen/pcptsd5", "/learn", "/learn/ptsd", "/learn/treatments",
                "/learn/mdma-assisted-therapy", "/learn/find-help"]


def store_one(port: int) -> str:
    """Store a result through the API; the path of its page."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("POST", "/api/v1/screenings", json.dumps({**PCL5_JSON, "store": True}),
                       {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    if response.status != 201:
        raise SystemExit(f"storing a result answered {response.status}")
    return urllib.parse.urlsplit(response.getheader("Location")).path


def form_body(store: bool) -> str:
    answers = [f"q{number}={value}" for number, value in enumerate(PCL5_JSON["answers"], 1)]
    return "&".join([f"store={'yes' if store else 'no'}", *answers])


def lua_form_stored() -> str:
    """The form with store=yes and, as the questionnaire's script adds it, a fresh one-time value per
    request (app/screening/submissions.py): without one the result is shown with an offer to keep it,
    and the same value twice stores one result. Unique per run, wrk thread and request."""
    run = secrets.token_hex(6)
    return (lua_post(form_body(True), "application/x-www-form-urlencoded")
            + 'local threads = 0\n'
            + 'function setup(thread) threads = threads + 1; thread:set("id", threads) end\n'
            + 'local sent = 0\n'
            + 'function request()\n'
            + '  sent = sent + 1\n'
            + f'  local body = wrk.body .. "&submission={run}t" .. id .. "n" .. sent\n'
            + '  return wrk.format(nil, nil, nil, body)\n'
            + 'end\n')


class Paired:
    """Each scenario measured in rounds that alternate with the ceiling, so a busy or noisy machine slows
    both alike: the ratio is the median of the rounds' ratios, the other figures the median round's."""

    def __init__(self, ceiling_port: int, seconds: int, connections: int, rounds: int,
                 ceiling_name: str = "ceiling: bare Flask hello world", ceiling_lua: str | None = None):
        self.ceiling_port, self.seconds, self.connections, self.rounds = ceiling_port, seconds, connections, rounds
        self.ceiling_name, self.ceiling_lua = ceiling_name, ceiling_lua
        self.ceilings: list[Measurement] = []

    def measure(self, name: str, port: int, path: str, lua: str | None = None, cookie: str | None = None,
                database: str = "", connections: int | None = None) -> Measurement:
        connections = connections or self.connections
        pairs = []
        for _round in range(self.rounds):
            ceiling = wrk(self.ceiling_name, self.ceiling_port, "/", self.seconds, connections, self.ceiling_lua)
            measured = wrk(name, port, path, self.seconds, connections, lua() if callable(lua) else lua, cookie)
            self.ceilings.append(ceiling)
            measured.ceiling_rps = ceiling.requests_per_second
            pairs.append((measured.requests_per_second / ceiling.requests_per_second, measured))
        pairs.sort(key=lambda pair: pair[0])
        ratio, middle = pairs[len(pairs) // 2]
        middle.ratio, middle.database = ratio, database
        middle.rounds = [measured for _ratio, measured in pairs]
        middle.notes.append(f"ratios of the {self.rounds} rounds: " + ", ".join(f"{r:.2f}" for r, _ in pairs))
        return middle

    def ceiling(self) -> Measurement:
        """The ceiling's median round over the whole run."""
        ordered = sorted(self.ceilings, key=lambda m: m.requests_per_second)
        middle = ordered[len(ordered) // 2]
        middle.ratio = 1.0
        middle.notes.append(f"median of {len(ordered)} rounds, {ordered[0].requests_per_second:,.0f}–"
                            f"{ordered[-1].requests_per_second:,.0f} req/s")
        return middle


def stored_submissions(paired: Paired, app: Server, database: str) -> list[Measurement]:
    """The two ways a person stores a result: the API with store=true and the form with store=yes."""
    body = json.dumps({**PCL5_JSON, "store": True})
    check_no_cookie(app.port)
    return [
        paired.measure("POST /api/v1/screenings (store=true)", app.port, "/api/v1/screenings",
                       lua_post(body, "application/json"), database=database),
        paired.measure("POST /screen/pcl5 (form, stored)", app.port, "/screen/pcl5", lua_form_stored,
                       database=database),
    ]


def person_facing(seconds: int, connections: int, rounds: int, workdir: Path,
                  postgresql: PostgreSQLServer | None) -> tuple[list[Measurement], dict]:
    """The ceiling and the person-facing endpoints, in one run: everything on a fresh SQLite database,
    and the stored submissions again on a fresh PostgreSQL database when there is a server. The ceiling
    server runs throughout and each scenario alternates with it (see Paired)."""
    for stale in workdir.glob("bench.sqlite*"):
        stale.unlink()
    sqlite_url = f"sqlite:///{workdir / 'bench.sqlite'}"
    weights = {}
    env = app_environment(sqlite_url)
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    # gunicorn.conf.py imports the app's access-log module and checks its rate-limit settings, for the ceiling too.
    with Server("hello:app", {**os.environ, "PYTHONPATH": str(ROOT), "FLASK_RATELIMIT_ENABLED": "false"},
                ROOT / "bench") as hello:
        wrk("warm-up", hello.port, "/", 2, connections)
        paired = Paired(hello.port, seconds, connections, rounds)
        results = []
        with Server("wsgi:app", env, ROOT) as app:
            for path in ("/", "/screen/pcl5"):  # each worker's first render of a page is not what is measured
                wrk("warm-up", app.port, path, 2, connections)
            results.append(paired.measure("GET /", app.port, "/", database="sqlite"))
            results.append(paired.measure("GET /screen/pcl5", app.port, "/screen/pcl5", database="sqlite"))
            body = json.dumps({**PCL5_JSON, "store": False})
            results.append(paired.measure("POST /api/v1/screenings (store=false)", app.port, "/api/v1/screenings",
                                          lua_post(body, "application/json"), database="sqlite"))
            check_no_cookie(app.port)
            results.append(paired.measure("POST /screen/pcl5 (form, not stored)", app.port, "/screen/pcl5",
                                          lua_post(form_body(False), "application/x-www-form-urlencoded"),
                                          database="sqlite"))
            results += stored_submissions(paired, app, "sqlite")
            result_page = store_one(app.port)
            for path in [*PERSON_PAGES, result_page, result_page + "/delete"]:
                weights[path.replace(result_page, "/results/<code>")] = page_weight(app.port, path)
        if postgresql:
            name = postgresql.prefix + "person"
            postgresql.drop(name)  # a fresh table each run, as on SQLite
            postgresql.create(name)
            try:
                env = app_environment(postgresql.url_for(name))
                subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                               check=True, capture_output=True)
                with Server("wsgi:app", env, ROOT) as app:
                    wrk("warm-up", app.port, "/screen/pcl5", 2, connections)
                    results += stored_submissions(paired, app, "postgresql")
            finally:
                postgresql.drop(name)
    return [paired.ceiling(), *results], weights


# --- point 11 of issue 27: the write path's speed (--parts write) ------------------------------------

# The targets: a stored submission against the durable ceiling (bench/durable.py), the result page a person
# sees and the questionnaire page against the hello world, and 16 clients storing at once on SQLite.
STORED_TARGET, RESULT_PAGE_TARGET, QUESTIONNAIRE_TARGET, P99_TARGET_MS = 0.5, 0.2, 0.5, 250
BUSY_CLIENTS = 16
DURABLE_NAME = "durable ceiling: bare Flask + sqlite3 INSERT + COMMIT (WAL, synchronous=FULL)"
TABLE_BOUND_NAME = "bound: the durable ceiling's row into the app's own screenings table (its indexes and triggers)"


def stored_rows(path: Path, table: str) -> int:
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        connection.close()


def write_path(seconds: int, connections: int, rounds: int, workdir: Path) -> list[Measurement]:
    """Exactly point 11's scenarios, each in rounds paired with its ceiling: on a fresh SQLite database,
    the stored API and form against the durable ceiling (with --connections, then with 16 clients for
    the p99), the result page (form, not stored) and the questionnaire page against the hello world,
    the questionnaire with --connections and with 16 (the two settings the issue compares)."""
    for stale in [*workdir.glob("write.sqlite*"), *workdir.glob("durable.sqlite*")]:
        stale.unlink()
    database = workdir / "write.sqlite"
    env = app_environment(f"sqlite:///{database}")
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    bare = {**os.environ, "PYTHONPATH": str(ROOT), "FLASK_RATELIMIT_ENABLED": "false"}
    stored_api = lua_post(json.dumps({**PCL5_JSON, "store": True}), "application/json")
    results: list[Measurement] = []
    with Server("wsgi:app", env, ROOT) as app:
        check_no_cookie(app.port)
        for path in ("/", "/screen/pcl5"):  # each worker's first render of a page is not what is measured
            wrk("warm-up", app.port, path, 2, connections)
        wrk("warm-up", app.port, "/screen/pcl5", 2, connections,
            lua_post(form_body(False), "application/x-www-form-urlencoded"))
        with Server("hello:app", bare, ROOT / "bench") as hello:
            wrk("warm-up", hello.port, "/", 2, connections)
            paired = Paired(hello.port, seconds, connections, rounds)
            results.append(paired.measure("POST /screen/pcl5 (form, not stored: the result page)", app.port,
                                          "/screen/pcl5",
                                          lua_post(form_body(False), "application/x-www-form-urlencoded"),
                                          database="sqlite"))
            for clients in sorted({connections, BUSY_CLIENTS}):
                results.append(paired.measure(f"GET /screen/pcl5 ({clients} connections)", app.port,
                                              "/screen/pcl5", database="sqlite", connections=clients))
            results.insert(0, paired.ceiling())
        durable_env = {**bare, "DURABLE_DATABASE": str(workdir / "durable.sqlite")}
        with Server("durable:app", durable_env, ROOT / "bench") as durable:
            wrk("warm-up", durable.port, "/", 2, connections, stored_api)
            paired = Paired(durable.port, seconds, connections, rounds, DURABLE_NAME, stored_api)
            wrk("warm-up", app.port, "/api/v1/screenings", 2, connections, stored_api)
            before = stored_rows(database, "screenings")
            for clients in sorted({connections, BUSY_CLIENTS}):
                results.append(paired.measure(f"POST /api/v1/screenings (store=true, {clients} connections)",
                                              app.port, "/api/v1/screenings", stored_api, database="sqlite",
                                              connections=clients))
                results.append(paired.measure(f"POST /screen/pcl5 (form, stored, {clients} connections)", app.port,
                                              "/screen/pcl5", lua_form_stored, database="sqlite",
                                              connections=clients))
            stored = stored_rows(database, "screenings") - before
            answered = sum(round(r.requests_per_second * seconds) for scenario in results[-4:] for r in scenario.rounds)
            # The same bare app writing its row into the app's schema (a copy migrated like the app's):
            # what the table's indexes and triggers alone leave of the ceiling, with none of the app's code.
            bound_database = workdir / "durable-app-table.sqlite"
            for stale in workdir.glob("durable-app-table.sqlite*"):
                stale.unlink()
            subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, check=True,
                           capture_output=True, env=app_environment(f"sqlite:///{bound_database}"))
            bound_env = {**bare, "DURABLE_DATABASE": str(bound_database), "DURABLE_TABLE": "screenings"}
            with Server("durable:app", bound_env, ROOT / "bench") as bound:
                wrk("warm-up", bound.port, "/", 2, connections, stored_api)
                results.append(paired.measure(TABLE_BOUND_NAME, bound.port, "/", stored_api, database="sqlite"))
            results.insert(1, paired.ceiling())
            results[1].notes.append(f"rows stored by the app in the stored rounds: {stored:,} "
                                    f"(about {answered:,} requests answered)")
    return results


def _p99_of_rounds(m: Measurement) -> float:
    """The median of the paired rounds' p99s (each round's own p99 is in its notes)."""
    p99s = sorted(r.p99_ms for r in m.rounds)
    return p99s[len(p99s) // 2]


def _times(ratio: float, target: float) -> str:
    """A ratio to two decimals, or three (cut, not rounded) where two would put it onto the target: 0.4996
    is shown as 0.499, not as a 0.50 that the table calls missed."""
    return f"{int(ratio * 1000) / 1000:.3f}×" if round(ratio, 2) == target else f"{ratio:.2f}×"


def write_targets(results: list[Measurement]) -> list[str]:
    """Point 11's targets beside their measurements."""
    rows = []
    for m in results:
        if m.ratio is None or m.name.startswith(("ceiling", "durable")):
            continue
        if m.name == TABLE_BOUND_NAME:
            rows.append((f"what the app's table alone allows: `{m.name}`", "—", f"{m.ratio:.2f}× durable ceiling",
                         "a bound"))
            continue
        if "store=true" in m.name or "(form, stored" in m.name:
            rows.append((f"stored submission `{m.name}`", f"≥ {STORED_TARGET}× durable ceiling",
                         _times(m.ratio, STORED_TARGET), m.ratio >= STORED_TARGET))
            if f"{BUSY_CLIENTS} connections" in m.name:
                p99 = _p99_of_rounds(m)
                each = ", ".join(f"{r.p99_ms:.0f}" for r in sorted(m.rounds, key=lambda r: r.p99_ms))
                rows.append((f"p99 of `{m.name}` on SQLite", f"< {P99_TARGET_MS} ms",
                             f"{p99:.0f} ms (median of the rounds' p99: {each} ms)", p99 < P99_TARGET_MS))
        elif "not stored" in m.name:
            rows.append((f"result page `{m.name}`", f"≥ {RESULT_PAGE_TARGET}× hello world",
                         _times(m.ratio, RESULT_PAGE_TARGET), m.ratio >= RESULT_PAGE_TARGET))
        elif m.name.startswith("GET /screen/pcl5"):
            rows.append((f"questionnaire page `{m.name}`", f"≥ {QUESTIONNAIRE_TARGET}× hello world",
                         _times(m.ratio, QUESTIONNAIRE_TARGET), m.ratio >= QUESTIONNAIRE_TARGET))
    lines = ["", "## Targets of the write path (issue 27, point 11)", "",
             "| target | wanted | measured | |", "|---|---|---|---|"]
    lines += [f"| {what} | {wanted} | {figure} | {_status(met)} |" for what, wanted, figure, met in rows]
    return lines


class PostgreSQLServer:
    """Benchmark databases on one PostgreSQL server, created and dropped through its `postgres` database."""

    def __init__(self, url: str, prefix: str):
        import sqlalchemy as sa

        self.url = sa.engine.make_url(url)
        self.prefix = prefix

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def _connect(self):
        import psycopg

        libpq = self.url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        return psycopg.connect(libpq, autocommit=True)  # CREATE and DROP DATABASE refuse a transaction

    def sizes(self) -> list[int]:
        """The sizes that have a `<prefix><size>` database on the server."""
        with self._connect() as connection:
            names = [name for (name,) in connection.execute("SELECT datname FROM pg_database")]
        return sorted(int(name[len(self.prefix):]) for name in names
                      if name.startswith(self.prefix) and name[len(self.prefix):].isdigit())

    def create(self, name: str, template: str | None = None) -> None:
        from psycopg import sql

        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with self._connect() as connection:
            connection.execute(statement)

    def drop(self, name: str) -> None:
        from psycopg import sql

        with self._connect() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def sized(self, size: int) -> str:
        """The URL of `<prefix><size>`, kept between runs; a new one starts as a copy of the largest
        smaller one on the server (CREATE DATABASE … TEMPLATE), so seeding only adds the missing results."""
        existing = self.sizes()
        if size not in existing:
            smaller = [other for other in existing if other < size]
            self.create(f"{self.prefix}{size}", template=f"{self.prefix}{smaller[-1]}" if smaller else None)
        return self.url_for(f"{self.prefix}{size}")


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
    flask_command(database_url, "seed-demo", "--count", str(missing), "--seed", str(size), "--clinics", str(CLINICS))
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


def signed_in(port: int, email: str = CLINICIAN_EMAIL) -> tuple[urllib.request.OpenerDirector, str]:
    """An opener holding a clinician's session, and the Cookie header that carries it (for wrk)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    html = opener.open(base + "/clinician/login", timeout=60).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    data = urllib.parse.urlencode({"email": email, "password": CLINICIAN_PASSWORD, "csrf_token": token})
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


def shared_postgresql_url(size: int) -> str:
    """Every size in the one database TEST_DATABASE_URL names, topped up size by size."""
    return os.environ["TEST_DATABASE_URL"]


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
    """For each size (ascending, seeding on top of the last): the queue, filtered queues and the statistics
    page under wrk, for a clinician of one clinic and for an admin (every clinic), then one full CSV export."""
    since = (date.today() - timedelta(days=90)).isoformat()
    week = (date.today() - timedelta(days=7)).isoformat()
    readers = {"clinic clinician": CLINICIAN_EMAIL, "admin": ADMIN_EMAIL}
    pages = {
        "queue": "/clinician/",
        "queue ?instrument=pcl5": "/clinician/?instrument=pcl5",
        "queue ?cutoff=yes": "/clinician/?cutoff=yes",
        "queue ?reviewed=no": "/clinician/?reviewed=no",
        "queue ?from=7 days ago": f"/clinician/?from={week}",
        "filtered queue (PCL-5, at/above cut-off, unreviewed, last 90 days)":
            f"/clinician/?instrument=pcl5&cutoff=yes&reviewed=no&from={since}",
        "statistics": "/clinician/stats",
    }
    measurements, exports, seeding = [], [], {}
    for size in sizes:
        database_url = url_for(size)
        flask_command(database_url, "db", "upgrade")
        took = seed_to(database_url, size)  # first: it creates the demo clinics
        flask_command(database_url, "clinician", "create", CLINICIAN_EMAIL, "--clinic", CLINICIAN_CLINIC,
                      stdin=f"{CLINICIAN_PASSWORD}\n{CLINICIAN_PASSWORD}\n", check=False)  # may exist already
        flask_command(database_url, "clinician", "add-to-clinic", CLINICIAN_EMAIL, CLINICIAN_CLINIC, check=False)
        flask_command(database_url, "clinician", "create", ADMIN_EMAIL, "--admin",
                      stdin=f"{CLINICIAN_PASSWORD}\n{CLINICIAN_PASSWORD}\n", check=False)
        env = app_environment(database_url)
        env["FLASK_SESSION_COOKIE_SECURE"] = "false"  # production cookies are Secure; this is plain http
        if took is not None:
            seeding[(database, size)] = took
        results = stored(database_url)
        with Server("wsgi:app", env, ROOT, ("--timeout", "3600")) as app:
            for reader, email in readers.items():
                opener, cookie = signed_in(app.port, email)
                for name, path in pages.items():
                    wrk("warm-up", app.port, path, 1, connections, cookie=cookie)
                    measurements.append((database, results, wrk(f"{reader}: {name}", app.port, path, seconds,
                                                                 connections, cookie=cookie)))
            exports.append(csv_export(opener, app.port, workers_of(app.process.pid), database, results))  # admin: all
        print(f"{database} {results:,}: done", file=sys.stderr)
    return measurements, exports, seeding


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return (f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {int(memory) // 1024 // 1024} GiB, "
            f"{platform.platform()}, Python {platform.python_version()}")


def _status(met: bool | None | str) -> str:
    """A target's state; a string is shown as it is (a bound is not a target)."""
    if isinstance(met, str):
        return met
    return "not measured" if met is None else ("met" if met else "**missed**")


def targets(results: list[Measurement], weights: dict, clinician: list, exports: list[Export]) -> list[str]:
    """Issues 8 and 15's targets, each with the figure this run measured and whether it was met."""
    rows = []
    by_name = {(m.name, m.database): m for m in results}
    page = by_name.get(("GET /screen/pcl5", "sqlite"))
    if page:
        rows.append(("questionnaire page `GET /screen/pcl5`", "≥ 0.5× ceiling", f"{page.ratio:.2f}×",
                     page.ratio >= 0.5))
    for m in results:
        if "store=true" in m.name or "(form, stored)" in m.name:
            rows.append((f"stored submission `{m.name}` ({m.database})", "≥ 0.3× ceiling", f"{m.ratio:.2f}×",
                         m.ratio >= 0.3))
    biggest = 1_000_000
    for database in sorted({database for database, _count, _m in clinician}):
        measured = [(count, m) for d, count, m in clinician if d == database]
        largest = max(count for count, _m in measured)
        for count, m in measured:
            if count == largest:
                at = "" if count >= biggest else f" (only {count:,} results measured)"
                figure = f"{m.median_ms:.1f} ms at {count:,}" if not m.notes else m.notes[0]
                rows.append((f"{m.name} ({database})", "median < 100 ms at 1,000,000", figure + at,
                             (m.median_ms < 100) if count >= biggest else None))
    for database in sorted({e.database for e in exports}):
        export = max((e for e in exports if e.database == database), key=lambda e: e.results)
        at = "" if export.results >= biggest else f" (only {export.results:,} results measured)"
        full = export.results >= biggest
        rows.append((f"full CSV export ({database})", "≥ 50,000 rows/s at 1,000,000",
                     f"{export.rows_per_second:,.0f} rows/s{at}", (export.rows_per_second >= 50_000) if full else None))
        peak_mb = export.peak_mib * 2**20 / 1e6
        rows.append((f"CSV export worker peak memory ({database})", "< 150 MB at 1,000,000",
                     f"{peak_mb:.0f} MB ({export.peak_mib:.0f} MiB){at}", (peak_mb < 150) if full else None))
    if weights:
        heaviest_path, (heaviest, _count) = max(weights.items(), key=lambda item: item[1][0])
        over = [path for path, (size, _count) in weights.items() if size > PAGE_BYTES_TARGET]
        rows.append(("every person-facing page's weight", f"≤ 30 KB ({PAGE_BYTES_TARGET:,} bytes)",
                     f"heaviest {heaviest_path} {heaviest:,} bytes" + (f"; over: {', '.join(over)}" if over else ""),
                     not over))
        most = max(count for _size, count in weights.values())
        over = [path for path, (_size, count) in weights.items() if count > PAGE_REQUESTS_TARGET]
        rows.append(("every person-facing page's requests", f"≤ {PAGE_REQUESTS_TARGET}",
                     f"at most {most}" + (f"; over: {', '.join(over)}" if over else ""), not over))
    if not rows:
        return []
    lines = ["", "## Targets (issues 8 and 15)", "", "| target | wanted | measured | |", "|---|---|---|---|"]
    lines += [f"| {what} | {wanted} | {figure} | {_status(met)} |" for what, wanted, figure, met in rows]
    return lines


def write_section(write: list[Measurement]) -> list[str]:
    """The write path's scenarios: each paired with its ceiling, round by round."""
    lines = write_targets(write)
    lines += [
        "", "## The write path, side by side (SQLite)", "",
        "A fresh SQLite database (WAL, synchronous=FULL, as shipped). The stored submissions alternate round by "
        "round with the durable ceiling (`bench/durable.py`: a bare Flask app under the same gunicorn that writes "
        "one row as wide as a stored result with plain sqlite3 and commits, per request); the result page and the "
        "questionnaire page with the bare hello world (`bench/hello.py`). Each ratio is the median of its rounds' "
        "ratios, with that round's req/s and latency; each round's ceiling used the same number of connections.",
        "",
        "| scenario | req/s | ceiling req/s | × ceiling | median ms | p99 ms | non-2xx/3xx | rounds |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for m in write:
        p99s = ", ".join(f"{r.p99_ms:.0f}" for r in m.rounds)
        notes = "; ".join(m.notes + ([f"p99 of each round (same order): {p99s} ms"] if m.rounds else []))
        ceiling = f"{m.ceiling_rps:,.0f}" if m.ceiling_rps else "—"
        lines.append(f"| {m.name} | {m.requests_per_second:,.0f} | {ceiling} | {m.ratio:.2f} | {m.median_ms:.2f} "
                     f"| {m.p99_ms:.2f} | {m.non_2xx_3xx} | {notes} |")
    return lines


def report(results: list[Measurement], weights: dict, clinician: list, exports: list[Export], seeding: dict,
           command: str, write: list[Measurement] | None = None) -> str:
    lines = [
        "# Benchmark results", "",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}; load average at the end {os.getloadavg()[0]:.1f} (the machine was shared)",
        f"- Command: `{command}`",
        f"- Server: `gunicorn {' '.join(server_args()).replace(str(ROOT) + '/', '')}` ({WORKER_CLASS} workers"
        f"{', 8 threads each, as gunicorn.conf.py ships' if WORKER_CLASS == 'gthread' else ''}) for the app and the "
        "ceiling alike — the same config file (the app's access log through its logger class), so the ratio "
        "compares like with like; APP_ENV=production; load from `wrk` on the same machine",
    ]
    if write:
        lines += write_section(write)
    lines += targets(results, weights, clinician, exports)
    if results:
        lines += [
            "", "## Person-facing throughput and latency", "",
            "The app on a fresh SQLite database; the stored submissions again on a fresh PostgreSQL database "
            "when the run has one. The ceiling server runs throughout: each scenario is measured in rounds that "
            "alternate with a ceiling run, and its ratio is the median of the rounds' ratios (req/s and latency "
            "are that round's), so a noisy machine slows both sides of each ratio alike.", "",
            "| scenario | database | req/s | × ceiling | median ms | p99 ms | non-2xx/3xx | rounds |",
            "|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for m in results:
            lines.append(f"| {m.name} | {m.database or '—'} | {m.requests_per_second:,.0f} | {m.ratio:.2f} "
                         f"| {m.median_ms:.2f} | {m.p99_ms:.2f} | {m.non_2xx_3xx} | {'; '.join(m.notes)} |")
        lines += ["",
                  "## Page weight (HTML + every same-site stylesheet, script and image, uncompressed, first visit)", "",
                  "| page | bytes | target bytes | requests | target requests | |", "|---|---:|---:|---:|---:|---|"]
        lines += [f"| {path} | {size:,} | ≤ {PAGE_BYTES_TARGET:,} | {count} | ≤ {PAGE_REQUESTS_TARGET} "
                  f"| {_status(size <= PAGE_BYTES_TARGET and count <= PAGE_REQUESTS_TARGET)} |"
                  for path, (size, count) in weights.items()]
    if clinician:
        lines += [
            "", "## Clinician workspace (target: median under 100 ms at 1,000,000 results)", "",
            "Signed in (session cookie passed to wrk), FLASK_SESSION_COOKIE_SECURE=false for plain http, "
            "FLASK_RATELIMIT_ENABLED=false; results seeded with `flask seed-demo` (APP_ENV=development).", "",
            "| database | results | page | req/s | median ms | p99 ms | non-2xx/3xx |",
            "|---|---:|---|---:|---:|---:|---:|",
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
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds per person-facing scenario, each paired with a ceiling run (median ratio)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--clinician-seconds", type=int, default=5, help="duration of each clinician wrk run")
    parser.add_argument("--clinician-connections", type=int, default=2,
                        help="one per worker: the median is then the page's own time, not a queue's")
    parser.add_argument("--parts", default="person,clinician",
                        help="person, clinician, write (issue 27's write-path targets alone), comma-separated")
    parser.add_argument("--worker-class", choices=sorted(WORKER_CLASS_ARGS), default="gthread",
                        help="gthread: the shipped configuration; sync: one request per worker at a time")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="seeded results, ascending")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgresql-sizes", help="sizes for PostgreSQL if not --sizes (seeding is the slow part)")
    parser.add_argument("--postgresql-url",
                        help="a PostgreSQL server without a database, e.g. "
                             "postgresql+psycopg://postgres@127.0.0.1:5432: one database per size, kept between runs "
                             "(default: TEST_DATABASE_URL, else a throw-away cluster from .ci/with-postgres)")
    parser.add_argument("--postgresql-prefix", default="ptsd_bench_",
                        help="names of the databases --postgresql-url keeps: <prefix><size>, and <prefix>person")
    parser.add_argument("--workdir", help="keeps the seeded SQLite database between runs (default: a temporary one)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS.md"))
    args = parser.parse_args()
    global WORKER_CLASS
    WORKER_CLASS = args.worker_class
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    parts = set(args.parts.split(","))
    databases = args.databases.split(",")
    postgresql = None
    if "postgresql" in databases and parts & {"person", "clinician"}:
        if args.postgresql_url:
            postgresql = PostgreSQLServer(args.postgresql_url, args.postgresql_prefix)
        elif os.environ.get("TEST_DATABASE_URL"):
            postgresql = PostgreSQLServer(os.environ["TEST_DATABASE_URL"], args.postgresql_prefix)
        else:
            # A throw-away PostgreSQL cluster for this run: the same command again, under .ci/with-postgres.
            with_postgres = str(ROOT / ".ci" / "with-postgres")
            os.execv(with_postgres, [with_postgres, sys.executable, *sys.argv])
    sizes = sorted(int(size) for size in args.sizes.split(","))
    with tempfile.TemporaryDirectory() as temporary:
        workdir = Path(args.workdir or temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        write = write_path(args.seconds, args.connections, args.rounds, workdir) if "write" in parts else []
        results, weights = person_facing(args.seconds, args.connections, args.rounds, workdir, postgresql) \
            if "person" in parts else ([], {})
        clinician, exports, seeding = [], [], {}
        for database in databases if "clinician" in parts else []:
            these = sizes
            if database == "postgresql":
                # One database per size, kept between runs; or one database, topped up size by size.
                url_for = postgresql.sized if args.postgresql_url else shared_postgresql_url
                if args.postgresql_sizes:
                    these = sorted(int(size) for size in args.postgresql_sizes.split(","))
            else:
                url_for = partial(sqlite_for, workdir, sizes=sizes)
            measured, exported, seeded = clinician_scenarios(database, url_for, these, args.clinician_seconds,
                                                             args.clinician_connections)
            clinician += measured
            exports += exported
            seeding.update(seeded)
    command = " ".join(["python", *sys.argv])
    text = report(results, weights, clinician, exports, seeding, command, write)
    Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
