"""Both screenings end to end in Chromium: by clicking, by keyboard alone, without JavaScript,
then store, revisit by code, compare a retake, delete; the language switch; "Leave this site"."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.screening.views import DEFAULT_LEAVE_SITE_URL

from .site import pcl5_answers_by_label

pytestmark = pytest.mark.browser
CODE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")

FOCUSED_JS = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {tag: el.tagName, id: el.id, name: el.getAttribute("name") || "", value: el.value || "",
          outline: style.outlineStyle, width: parseFloat(style.outlineWidth) || 0};
}"""


def focused(page: Page) -> dict:
    return page.evaluate(FOCUSED_JS)


def tab(page: Page, key: str = "Tab") -> dict:
    """Press a key and return the focused element, which must show a visible focus outline."""
    page.keyboard.press(key)
    element = focused(page)
    if element["tag"] != "BODY":
        assert element["outline"] != "none" and element["width"] >= 2, f"focus not visible on {element}"
    return element


def stored_code(page: Page) -> str:
    """The code of the result this page shows as kept; the address bar holds no code."""
    expect(page.locator("#code-heading")).to_be_visible()
    code = page.locator("p.code").inner_text().strip()
    assert CODE.match(code), code
    expect(page.locator("#result-status")).to_contain_text(code)  # said at the top too
    assert code.replace("-", "") not in re.sub(r"[^0-9A-Z]", "", page.url.upper())
    return code


def open_by_code(page: Page, typed: str) -> None:
    """The home page's "Already have a result code?" box: the code goes in the body of a POST."""
    page.goto("/")
    page.fill("#code", typed)
    page.locator(".code-lookup button").click()
    expect(page.locator("#code-heading")).to_be_visible()


# --- clicking ------------------------------------------------------------------------------------

def test_pcl5_by_clicking_labels_then_revisit_compare_and_delete(page):
    page.goto("/")
    page.get_by_role("link", name="Start Full checklist (PCL-5)").click()
    expect(page).to_have_url(re.compile(r"/screen/pcl5$"))
    pcl5_answers_by_label(page, rating=2)  # total 40
    page.click("label:has(input[name='store'][value='yes'])")
    page.get_by_role("button", name="See my result").click()
    code = stored_code(page)
    expect(page.locator(".score")).to_contain_text("40 out of 80")

    # Revisit by the code as someone might type it: lower case, no dashes.
    open_by_code(page, code.lower().replace("-", ""))
    expect(page.locator("p.code")).to_have_text(code)
    assert stored_code(page) == code

    # Retake through the result page's button: the earlier code travels along, hidden.
    page.get_by_role("button", name="Retake the PCL-5 and compare").click()
    expect(page.locator("#compare-note")).to_contain_text(code)
    pcl5_answers_by_label(page, rating=1)  # total 20
    page.click("label:has(input[name='store'][value='yes'])")
    page.get_by_role("button", name="See my result").click()
    retake = stored_code(page)
    assert retake != code
    expect(page.locator("#change-heading")).to_be_visible()
    expect(page.locator(".change-headline")).to_contain_text("Your total is 20 points lower than on")

    # Delete the retake through its confirmation page.
    page.get_by_role("button", name="Delete this result").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete this result?")
    page.get_by_role("button", name="Yes, delete this result").click()
    expect(page).to_have_url(re.compile(r"/results/deleted$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your result has been deleted")
    assert page.goto(f"/results/{retake}").status == 404
    assert page.goto(f"/results/{code}").status == 200  # the earlier result is kept


def test_pcptsd5_by_clicking_labels_not_stored(page):
    page.goto("/screen/pcptsd5")
    page.click("label:has(input[name='exposure'][value='yes'])")
    for number, answer in enumerate(("yes", "yes", "no", "yes", "no"), start=1):
        page.click(f"label:has(input[name='q{number}'][value='{answer}'])")
    page.get_by_role("button", name="See my result").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your PC-PTSD-5 result")
    expect(page.locator(".score")).to_contain_text("3 out of 5")
    expect(page.locator("#code-heading")).to_have_count(0)  # nothing kept without consent
    expect(page.locator("[data-print]")).to_be_visible()  # print.js shows its button


def test_errors_are_announced_focused_and_tied_to_their_fields(page):
    page.goto("/screen/pcl5")
    page.click("label:has(input[name='q1'][value='3'])")
    page.get_by_role("button", name="See my result").click()
    summary = page.locator("#error-summary")
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_be_focused()  # autofocus: no script needed
    assert page.locator("input[name='q1'][value='3']").is_checked()  # answers given are kept
    for number in range(2, 21):
        fieldset = page.locator(f"fieldset#q{number}")
        error_id = fieldset.get_attribute("aria-describedby")
        assert error_id == f"q{number}-error"
        expect(page.locator(f"#{error_id}")).to_have_text(f"Question {number}: please choose an answer.")
    # One line for the nineteen, linked to the first of them (not nineteen links).
    links = page.locator("#error-summary a")
    expect(links).to_have_count(1)
    expect(links).to_have_text("19 questions have no answer yet. Go to the first one.")
    links.click()
    expect(page).to_have_url(re.compile(r"#q2$"))


# --- keyboard alone ------------------------------------------------------------------------------

def test_pcptsd5_with_the_keyboard_alone_and_visible_focus(page):
    page.goto("/screen/pcptsd5")
    for _ in range(40):
        element = tab(page)
        if element["name"] == "exposure":
            break
    else:
        pytest.fail("Tab never reached the first question")
    assert element["value"] == "yes"
    tab(page, "Space")
    assert page.locator("input[name='exposure'][value='yes']").is_checked()
    # q1 Space (yes); q2 arrow to No; q3 Space; q4 arrow down then up (yes); q5 Space: 4 of 5.
    keys = {1: ["Space"], 2: ["ArrowRight"], 3: ["Space"], 4: ["ArrowDown", "ArrowUp"], 5: ["Space"]}
    for number, presses in keys.items():
        assert tab(page)["name"] == f"q{number}"
        for key in presses:
            tab(page, key)
    checked = [page.locator(f"input[name='q{n}'][value='yes']").is_checked() for n in range(1, 6)]
    assert checked == [True, False, True, True, True]
    store = tab(page)  # "Keep this result?" comes first, before the optional comparison
    assert (store["name"], store["value"]) == ("store", "no")  # Tab lands on the checked choice
    tab(page, "ArrowDown")
    assert page.locator("input[name='store'][value='yes']").is_checked()
    assert tab(page)["tag"] == "SUMMARY"  # the folded "compare with an earlier result"
    assert tab(page)["tag"] == "BUTTON"
    page.keyboard.press("Enter")
    stored_code(page)
    expect(page.locator(".score")).to_contain_text("4 out of 5")
    # The skip link is the first stop on the next page, visible when focused, and lands in main.
    skip = tab(page)
    assert skip["tag"] == "A" and page.locator(".skip-link").is_visible()
    box = page.locator(".skip-link").bounding_box()
    assert box["x"] >= 0 and box["y"] >= 0
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()


# --- without JavaScript --------------------------------------------------------------------------

def test_pcl5_without_javascript_end_to_end(nojs_page):
    page = nojs_page
    page.goto("/screen/pcl5")
    page.get_by_role("button", name="See my result").click()  # nothing answered: errors, no JS needed
    expect(page.locator("#error-summary")).to_be_focused()  # autofocus, not script
    pcl5_answers_by_label(page, rating=3)  # total 60
    page.click("label:has(input[name='store'][value='yes'])")
    page.get_by_role("button", name="See my result").click()
    # Without script the form has no one-time value: the result is shown with one Keep button.
    expect(page.locator("#result-status")).to_contain_text("Not kept yet")
    page.get_by_role("button", name="Keep this result").click()
    code = stored_code(page)
    expect(page.locator(".score")).to_contain_text("60 out of 80")
    expect(page.locator("[data-print]")).to_be_hidden()  # needs JS; the page says how to print instead
    open_by_code(page, code.lower().replace("-", ""))
    page.get_by_role("button", name="Retake the PCL-5 and compare").click()
    pcl5_answers_by_label(page, rating=0)
    page.get_by_role("button", name="See my result").click()  # not stored: compared, shown once
    expect(page.locator(".change-headline")).to_contain_text("60 points lower than on")
    open_by_code(page, code)
    page.get_by_role("button", name="Delete this result").click()
    page.get_by_role("button", name="Yes, delete this result").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your result has been deleted")
    assert page.goto(f"/results/{code}").status == 404


def test_pcptsd5_without_javascript_end_to_end(nojs_page):
    page = nojs_page
    page.goto("/screen/pcptsd5")
    page.click("label:has(input[name='exposure'][value='no'])")
    page.get_by_role("button", name="See my result").click()
    expect(page.locator(".score")).to_contain_text("0 out of 5")
    expect(page.locator(".verdict")).to_contain_text("this screen does not apply to you")
    expect(page.locator(".about-score")).to_contain_text("it scores 0 and ends")
    assert page.locator(".clusters").count() == 0  # no empty group bars after a No
    page.goto("/screen/pcptsd5")
    page.click("label:has(input[name='exposure'][value='yes'])")
    for number in range(1, 6):
        page.click(f"label:has(input[name='q{number}'][value='yes'])")
    page.click("label:has(input[name='store'][value='yes'])")
    page.get_by_role("button", name="See my result").click()
    page.get_by_role("button", name="Keep this result").click()
    stored_code(page)
    expect(page.locator(".score")).to_contain_text("5 out of 5")


def test_language_switch_without_javascript(nojs_page, live_server):
    page = nojs_page
    page.goto("/screen/pcl5?previous=nonsense")
    page.get_by_role("link", name="Español").click()
    # The switch comes back to the same URL, so only the new document's lang shows it has loaded:
    # an assertion that waits for it, not a read that can land mid-navigation.
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page).to_have_url(re.compile(r"/screen/pcl5\?previous=nonsense$"))
    expect(page.get_by_role("button", name="Ver mi resultado")).to_be_visible()
    expect(page.locator(".language-note")).to_contain_text("el idioma en que se validaron")
    expect(page.locator("fieldset#q1")).to_have_attribute("lang", "en")
    cookie = next(c for c in page.context.cookies() if c["name"] == "lang")
    assert (cookie["value"], cookie["httpOnly"], cookie["sameSite"]) == ("es", True, "Lax")
    assert cookie["expires"] > 0  # persistent, not a session cookie
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/screen/pcl5\?previous=nonsense$"))


# --- Leave this site -----------------------------------------------------------------------------

@pytest.fixture
def leaving(page, live_server):
    """Requests to the "Leave this site" target, intercepted and answered here: nothing leaves the machine.

    (Answered with a stub page rather than aborted: an aborted navigation races with reading
    history.length on Chromium's error page.)
    """
    target = live_server.app.config.get("LEAVE_SITE_URL") or DEFAULT_LEAVE_SITE_URL
    host = re.match(r"https?://[^/]+", target).group(0)
    requested: list[str] = []

    def intercept(route):
        requested.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>Elsewhere</title>")

    page.route(f"{host}/**", intercept)
    return target, requested


@pytest.mark.parametrize("how", ["click", "Shift three times"])
def test_exit_this_page_replaces_the_page_in_history(page, leaving, how):
    target, requested = leaving
    page.goto("/")
    page.goto("/screen/pcl5")
    page.click("label:has(input[name='q1'][value='2'])")
    before = page.evaluate("history.length")
    with page.expect_request(lambda request: request.url == target):
        if how == "click":
            page.locator("#leave-site").click()
        else:
            for _ in range(3):
                page.keyboard.press("Shift")
    page.wait_for_url(target)  # by then the stub has answered: the one request was intercepted
    assert requested == [target]
    assert page.evaluate("history.length") == before  # replaced, so Back cannot return to the form


# --- the ITQ --------------------------------------------------------------------------------------

ITQ_CPTSD = [3, 2, 3, 2, 4, 3, 3, 2, 2, 3, 2, 3, 3, 2, 3, 2, 2, 1]


def itq_answers_by_label(page: Page, answers: list[int]) -> None:
    for number, value in enumerate(answers, start=1):
        page.click(f"label:has(input[name='q{number}'][value='{value}'])")


@pytest.mark.parametrize("language, pattern, retake", [
    ("en", "Your answers match the pattern that this questionnaire uses for complex PTSD",
     "Retake the ITQ and compare"),
    ("es", "Sus respuestas coinciden con el patrón que este cuestionario usa para el TEPT complejo",
     "Repetir el ITQ y comparar"),
])
def test_itq_from_home_to_a_stored_result_and_a_retake_in_both_languages(page_in, language, pattern, retake):
    page = page_in(language)
    page.goto("/")
    page.locator("#questionnaires a[href='/screen/itq']").click()
    expect(page).to_have_url(re.compile(r"/screen/itq$"))
    expect(page.locator("textarea")).to_have_count(0)  # the description of the event is never asked
    page.click("label:has(input[name='when'][value='1to5y'])")
    itq_answers_by_label(page, ITQ_CPTSD)
    page.click("label:has(input[name='store'][value='yes'])")
    page.locator("button[type=submit]").click()
    code = stored_code(page)
    expect(page.locator("#verdict")).to_contain_text(pattern)
    page.get_by_role("button", name=retake).click()
    expect(page.locator("#compare-note")).to_contain_text(code)
    itq_answers_by_label(page, [0] * 18)
    page.locator("button[type=submit]").click()
    expect(page.locator("#change-heading")).to_be_visible()
    expect(page.locator(".change-table")).to_contain_text("\u221217")  # the PTSD total: 17, then 0


def test_one_escape_or_shift_twice_or_a_capital_letter_does_not_leave(page, leaving):
    """A stray key must not throw twenty answers away: only Shift pressed three times in a row leaves."""
    target, requested = leaving
    page.goto("/screen/pcl5")
    page.click("label:has(input[name='q1'][value='2'])")
    page.keyboard.press("Escape")
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    expect(page.locator("#leave-site .exit-hint")).to_contain_text("Shift pressed 2 of 3 times")
    page.keyboard.press("Shift+A")  # another key in between starts the count again
    page.keyboard.press("Shift")
    page.wait_for_timeout(300)
    assert requested == [] and page.url.endswith("/screen/pcl5")
    assert page.locator("input[name='q1'][value='2']").is_checked()
