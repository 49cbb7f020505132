"""The documented production command, for real: `gunicorn --workers N --bind … wsgi:app` in the repository
(so gunicorn.conf.py applies), APP_ENV=production, a SECRET_KEY, a migrated SQLite file database."""
from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START_SECONDS = 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The documented variables (plus FLASK_<NAME> settings), nothing inherited that could change them."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("FLASK_", "GUNICORN_")) and key not in {"WEB_CONCURRENCY", "DATABASE_URL"}}
    environment.update({"APP_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
                        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite'}"})
    environment.update(settings)
    return environment


def migrate(environment: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=environment,
                   check=True, capture_output=True, timeout=120)


def flask_command(environment: dict[str, str], *arguments: str, stdin: str = "") -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *arguments], cwd=ROOT, env=environment,
                   input=stdin, text=True, check=True, capture_output=True, timeout=120)


def gunicorn_command(port: int, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "gunicorn", *arguments, "--bind", f"127.0.0.1:{port}", "wsgi:app"]


class Gunicorn:
    """One gunicorn master and its workers in their own process group, stopped (and killed if need be)
    on exit; stdout and stderr (access and error log) go to `log_path`."""

    def __init__(self, environment: dict[str, str], log_path: Path, *arguments: str):
        self.environment = environment
        self.log_path = log_path
        self.port = free_port()
        self.command = gunicorn_command(self.port, *arguments)
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.environment, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.request("GET", "/api/v1/instruments", timeout=2)[0] == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {START_SECONDS} s:\n{self.log()}")

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 10) -> tuple[int, dict, bytes]:
        """One request on a fresh connection: status, headers (lower-case names) and body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body, headers or {})
            response = connection.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            connection.close()


def refused_start(environment: dict[str, str], log_path: Path, *arguments: str,
                  timeout: float = START_SECONDS) -> tuple[int | None, str]:
    """Run gunicorn and return (exit status, output) if it stops by itself within `timeout`; a server
    that starts instead is stopped and reported with status None."""
    server = Gunicorn(environment, log_path, *arguments)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(server.command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        return process.wait(timeout=timeout), server.log()
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
        return None, server.log()
