"""One benchmark run, side by side: the bare-Flask ceiling and the app's own endpoints under gunicorn + wrk."""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
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
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GUNICORN_ARGS = ["--workers", "2", "--worker-class", "sync", "--log-level", "warning"]
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

    def __init__(self, target: str, env: dict, cwd: Path):
        self.port = free_port()
        self.command = [str(BIN / "gunicorn"), *GUNICORN_ARGS, "--bind", f"127.0.0.1:{self.port}", target]
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


def wrk(name: str, port: int, path: str, seconds: int, connections: int, lua: str | None = None) -> Measurement:
    """Run wrk against one URL; a Lua script sets method, body and headers for POSTs."""
    command = ["wrk", "--latency", "-t", "2", "-c", str(connections), "-d", f"{seconds}s"]
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
    """The ceiling and the person-facing endpoints, in one run on one SQLite database."""
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


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {int(memory) // 1024 // 1024} GiB, {platform.platform()}, Python {platform.python_version()}"


def report(results: list[Measurement], weights: dict, command: str) -> str:
    lines = [
        "# Benchmark results", "",
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        f"- Command: `{command}`",
        f"- Server: `gunicorn {' '.join(GUNICORN_ARGS)}` for the app and the ceiling alike; load from `wrk` on the same machine",
        "", "## Person-facing throughput and latency", "",
        "| scenario | req/s | × ceiling | median ms | p99 ms | non-2xx/3xx |", "|---|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        lines.append(f"| {m.name} | {m.requests_per_second:,.0f} | {m.ratio:.2f} | {m.median_ms:.2f} | {m.p99_ms:.2f} | {m.non_2xx_3xx} |")
    lines += ["", "## Page weight (HTML + same-site CSS/JS, uncompressed)", "", "| page | bytes | requests |", "|---|---:|---:|"]
    lines += [f"| {path} | {size:,} | {count} |" for path, (size, count) in weights.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS.md"))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as workdir:
        results, weights = person_facing(args.seconds, args.connections, Path(workdir))
    text = report(results, weights, " ".join(["python", *sys.argv]))
    Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
