"""Load and crash test: concurrent clients store screenings through gunicorn; nothing acknowledged is lost.

1. Load: CLIENTS threads POST stored screenings (random PCL-5 and PC-PTSD-5 answers) to gunicorn
   for SECONDS; every 201's code and answers are recorded. Afterwards each acknowledged code must be
   in the database with exactly the answers sent.
2. Crash: CRASHES times, the same load runs and gunicorn's master and workers are killed with
   SIGKILL at a random moment; the server is restarted, the database must pass its integrity check
   (SQLite: PRAGMA integrity_check; PostgreSQL: a full count and a read of every row) and every code
   acknowledged so far must still be there, readable through the restarted server.

Runs the production configuration with a generated SECRET_KEY and FLASK_RATELIMIT_ENABLED=false on
127.0.0.1 and a free port. SQLite (default) uses a fresh file in WAL mode; --database postgresql uses a
fresh database created beside TEST_DATABASE_URL (or DATABASE_URL) and dropped afterwards, e.g.

    .venv/bin/python bench/load_and_crash.py --seconds 20 --clients 32
    .ci/with-postgres .venv/bin/python bench/load_and_crash.py --database postgresql

Prints a summary and exits non-zero if anything acknowledged is missing.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def random_body(rng: random.Random) -> dict:
    """A stored screening with random answers, like a person's."""
    if rng.random() < 0.6:
        return {"instrument": "pcl5", "answers": [rng.randint(0, 4) for _ in range(20)], "store": True}
    exposure = rng.random() < 0.8
    answers = [rng.random() < 0.5 for _ in range(5)] if exposure else []
    return {"instrument": "pcptsd5", "exposure": exposure, "answers": answers, "store": True}


@dataclass
class Load:
    """What one load phase sent and what was acknowledged."""

    acknowledged: dict[str, list] = field(default_factory=dict)  # code (stored form) → answers sent
    latencies: list[float] = field(default_factory=list)  # seconds, for acknowledged requests
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: str, latency: float | None = None, code: str | None = None, answers=None):
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if code is not None:
                self.acknowledged[code] = answers
                self.latencies.append(latency)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def client_loop(port: int, stop: threading.Event, load: Load, seed: int) -> None:
    """One client: keep-alive connection, POST after POST until told to stop or the server dies."""
    rng = random.Random(seed)
    connection = None
    while not stop.is_set():
        body = random_body(rng)
        payload = json.dumps(body)
        started = time.perf_counter()
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("POST", "/api/v1/screenings", payload, {"Content-Type": "application/json"})
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            load.record("connection error")  # not acknowledged: the person would see an error and retry
            if connection is not None:
                connection.close()
            connection = None
            time.sleep(0.02)
            continue
        latency = time.perf_counter() - started
        if response.status == 201:
            code = json.loads(data)["code"].replace("-", "")
            load.record("201", latency, code, body["answers"])
        else:
            load.record(str(response.status))
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            connection = None
    if connection is not None:
        connection.close()  # a kept-alive idle connection would hold up gunicorn's graceful stop


class Server:
    """gunicorn with this repository's gunicorn.conf.py, in its own process group so SIGKILL takes all."""

    def __init__(self, database_url: str, workers: int, threads: int, log_path: Path,
                 secret_key: str | None = None, settings: dict[str, str] | None = None):
        self.database_url = database_url
        self.workers, self.threads = workers, threads
        self.log_path = log_path
        self.secret_key = secret_key or secrets.token_hex(32)
        # FLASK_<NAME> settings; rate limits off unless the caller turns them on.
        self.settings = {"FLASK_RATELIMIT_ENABLED": "false", **(settings or {})}
        self.process: subprocess.Popen | None = None
        self.port = 0

    def environment(self) -> dict:
        return {**os.environ, "APP_ENV": "production", "SECRET_KEY": self.secret_key,
                "DATABASE_URL": self.database_url, **self.settings}

    def migrate(self) -> None:
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                       env=self.environment(), check=True, capture_output=True)

    def start(self) -> None:
        self.port = free_port()
        with open(self.log_path, "ab") as log:  # the server keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"),
                 "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers), "--threads", str(self.threads),
                 "--worker-class", "gthread", "--graceful-timeout", "3", "--preload", "wsgi:app"],
                cwd=ROOT, env=self.environment(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                connection.request("GET", "/api/v1/instruments")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
            finally:
                connection.close()
        raise RuntimeError(f"gunicorn did not start; see {self.log_path}")

    def kill(self) -> None:
        """kill -9 the master and every worker at once."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def get(self, path: str) -> int:
        return self.request("GET", path)[0]

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """One request on a fresh connection: the status and the headers."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            payload = json.dumps(body) if body is not None else None
            connection.request(method, path, payload, {"Content-Type": "application/json"} if payload else {})
            response = connection.getresponse()
            response.read()
            return response.status, dict(response.getheaders())
        finally:
            connection.close()


def run_load(server: Server, clients: int, seconds: float, kill_after: float | None = None) -> Load:
    """CLIENTS threads for SECONDS; with kill_after, SIGKILL the server that many seconds in."""
    load, stop = Load(), threading.Event()
    threads = [threading.Thread(target=client_loop, args=(server.port, stop, load, n), daemon=True)
               for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    if kill_after is not None:
        time.sleep(kill_after)
        server.kill()
        time.sleep(0.3)  # let clients see the dead connections
    else:
        time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    load.seconds = time.perf_counter() - started
    return load


def verify(database_url: str, acknowledged: dict[str, list]) -> tuple[int, str]:
    """How many acknowledged codes are stored with the very answers sent, and the integrity verdict."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                integrity = connection.exec_driver_sql("PRAGMA integrity_check").scalar()
            else:
                total = connection.exec_driver_sql("SELECT count(*) FROM screenings").scalar()
                read = sum(1 for _ in connection.exec_driver_sql("SELECT * FROM screenings"))
                integrity = "ok" if total == read else f"count {total} but read {read}"
            rows = dict(connection.exec_driver_sql("SELECT code, answers FROM screenings").all())
    finally:
        engine.dispose()
    found = 0
    for code, answers in acknowledged.items():
        stored = rows.get(code)
        if stored is not None and (json.loads(stored) if isinstance(stored, str) else stored) == answers:
            found += 1
    return found, integrity


class Database:
    """A fresh database for the run: a SQLite file, or a PostgreSQL database created and dropped."""

    def __init__(self, kind: str, workdir: Path):
        self.kind = kind
        self.admin_url = None
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.sqlite'}"
            return
        base = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
        if not base or not base.startswith("postgresql"):
            raise SystemExit("--database postgresql needs TEST_DATABASE_URL (run under .ci/with-postgres)")
        self.admin_url = sa.make_url(base)
        self.name = f"ptsd_bench_{secrets.token_hex(4)}"
        self._admin(f'CREATE DATABASE "{self.name}"')
        self.url = self.admin_url.set(database=self.name).render_as_string(hide_password=False)

    def _admin(self, statement: str) -> None:
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql(statement)
        finally:
            engine.dispose()

    def drop(self) -> None:
        if self.admin_url is not None:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def log_leaks(log_path: Path, codes: set[str]) -> int:
    """Lines of the server log that contain an acknowledged code (either spelling) or a client address."""
    text = log_path.read_text(errors="replace")
    needles = {spelling for code in codes for spelling in (code, f"{code[:4]}-{code[4:8]}-{code[8:]}")}
    return sum(1 for line in text.splitlines()
               if any(n in line for n in needles) or ("127.0.0.1" in line and "Listening at" not in line))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=20, help="length of the load phase")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--crashes", type=int, default=3, help="kill -9 runs after the load phase")
    parser.add_argument("--crash-seconds", type=float, default=None, help="longest run before a kill")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="ptsd-bench-"))
    database = Database(args.database, workdir)
    server = Server(database.url, args.workers, args.threads, workdir / "gunicorn.log")
    summary: dict = {"database": args.database, "clients": args.clients, "workers": args.workers,
                     "threads": args.threads}
    try:
        server.migrate()
        server.start()
        load = run_load(server, args.clients, args.seconds)
        server.stop()
        found, integrity = verify(database.url, load.acknowledged)
        summary["load"] = {
            "seconds": round(load.seconds, 2), "requests": sum(load.statuses.values()),
            "rps": round(sum(load.statuses.values()) / load.seconds, 1),
            "p50_ms": round(load.percentile(50), 1), "p99_ms": round(load.percentile(99), 1),
            "statuses": load.statuses, "acknowledged": len(load.acknowledged), "found": found,
            "integrity": integrity,
        }
        everything = dict(load.acknowledged)
        crashes = []
        rng = random.Random()
        longest = args.crash_seconds or max(1.0, args.seconds / 2)
        for _ in range(args.crashes):
            server.start()
            kill_after = rng.uniform(min(0.5, longest), longest)
            crash = run_load(server, args.clients, longest, kill_after=kill_after)
            everything.update(crash.acknowledged)
            server.start()  # restart on the crashed database
            found, integrity = verify(database.url, everything)
            sample = rng.sample(sorted(crash.acknowledged), min(5, len(crash.acknowledged)))
            readable = all(server.get(f"/results/{code}") == 200 for code in sample)
            server.stop()
            crashes.append({"killed_after_s": round(kill_after, 2), "acknowledged_in_run": len(crash.acknowledged),
                            "acknowledged_total": len(everything), "found": found, "integrity": integrity,
                            "readable_after_restart": readable,
                            "survived": found == len(everything) and integrity == "ok" and readable})
        summary["crashes"] = crashes
        summary["crash_runs_survived"] = sum(c["survived"] for c in crashes)
        summary["log_lines_with_codes_or_addresses"] = log_leaks(server.log_path, set(everything))
        summary["ok"] = (summary["load"]["found"] == summary["load"]["acknowledged"]
                         and summary["load"]["integrity"] == "ok"
                         and summary["crash_runs_survived"] == len(crashes)
                         and summary["log_lines_with_codes_or_addresses"] == 0)
    finally:
        server.stop()
        database.drop()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_summary(summary)
    return summary


def print_summary(summary: dict) -> None:
    load = summary["load"]
    print(f"{summary['database']}: {summary['clients']} clients, {summary['workers']} workers × "
          f"{summary['threads']} threads")
    print(f"  load {load['seconds']} s: {load['requests']} requests, {load['rps']} req/s, "
          f"p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms, statuses {load['statuses']}")
    print(f"  acknowledged {load['acknowledged']}, found {load['found']}, integrity {load['integrity']}")
    for n, crash in enumerate(summary["crashes"], start=1):
        print(f"  crash {n}: kill -9 after {crash['killed_after_s']} s; acknowledged {crash['acknowledged_total']} "
              f"in all, found {crash['found']}, integrity {crash['integrity']}, "
              f"readable after restart {crash['readable_after_restart']}")
    print(f"  crash runs survived: {summary['crash_runs_survived']}/{len(summary['crashes'])}; "
          f"log lines with a code or address: {summary['log_lines_with_codes_or_addresses']}")
    print("  OK" if summary["ok"] else "  FAILED")


if __name__ == "__main__":
    sys.exit(0 if main()["ok"] else 1)
