"""The render cache for pages that are the same for every reader: the same bytes for everyone."""
from __future__ import annotations

import re
import shutil

import pytest

from app import page_cache
from app.education import content
from tests.conftest import app_with_empty_tables, drop_tables
from tests.results_helpers import pcl5_answers

CACHED = ["/", "/about", "/screen/pcl5", "/screen/pcptsd5", "/learn", "/learn/ptsd", "/learn/treatments",
          "/learn/mdma-assisted-therapy", "/learn/find-help", "/results/deleted"]


@pytest.fixture
def fresh_app():
    """Apps of the testing configuration with their own settings (a test compares two side by side)."""
    def make(**overrides):
        app = app_with_empty_tables("testing", overrides)
        made.append(app)
        return app

    made: list = []
    yield make
    for app in made:
        drop_tables(app)


def cached_pages(app) -> dict:
    return app.extensions.get("page_cache", {})


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("path", CACHED)
def test_a_cached_page_is_the_page_rendered_afresh(fresh_app, path, language):
    cached, uncached = fresh_app(), fresh_app(PAGE_CACHE=False)
    headers = {"Accept-Language": language}
    first = cached.test_client().get(path, headers=headers)
    second = cached.test_client().get(path, headers=headers)  # another reader: from the cache
    reference = uncached.test_client().get(path, headers=headers)
    assert first.status_code == second.status_code == reference.status_code == 200
    assert len(cached_pages(cached)) == 1 and not cached_pages(uncached)
    assert f'<html lang="{language}">' in second.get_data(as_text=True)
    assert second.get_data() == first.get_data() == reference.get_data()
    assert second.mimetype == "text/html" and second.headers["Cache-Control"] == "no-store"
    # Nothing of the reader's own is in a person's page, so nothing needs filling in per reader.
    assert "csrf_token" not in second.get_data(as_text=True)
    assert not any("Set-Cookie" in r.headers for r in (first, second, reference))


def test_every_reader_gets_the_same_copy_and_can_submit_it(fresh_app):
    app = fresh_app()
    readers = [app.test_client() for _ in range(3)]
    pages = {reader.get("/screen/pcl5").get_data() for reader in readers}
    assert len(pages) == 1 and len(cached_pages(app)) == 1
    answers = {f"q{n}": str(v) for n, v in enumerate(pcl5_answers(40), 1)}
    for reader in readers:
        shown = reader.post("/screen/pcl5", data={"store": "no", **answers})
        assert shown.status_code == 200 and "40" in shown.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/screen/pcl5?previous=0000-0000-0000", "/?utm_source=x", "/learn/ptsd?x=1"])
def test_a_query_string_is_always_rendered_afresh(fresh_app, path):
    app = fresh_app()
    response = app.test_client().get(path)
    assert response.status_code == 200 and not cached_pages(app)


def test_errors_and_posts_are_not_cached(fresh_app):
    app = fresh_app()
    client = app.test_client()
    assert client.get("/screen/gad7").status_code == 404
    client.get("/screen/pcl5")
    cached_before = dict(cached_pages(app))
    invalid = client.post("/screen/pcl5", data={"q1": "9"})
    assert invalid.status_code == 400 and 'value="9"' not in invalid.get_data(as_text=True)
    assert cached_pages(app) == cached_before and len(cached_before) == 1
    # …and the blank form served next from the cache shows none of that reader's answers or errors.
    blank = app.test_client().get("/screen/pcl5").get_data(as_text=True)
    assert "error-summary" not in blank and " checked" not in blank.replace('value="no" checked', "")


def test_an_edited_content_file_shows_without_a_restart(fresh_app, tmp_path, monkeypatch):
    shutil.copytree(content.CONTENT_DIR, tmp_path / "content")
    monkeypatch.setattr(content, "CONTENT_DIR", tmp_path / "content")
    monkeypatch.setattr(page_cache, "CONTENT_CHECK_SECONDS", 0)  # in production, within a second
    app = fresh_app()
    client = app.test_client()
    before = client.get("/learn/ptsd").get_data(as_text=True)
    source = tmp_path / "content" / "en" / "ptsd.md"
    title = re.search(r"^title: (.+)$", source.read_text(), re.M).group(1)
    source.write_text(source.read_text().replace(f"title: {title}", "title: An edited title", 1))
    after = client.get("/learn/ptsd").get_data(as_text=True)
    assert "<h1>An edited title</h1>" in after and "<h1>An edited title</h1>" not in before


def test_development_never_caches(fresh_app):
    app = fresh_app(PAGE_CACHE=False)
    for path in CACHED:
        app.test_client().get(path)
    assert not cached_pages(app)
