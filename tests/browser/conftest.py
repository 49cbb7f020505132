"""A real server in a thread and one headless Debian Chromium per session, driven by Playwright.

Nothing here downloads a browser: Playwright launches /usr/bin/chromium (which .ci/run installs).
Every browser context refuses requests to any other host and records them, so a page that tried
to load something from another site (a CDN, a font, analytics) fails its test.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from app.auth.passwords import hash_password
from app.clinics import create_clinic
from app.extensions import db
from app.models import ROLE_ADMIN, ROLE_CLINICIAN, Clinic, Clinician, Screening
from app.screening import case_references
from tests.conftest import app_with_empty_tables, drop_tables
from tests.results_helpers import ITQ_PATTERNS, store_itq, store_pcl5, store_pcptsd5

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


def browser_unavailable(reason: str):
    """In CI a missing browser is a failure (the flows would silently not run); locally, a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_browser():
    """One Chromium for the whole session; each test gets its own context (cookies, JS setting)."""
    if not os.path.exists(CHROMIUM):
        browser_unavailable(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - requirements-dev.txt pins it
        browser_unavailable("playwright is not installed (pip install -r requirements-dev.txt)")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as error:  # a broken Chromium counts like a missing one
        playwright.stop()
        browser_unavailable(f"Chromium did not start: {error}")
    yield browser
    browser.close()
    playwright.stop()


@dataclass
class LiveServer:
    """The app served over real HTTP, with results already stored for the pages that need one."""

    url: str
    app: object
    codes: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="package")
def live_server(tmp_path_factory):
    """The testing app on a temporary SQLite file (or TEST_DATABASE_URL), in a server thread."""
    overrides = {}
    if not os.environ.get("TEST_DATABASE_URL"):
        database = tmp_path_factory.mktemp("browser") / "browser.sqlite"
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
    overrides["PUBLIC_BASE_URL"] = "https://check.example.org"  # the clinic's link and poster
    app = app_with_empty_tables("testing", overrides)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    live = LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    client = app.test_client()
    # Stored over HTTP, each request in its own context as under gunicorn; a context only for the SQL.
    first = store_pcl5(client, 40)
    live.codes = {
        "pcl5": first,
        "pcl5_retake": store_pcl5(client, 22, previous=first),  # 18 lower, minutes later: the overlap caution
        "pcptsd5": store_pcptsd5(client, 3),
        "to_delete": store_pcl5(client, 12),
    }
    # A series of three for the clinician's trend chart, and a few more for the queue.
    live.codes["trend_1"] = store_pcl5(client, 52)
    live.codes["trend_2"] = store_pcl5(client, 41, previous=live.codes["trend_1"])
    live.codes["trend"] = store_pcl5(client, 29, previous=live.codes["trend_2"])
    store_pcptsd5(client, 1)
    store_pcl5(client, 8)
    for name, answers in ITQ_PATTERNS.items():
        live.codes[name] = store_itq(client, answers, when="1to5y" if name == "itq_cptsd" else None)
    live.codes["itq_retake"] = store_itq(client, ITQ_PATTERNS["itq_ptsd"], previous=live.codes["itq_cptsd"])
    # The PHQ-9: moderately severe with item 9 endorsed (the safety item), then a lower retake.
    for name, answers, previous in (("phq9", [2] * 8 + [1], None), ("phq9_retake", [1] * 9, "phq9")):
        body = {"instrument": "phq9", "answers": answers, "store": True,
                "previous": live.codes[previous] if previous else None}
        live.codes[name] = client.post("/api/v1/screenings", json=body).get_json()["code"]
    # Everything so far is Riverside Clinic's caseload (the clinician belongs to it); one result
    # kept without a clinic stays out of the queue until someone adds it by its code.
    with app.app_context():
        clinic = create_clinic("Riverside Clinic", "America/Chicago")
        db.session.flush()
        db.session.execute(sa.update(Screening).values(clinic_id=clinic.id))
        db.session.commit()
        live.codes["clinic_token"], live.codes["clinic_slug"] = clinic.link_token, clinic.slug
    live.codes["unattached"] = store_pcl5(client, 60)
    # The workspace names results by their case references (never the person's code).
    with app.app_context():
        for name in ("trend", "pcptsd5", "itq_retake", "phq9_retake", "unattached"):
            stored = db.session.scalar(sa.select(Screening.case_reference)
                                       .where(Screening.code == live.codes[name].replace("-", "")))
            live.codes[f"ref_{name}"] = case_references.display(stored)
    yield live
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    drop_tables(app)


class Isolated:
    """Requests this context made to other hosts (all refused)."""

    def __init__(self, origin: str):
        self.origin = origin
        self.refused: list[str] = []

    def __call__(self, route):
        url = route.request.url
        if url.startswith(self.origin + "/") or url.startswith("data:"):
            route.continue_()
        else:
            self.refused.append(url)
            route.abort("blockedbyclient")


def new_context(browser, live_server, *, language: str = "en", javascript: bool = True, width: int = 1280):
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=javascript,
        viewport={"width": width, "height": 900}, locale="en-US" if language == "en" else "es-419",
        reduced_motion="reduce",
    )
    # The language cookie, as the English/Español switch sets it; tests of the switch clear it.
    context.add_cookies([{"name": "lang", "value": language, "url": live_server.url}])
    isolated = Isolated(live_server.url)
    context.route("**/*", isolated)
    context.set_default_timeout(10_000)
    return context, isolated


def _context_fixture(browser, live_server, **options):
    context, isolated = new_context(browser, live_server, **options)
    yield context
    context.close()
    assert not isolated.refused, f"pages tried to reach other sites: {isolated.refused}"


@pytest.fixture
def context(playwright_browser, live_server):
    """A fresh English browser context with JavaScript."""
    yield from _context_fixture(playwright_browser, live_server)


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def nojs_page(playwright_browser, live_server):
    """A page in a context with JavaScript switched off."""
    for context in _context_fixture(playwright_browser, live_server, javascript=False):
        yield context.new_page()


@pytest.fixture
def page_in(playwright_browser, live_server):
    """Factory: a page in `language`; contexts are closed (and checked for outside requests) afterwards."""
    opened = []

    def make(language: str, javascript: bool = True, width: int = 1280):
        context, isolated = new_context(playwright_browser, live_server, language=language,
                                        javascript=javascript, width=width)
        opened.append((context, isolated))
        return context.new_page()

    yield make
    for context, isolated in opened:
        context.close()
        assert not isolated.refused, f"pages tried to reach other sites: {isolated.refused}"


CLINICIAN_PASSWORD = "correct horse battery staple"
CLINICIAN_EMAIL, ADMIN_EMAIL = "doc@example.org", "admin@example.org"


@pytest.fixture(scope="package")
def clinician_accounts(live_server):
    """A clinician and an administrator in the live server's database (once per package)."""
    with live_server.app.app_context():
        riverside = db.session.scalar(sa.select(Clinic).where(Clinic.slug == live_server.codes["clinic_slug"]))
        for email, role in ((CLINICIAN_EMAIL, ROLE_CLINICIAN), (ADMIN_EMAIL, ROLE_ADMIN)):
            db.session.add(Clinician(email=email, password_hash=hash_password(CLINICIAN_PASSWORD), role=role,
                                     clinics=[riverside] if role == ROLE_CLINICIAN else []))
        db.session.commit()
    return {"clinician": CLINICIAN_EMAIL, "admin": ADMIN_EMAIL}


def sign_in_through_the_form(page, email: str, lands_on: str = "**/clinician/",
                             password: str = CLINICIAN_PASSWORD) -> None:
    """Sign `page`'s context in as a real clinician would: the login form, its CSRF token, its button;
    then wait for the page it lands on (the queue, or the code's page for a two-factor account)."""
    page.goto("/clinician/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form.signin button[type=submit]")
    page.wait_for_url(lands_on)


@pytest.fixture
def clinician_signed_in(clinician_accounts):
    """Sign a page in as an ordinary clinician: `clinician_signed_in(page)`."""
    return lambda page: sign_in_through_the_form(page, clinician_accounts["clinician"])


@pytest.fixture
def admin_signed_in(clinician_accounts):
    """Sign a page in as an administrator (who also sees the audit log): `admin_signed_in(page)`."""
    return lambda page: sign_in_through_the_form(page, clinician_accounts["admin"])


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# --- Accounts and two-factor (the accounts issue) -------------------------------------------------

TWO_FACTOR_EMAIL = "twofactor@example.org"
TWO_FACTOR_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture(scope="package")
def two_factor_account(live_server):
    """A clinician with two-factor on (a known secret), once per package."""
    from app.models import utcnow

    with live_server.app.app_context():
        db.session.add(Clinician(email=TWO_FACTOR_EMAIL, password_hash=hash_password(CLINICIAN_PASSWORD),
                                 totp_secret=TWO_FACTOR_SECRET, totp_confirmed_at=utcnow()))
        db.session.commit()
    return TWO_FACTOR_EMAIL


@pytest.fixture
def password_step_done(two_factor_account):
    """Take `page` through the password step of a two-factor account, to the code's page."""

    return lambda page: sign_in_through_the_form(page, two_factor_account, lands_on="**/clinician/two-factor")


@pytest.fixture
def fresh_account_signed_in(live_server):
    """Sign `page` in as a new clinician without two-factor (a new account each call)."""
    import secrets

    def run(page):
        email = f"new-{secrets.token_hex(4)}@example.org"
        with live_server.app.app_context():
            db.session.add(Clinician(email=email, password_hash=hash_password(CLINICIAN_PASSWORD)))
            db.session.commit()
        sign_in_through_the_form(page, email)

    return run
