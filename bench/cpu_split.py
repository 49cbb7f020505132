"""CPU time per request under load, split between the gunicorn workers, PostgreSQL's processes and wrk:
the ceiling and a stored submission side by side, from /proc accounting (Linux only).

    .venv/bin/python bench/cpu_split.py --postgresql-url postgresql+psycopg://postgres@127.0.0.1:5432/NAME

With every process on the same cores, requests per second can be no more than the cores divided by the
CPU one request costs in all of them together; this shows which part a stored result's cost sits in.
The PostgreSQL database must exist and be empty or at head; an SQLite file in a temporary directory is
used as well. Servers run as in bench/run.py (its gunicorn settings, threaded workers unless
--worker-class sync).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import run as bench

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (exited ones count as nothing)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / TICKS


def postgres_pids() -> list[int]:
    found = subprocess.run(["pgrep", "-u", "postgres"], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def measure(name: str, target: str, env: dict, cwd: Path, path: str, lua: str | None, seconds: int) -> str:
    with bench.Server(target, env, cwd) as server:
        bench.wrk("warm-up", server.port, path, 2, 8, lua)
        workers = [server.process.pid, *bench.workers_of(server.process.pid)]
        before = cpu_seconds(workers), cpu_seconds(postgres_pids()), os.times()
        measured = bench.wrk(name, server.port, path, seconds, 8, lua)
        after = cpu_seconds(workers), cpu_seconds(postgres_pids()), os.times()
    requests = measured.requests_per_second * seconds
    gunicorn = (after[0] - before[0]) / requests * 1000
    postgres = (after[1] - before[1]) / requests * 1000
    wrk = ((after[2].children_user + after[2].children_system)
           - (before[2].children_user + before[2].children_system)) / requests * 1000
    return (f"| {name} | {measured.requests_per_second:,.0f} | {gunicorn:.2f} | {postgres:.2f} | {wrk:.2f} "
            f"| {gunicorn + postgres + wrk:.2f} | {measured.p99_ms:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgresql-url", required=True)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--worker-class", choices=sorted(bench.WORKER_CLASS_ARGS), default="gthread")
    args = parser.parse_args()
    bench.WORKER_CLASS = args.worker_class
    stored = bench.lua_post(json.dumps({**bench.PCL5_JSON, "store": True}), "application/json")
    ceiling_env = {**os.environ, "PYTHONPATH": str(bench.ROOT), "FLASK_RATELIMIT_ENABLED": "false"}
    rows = [measure("ceiling: bare Flask hello world", "hello:app", ceiling_env, bench.ROOT / "bench", "/", None,
                    args.seconds)]
    with tempfile.TemporaryDirectory() as directory:
        for database, url in (("postgresql", args.postgresql_url), ("sqlite", f"sqlite:///{directory}/split.sqlite")):
            env = bench.app_environment(url)
            subprocess.run([str(bench.BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=bench.ROOT, env=env,
                           check=True, capture_output=True)
            rows.append(measure(f"POST /api/v1/screenings (store=true), {database}", "wsgi:app", env, bench.ROOT,
                                "/api/v1/screenings", stored, args.seconds))
            time.sleep(1)
    print("| scenario | req/s | gunicorn CPU ms per request | PostgreSQL | wrk | all | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
