"""Stylesheet and script bundles: the right partials, minified, under URLs that change with the content."""
from __future__ import annotations

import re
import shutil

import pytest

from app import assets
from app.assets import BUNDLES, build

# One rule from each partial, as it reads once minified.
MARKERS = {
    "css/base.css": ".skip-link{",
    "css/forms.css": ".options input{",
    "css/result.css": "@media print{",
    "css/learn.css": ".status-label{",
    "css/clinician.css": ".pager{",
    "js/leave-site.js": "location.replace",
    "js/print.js": "window.print()",
    "js/form-progress.js": "data-template",
}


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_each_bundle_holds_exactly_its_partials_minified(name):
    body = build(name).body.decode()
    for part, marker in MARKERS.items():
        assert (marker in body) == (part in BUNDLES[name]), (name, part)
    assert "/*" not in body and "\n  " not in body  # comments and indentation are gone
    sources = sum(len((assets.STATIC / part).read_bytes()) for part in BUNDLES[name])
    assert len(body) < 0.85 * sources


def test_a_bundle_is_served_for_a_year_under_its_hash(client):
    page = client.get("/learn/ptsd").get_data(as_text=True)
    url = re.search(r'href="(/assets/learn\.[0-9a-f]{12}\.css)"', page).group(1)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Accept-Language" not in response.headers.get("Vary", "")  # the same bytes for every language
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data() == build("learn.css").body


@pytest.mark.parametrize("path", ["/assets/learn.000000000000.css", "/assets/learn.css", "/assets/nothing.js"])
def test_an_unknown_or_outdated_bundle_is_a_404(client, path):
    assert client.get(path).status_code == 404


def test_an_edited_partial_gets_a_new_url(tmp_path, monkeypatch):
    shutil.copytree(assets.STATIC, tmp_path / "static")
    monkeypatch.setattr(assets, "STATIC", tmp_path / "static")
    before = build("site.css")
    partial = tmp_path / "static" / "css" / "forms.css"
    partial.write_text(partial.read_text() + ".added-rule { color: red; }\n")
    after = build("site.css")
    assert after.filename != before.filename and b".added-rule{color:red}" in after.body
    assert build("learn.css").filename == build("learn.css").filename  # stable when nothing changed
