"""Templates' url_for kept per address (app/template_urls.py) gives what Flask's url_for gives."""
from __future__ import annotations

import pytest
from flask import render_template_string
from werkzeug.routing import BuildError

from app import template_urls

CALLS = [
    ("screening.screen", {"instrument_id": "pcl5"}),
    ("screening.screen", {"instrument_id": "pcl5", "clinic": None}),
    ("screening.screen", {"instrument_id": "pcl5", "clinic": "a b&c<"}),
    ("screening.screen", {"clinic": "x", "instrument_id": "pcl5"}),
    ("language.switch", {"code": "es", "next": "/screen/pcl5?clinic=x&previous=y"}),
    ("language.switch", {"code": "es", "next": "/" + "x" * 400}),
    ("education.page", {"slug": "find-help", "n": 1}),
    ("education.page", {"slug": "find-help", "n": True}),
    ("education.page", {"slug": "find-help", "n": 1.0}),
    ("education.page", {"slug": "find-help", "_anchor": "top"}),
    ("education.page", {"slug": "find-help", "_external": True}),
]


# A relative endpoint is on the request's blueprint (`.index` is the learn pages' only).
RELATIVE = {"/screen/pcl5": [(".screen", {"instrument_id": "phq9"}), (".index", {})],
            "/learn/ptsd": [(".index", {})], "/": [(".home", {})],
            "/clinician/": [(".queue", {"x": "1"}), (".index", {})]}


@pytest.mark.parametrize("path, script_root", [("/screen/pcl5", ""), ("/learn/ptsd", ""), ("/", "/site"),
                                               ("/clinician/", "/other")])
def test_every_address_is_what_flask_builds(app, path, script_root):
    kept = template_urls.KeptUrls(app)
    for method in ("GET", "POST"):
        with app.test_request_context(path, method=method, base_url=f"http://localhost{script_root}"):
            for _round in range(2):  # built, then read from the table
                for endpoint, values in CALLS + RELATIVE[path]:
                    try:
                        expected = app.url_for(endpoint, **values)
                    except BuildError:
                        with pytest.raises(BuildError):
                            kept(endpoint, **values)
                    else:
                        assert kept(endpoint, **values) == expected, (endpoint, values)
            assert kept("screening.home") == f"{script_root}/"
    assert kept.kept  # some were kept
    assert not any(("n", bool, True) in key or ("n", float, 1.0) in key for key in kept.kept)
    assert not any(len(str(part)) > template_urls.MAX_KEPT_VALUE for key in kept.kept for part in key)


def test_templates_use_it_and_the_table_stays_bounded(app, monkeypatch):
    monkeypatch.setattr(template_urls, "MAX_KEPT", 10)
    kept = app.jinja_env.globals["url_for"]
    assert isinstance(kept, template_urls.KeptUrls)
    with app.test_request_context("/"):
        for number in range(25):
            assert (render_template_string("{{ url_for('education.page', slug='ptsd', n=n) }}", n=number)
                    == f"/learn/ptsd?n={number}")
            assert len(kept.kept) <= 10


def test_outside_a_request_it_is_flasks_own(app):
    kept = template_urls.KeptUrls(app)
    app.config["SERVER_NAME"] = "example.org"
    with app.app_context():
        assert kept("screening.home") == app.url_for("screening.home") == "http://example.org/"
    assert not kept.kept
