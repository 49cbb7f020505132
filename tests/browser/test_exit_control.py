""""Exit this page" takes its own space: at every width from 320 to 1920 px, in both languages, on the home
page, a learn page and the PCL-5 and ITQ forms, it is a bar across the full width in the page's flow
(nothing lies under it on arrival), it stays one short line in view at every scroll position, and no
element with keyboard focus is ever hidden by it (WCAG 2.2, 2.4.11), the skip link included."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser
WIDTHS = [320, 360, 768, 1024, 1280, 1920]
PAGES = ["/", "/learn/ptsd", "/screen/pcl5", "/screen/itq"]
TAB_STOPS = 45

BAR = """() => { const r = document.querySelector('.exit-this-page').getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height}; }"""
# Interactive elements (and labels) whose box meets the bar's, on arrival.
UNDER_BAR = """() => {
  const bar = document.querySelector('.exit-this-page').getBoundingClientRect();
  return [...document.querySelectorAll('a, button, input, label, select, textarea, summary')]
    .filter(el => !el.closest('.exit-this-page') && el.offsetParent !== null)
    .filter(el => { const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && r.top < bar.bottom && r.bottom > bar.top
        && r.left < bar.right && r.right > bar.left; })
    .map(el => el.outerHTML.slice(0, 80));
}"""
# The focused element, and whether the bar hides any of it.
FOCUS_HIDDEN = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el.closest('.exit-this-page')) return null;
  const bar = document.querySelector('.exit-this-page').getBoundingClientRect();
  const r = el.getBoundingClientRect();
  return (r.top < bar.bottom && r.bottom > bar.top) ? el.outerHTML.slice(0, 80) : '';
}"""


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("width", WIDTHS)
def test_the_exit_control_never_covers_anything(page_in, language, width):
    page = page_in(language, width=width)
    for path in PAGES:
        page.goto(path)
        bar = page.evaluate(BAR)
        # A bar across the full width, one short line, at the very top, in the page's flow.
        assert bar["left"] == 0 and abs(bar["right"] - width) <= 1, (path, bar)
        assert bar["top"] == 0 and bar["height"] <= 56, (path, width, language, bar)
        assert page.evaluate(UNDER_BAR) == [], (path, width, language)
        header_top = page.evaluate("document.querySelector('.site-header').getBoundingClientRect().top")
        assert header_top >= bar["bottom"] - 1, (path, "the header starts below the bar")
        # In view and one line at every scroll position.
        height = page.evaluate("document.documentElement.scrollHeight")
        for share in (0.25, 0.5, 0.75, 1.0):
            page.evaluate(f"window.scrollTo(0, {int(height * share)})")
            scrolled = page.evaluate(BAR)
            assert scrolled["top"] == 0 and scrolled["height"] == bar["height"], (path, share, scrolled)
        # Tabbing from the top: the skip link, the bar, then everything after; nothing focused hides.
        page.evaluate("window.scrollTo(0, 0)")
        page.locator("body").focus()
        hidden = []
        for key in ["Tab"] * TAB_STOPS + ["Shift+Tab"] * (TAB_STOPS - 1):  # down, then back up
            page.keyboard.press(key)
            problem = page.evaluate(FOCUS_HIDDEN)
            if problem:
                hidden.append((key, problem))
        assert hidden == [], (path, width, language)


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("width", [320, 1280])
def test_the_focused_skip_link_is_in_full_view(page_in, language, width):
    page = page_in(language, width=width)
    page.goto("/screen/pcl5")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    box = skip.bounding_box()
    bar = page.evaluate(BAR)
    assert box["y"] >= 0 and box["y"] + box["height"] <= bar["top"] + 1  # above the bar, not under it
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    assert page.evaluate(f"document.elementFromPoint({x}, {y}).closest('.skip-link') !== null")


@pytest.mark.parametrize("language", ["en", "es"])
def test_answers_at_the_top_of_the_screen_are_not_under_a_floating_control(page_in, language):
    """The reported harm: at desktop widths the old button lay over the answers at the top right."""
    page = page_in(language, width=1280)
    page.goto("/screen/pcl5")
    page.locator("#q10").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, document.querySelector('#q10').getBoundingClientRect().top - 60)")
    bar = page.evaluate(BAR)
    # Every answer of every question fully in view is what a click at its centre hits.
    misses = page.evaluate(f"""() => [...document.querySelectorAll('.options label')]
      .filter(l => {{ const r = l.getBoundingClientRect();
        return r.top >= {bar['bottom']} && r.bottom <= innerHeight; }})
      .filter(l => {{ const r = l.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return !hit || !l.contains(hit); }}).length""")
    assert misses == 0
