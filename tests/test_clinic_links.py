"""A clinic's short code (/c/<short>, any case, dies on rotation, rate-limited with code look-ups) and the
questionnaires its link offers, in the clinic's order."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.clinics import typed_short_code
from app.extensions import db as _db
from app.models import SHORT_CODE_ALPHABET, Clinic
from tests.apps import app_with_tables
from tests.clinician_support import WORKSPACE_FIXTURES, clinic_named, csrf
from tests.conftest import in_app_context, reloaded

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)

BASE = "https://check.example.org"


@in_app_context
def clinic_row(slug: str) -> Clinic:
    clinic = _db.session.scalar(sa.select(Clinic).where(Clinic.slug == slug))
    _db.session.refresh(clinic)
    return clinic


def test_short_codes_are_short_and_free_of_look_alikes(app):
    codes = set()
    for number in range(40):
        clinic = clinic_named(f"Clinic {number}")
        assert len(clinic.short_code) <= 10 and set(clinic.short_code) <= set(SHORT_CODE_ALPHABET)
        codes.add(clinic.short_code)
    assert len(codes) == 40
    assert not set("01OILU") & set(SHORT_CODE_ALPHABET)
    assert typed_short_code(" k7pm-3qxr ") == "K7PM3QXR"
    assert typed_short_code("K7PM0QXR") is None and typed_short_code("") is None
    assert typed_short_code("ABCDEFGHJKM") is None  # 11 characters


def test_the_short_code_opens_the_clinic_in_any_case_and_dies_on_rotation(app, admin_client):
    clinic = clinic_named()
    code = clinic.short_code
    grouped = f"{code[:4]}-{code[4:]}"
    for typed in (code, code.lower(), grouped, grouped.lower()):
        page = app.test_client().get(f"/c/{typed}")
        body = page.get_data(as_text=True)
        assert page.status_code == 200, typed
        assert "Home Clinic asked you to complete this check" in body
        assert f"clinic={clinic.link_token}" in body  # the forms carry the clinic as before
        assert "Set-Cookie" not in page.headers and page.headers["Cache-Control"] == "no-store"
    settings = admin_client.get(f"/clinician/clinics/{clinic.slug}").get_data(as_text=True)
    assert grouped in settings
    rotated = admin_client.post(f"/clinician/clinics/{clinic.slug}/rotate-link",
                                data={"csrf_token": csrf(admin_client, f"/clinician/clinics/{clinic.slug}")})
    assert rotated.status_code == 303
    fresh = clinic_row(clinic.slug)
    assert fresh.short_code != code and fresh.link_token != clinic.link_token
    for typed in (code, code.lower(), grouped):
        response = app.test_client().get(f"/c/{typed}")
        assert response.status_code == 404
        assert "This clinic link does not work any more" in response.get_data(as_text=True)
    assert app.test_client().get(f"/c/{fresh.short_code.lower()}").status_code == 200


def test_the_poster_prints_the_short_address_under_the_qr_code(app, signed_in):
    app.config["PUBLIC_BASE_URL"] = BASE
    clinic = clinic_named()
    body = signed_in.get(f"/clinician/clinics/{clinic.slug}/poster").get_data(as_text=True)
    grouped = f"{clinic.short_code[:4]}-{clinic.short_code[4:]}"
    qr_at, short_at = body.index("<svg"), body.index(
        f'<p class="short-link"><span>{BASE}/c/</span><wbr><span class="short-code">{grouped}</span></p>')
    assert qr_at < short_at
    assert clinic.link_token not in re.sub(r"<svg.*?</svg>", "", body, flags=re.S)  # no 43-character text


def test_clinic_link_look_ups_share_the_code_look_up_limit(tmp_path):
    with app_with_tables("testing", tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_CODE_LOOKUPS="4 per minute") as app:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "192.0.2.40"
        assert [client.get(path).status_code for path in ("/c/AAAAAAAA", "/c/BBBBBBBB", "/results/AAAA-BBBB-CCCC",
                                                          "/c/" + "x" * 43)] == [404, 404, 404, 404]
        assert client.get("/c/CCCCCCCC").status_code == 429
        assert client.get("/results/AAAA-BBBB-CCCC").status_code == 429


def save_questionnaires(client, slug: str, places: dict[str, str]):
    data = {"csrf_token": csrf(client, f"/clinician/clinics/{slug}"),
            **{f"place_{name}": place for name, place in places.items()}}
    return client.post(f"/clinician/clinics/{slug}/questionnaires", data=data)


def start_links(body: str) -> list[str]:
    """The landing page's start buttons (the menu also links every questionnaire with the clinic kept)."""
    return re.findall(r'class="button" href="/screen/([a-z0-9]+)\?clinic=', body)


def test_the_clinics_own_clinician_chooses_the_questionnaires_and_their_order(app, signed_in):
    clinic = clinic_named()
    assert start_links(app.test_client().get(f"/c/{clinic.link_token}").get_data(as_text=True)) == \
        ["pcl5", "pcptsd5", "itq"]  # nothing chosen yet: every questionnaire, in the site's order
    saved = save_questionnaires(signed_in, clinic.slug, {"pcl5": "2", "pcptsd5": "", "itq": "1"})
    assert saved.status_code == 303
    assert clinic_row(clinic.slug).instruments == "itq,pcl5"
    landing = app.test_client().get(f"/c/{clinic.short_code}").get_data(as_text=True)
    assert start_links(landing) == ["itq", "pcl5"]
    settings = signed_in.get(f"/clinician/clinics/{clinic.slug}").get_data(as_text=True)
    assert re.search(r'name="place_itq"[^>]*>.*?<option selected value="1">', settings, re.S)


def test_one_questionnaire_goes_straight_to_its_form(app, admin_client):
    clinic = clinic_named()
    assert save_questionnaires(admin_client, clinic.slug, {"pcl5": "", "pcptsd5": "1", "itq": ""}).status_code == 303
    for path in (f"/c/{clinic.link_token}", f"/c/{clinic.short_code.lower()}"):
        response = app.test_client().get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/screen/pcptsd5?clinic={clinic.link_token}"
    form = app.test_client().get(f"/screen/pcptsd5?clinic={clinic.link_token}").get_data(as_text=True)
    assert "Home Clinic can see it" in form


def test_bad_questionnaire_choices_are_refused_and_nothing_changes(app, signed_in, admin_client):
    clinic = clinic_named()
    for places in ({"pcl5": "", "pcptsd5": "", "itq": ""}, {"pcl5": "1", "pcptsd5": "1", "itq": ""},
                   {"pcl5": "9", "pcptsd5": "", "itq": ""}):
        response = save_questionnaires(signed_in, clinic.slug, places)
        assert response.status_code == 400
        assert "Nothing was saved" in response.get_data(as_text=True)
        assert reloaded(clinic).instruments is None
    other = clinic_named("Other Clinic")
    assert save_questionnaires(admin_client, other.slug, {"pcl5": "1", "pcptsd5": "", "itq": ""}).status_code == 303
    refused = signed_in.post(f"/clinician/clinics/{other.slug}/questionnaires",
                             data={"csrf_token": csrf(signed_in, "/clinician/"), "place_itq": "1"})
    assert refused.status_code == 404 and clinic_row(other.slug).instruments == "pcl5"
