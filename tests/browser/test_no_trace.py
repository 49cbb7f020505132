"""The person's whole journey in Chromium, with script and without, in both languages: every address the
tab visits is recorded and none holds a result code in any spelling; Back and Reload at each step store
nothing new (rows counted in the database)."""
from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from playwright.sync_api import Page, expect

from tests.apps import count_rows

from .site import pcl5_answers_by_label

pytestmark = pytest.mark.browser
CODE = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")


class Addresses:
    """Every address the tab's top frame loads, and every document request it sends (downloads too)."""

    def __init__(self, page: Page):
        self.seen: list[str] = []
        page.on("framenavigated", lambda frame: frame.parent_frame is None and self.seen.append(frame.url))
        page.on("request", lambda request: request.resource_type == "document" and self.seen.append(request.url))

    def holding(self, codes: set[str]) -> list[str]:
        """Addresses that hold one of `codes` in any spelling: any case, dashes, spaces or none."""
        plain = {code.replace("-", "") for code in codes}
        return [url for url in self.seen
                if any(code in re.sub(r"[^0-9A-Z]", "", unquote(url).upper()) for code in plain)]


def kept(page: Page) -> str:
    """The code the result page says at its top that the result was kept under."""
    expect(page.locator("#result-status .code")).to_be_visible()
    code = page.locator("#result-status .code").inner_text().strip()
    assert CODE.fullmatch(code), code
    return code


def send_form(page: Page, keep: bool) -> None:
    if keep:
        page.click("label:has(input[name='store'][value='yes'])")
    page.locator(".screening-form button[type=submit]").click()
    expect(page.locator("#verdict")).to_be_visible()


def keep_now(page: Page, javascript: bool) -> None:
    """Without script the form carries no one-time value: the result offers Keep, pressed here."""
    if not javascript:
        page.locator("#result-status button").click()


def back_and_reload_store_nothing(page: Page, app, rows: int) -> None:
    """Reload re-sends the page's POST (the same one-time value: the same row); Back goes to the page
    before; neither stores anything."""
    page.reload()
    assert count_rows(app) == rows
    page.go_back()
    page.go_forward()
    assert count_rows(app) == rows


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_whole_journey_leaves_no_code_in_any_address(page_in, live_server, language, javascript):
    app = live_server.app
    page = page_in(language, javascript=javascript, width=360)
    page.on("dialog", lambda dialog: dialog.accept())
    addresses = Addresses(page)
    codes: set[str] = set()
    rows = count_rows(app)

    # Take and keep.
    page.goto("/screen/pcl5")
    pcl5_answers_by_label(page, rating=2)
    send_form(page, keep=True)
    keep_now(page, javascript)
    first = kept(page)
    codes.add(first)
    rows += 1
    assert count_rows(app) == rows
    back_and_reload_store_nothing(page, app, rows)
    if javascript:
        # Back to the filled-in form and send it again: the same result and code, nothing stored.
        page.goto("/")
        page.go_back()
        page.go_back()
        expect(page.locator("input[name='q20'][value='2']")).to_be_checked()  # the answers came back
        page.locator(".screening-form button[type=submit]").click()
        assert kept(page) == first
        assert count_rows(app) == rows

    # Come back by the home page's code box, typed loosely.
    page.goto("/")
    page.fill("#code", first.lower().replace("-", " "))
    page.locator(".code-lookup button").click()
    assert kept(page) == first
    back_and_reload_store_nothing(page, app, rows)

    # Print (script only: the button calls the browser's print) and download: no address changes.
    if javascript:
        page.evaluate("window.print = () => { window.printed = true; }")
        page.locator("[data-print]").click()
        assert page.evaluate("window.printed === true")
    with page.expect_download() as download:
        page.locator(".code-actions button:not(.danger)").click()
    assert first.replace("-", "") not in download.value.url.upper().replace("-", "")
    assert download.value.suggested_filename.endswith(".fhir.json")

    # Compare: the result page's button, then a kept retake with the change.
    page.locator("form[action$='/compare'] button").click()
    expect(page.locator("#compare-note")).to_contain_text(first)
    pcl5_answers_by_label(page, rating=1)
    send_form(page, keep=True)
    keep_now(page, javascript)
    retake = kept(page)
    codes.add(retake)
    rows += 1
    expect(page.locator("#change-heading")).to_be_visible()
    back_and_reload_store_nothing(page, app, rows)

    # Not kept at first, then kept after seeing it.
    page.goto("/screen/pcl5")
    pcl5_answers_by_label(page, rating=3)
    send_form(page, keep=False)
    assert count_rows(app) == rows
    page.locator("#result-status button").click()
    later = kept(page)
    codes.add(later)
    rows += 1
    back_and_reload_store_nothing(page, app, rows)

    # Delete: the button, the confirmation, and the page that says it is gone.
    page.locator(".code-actions button.danger").click()
    page.locator("form[action='/results/delete'] button.danger").click()
    expect(page).to_have_url(re.compile(r"/results/deleted$"))
    rows -= 1
    assert count_rows(app) == rows
    page.reload()
    assert count_rows(app) == rows

    # The same through a clinic's link: kept, shared and named at the top.
    page.goto(f"/screen/pcl5?clinic={live_server.codes['clinic_token']}")
    pcl5_answers_by_label(page, rating=2)
    send_form(page, keep=True)
    keep_now(page, javascript)
    shared = kept(page)
    codes.add(shared)
    rows += 1
    expect(page.locator("#result-status")).to_contain_text("Riverside Clinic")
    back_and_reload_store_nothing(page, app, rows)
    page.locator("form[action$='/compare'] button").click()
    expect(page.locator("#compare-note")).to_contain_text(shared)
    assert page.locator("input[name='clinic']").count() == 1  # the retake stays with the clinic
    pcl5_answers_by_label(page, rating=1)
    send_form(page, keep=True)
    keep_now(page, javascript)
    codes.add(kept(page))
    rows += 1
    expect(page.locator("#result-status")).to_contain_text("Riverside Clinic")
    assert count_rows(app) == rows

    assert len(addresses.seen) > 20
    assert addresses.holding(codes) == []


FIRST_SCREEN = {"width": 360, "height": 640}


def in_first_screen(page: Page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= FIRST_SCREEN["height"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_top_of_a_kept_or_shared_result_says_so_within_the_first_screen_of_a_phone(page_in, live_server,
                                                                                         language):
    page = page_in(language, width=FIRST_SCREEN["width"])
    page.set_viewport_size(FIRST_SCREEN)
    for start, clinic in (("/screen/pcl5", False), (f"/screen/pcl5?clinic={live_server.codes['clinic_token']}", True)):
        page.goto(start)
        pcl5_answers_by_label(page, rating=2)
        send_form(page, keep=True)
        page.evaluate("window.scrollTo(0, 0)")
        assert in_first_screen(page, "#result-status .code")
        assert in_first_screen(page, "#result-status strong")  # "Kept — you can come back to it with this code"
        if clinic:
            shared = page.locator("#result-status p").nth(1)
            expect(shared).to_contain_text("Riverside Clinic")
            box = shared.bounding_box()
            assert box["y"] + box["height"] <= FIRST_SCREEN["height"]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("path", ["/screen/pcptsd5", "/screen/pcl5", "/screen/itq"])
def test_each_questionnaire_says_where_help_is_within_the_first_screen(page_in, language, path):
    page = page_in(language, width=FIRST_SCREEN["width"])
    page.set_viewport_size(FIRST_SCREEN)
    page.goto(path)
    link = page.locator(".content-note a[href='#crisis-heading']")
    assert in_first_screen(page, ".content-note a[href='#crisis-heading']")
    link.click()
    expect(page.locator("#crisis-heading")).to_be_in_viewport()
