"""The clinician workspace end to end in Chromium: a person keeps a result through the clinic's link, a
clinician signs in through the form, finds it by its case reference, reviews it with a note, sees it marked
reviewed, adds a result kept without the link by its whole code, and signs out. The workspace never shows
the person's code."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import CLINICIAN_EMAIL
from .site import pcl5_answers_by_label

pytestmark = pytest.mark.browser

TEXT = {
    "en": {"matches": "1 result matches.", "reviewed": "Marked as reviewed.", "by": f"by {CLINICIAN_EMAIL}",
           "mark": "Mark as reviewed", "yes": "Reviewed",
           "signed_out": "You are signed out.",
           "share": "Keep this result and share it with Riverside Clinic", "added": "was added to Riverside Clinic"},
    "es": {"matches": "1 resultado coincide.", "reviewed": "Marcado como revisado.", "by": f"por {CLINICIAN_EMAIL}",
           "mark": "Marcar como revisado", "yes": "Revisado",
           "signed_out": "Ha cerrado la sesión.",
           "share": "Guardar este resultado y compartirlo con Riverside Clinic",
           "added": "se añadió a Riverside Clinic"},
}


def reference_of(live_server, code: str) -> str:
    """The case reference the workspace shows for the result with this person's code."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Screening
    from app.screening import case_references, codes

    with live_server.app.app_context():
        stored = db.session.scalar(sa.select(Screening.case_reference).where(Screening.code == codes.normalise(code)))
    return case_references.display(stored)


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_kept_result_is_found_reviewed_and_the_clinician_signs_out(page_in, clinician_signed_in, live_server,
                                                                    language):
    text = TEXT[language]

    # A person opens the clinic's link, answers the PCL-5 and keeps the result, shared with the clinic.
    person = page_in(language)
    person.goto(f"/c/{live_server.codes['clinic_token']}")
    person.locator("a.button[href*='/screen/pcl5']").click()
    pcl5_answers_by_label(person, rating=3)  # total 60
    expect(person.locator("label:has(input[name='store'][value='yes'])")).to_have_text(text["share"])
    person.click("label:has(input[name='store'][value='yes'])")
    person.click("main button[type=submit]")
    expect(person.locator("#code-heading")).to_be_visible()
    code = person.locator("p.code").inner_text().strip()
    reference = reference_of(live_server, code)

    # A clinician, in another browser, signs in through the form and searches for it as typed.
    clinician = page_in(language)
    clinician_signed_in(clinician)
    expect(clinician.locator(".signout")).to_contain_text(CLINICIAN_EMAIL)
    expect(clinician.locator(".leave-site")).to_have_count(0)  # the staff layout: no quick exit, no crisis footer
    clinician.fill("#f-code", reference.lower().replace("-", ""))
    clinician.click(".filters button[type=submit]")
    expect(clinician.locator("main [role=status]")).to_have_text(text["matches"])
    row = clinician.locator("table.queue tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_have_class(re.compile(r"\bunreviewed\b"))
    expect(row).not_to_contain_text(code)
    row.get_by_role("link", name=reference).click()

    # The result, its answers, and the review form.
    expect(clinician.locator("h1")).to_contain_text(reference)
    expect(clinician.locator("table.answers tbody tr")).to_have_count(20)
    note = "Called back; booked an assessment."
    clinician.fill("textarea[name=note]", note)
    clinician.get_by_role("button", name=text["mark"]).click()
    expect(clinician.locator(".flash")).to_have_text(text["reviewed"])
    expect(clinician.locator("dl.facts")).to_contain_text(text["by"])
    expect(clinician.locator("ol.note-list")).to_contain_text(note)  # the first note of the list

    # Back in the queue it is marked reviewed.
    clinician.goto(f"/clinician/?code={reference}&reviewed=yes")
    expect(clinician.locator("table.queue tbody tr")).to_have_count(1)
    expect(clinician.locator("table.queue tbody tr td").nth(3)).to_contain_text(text["yes"])

    # A result kept without the link is not in the queue until added by its whole code.
    kept = person.request.post("/api/v1/screenings", data={"instrument": "pcl5", "answers": [4] * 20, "store": True})
    unattached = kept.json()["code"]
    clinician.goto("/clinician/")
    expect(clinician.locator("table.queue")).not_to_contain_text(reference_of(live_server, unattached))
    clinician.fill("#claim-code", unattached.lower())
    clinician.click("form.claim button[type=submit]")
    expect(clinician.locator(".flash")).to_contain_text(text["added"])
    expect(clinician.locator("h1")).to_contain_text(reference_of(live_server, unattached))
    expect(clinician.locator("main")).not_to_contain_text(unattached)

    # Signing out ends the session: the workspace asks for a sign-in again.
    clinician.click(".signout button[type=submit]")
    expect(clinician.locator(".flash")).to_contain_text(text["signed_out"])
    clinician.goto("/clinician/")
    expect(clinician).to_have_url(re.compile(r"/clinician/login"))
    expect(clinician.locator("form.signin")).to_be_visible()
