"""Learn-page tables on a phone: wider than the screen, they scroll sideways inside their own box, and
a shadow at the right edge shows that more lies to the right until the reader has scrolled to the end."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

# The shadow is a gradient fixed at the box's right edge; a white patch scrolls with the content
# ("local") and covers it at the end.
EDGE_SHADOW = """e => {
  const style = getComputedStyle(e);
  return style.backgroundImage.includes("radial-gradient") && style.backgroundAttachment.includes("local");
}"""


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_wide_learn_table_scrolls_in_its_box_and_shows_there_is_more(page_in, language):
    page = page_in(language, width=360)
    page.goto("/learn/treatments")
    box = page.locator(".learn-body .table-scroll").first
    box.scroll_into_view_if_needed()
    scroll_width, client_width = box.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert scroll_width > client_width  # the table is wider than a phone: it scrolls, the page does not
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert box.evaluate(EDGE_SHADOW)
    assert box.get_attribute("tabindex") == "0"  # keyboard users can scroll it too

