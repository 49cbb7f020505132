"""Every person-facing page within 30 KB over the wire (HTML, CSS and JS, uncompressed) in at most 3 requests."""
from __future__ import annotations

import re

import pytest

from tests.results_helpers import pcl5_answers, store_pcl5

MAX_BYTES = 30_000  # 30 KB, counted in thousands so the budget is never read generously
MAX_REQUESTS = 3
SAME_SITE_ASSET = re.compile(r'<(?:link|script|img)\b[^>]*?\b(?:href|src)="(/[^"/][^"]*)"')


def weight(client, response) -> tuple[int, int, list[str]]:
    """Bytes and requests for a page and every same-site stylesheet, script and image it references."""
    html = response.get_data(as_text=True)
    assert not re.search(r'<(?:link|script|img)\b[^>]*\b(?:href|src)="(?:https?:)?//', html), "no other site"
    assets = SAME_SITE_ASSET.findall(html)
    total = len(response.get_data())
    for url in assets:
        with client.get(url) as asset:
            assert asset.status_code == 200, url
            total += len(asset.get_data())
    return total, 1 + len(assets), assets


def person_pages(client) -> dict[str, object]:
    """One response per kind of person-facing page, the largest realistic variant of each."""
    first = store_pcl5(client, 61)
    second = store_pcl5(client, 47, previous=first)
    latest = store_pcl5(client, 30, previous=second)  # a series of three, with a change table
    assert client.get("/screen/pcl5").status_code == 200
    answered = {f"q{n}": str(v) for n, v in enumerate(pcl5_answers(44), 1) if n % 2}  # half left out
    pages = {path: client.get(path) for path in (
        "/", "/screen/pcl5", "/screen/pcptsd5", "/learn", "/learn/ptsd", "/learn/treatments",
        "/learn/mdma-assisted-therapy", "/learn/find-help", "/results/deleted", f"/results/{latest}",
        f"/results/{latest}/delete", f"/screen/pcl5?previous={latest}", "/no-such-page")}
    pages["PCL-5 sent with 10 answers missing (400)"] = client.post(
        "/screen/pcl5", data={"store": "no", **answered})
    pages["PCL-5 result, not stored, compared"] = client.post(
        f"/screen/pcl5?previous={latest}", data={"store": "no", "previous": latest,
                                                 **{f"q{n}": str(v) for n, v in enumerate(pcl5_answers(52), 1)}})
    return pages


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_person_facing_page_is_small_and_needs_few_requests(app, client, db, language):
    client.set_cookie("lang", language)
    measured = {}
    for name, response in person_pages(client).items():
        assert response.status_code in (200, 400, 404), name
        assert f'<html lang="{language}">' in response.get_data(as_text=True), name
        measured[name] = weight(client, response)
    over = {name: (size, requests) for name, (size, requests, _) in measured.items()
            if size > MAX_BYTES or requests > MAX_REQUESTS}
    assert not over, f"over {MAX_BYTES:,} bytes or {MAX_REQUESTS} requests: {over}"
    # The count is real: every page has its stylesheet and script, and the largest page is near the budget.
    assert all(requests == 3 for _, requests, _ in measured.values())
    assert max(size for size, _, _ in measured.values()) > MAX_BYTES // 2


def test_the_weight_counts_every_referenced_asset(app, client):
    response = client.get("/learn/mdma-assisted-therapy")
    size, requests, assets = weight(client, response)
    assert requests == 3 and [url.rsplit(".", 1)[1] for url in assets] == ["css", "js"]
    assert size == len(response.get_data()) + sum(len(client.get(url).get_data()) for url in assets)
