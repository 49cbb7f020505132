"""Shared fixtures: a fresh app and database per test, the test client and the CLI runner."""
from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db as _db
from app.models import Screening

CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app():
    """An app on the test database (TEST_DATABASE_URL, else in-memory SQLite) with empty tables."""
    app = create_app("testing")
    with app.app_context():
        _db.drop_all()
        _db.create_all()
        yield app
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()  # each test's app has its own pool; close it rather than leak connections


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


def stored_count() -> int:
    """How many screenings are stored."""
    return _db.session.scalar(sa.select(sa.func.count()).select_from(Screening))


def using_postgres() -> bool:
    return os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
