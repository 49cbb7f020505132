"""Shared fixtures: a fresh app and database per test, the test client and the CLI runner."""
from __future__ import annotations

import functools
import os
import re
import secrets
from contextvars import ContextVar

import pytest
import sqlalchemy as sa
from flask import Flask, has_app_context
from flask.testing import FlaskClient, FlaskCliRunner

from app import create_app
from app.background_jobs import PeriodicJob
from app.extensions import db as _db
from app.models import Screening

# Fixture modules shared by the test files that ask for their fixtures (no `import *`).
pytest_plugins = ["tests.clinician_support", "tests.accounts_support"]

CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


APP_UNDER_TEST: ContextVar[Flask] = ContextVar("APP_UNDER_TEST")
INSIDE_A_CONTEXT = ("{} inside a pushed app context: Flask would run it in that context, sharing `g` (the signed-in "
                    "user, the CSRF token, the locale) with the test and other requests, which production never does. "
                    "Close the `with app.app_context():` block first.")


class ClientOutsideContexts(FlaskClient):
    """The test client, refusing to send a request from inside a pushed app context."""

    def open(self, *args, **kwargs):
        assert not has_app_context(), INSIDE_A_CONTEXT.format("A request")
        return super().open(*args, **kwargs)


class RunnerOutsideContexts(FlaskCliRunner):
    """The CLI runner, refusing to run a command from inside a pushed app context."""

    def invoke(self, *args, **kwargs):
        assert not has_app_context(), INSIDE_A_CONTEXT.format("A command")
        return super().invoke(*args, **kwargs)


def run_outside_contexts(app: Flask) -> Flask:
    """Make the app's test clients and CLI runners refuse to run inside a pushed app context."""
    app.test_client_class = ClientOutsideContexts
    app.test_cli_runner_class = RunnerOutsideContexts
    return app


def app_with_empty_tables(config_name: str = "testing", settings: dict | None = None) -> Flask:
    """A new app of the configuration on empty tables, its clients and runners kept outside contexts."""
    app = run_outside_contexts(create_app(config_name, settings))
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    return app


def drop_tables(app: Flask) -> None:
    # A background job (the retention purge a production-configured app starts after its first response)
    # may still be using a connection: closing the pool under it crashed the PostgreSQL driver once.
    for job in app.extensions.values():
        if isinstance(job, PeriodicJob) and job.thread is not None:
            job.thread.join(30)
    with app.app_context():
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()  # each test's app has its own pool; close it rather than leak connections


@pytest.fixture
def app():
    """An app on the test database (TEST_DATABASE_URL, else in-memory SQLite) with empty tables.

    No app context stays pushed: every request and CLI command gets its own, as under gunicorn, and a
    test opens one (`with app.app_context():`) only around the set-up and assertions that read the
    database, so nothing a request leaves on `g` (the signed-in user, the locale) reaches the next.
    """
    app = app_with_empty_tables()
    token = APP_UNDER_TEST.set(app)
    try:
        yield app
    finally:
        APP_UNDER_TEST.reset(token)
        drop_tables(app)


def in_app_context(helper):
    """Run a set-up or checking helper in the test app's context: the caller's if one is pushed, else
    its own for just that call (rows it returns have their columns loaded, readable afterwards)."""

    @functools.wraps(helper)
    def run(*args, **kwargs):
        if has_app_context():
            return helper(*args, **kwargs)
        with APP_UNDER_TEST.get().app_context():
            return helper(*args, **kwargs)

    return run


@pytest.fixture
def db(app):
    """The database handle, bound to the test app."""
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token_from(html: str) -> str:
    """The CSRF token embedded in a rendered form."""
    match = CSRF_INPUT.search(html)
    assert match, "page has no csrf_token field"
    return match.group(1) or match.group(2)


@pytest.fixture
def form_token(client):
    """GET a page and return its form's CSRF token, as a browser would have it."""

    def fetch(url: str) -> str:
        response = client.get(url)
        assert response.status_code == 200
        return csrf_token_from(response.get_data(as_text=True))

    return fetch


# site.js everywhere, form.js (the same exit control, plus the answered count) on the questionnaires.
SITE_SCRIPT = re.compile(r'<script src="/assets/(?:site|form)\.[0-9a-f]{12}\.js" defer>')


def scripts_are_only_the_site_script(html: str) -> bool:
    """The page's only script tag is the site's external, deferred enhancement bundle."""
    tags = re.findall(r"<script[^>]*>", html)
    return len(tags) == 1 and bool(SITE_SCRIPT.fullmatch(tags[0])) and "</script>" in html


@in_app_context
def reloaded(row):
    """`row` as the database holds it now (None once deleted), read in the test app's context; its
    columns stay readable afterwards (it is detached: no lazy relationships)."""
    return _db.session.get(type(row), row.id, populate_existing=True)


@in_app_context
def stored_count() -> int:
    """How many screenings are stored."""
    return _db.session.scalar(sa.select(sa.func.count()).select_from(Screening))


def using_postgres() -> bool:
    return os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def one_time_value() -> str:
    """A form's one-time value, as the questionnaire's script makes it when the form is sent."""
    return secrets.token_hex(16)


KEPT_CODE = re.compile(r'<span class="code nowrap">([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})<')


def kept_code(response) -> str | None:
    """The code a result page says its result was kept under (at its top), or None when not kept."""
    match = KEPT_CODE.search(response.get_data(as_text=True))
    return match.group(1) if match else None
