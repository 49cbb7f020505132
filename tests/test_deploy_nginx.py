"""The shipped deployment, run for real: Debian's nginx with deploy/nginx-ptsd-screening.conf in front of
gunicorn started as deploy/ptsd-screening.service starts it, over TLS with a throw-away certificate.

Only ports, paths and the certificate are substituted into the shipped files; every directive is theirs.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SITE = DEPLOY / "nginx-ptsd-screening.conf"
HEADERS_SNIPPET = DEPLOY / "nginx-ptsd-screening-headers.conf"
UNIT = DEPLOY / "ptsd-screening.service"
HOST = "screening.example.org"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy",
                    "X-Frame-Options", "Cross-Origin-Opener-Policy", "Cross-Origin-Resource-Policy",
                    "Strict-Transport-Security")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(NGINX).exists() and not os.environ.get("CI"),
                                 reason="nginx is not installed (apt-get install nginx; .ci/run installs it)")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def substitute(text: str, replacements: list[tuple[str, str]]) -> str:
    """Apply (regex, replacement) pairs; each must match, so a changed shipped file fails loudly here."""
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
        assert count, f"the shipped nginx site no longer contains {pattern!r}"
    return text


def throwaway_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for HOST, valid for a day, made with the openssl command."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}"],
                   check=True, capture_output=True)
    return cert, key


def nginx_config(directory: Path, site: str, error_level: str = "warn") -> Path:
    """A minimal nginx.conf around the site: everything under `directory`, in the foreground. Like
    Debian's nginx.conf it has a main error log and an http-wide access log (the site must override both)."""
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / name).mkdir(exist_ok=True)
    (directory / "site.conf").write_text(site)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the test's files
    config = directory / "nginx.conf"
    config.write_text(f"""{user}daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log {error_level};
events {{ worker_connections 512; }}
http {{
    access_log {directory}/access.log;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {directory}/site.conf;
}}
""")
    return config


def render_site(directory: Path, cert: Path, key: Path, **ports_and_paths) -> str:
    """The shipped site with the certificate and snippet paths (and, when given, ports and paths) swapped."""
    snippet = directory / "headers.conf"
    snippet.write_text(HEADERS_SNIPPET.read_text())
    replacements = [
        (r"/etc/letsencrypt/live/screening\.example\.org/fullchain\.pem", str(cert)),
        (r"/etc/letsencrypt/live/screening\.example\.org/privkey\.pem", str(key)),
        (r"/etc/nginx/snippets/ptsd-screening-headers\.conf", str(snippet)),
        (r"/var/log/nginx/", f"{directory}/"),
        (r"alias /srv/ptsd-screening/app/static/errors/;", f"alias {ROOT}/app/static/errors/;"),
        (r"root /var/www/letsencrypt;", f"root {directory}/letsencrypt;"),
    ]
    if ports_and_paths:
        replacements += [
            (r"^\s*listen \[::\].*\n", ""),  # IPv6 may be absent on a test machine
            (r"listen 80\b", f"listen 127.0.0.1:{ports_and_paths['http']}"),
            (r"listen 443\b", f"listen 127.0.0.1:{ports_and_paths['https']}"),
            (r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{ports_and_paths['gunicorn']};"),
            (r"root /run/ptsd-screening;", f"root {ports_and_paths['run']};"),
            (r"alias /srv/ptsd-screening/app/static/;", f"alias {ROOT}/app/static/;"),
        ]
    return substitute(SITE.read_text(), replacements)


def unit_lines(key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in UNIT.read_text().splitlines() if line.startswith(f"{key}=")]


def unit_command(key: str, gunicorn_port: int, run_dir: Path) -> list[str]:
    """An Exec line of the shipped unit, with this checkout's Python and the test's port and folder."""
    (line,) = unit_lines(key)
    line = line.replace("127.0.0.1:8000", f"127.0.0.1:{gunicorn_port}").replace("/run/ptsd-screening", str(run_dir))
    program, *arguments = shlex.split(line)
    assert program.startswith("/srv/ptsd-screening/.venv/bin/")
    return [sys.executable, "-m", Path(program).name, *arguments]


@dataclass
class Stack:
    http_port: int
    https_port: int
    gunicorn_port: int
    run_dir: Path
    gunicorn_log: Path

    def connection(self, tls: bool = True, source: str = "127.0.0.1", server_name: str = HOST):
        port = self.https_port if tls else self.http_port
        return Connection(port, tls, source, server_name)

    def request(self, method: str, path: str, body=None, headers: dict | None = None, tls: bool = True,
                source: str = "127.0.0.1"):
        connection = self.connection(tls, source)
        headers = {"Host": HOST, **(headers or {})}
        try:
            connection.request(method, path, body, headers,
                               encode_chunked=headers.get("Transfer-Encoding") == "chunked")
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def settled_gunicorn_log(self) -> str:
        """gunicorn's access log once it holds every request answered so far. gunicorn writes a line just
        after its response, so the line of a request the client already has can still be missing: send a
        request for a fresh path through nginx and read the log until that request's line is in it (a
        fixed sleep only guessed how long that takes, and failed when the machine was busy)."""
        marker = f"/log-marker-{secrets.token_hex(8)}"
        self.request("GET", marker)
        deadline = time.monotonic() + 20
        while f"GET {marker} " not in (text := self.gunicorn_log.read_text()):
            assert time.monotonic() < deadline, f"gunicorn did not log {marker} within 20 s"
            time.sleep(0.02)
        return text

    def direct(self, path: str):
        """The same request straight to gunicorn, as nginx would pass it on."""
        connection = http.client.HTTPConnection("127.0.0.1", self.gunicorn_port, timeout=10)
        try:
            connection.request("GET", path, headers={"Host": HOST, "X-Forwarded-Proto": "https"})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()


class Connection(http.client.HTTPConnection):
    """HTTP or HTTPS (with SNI for HOST, whatever address) from a chosen loopback source address."""

    def __init__(self, port: int, tls: bool, source: str, server_name: str):
        super().__init__("127.0.0.1", port, timeout=10, source_address=(source, 0))
        self.tls, self.server_name = tls, server_name

    def connect(self):
        super().connect()
        if self.tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the throw-away certificate
            self.sock = context.wrap_socket(self.sock, server_hostname=self.server_name)


def wait_for(port: int, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}: {log.read_text(errors='replace')[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (.ci/run installs it)")
    port = free_port()
    directory = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                "no", "--dir", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        wait_for(port, process, directory / "none")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    """A database of its own: a SQLite file, or a new database on the suite's PostgreSQL server."""
    from tests.test_backup import fresh_database

    with fresh_database(tmp_path_factory.mktemp("database")) as url:
        yield url


@pytest.fixture(scope="module")
def stack(tmp_path_factory, redis_server, database_url):
    """nginx (shipped site) → gunicorn (shipped unit's command) → the app on its own database."""
    directory = tmp_path_factory.mktemp("deploy")
    run_dir = directory / "run"
    gunicorn_port, http_port, https_port = free_port(), free_port(), free_port()
    environment = {
        **os.environ,
        **dict(line.split("=", 1) for line in unit_lines("Environment")),  # APP_ENV, FLASK_TRUSTED_PROXIES
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "FLASK_PUBLIC_BASE_URL": f"https://{HOST}",
        "FLASK_TRUSTED_HOSTS": HOST,  # as deploy/env.example sets it
        "FLASK_RATELIMIT_STORAGE_URI": redis_server,
        "FLASK_RATELIMIT_CODE_LOOKUPS": "3 per minute",
        # The app redirects any request it believes is plain HTTP: a page answered 200 proves it saw HTTPS.
        "FLASK_HTTPS_REDIRECT": "true",
    }
    assert environment["APP_ENV"] == "production" and environment["FLASK_TRUSTED_PROXIES"] == "1"
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=environment,
                   check=True, capture_output=True)
    subprocess.run(unit_command("ExecStartPre", gunicorn_port, run_dir), cwd=ROOT, env=environment,
                   check=True, capture_output=True)
    gunicorn_log = directory / "gunicorn.log"
    with open(gunicorn_log, "wb") as log:
        gunicorn = subprocess.Popen(unit_command("ExecStart", gunicorn_port, run_dir), cwd=ROOT, env=environment,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    cert, key = throwaway_certificate(directory)
    site = render_site(directory, cert, key, http=http_port, https=https_port, gunicorn=gunicorn_port, run=run_dir)
    config = nginx_config(directory, site)
    nginx = subprocess.Popen([NGINX, "-p", str(directory), "-c", str(config), "-e", str(directory / "error.log")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(gunicorn_port, gunicorn, gunicorn_log)
        wait_for(https_port, nginx, directory / "error.log")
        yield Stack(http_port, https_port, gunicorn_port, run_dir, gunicorn_log)
    finally:
        stop(nginx)
        stop(gunicorn)


# ---- the shipped file is valid -------------------------------------------------------------------

def test_shipped_site_passes_nginx_t(tmp_path):
    """`nginx -t` on the shipped site as it would be installed: only the certificate paths are made real."""
    cert, key = throwaway_certificate(tmp_path)
    config = nginx_config(tmp_path, render_site(tmp_path, cert, key))
    checked = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(config), "-e", str(tmp_path / "e.log")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


def test_body_limit_matches_the_app():
    from config import Config

    limit = re.search(r"client_max_body_size (\d+)k;", SITE.read_text()).group(1)
    assert int(limit) * 1024 == Config.MAX_CONTENT_LENGTH


def test_snippet_headers_are_the_apps_headers():
    from flask import Flask

    from app.security import STATIC_HEADERS, content_security_policy

    with Flask(__name__).test_request_context():
        csp = content_security_policy()
    snippet = dict(re.findall(r'^add_header (\S+) "([^"]*)" always;$', HEADERS_SNIPPET.read_text(), re.MULTILINE))
    assert snippet == {"Content-Security-Policy": csp, **STATIC_HEADERS,
                       "Strict-Transport-Security": "max-age=63072000; includeSubDomains"}


# ---- the running stack ---------------------------------------------------------------------------

def test_pages_are_served_over_tls_with_the_apps_security_headers(stack):
    status, headers, body = stack.request("GET", "/")
    assert status == 200, body[:300]  # with HTTPS_REDIRECT on, 200 means the app saw the HTTPS scheme
    assert b"<html" in body
    _, direct_headers, _ = stack.direct("/")
    for name in SECURITY_HEADERS:
        assert headers[name] == direct_headers[name], name
    assert headers["Cache-Control"] == "no-store"
    assert headers["Strict-Transport-Security"].startswith("max-age=63072000")
    assert headers["Server"] == "nginx"  # no version
    assert "Content-Encoding" not in headers  # no compression of pages (BREACH)


def test_plain_http_is_redirected_to_https(stack):
    status, headers, _ = stack.request("GET", "/screen/pcl5?lang=es", tls=False)
    assert status == 301
    assert headers["Location"] == f"https://{HOST}/screen/pcl5?lang=es"
    assert headers["Cache-Control"] == "no-store"


def test_other_host_names_never_reach_the_app(stack):
    connection = stack.connection(tls=False)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        connection.request("GET", "/", headers={"Host": "evil.example"})
        connection.getresponse()
    connection.close()
    with pytest.raises(ssl.SSLError):
        stack.connection(server_name="evil.example").connect()


def test_assets_are_served_by_nginx_with_a_years_cache_and_the_same_bytes(stack):
    _, _, page = stack.request("GET", "/")
    urls = re.findall(rb'(/assets/[\w.]+\.(?:css|js))"', page)
    assert len(urls) == 2  # one stylesheet, one script
    before = stack.settled_gunicorn_log()
    for url in (u.decode() for u in urls):
        status, headers, body = stack.request("GET", url)
        assert status == 200
        assert body == (stack.run_dir / url.lstrip("/")).read_bytes()
        direct_status, direct_headers, direct_body = stack.direct(url)
        assert direct_status == 200 and body == direct_body
        assert headers["Cache-Control"] == direct_headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert headers["Content-Type"].split(";")[0] == direct_headers["Content-Type"].split(";")[0]
        for name in SECURITY_HEADERS[:-1]:
            assert headers[name] == direct_headers[name], name
        assert "Strict-Transport-Security" in headers
        # Compressed for a browser that asks, and caches told so.
        _, gzipped, _ = stack.request("GET", url, headers={"Accept-Encoding": "gzip"})
        assert gzipped["Content-Encoding"] == "gzip" and "Accept-Encoding" in gzipped["Vary"]
    # gunicorn saw only the test's direct requests: nginx served every other one itself.
    assert stack.settled_gunicorn_log().count("/assets/") == before.count("/assets/") + len(urls)
    # An outdated hash falls through to the app, which refuses it.
    assert stack.request("GET", "/assets/site.000000000000.css")[0] == 404
    status, headers, _ = stack.request("GET", "/static/css/base.css")
    assert status == 200 and headers["Cache-Control"] == "public, max-age=3600"


def test_the_app_sees_each_clients_own_address(stack):
    """Code look-ups are limited per client (3 a minute here): the limit follows the real address, a
    client cannot pick another with X-Forwarded-For, and nginx's own address is never the key."""
    def look_up(source: str, spoof: str | None = None) -> int:
        headers = {"X-Forwarded-For": spoof} if spoof else {}
        return stack.request("GET", "/results/AAAA-BBBB-CCCC", headers=headers, source=source)[0]

    assert [look_up("127.0.0.2") for _ in range(4)] == [404, 404, 404, 429]
    assert look_up("127.0.0.2", spoof="203.0.113.9") == 429
    assert look_up("127.0.0.3") == 404


def test_slow_half_sent_requests_do_not_hold_up_others(stack):
    """Thirty clients that send part of a request and wait (more than all of gunicorn's threads) while
    someone else opens a page: nginx holds the slow ones, gunicorn never sees them."""
    for _ in range(4):  # rendered once in each worker first: the test is about waiting, not rendering
        assert stack.request("GET", "/learn")[0] == 200
    slow = []
    try:
        for n in range(30):
            connection = stack.connection()
            connection.connect()
            if n % 2:
                connection.sock.sendall(f"GET / HTTP/1.1\r\nHost: {HOST}\r\nX-Slow: ".encode())
            else:
                connection.sock.sendall(f"POST /api/v1/screenings HTTP/1.1\r\nHost: {HOST}\r\n"
                                        "Content-Type: application/json\r\nContent-Length: 2000\r\n\r\n{".encode())
            slow.append(connection)
        started = time.monotonic()
        status, _, _ = stack.request("GET", "/learn")
        waited = time.monotonic() - started
        assert status == 200
        assert waited < 5, f"a normal request waited {waited:.1f} s behind slow clients"
    finally:
        for connection in slow:
            connection.close()


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_32_kb_is_refused_before_gunicorn(stack, chunked):
    body = b'{"instrument": "pcl5", "answers": [' + b"0, " * 14000 + b"0]}"
    assert len(body) > 32 * 1024
    before = stack.settled_gunicorn_log().count("POST /api/v1/screenings")  # earlier tests' lines all in
    if chunked:
        status, headers, text = stack.request("POST", "/api/v1/screenings", iter([body[:20000], body[20000:]]),
                                              {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    else:
        status, headers, text = stack.request("POST", "/api/v1/screenings", body,
                                              {"Content-Type": "application/json"})
    assert status == 413
    assert headers["Cache-Control"] == "no-store"
    for name in SECURITY_HEADERS:
        assert name in headers, name
    assert stack.settled_gunicorn_log().count("POST /api/v1/screenings") == before
    # The app's own answer, as JSON under /api/ and as its page in the reader's language elsewhere.
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(text) == {"errors": ["Too much data"]}
    status, headers, text = stack.request("POST", "/screen/pcl5", body, {
        "Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert status == 413 and headers["Content-Type"].startswith("text/html")
    assert "<h1>Demasiados datos</h1>" in text.decode()
    # A real submission still goes through.
    status, _, _ = stack.request("POST", "/api/v1/screenings", b'{"instrument": "pcl5", "answers": ' +
                                 str([1] * 20).encode() + b"}", {"Content-Type": "application/json"})
    assert status == 200


def test_health_checks_answer_through_the_proxy_and_stay_out_of_the_log(stack):
    for path in ("/healthz", "/readyz"):
        status, headers, body = stack.request("GET", path)
        assert status == 200 and body == b'{"status":"ok"}\n', body
    stack.request("GET", "/learn")
    log = stack.settled_gunicorn_log()
    assert "GET /learn " in log
    assert "/healthz" not in log and "/readyz" not in log


# ---- nginx on its own: the app down, and what its logs keep ------------------------------------------

CODE = "7KQ2M9XD4TPA"
CLINIC_TOKEN = "clinicTOKENabcdefghij1234"
LINK_TOKEN = "resetTOKEN_abcdefghijklmnopqrstuvwxyz012345"
SECRETS = (CODE, "7KQ2-M9XD-4TPA", CLINIC_TOKEN, LINK_TOKEN)


@pytest.fixture(scope="module")
def app_down(tmp_path_factory):
    """The shipped site with nothing behind it (gunicorn stopped, mid-restart), its main error log at
    "info", more than Debian's default."""
    directory = tmp_path_factory.mktemp("down")
    http_port, https_port, dead_port = free_port(), free_port(), free_port()
    cert, key = throwaway_certificate(directory)
    (directory / "letsencrypt" / ".well-known" / "acme-challenge").mkdir(parents=True)
    (directory / "letsencrypt" / ".well-known" / "acme-challenge" / "probe").write_text("challenge-answer")
    site = render_site(directory, cert, key, http=http_port, https=https_port, gunicorn=dead_port,
                       run=directory / "run")
    config = nginx_config(directory, site, error_level="info")
    nginx = subprocess.Popen([NGINX, "-p", str(directory), "-c", str(config), "-e", str(directory / "error.log")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(https_port, nginx, directory / "error.log")
        yield Stack(http_port, https_port, dead_port, directory / "run", directory / "none.log"), directory
    finally:
        stop(nginx)


def test_a_form_posted_while_the_app_restarts_says_the_answers_were_not_saved(app_down):
    stack, _directory = app_down
    form = "store=yes&" + "&".join(f"q{n}=2" for n in range(1, 21))
    for language, words in (("en", "they were not saved"), ("es-ES,es;q=0.9", "no se guardaron")):
        status, headers, body = stack.request("POST", "/screen/pcl5", form, {
            "Content-Type": "application/x-www-form-urlencoded", "Accept-Language": language})
        page = body.decode()
        assert status == 502 and headers["Content-Type"].startswith("text/html")
        assert words in page and 'href="/static/css/base.css"' in page
        assert "988" in page  # the crisis lines, as on every page of the app
        assert headers["Cache-Control"] == "no-store"
        for name in SECURITY_HEADERS:
            assert name in headers, name
    status, headers, body = stack.request("POST", "/api/v1/screenings", b"{}", {"Content-Type": "application/json"})
    assert status == 502 and json.loads(body) == {"errors": ["The service is busy or down"]}
    assert headers["Content-Type"].startswith("application/json")
    # Its stylesheet is served by nginx itself, so the page looks right while the app is down.
    assert stack.request("GET", "/static/css/base.css")[0] == 200


def test_the_shipped_error_pages_are_the_apps_current_ones():
    """app/static/errors is written by `flask --app wsgi assets error-pages app/static/errors`: run it
    again when a message or the crisis lines change."""
    from app import create_app
    from app.proxy_error_pages import page_files

    app = create_app("testing")
    shipped = {path.name: path.read_bytes() for path in (ROOT / "app" / "static" / "errors").iterdir()}
    assert shipped == page_files(app)


def test_certbots_webroot_challenge_is_answered_on_port_80(app_down):
    stack, _directory = app_down
    status, _, body = stack.request("GET", "/.well-known/acme-challenge/probe", tls=False)
    assert status == 200 and body == b"challenge-answer"
    assert stack.request("GET", "/.well-known/acme-challenge/missing", tls=False)[0] == 404
    assert stack.request("GET", "/screen/pcl5", tls=False)[0] == 301


def test_no_log_line_keeps_a_code_or_token_or_a_client_address(app_down):
    stack, directory = app_down
    too_large = b"x" * (40 * 1024)
    for tls in (True, False):
        for path in (f"/results/{CODE}", "/results/7KQ2-M9XD-4TPA/delete", f"/c/{CLINIC_TOKEN}",
                     f"/clinician/reset/{LINK_TOKEN}", f"/clinician/invite/{LINK_TOKEN}",
                     f"/screen/pcl5?clinic={CLINIC_TOKEN}&previous={CODE}"):
            stack.request("GET", path, tls=tls, source="127.0.0.5")
            stack.request("POST", path, too_large, {"Content-Type": "application/x-www-form-urlencoded"},
                          tls=tls, source="127.0.0.5")
    time.sleep(0.3)
    logs = {path.name: path.read_text(errors="replace") for path in directory.glob("*.log")}
    assert "ptsd-screening.access.log" in logs
    for name, text in logs.items():
        for secret in SECRETS:
            assert secret not in text, (name, secret)
        assert "127.0.0.5" not in text, name
    access = logs["ptsd-screening.access.log"]
    # (nginx logs the method of its error page's internal GET for a refused POST.)
    assert '"GET /results/..." 502' in access and '"GET /results/..." 413' in access
    assert '"GET /c/..." 301' in access  # plain HTTP
    assert logs.get("access.log", "") == ""  # the http-wide log (Debian's default) gets nothing
