"""The README's quick start, followed as written on a fresh clone: `make run`, the first admin, sign-in.

A newcomer's shell has none of the project's variables: the commands run with APP_ENV, SECRET_KEY,
DATABASE_URL and every FLASK_* setting removed. `make run` serves until stopped, so it runs in the
background and is polled. `make test` is the run this test is part of, so it is the one command not
run again (the test checks it is there).
"""
from __future__ import annotations

import http.client
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EMAIL, PASSWORD = "you@example.org", "a long enough passphrase 42"
TOKEN = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
DOCS = ("deploying", "content", "api", "security-and-privacy", "architecture", "benchmarks", "adding-a-questionnaire")
OTHER_HELPERS_DOCS = ("clinics", "accounts", "instruments", "translations", "itq", "person-pages", "hardening")


def quick_start() -> str:
    text = README.read_text()
    return text.split("## Quick start", 1)[1].split("\n## ", 1)[0]


def commands() -> list[str]:
    """Every line of every ```sh block in the quick start, without its comment."""
    blocks = re.findall(r"```sh\n(.*?)```", quick_start(), re.DOTALL)
    lines = [line.split("  #", 1)[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def newcomers_environment() -> dict:
    removed = {"APP_ENV", "SECRET_KEY", "DATABASE_URL", "TEST_DATABASE_URL", "VIRTUAL_ENV", "MAKEFLAGS", "MAKELEVEL"}
    return {name: value for name, value in os.environ.items()
            if name not in removed and not name.startswith("FLASK_")}


def test_readme_is_short_and_links_every_guide():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    assert "docs/screenshot.png" in text and (ROOT / "docs/screenshot.png").stat().st_size < 150_000
    for name in DOCS + OTHER_HELPERS_DOCS:
        assert f"(docs/{name}.md)" in text, name
    for name in DOCS:  # this branch's pages exist; the others arrive with their own branches
        assert (ROOT / "docs" / f"{name}.md").exists(), name
    assert commands()[:2] == ["make run", "make test"]


class Session:
    """Cookies kept like a browser's, for one host."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}

    def request(self, method: str, path: str, form: dict | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, value = header.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        return response.status, response.headers, text


def wait_until_serving(port: int, server: subprocess.Popen, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, f"`make run` stopped:\n{log.read_text()[-3000:]}"
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"`make run` did not serve within {seconds} s:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_quick_start_on_a_fresh_clone_reaches_a_signed_in_clinician_page(tmp_path):
    """Clones the committed state (HEAD): commit an edited README before expecting this to see it."""
    if not (ROOT / ".git").exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run in a git checkout: the README test clones it")
        pytest.skip("not a git checkout: nothing to clone")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    environment = newcomers_environment()
    # The clone reuses this run's virtualenv (already installed by `make test`), so `make run` does
    # not download every package again; it still runs its own set-up (database, .flaskenv) as written.
    venv = Path(sys.prefix)
    if venv != Path(sys.base_prefix):
        (clone / ".venv").symlink_to(venv)
        stamp = venv / ".runtime-installed"
        if stamp.exists():
            older = stamp.stat().st_mtime - 3600
            for name in ("requirements.txt", "requirements-dev.txt"):
                os.utime(clone / name, (older, older))
    port = free_port()
    environment["PORT"] = str(port)  # `make run` serves on 5000 unless told: another server may have it

    steps = commands()
    assert "make test" in steps
    server = None
    log = tmp_path / "make-run.log"
    try:
        for command in steps:
            if command == "make test":
                continue  # this very suite
            if command == "make run":
                with open(log, "wb") as output:
                    server = subprocess.Popen(shlex.split(command), cwd=clone, env=environment, stdout=output,
                                              stderr=subprocess.STDOUT, start_new_session=True)
                wait_until_serving(port, server, log, seconds=300)
                continue
            typed = f"{PASSWORD}\n{PASSWORD}\n" if "clinician create" in command else ""
            finished = subprocess.run(shlex.split(command), cwd=clone, env=environment, input=typed,
                                      capture_output=True, text=True, timeout=120)
            assert finished.returncode == 0, f"{command}\n{finished.stdout}\n{finished.stderr}"
            assert "Traceback" not in finished.stderr

        # Step 3: sign in at the address the README gives.
        login = re.search(r"<(http://127\.0\.0\.1:5000/clinician/login)>", quick_start()).group(1)
        path = urlsplit(login).path
        browser = Session(port)
        status, _, html = browser.request("GET", path)
        assert status == 200
        status, headers, _ = browser.request("POST", path, {"email": EMAIL, "password": PASSWORD,
                                                            "csrf_token": TOKEN.search(html).group(1)})
        assert status in (302, 303), "sign-in was refused"
        status, _, page = browser.request("GET", urlsplit(headers["Location"]).path)
        assert status == 200
        assert EMAIL in page and "/clinician/logout" in page  # signed in, as the admin just made
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
