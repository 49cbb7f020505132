"""The person's journey in Chromium: the form fits the screen, the exit stays in view, the header stays
short, the PC-PTSD-5 gate and the answered count work with script, and nothing sets a cookie."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .site import pcl5_answers_by_label

pytestmark = pytest.mark.browser

LANGUAGES = ["en", "es"]
# Issue 15's targets for the PCL-5 page, whole document height in CSS px.
MAX_HEIGHT = {1280: 3500, 360: 7500}
HEADER_LINKS_TOPS = """() => {
  const tops = [...document.querySelectorAll('header a')]
    .filter(a => a.offsetParent !== null)
    .map(a => Math.round(a.getBoundingClientRect().top + a.getBoundingClientRect().height / 2));
  const rows = [];
  for (const top of tops) { if (!rows.some(r => Math.abs(r - top) < 12)) rows.push(top); }
  return rows.length;
}"""


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", [1280, 360])
def test_the_pcl5_fits_the_screen(page_in, language, width):
    page = page_in(language, width=width)
    page.goto("/screen/pcl5")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= MAX_HEIGHT[width], f"PCL-5 page is {height} px tall at {width} px ({language})"
    tops = page.evaluate("""() => [...document.querySelectorAll('#q7 .options label')]
        .map(l => Math.round(l.getBoundingClientRect().top))""")
    if width == 1280:
        # One row per question, like the paper form: the five answers side by side, beside the question.
        assert len(set(tops)) == 1
        legend, options = page.evaluate("""() => [document.querySelector('#q7 legend'),
            document.querySelector('#q7 .options')].map(e => e.getBoundingClientRect().left)""")
        assert options > legend + 200
    else:
        assert len(set(tops)) <= 3  # compact: two answers to a row
    # Every answer is a target of at least 24×24 px (WCAG 2.2 SC 2.5.8), the whole label clickable.
    sizes = page.evaluate("""() => [...document.querySelectorAll('.options label')]
        .map(l => [l.getBoundingClientRect().width, l.getBoundingClientRect().height])""")
    assert len(sizes) == 100 + 2 and min(w for w, h in sizes) >= 24 and min(h for w, h in sizes) >= 24


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", ["/", "/screen/pcl5", "/screen/pcptsd5", "/about", "/learn/ptsd"])
def test_the_header_is_two_rows_at_most_on_a_phone(page_in, language, path):
    page = page_in(language, width=360)
    page.goto(path)
    assert page.evaluate(HEADER_LINKS_TOPS) <= 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing sticks out sideways


@pytest.mark.parametrize("width", [1280, 360])
def test_the_exit_control_stays_in_view_while_scrolling(page_in, width):
    page = page_in("en", width=width)
    page.goto("/screen/pcl5")
    page.locator("#q18").scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 1500
    exit_link = page.locator("#leave-site")
    expect(exit_link).to_be_in_viewport()
    box = exit_link.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 120 and box["height"] >= 24
    # High contrast: white text on the red button.
    colours = page.evaluate("""() => { const s = getComputedStyle(document.getElementById('leave-site'));
        return [s.color, s.backgroundColor]; }""")
    assert colours == ["rgb(255, 255, 255)", "rgb(177, 14, 30)"]
    # It is what a click at its place hits: nothing is drawn over it.
    assert page.evaluate(f"document.elementFromPoint({box['x'] + box['width'] / 2}, {box['y'] + box['height'] / 2})"
                         ".closest('#leave-site') !== null")


def test_the_exit_control_is_a_plain_link_without_script(nojs_page):
    nojs_page.goto("/screen/pcl5")
    link = nojs_page.locator("#leave-site")
    expect(link).to_have_attribute("href", "https://www.google.com/search?q=weather")
    nojs_page.locator("#q18").scroll_into_view_if_needed()
    expect(link).to_be_in_viewport()


def test_answering_no_hides_the_five_questions_and_yes_brings_them_back(page):
    page.goto("/screen/pcptsd5")
    items = page.locator(".items")
    expect(items).to_be_visible()
    expect(page.locator("#gate-hint")).to_be_hidden()  # with script the questions simply go
    page.click("label:has(input[name='exposure'][value='no'])")
    expect(items).to_be_hidden()
    page.click("label:has(input[name='exposure'][value='yes'])")
    expect(items).to_be_visible()
    page.click("label:has(input[name='exposure'][value='no'])")
    page.click("button[type=submit]")
    page.wait_for_selector("#verdict")


def test_without_script_the_gate_hint_says_the_five_may_be_left_blank(nojs_page):
    nojs_page.goto("/screen/pcptsd5")
    expect(nojs_page.locator("#gate-hint")).to_contain_text("you can leave the questions below blank")
    expect(nojs_page.locator(".items")).to_be_visible()
    expect(nojs_page.locator(".progress-count")).to_be_hidden()
    expect(nojs_page.locator(".progress-summary")).to_have_text("5 questions.")


def test_the_answered_count_follows_the_answers_and_stays_in_view(page):
    page.goto("/screen/pcl5")
    counter = page.locator(".progress-count")
    expect(counter).to_have_text("0 of 20 answered")
    for number in (1, 2, 7):
        page.click(f"label:has(input[name='q{number}'][value='3'])")
    expect(counter).to_have_text("3 of 20 answered")
    page.locator("#q10").scroll_into_view_if_needed()
    expect(counter).to_be_in_viewport()
    pcl5_answers_by_label(page)
    expect(counter).to_have_text("20 of 20 answered")


def test_the_comparison_box_is_folded_and_opens(page):
    page.goto("/screen/pcl5")
    expect(page.locator("#previous")).to_be_hidden()
    page.click(".compare-box summary")
    expect(page.locator("#previous")).to_be_visible()


def test_the_code_box_opens_a_result_and_no_cookie_is_set_on_the_way(playwright_browser, live_server):
    context = playwright_browser.new_context(base_url=live_server.url)  # no language cookie either
    page = context.new_page()
    code = live_server.codes["pcl5"]
    page.goto("/")
    page.fill("#code", code.lower().replace("-", " "))
    page.click(".code-lookup button[type=submit]")
    expect(page.locator("p.code")).to_have_text(code)  # the answer to the POST: no code in the address
    assert page.url.rstrip("/").endswith("/results") and code not in page.url
    page.goto("/screen/pcl5")
    pcl5_answers_by_label(page)
    page.click("label:has(input[name='store'][value='yes'])")
    page.click("button[type=submit]")
    page.wait_for_selector("#verdict")
    assert context.cookies() == []
    context.close()
