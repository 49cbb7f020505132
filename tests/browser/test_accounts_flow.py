"""Accounts end to end in Chromium: an admin invites, the person chooses a password and sets up
two-factor from the page's otpauth:// link, signs out and in with a fresh code; a replayed code and a
spent recovery code are refused; the admin deactivates the account and its session ends."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pyotp
import pytest
from playwright.sync_api import expect

from app.auth import two_factor

from .conftest import sign_in_through_the_form

pytestmark = pytest.mark.browser
NEW_PASSWORD = "four unrelated words here"

TEXT = {
    "en": {"open": "Open in your authenticator app", "wrong": "That code is not right, or it was used already.",
           "deactivate": "Deactivate", "signed_out": "Please sign in"},
    "es": {"open": "Abrir en su aplicación de autenticación", "wrong": "Ese código no es correcto o ya se usó.",
           "deactivate": "Desactivar", "signed_out": "Por favor, inicie sesión"},
}


@pytest.fixture
def clock(monkeypatch):
    """The server's two-factor clock (the live server runs in this process), moved on by hand."""
    now = SimpleNamespace(value=1_800_000_000.0)
    monkeypatch.setattr(two_factor, "time", SimpleNamespace(time=lambda: now.value))
    return now


def sign_in(page, email, password, code=None):
    sign_in_through_the_form(page, email, lands_on="**/clinician/two-factor", password=password)
    if code is not None:
        page.fill("input[name=code]", code)
        page.click("form.signin button[type=submit]")


@pytest.mark.parametrize("language", ["en", "es"])
def test_invitation_two_factor_and_deactivation(page_in, admin_signed_in, clock, language):
    text = TEXT[language]
    email = f"invited-{language}@example.org"

    admin = page_in(language)
    admin_signed_in(admin)
    admin.goto("/clinician/accounts")
    admin.fill("input[name=email]", email)
    admin.click("form.invite button[type=submit]")
    link = admin.input_value("#account-link")
    # Built on PUBLIC_BASE_URL when the site has one (never the Host header); the path is what matters here.
    assert re.fullmatch(r"(https://check\.example\.org)?/clinician/invite/[A-Za-z0-9_-]{43}", link)
    link = re.sub(r"^https://check\.example\.org", "", link)

    # The person opens the link on a phone, chooses a password, and lands on two-factor set-up.
    person = page_in(language, width=360)
    person.goto(link)
    person.fill("input[name=password]", NEW_PASSWORD)
    person.fill("input[name=password_confirm]", NEW_PASSWORD)
    person.click("form.signin button[type=submit]")
    expect(person).to_have_url(re.compile(r"/clinician/two-factor/setup$"))
    expect(person.locator("svg.qr")).to_be_visible()
    uri = person.get_by_role("link", name=text["open"]).get_attribute("href")
    assert uri.startswith("otpauth://totp/")
    totp = pyotp.parse_uri(uri)
    person.fill("input[name=code]", totp.at(clock.value))
    person.click("form.signin button[type=submit]")
    expect(person.locator("ol.recovery-codes li")).to_have_count(10)  # waits for the page; all_inner_texts does not
    codes = person.locator("ol.recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", code) for code in codes)

    # Sign out; in again with the password and a fresh code.
    person.click(".signout button[type=submit]")
    clock.value += 30
    fresh = totp.at(clock.value)
    sign_in(person, email, NEW_PASSWORD, fresh)
    expect(person).to_have_url(re.compile(r"/clinician/$"))
    person.click(".signout button[type=submit]")

    # The same code again is refused; a recovery code works once.
    sign_in(person, email, NEW_PASSWORD, fresh)
    expect(person.locator("#error-summary")).to_contain_text(text["wrong"])
    person.fill("input[name=code]", codes[0])
    person.click("form.signin button[type=submit]")
    expect(person).to_have_url(re.compile(r"/clinician/$"))
    person.click(".signout button[type=submit]")
    sign_in(person, email, NEW_PASSWORD, codes[0])
    expect(person.locator("#error-summary")).to_contain_text(text["wrong"])

    clock.value += 30
    person.fill("input[name=code]", totp.at(clock.value))
    person.click("form.signin button[type=submit]")
    expect(person).to_have_url(re.compile(r"/clinician/$"))

    # The admin deactivates the account; the person's next request finds the session ended.
    admin.goto("/clinician/accounts")
    admin.get_by_role("link", name=email).click()
    admin.get_by_role("button", name=text["deactivate"], exact=True).click()
    expect(admin.locator(".flash")).to_contain_text(email)
    person.goto("/clinician/stats")
    expect(person).to_have_url(re.compile(r"/clinician/login"))
    expect(person.locator(".flash")).to_contain_text(text["signed_out"])
