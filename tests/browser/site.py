"""Every page the browser tests visit, and the checks that axe-core cannot make on its own.

Adding a page is one PAGES entry. A page behind a sign-in (the clinician workspace, issue 5) names
the fixture that signs the browser context in: `SitePage("clinician-queue", "/clinician/",
needs=("clinician_signed_in",))`; that fixture (tests/browser/conftest.py) returns a function that
signs a page in through the real login form, as a clinician created in the live server's database.
The checks and the screenshots then cover it in both languages with no other change.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from playwright.sync_api import Page

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
MIN_TARGET = 24  # CSS px, WCAG 2.2 SC 2.5.8


def pcl5_answers_by_label(page: Page, rating: int = 2) -> None:
    """Answer all 20 PCL-5 items by clicking the answers' labels (the whole box is the target)."""
    for number in range(1, 21):
        page.click(f"label:has(input[name='q{number}'][value='{rating}'])")


def submit_empty_pcl5(page: Page) -> None:
    page.goto("/screen/pcl5")
    page.click("button[type=submit]")
    page.wait_for_selector("#error-summary")


def fresh_pcl5_result(page: Page) -> None:
    page.goto("/screen/pcl5")
    pcl5_answers_by_label(page)
    page.click("button[type=submit]")
    page.wait_for_selector("#about-heading")


def fresh_pcptsd5_result(page: Page) -> None:
    page.goto("/screen/pcptsd5")
    page.click("label:has(input[name='exposure'][value='yes'])")
    for number, answer in enumerate(("yes", "no", "yes", "yes", "no"), start=1):
        page.click(f"label:has(input[name='q{number}'][value='{answer}'])")
    page.click("button[type=submit]")
    page.wait_for_selector("#about-heading")


def empty_code_box(page: Page) -> None:
    page.goto("/")
    page.click(".code-lookup button[type=submit]")
    page.wait_for_selector("#error-summary")


def pcptsd5_answered_no(page: Page) -> None:
    page.goto("/screen/pcptsd5")
    page.click("label:has(input[name='exposure'][value='no'])")
    page.wait_for_selector(".items", state="hidden")


def failed_sign_in(page: Page) -> None:
    page.goto("/clinician/login")
    page.fill("input[name=email]", "nobody@example.org")
    page.fill("input[name=password]", "not the password")
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("#error-summary")


def set_up_two_factor(page: Page) -> None:
    """From the set-up page: the secret from its otpauth:// link, the app's current code, the codes page."""
    import pyotp

    page.goto("/clinician/two-factor/setup")
    language = page.evaluate("document.documentElement.lang")
    uri = page.get_by_role("link", name=OPEN_IN_APP[language]).get_attribute("href")
    page.fill("input[name=code]", pyotp.parse_uri(uri).now())
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("ol.recovery-codes")


OPEN_IN_APP = {"en": "Open in your authenticator app", "es": "Abrir en su aplicación de autenticación"}


def invite_someone(page: Page) -> None:
    """The admin's invitation form, submitted: the page that shows the new link once."""
    import secrets

    page.goto("/clinician/accounts")
    page.fill("input[name=email]", f"invited-{secrets.token_hex(4)}@example.org")
    page.click("form.invite button[type=submit]")
    page.wait_for_selector("#account-link")


def open_new_invitation(page: Page) -> None:
    invite_someone(page)
    # The link is built on PUBLIC_BASE_URL (the site's public address), never the Host header: this
    # browser reaches the test server by its path.
    page.goto(urlsplit(page.input_value("#account-link")).path)
    page.wait_for_selector("input[name=password_confirm]")


@dataclass(frozen=True)
class SitePage:
    """A page to check: a path (formatted with the stored codes) or actions that reach it."""

    name: str
    path: str | None = None
    reach: Callable[[Page], None] | None = None
    needs: tuple[str, ...] = ()  # fixtures to request first (e.g. a signed-in clinician)
    print_media: bool = False  # checked as printed (Print / Save as PDF)
    status: int = 200

    def open(self, page: Page, codes: dict[str, str]) -> None:
        if self.reach is not None:
            self.reach(page)
        else:
            response = page.goto(self.path.format(**codes))
            assert response is not None and response.status == self.status, (self.name, response and response.status)
        if self.print_media:
            page.emulate_media(media="print")


PAGES = [
    SitePage("home", "/"),
    SitePage("home-code-error", reach=empty_code_box),
    SitePage("about", "/about"),
    SitePage("pcptsd5-answered-no", reach=pcptsd5_answered_no),
    SitePage("pcl5-form", "/screen/pcl5"),
    SitePage("pcl5-errors", reach=submit_empty_pcl5),
    SitePage("pcptsd5-form", "/screen/pcptsd5"),
    SitePage("pcl5-compare-form", "/screen/pcl5?previous={pcl5}"),
    SitePage("pcl5-result-fresh", reach=fresh_pcl5_result),
    SitePage("pcptsd5-result-fresh", reach=fresh_pcptsd5_result),
    SitePage("pcl5-result-stored", "/results/{pcl5}"),
    SitePage("pcl5-result-change", "/results/{pcl5_retake}"),
    SitePage("pcptsd5-result-stored", "/results/{pcptsd5}"),
    SitePage("pcl5-result-print", "/results/{pcl5_retake}", print_media=True),
    SitePage("itq-form", "/screen/itq"),
    SitePage("itq-result-none", "/results/{itq_none}"),
    SitePage("itq-result-ptsd", "/results/{itq_ptsd}"),
    SitePage("itq-result-cptsd", "/results/{itq_cptsd}"),
    SitePage("itq-result-change", "/results/{itq_retake}"),
    SitePage("itq-result-print", "/results/{itq_cptsd}", print_media=True),
    SitePage("phq9-form", "/screen/phq9"),
    SitePage("phq9-result-safety", "/results/{phq9}"),
    SitePage("phq9-result-change", "/results/{phq9_retake}"),
    SitePage("delete-confirmation", "/results/{to_delete}/delete"),
    SitePage("deleted", "/results/deleted"),
    SitePage("learn", "/learn"),
    SitePage("learn-ptsd", "/learn/ptsd"),
    SitePage("learn-treatments", "/learn/treatments"),
    SitePage("learn-mdma", "/learn/mdma-assisted-therapy"),
    SitePage("learn-find-help", "/learn/find-help"),
    SitePage("not-found", "/no-such-page", status=404),
    SitePage("unknown-result", "/results/0000-0000-0000", status=404),
    # The clinician workspace (issue 5), signed in through the login form.
    SitePage("clinician-login", "/clinician/login"),
    SitePage("clinician-login-failed", reach=failed_sign_in),
    SitePage("clinician-queue", "/clinician/", needs=("clinician_signed_in",)),
    SitePage("clinician-queue-filtered", "/clinician/?instrument=pcl5&cutoff=yes&reviewed=no&from=2020-01-01",
             needs=("clinician_signed_in",)),
    SitePage("clinician-queue-bad-filters", "/clinician/?from=yesterday&cutoff=maybe", status=400,
             needs=("clinician_signed_in",)),
    SitePage("clinician-result", "/clinician/results/{ref_trend}", needs=("clinician_signed_in",)),
    SitePage("clinician-result-pcptsd5", "/clinician/results/{ref_pcptsd5}", needs=("clinician_signed_in",)),
    SitePage("clinician-result-itq", "/clinician/results/{ref_itq_retake}", needs=("clinician_signed_in",)),
    SitePage("clinician-result-phq9", "/clinician/results/{ref_phq9_retake}", needs=("clinician_signed_in",)),
    SitePage("clinician-queue-phq9", "/clinician/?instrument=phq9", needs=("clinician_signed_in",)),
    SitePage("clinician-stats", "/clinician/stats", needs=("clinician_signed_in",)),
    SitePage("clinician-audit", "/clinician/audit", needs=("admin_signed_in",)),
    # Accounts and two-factor (the accounts issue).
    SitePage("accounts", "/clinician/accounts", needs=("admin_signed_in",)),
    SitePage("accounts-detail", "/clinician/accounts/1", needs=("admin_signed_in",)),
    SitePage("accounts-link", reach=invite_someone, needs=("admin_signed_in",)),
    SitePage("invitation", reach=open_new_invitation, needs=("admin_signed_in",)),
    SitePage("link-no-longer-works", "/clinician/reset/no-such-link", status=404),
    SitePage("own-account", "/clinician/account", needs=("clinician_signed_in",)),
    SitePage("two-factor-setup", "/clinician/two-factor/setup", needs=("fresh_account_signed_in",)),
    SitePage("recovery-codes", reach=set_up_two_factor, needs=("fresh_account_signed_in",)),
    SitePage("two-factor-step", "/clinician/two-factor", needs=("password_step_done",)),
    SitePage("clinician-audit-filtered", "/clinician/audit?action=sign_in&from=2020-01-01", needs=("admin_signed_in",)),
    SitePage("clinician-queue-admin", "/clinician/", needs=("admin_signed_in",)),
    SitePage("clinician-clinics", "/clinician/clinics", needs=("admin_signed_in",)),
    SitePage("clinician-clinic-admin", "/clinician/clinics/{clinic_slug}", needs=("admin_signed_in",)),
    SitePage("clinician-clinic", "/clinician/clinics/{clinic_slug}", needs=("clinician_signed_in",)),
    SitePage("clinician-poster", "/clinician/clinics/{clinic_slug}/poster", needs=("clinician_signed_in",)),
    SitePage("clinician-poster-print", "/clinician/clinics/{clinic_slug}/poster", print_media=True,
             needs=("clinician_signed_in",)),
    SitePage("clinician-not-found", "/clinician/results/{ref_unattached}", status=404, needs=("clinician_signed_in",)),
    SitePage("clinic-landing", "/c/{clinic_token}"),
    SitePage("clinic-pcptsd5-form", "/screen/pcptsd5?clinic={clinic_token}"),
    SitePage("clinic-link-unknown", "/c/no-such-link", status=404),
    SitePage("clinician-outcomes", "/clinician/outcomes", needs=("clinician_signed_in",)),
    SitePage("clinician-outcomes-admin", "/clinician/outcomes?clinic={clinic_slug}", needs=("admin_signed_in",)),
    SitePage("forgot-password", "/clinician/forgot"),
]


def axe_report(violations: list[dict]) -> str:
    """Readable axe violations: rule, impact, help, and each failing element with axe's reason."""
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation.get('impact')}): {violation['help']} "
                     f"[{violation.get('helpUrl', '')}]")
        for node in violation["nodes"]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node.get('html', '')[:160]}")
            for check in node.get("any", []) + node.get("all", []) + node.get("none", []):
                lines.append(f"      * {check['message']}")
    return "\n".join(lines)


def axe_violations(page: Page) -> list[dict]:
    """axe-core's WCAG 2.0/2.1/2.2 A and AA violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                       "resultTypes": ["violations"]})
    return results.response["violations"]


def assert_no_axe_violations(page: Page, label: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe found {len(violations)} violation(s) on {label}:\n{axe_report(violations)}"


SMALL_TARGETS_JS = """
(minimum) => {
  const visible = (el) => {
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return style.visibility !== "hidden" && style.display !== "none" && box.width > 0 && box.height > 0
      && box.right > 0 && box.bottom > 0;   // the skip link waits off-screen until focused
  };
  // WCAG 2.5.8's inline exception: a link in a sentence (its paragraph or list item has other text).
  const inline = (el) => {
    const parent = el.parentElement;
    return el.tagName === "A" && parent && ["P", "LI"].includes(parent.tagName)
      && parent.textContent.trim() !== el.textContent.trim();
  };
  const small = [];
  for (const el of document.querySelectorAll("a[href], button, input, select, textarea, summary")) {
    if (el.type === "hidden" || !visible(el) || inline(el)) continue;
    // A radio or checkbox inside its label: the label is what one taps.
    const target = (el.type === "radio" || el.type === "checkbox") && el.closest("label") ? el.closest("label") : el;
    const box = target.getBoundingClientRect();
    if (box.width + 0.01 < minimum || box.height + 0.01 < minimum) {
      small.push(`${target.outerHTML.slice(0, 120)} is ${box.width.toFixed(1)}x${box.height.toFixed(1)}`);
    }
  }
  return small;
}
"""


def small_targets(page: Page) -> list[str]:
    return page.evaluate(SMALL_TARGETS_JS, MIN_TARGET)


def horizontal_overflow(page: Page, width: int) -> int:
    """How many CSS px the page is wider than `width` (0 when nothing scrolls sideways)."""
    page.set_viewport_size({"width": width, "height": 900})
    return max(0, page.evaluate("document.documentElement.scrollWidth") - width)


STRUCTURE_JS = """
() => {
  const problems = [];
  const count = (selector) => document.querySelectorAll(selector).length;
  if (count("body > header") !== 1) problems.push("expected one page header (banner)");
  if (count("body > footer") !== 1) problems.push("expected one page footer (contentinfo)");
  if (count("main") !== 1) problems.push("expected exactly one main");
  if (count("nav") < 1) problems.push("expected a navigation landmark");
  for (const nav of document.querySelectorAll("nav")) {
    if (!nav.getAttribute("aria-label") && !nav.getAttribute("aria-labelledby"))
      problems.push("a nav without a name: " + nav.outerHTML.slice(0, 80));
  }
  const headings = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")]
    .filter((h) => getComputedStyle(h).display !== "none");
  const h1s = headings.filter((h) => h.tagName === "H1");
  if (h1s.length !== 1) problems.push(`expected one h1, found ${h1s.length}`);
  if (headings.length && headings[0].tagName !== "H1") problems.push("the first heading is not the h1");
  let previous = 0;
  for (const h of headings) {
    const level = Number(h.tagName[1]);
    if (level > previous + 1)
      problems.push(`heading level skips from h${previous} to h${level}: ${h.textContent.trim()}`);
    previous = level;
  }
  const lang = document.documentElement.lang;
  if (!lang) problems.push("html has no lang");
  return problems;
}
"""


def structure_problems(page: Page) -> list[str]:
    return page.evaluate(STRUCTURE_JS)
