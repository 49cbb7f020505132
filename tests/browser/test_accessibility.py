"""Every page in English and Spanish: axe-core, targets, reflow at 320 px, 200 % text, structure, screenshots."""
from __future__ import annotations

import pytest

from .site import (
    PAGES,
    SitePage,
    assert_no_axe_violations,
    axe_report,
    axe_violations,
    horizontal_overflow,
    small_targets,
    structure_problems,
)

pytestmark = pytest.mark.browser
LANGUAGES = ("en", "es")
PHONE, DESKTOP = 360, 1280


def open_page(request, page_in, live_server, site_page: SitePage, language: str, width: int = DESKTOP):
    page = page_in(language, width=width)
    for fixture in site_page.needs:  # e.g. clinician_signed_in: signs this page's context in
        request.getfixturevalue(fixture)(page)
    site_page.open(page, live_server.codes)
    assert page.evaluate("document.documentElement.lang") == language
    return page


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("site_page", PAGES, ids=lambda p: p.name)
def test_page_is_accessible(request, page_in, live_server, screenshots_dir, site_page, language):
    """axe-core (WCAG 2.0-2.2 A/AA) at phone width, then what axe cannot judge, with screenshots.

    One page load per page and language keeps the whole browser suite within a few minutes.
    """
    label = f"{site_page.name} ({language})"
    page = open_page(request, page_in, live_server, site_page, language, width=PHONE)
    page.screenshot(path=screenshots_dir / f"{site_page.name}-{language}-{PHONE}.png", full_page=True)
    assert_no_axe_violations(page, label)
    problems = [f"structure: {problem}" for problem in structure_problems(page)]
    if not site_page.print_media:  # paper: nothing to tap, scroll or zoom (the screen version is checked)
        problems += [f"target under 24x24 px at {PHONE} px: {target}" for target in small_targets(page)]
        if overflow := horizontal_overflow(page, 320):
            problems.append(f"scrolls sideways by {overflow} px at 320 px wide")
    page.set_viewport_size({"width": DESKTOP, "height": 900})
    page.screenshot(path=screenshots_dir / f"{site_page.name}-{language}-{DESKTOP}.png", full_page=True)
    if not site_page.print_media:
        problems += [f"target under 24x24 px at {DESKTOP} px: {target}" for target in small_targets(page)]
        # Text at 200 %: at 640 px wide (1280 px zoomed 200 %) nothing may need sideways scrolling.
        page.evaluate("document.documentElement.style.fontSize = '200%'")
        if overflow := horizontal_overflow(page, 640):
            problems.append(f"with text at 200 %, scrolls sideways by {overflow} px at 640 px wide")
    assert not problems, f"{label}:\n" + "\n".join(problems)


# --- the checks can fail --------------------------------------------------------------------------

BROKEN_PAGE = """<!doctype html><html><head><title>Broken</title></head><body>
<main><h1>Broken on purpose</h1><img src="/static/none.png">
<p><a href="#x"></a></p><button></button><div class="wide"></div>
<h4>Skipped levels</h4></main></body></html>"""
WIDE_STYLE = "body { margin: 0 } .wide { width: 500px; height: 10px } button { width: 10px; height: 10px; padding: 0 }"


@pytest.fixture
def broken_page(page, live_server):
    """A deliberately inaccessible page, served at a path of the live server by the test itself."""
    page.route(f"{live_server.url}/broken-on-purpose",
               lambda route: route.fulfill(status=200, content_type="text/html", body=BROKEN_PAGE))
    page.route(f"{live_server.url}/broken-on-purpose.css",
               lambda route: route.fulfill(status=200, content_type="text/css", body=WIDE_STYLE))
    page.goto("/broken-on-purpose")
    page.add_style_tag(url="/broken-on-purpose.css")
    return page


def test_axe_reports_violations_on_a_broken_page(broken_page):
    violations = axe_violations(broken_page)
    rules = {violation["id"] for violation in violations}
    assert {"image-alt", "html-has-lang", "link-name", "button-name"} <= rules
    with pytest.raises(AssertionError) as failure:
        assert_no_axe_violations(broken_page, "the broken page")
    message = str(failure.value)
    assert "image-alt" in message and '<img src="/static/none.png">' in message  # printed, element and all
    assert axe_report(violations) in message


def test_own_checks_report_a_broken_page(broken_page):
    assert any("<button></button> is 10.0x10.0" in target for target in small_targets(broken_page))
    assert horizontal_overflow(broken_page, 320) == 180
    problems = structure_problems(broken_page)
    assert "expected one page header (banner)" in problems and "html has no lang" in problems
    assert "expected a navigation landmark" in problems
    assert "heading level skips from h1 to h4: Skipped levels" in problems
