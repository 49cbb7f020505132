"""Clinics end to end: the command line, the clinic's link, who sees what, adding a result by code,
the poster and settings, retention at read time, the staff layout and the audit page in words."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import audit
from app.extensions import db as _db
from app.models import AuditEvent, Clinic, Screening, utcnow
from app.screening import codes
from tests.clinician_support import (
    PASSWORD,
    WORKSPACE_FIXTURES,
    clinic_named,
    csrf,
    reference_of_code,
    sign_in,
    store,
    utc,
)
from tests.conftest import CSRF_INPUT, in_app_context, kept_code, one_time_value, reloaded, stored_count

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)

BASE = "https://check.example.org"
QUEUE_LINK = re.compile(r'href="/clinician/results/R-([0-9A-Z]{3})-([0-9A-Z]{4})"')


@pytest.fixture(autouse=True)
def public_base_url(app):
    app.config["PUBLIC_BASE_URL"] = BASE


@in_app_context
def scalar(statement):
    """The statement's one value, read in the test app's context."""
    return _db.session.scalar(statement)


@in_app_context
def scalars(statement) -> list:
    """The statement's values (rows with their columns loaded), read in the test app's context."""
    return list(_db.session.scalars(statement))


def listed(client, query: str = "") -> set[str]:
    """The person's codes (stored form) of the results the queue lists, found from their case references;
    a person's code typed in the search is refused (400), which lists nothing."""
    response = client.get(f"/clinician/{query}")
    if response.status_code == 400 and "code=" in query:
        return set()
    assert response.status_code == 200
    references = ["".join(parts) for parts in QUEUE_LINK.findall(response.get_data(as_text=True))]
    if not references:
        return set()
    return set(scalars(sa.select(Screening.code).where(Screening.case_reference.in_(references))))


def cli_clinic(runner, name: str, *options: str) -> tuple[str, str]:
    """`clinic create`: the slug and the link token it prints."""
    result = runner.invoke(args=["clinic", "create", name, *options])
    assert result.exit_code == 0, result.output
    slug = re.search(r"^Slug: (\S+)$", result.output, re.M).group(1)
    link = re.search(r"^Public link: (\S+)$", result.output, re.M).group(1)
    assert link.startswith(f"{BASE}/c/")
    return slug, link.rsplit("/", 1)[1]


def cli_clinician(runner, email: str, *options: str) -> None:
    result = runner.invoke(args=["clinician", "create", email, *options], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output


def form_fields(html: str) -> dict[str, str]:
    """The CSRF token (if the page still has one) and the hidden clinic and earlier-code fields, as a browser sends
    them."""
    fields = {}
    token = CSRF_INPUT.search(html)
    if token:
        fields["csrf_token"] = token.group(1) or token.group(2)
    for name, value in re.findall(r'<input type="hidden" name="(clinic|previous)" value="([^"]*)">', html):
        fields[name] = value
    return fields


def take_pcl5_through(client, start_url: str, answers=(3,) * 20, store_it="yes", previous=None) -> str | None:
    page = client.get(start_url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    action = re.search(r'<form method="post" action="([^"]+)"', html).group(1).replace("&amp;", "&")
    data = {**form_fields(html), "store": store_it, **{f"q{n}": str(v) for n, v in enumerate(answers, start=1)}}
    data["submission"] = one_time_value()  # as the page's script adds it
    if previous and 'name="previous" value=' not in html:
        data["previous"] = previous
    response = client.post(action, data=data)
    if store_it != "yes":
        assert response.status_code == 200
        return None
    assert response.status_code == 200 and kept_code(response), response.get_data(as_text=True)[:2000]
    return kept_code(response).replace("-", "")


def test_the_whole_path_from_the_command_line_to_one_clinics_caseload(app, runner):
    riverside, riverside_token = cli_clinic(runner, "Riverside Clinic", "--timezone", "America/Chicago")
    hill, _hill_token = cli_clinic(runner, "Hill Clinic")
    assert riverside == "riverside-clinic"
    cli_clinician(runner, "river@example.org", "--clinic", riverside)
    cli_clinician(runner, "hill@example.org", "--clinic", hill)

    person = app.test_client()
    landing = person.get(f"/c/{riverside_token}")
    page = landing.get_data(as_text=True)
    assert landing.status_code == 200 and "Set-Cookie" not in landing.headers  # the person gets no cookie
    assert "Riverside Clinic asked you to complete this check before your visit" in page
    assert "What Riverside Clinic will see" in page and "unless you tell them your code" in page
    start = re.search(r'href="(/screen/pcl5\?clinic=[^"]+)"', page).group(1)
    form = person.get(start)
    assert "Keep this result and share it with Riverside Clinic" in form.get_data(as_text=True)
    code = take_pcl5_through(person, start)
    assert scalar(sa.select(Screening.clinic_id).where(Screening.code == code)) == \
        scalar(sa.select(Clinic.id).where(Clinic.slug == riverside))

    river = app.test_client()
    assert sign_in(river, "river@example.org").status_code == 303
    assert code in listed(river)
    detail = river.get(f"/clinician/results/{reference_of_code(code)}")
    assert detail.status_code == 200 and "America/Chicago" not in detail.get_data(as_text=True)  # zone shown as CST/CDT
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d C[SD]T", detail.get_data(as_text=True))

    other = app.test_client()
    assert sign_in(other, "hill@example.org").status_code == 303
    assert code not in listed(other)
    assert other.get(f"/clinician/results/{reference_of_code(code)}").status_code == 404
    assert listed(other, f"?code={code}") == set() and listed(other, f"?code={code[:3]}") == set()
    assert "0 results match." in other.get("/clinician/stats").get_data(as_text=True)
    exported = list(csv.reader(io.StringIO(other.get("/clinician/export.csv").get_data(as_text=True))))
    assert len(exported) == 1  # the header alone
    assert "entry" not in json.loads(other.get("/clinician/export.fhir.json").get_data(as_text=True))
    claim = other.post("/clinician/", data={"code": codes.display(code), "csrf_token": csrf(other, "/clinician/")})
    assert claim.status_code == 404 and "No result with this code was found" in claim.get_data(as_text=True)
    unknown = other.post("/clinician/", data={"code": "ZZZZ-ZZZZ-ZZZZ", "csrf_token": csrf(other, "/clinician/")})
    assert unknown.status_code == 404 and claim.get_data(as_text=True).count("No result with this code") == \
        unknown.get_data(as_text=True).count("No result with this code")
    assert scalar(sa.select(Screening.clinic_id).where(Screening.code == code)) is not None


def test_a_result_without_a_clinic_is_seen_only_once_added_by_its_whole_code(app, signed_in, admin_client, clinician):
    response = app.test_client().post("/api/v1/screenings", json={"instrument": "pcl5", "answers": [4] * 20,
                                                                    "store": True})
    code = response.get_json()["code"].replace("-", "")
    mine = store(answers=[1] * 20)
    assert listed(signed_in) == {mine.code}
    assert signed_in.get(f"/clinician/results/{reference_of_code(code)}").status_code == 404
    for typed in (code, code[:4], code[:11], codes.display(code)):
        assert listed(signed_in, f"?code={typed}") == set()
    # A prefix never reaches it, for an admin either; the whole code does, for an admin.
    assert code not in listed(admin_client, f"?code={code[:4]}")
    assert code not in listed(admin_client, f"?code={code[:11]}")
    assert listed(admin_client, f"?code={code}") == set()  # the queue is not searched by a person's code
    # A beginning is not enough to add it.
    refused = signed_in.post("/clinician/", data={"code": code[:8], "csrf_token": csrf(signed_in, "/clinician/")})
    assert refused.status_code == 404 and scalar(sa.select(sa.func.count(AuditEvent.id))
                                                 .where(AuditEvent.action == audit.ADDED_BY_CODE)) == 0
    added = signed_in.post("/clinician/", data={"code": codes.display(code).lower(),
                                                "csrf_token": csrf(signed_in, "/clinician/")})
    assert added.status_code == 303
    assert added.headers["Location"].endswith(f"/clinician/results/{reference_of_code(code)}")
    assert listed(signed_in) == {mine.code, code}
    [event] = scalars(sa.select(AuditEvent).where(AuditEvent.action == audit.ADDED_BY_CODE))
    assert (event.clinician_id, event.target, event.detail) == (clinician.id, reference_of_code(code), "home-clinic")
    # Adding it again is harmless; another clinic now gets "not found".
    again = signed_in.post("/clinician/", data={"code": code, "csrf_token": csrf(signed_in, "/clinician/")})
    assert again.status_code == 303


def test_adding_needs_a_clinic_of_mine_and_a_csrf_token(app, signed_in, make_clinician):
    row = store(clinic=None)
    foreign = clinic_named("Other Clinic")
    assert signed_in.post("/clinician/", data={"code": row.code}).status_code == 400
    wrong = signed_in.post("/clinician/", data={"code": row.code, "clinic": foreign.slug,
                                                "csrf_token": csrf(signed_in, "/clinician/")})
    assert wrong.status_code == 400
    assert reloaded(row).clinic_id is None


def test_a_clinician_of_several_clinics_chooses_one_and_an_admin_any(app, client, make_clinician, admin_client):
    make_clinician("two@example.org", clinics=("Home Clinic", "Other Clinic"))
    assert sign_in(client, "two@example.org").status_code == 303
    page = client.get("/clinician/").get_data(as_text=True)
    assert 'name="clinic"' in page and "Other Clinic" in page and "<select" in page
    row = store(clinic=None)
    assert client.post("/clinician/", data={"code": row.code, "clinic": "other-clinic",
                                            "csrf_token": csrf(client, "/clinician/")}).status_code == 303
    with app.app_context():
        assert _db.session.get(Screening, row.id).clinic.slug == "other-clinic"
    elsewhere = store(clinic=None)
    clinic_named("Far Clinic")
    assert admin_client.post("/clinician/", data={"code": elsewhere.code, "clinic": "far-clinic",
                                                  "csrf_token": csrf(admin_client, "/clinician/")}).status_code == 303
    with app.app_context():
        assert _db.session.get(Screening, elsewhere.id).clinic.slug == "far-clinic"


def test_the_queue_detail_stats_and_exports_of_a_clinician_hold_only_their_clinics(app, signed_in, admin_client):
    mine = store(answers=[4] * 20)
    theirs = store(answers=[4] * 20, clinic="Other Clinic")
    loose = store(answers=[4] * 20, clinic=None)
    assert listed(signed_in) == {mine.code}
    assert listed(admin_client) == {mine.code, theirs.code, loose.code}
    assert signed_in.get(f"/clinician/results/{reference_of_code(theirs.code)}").status_code == 404
    for action in ("review", "unreview"):
        response = signed_in.post(f"/clinician/results/{reference_of_code(theirs.code)}/{action}",
                                  data={"csrf_token": csrf(signed_in, "/clinician/")})
        assert response.status_code == 404
    assert "1 result matches." in signed_in.get("/clinician/stats").get_data(as_text=True)
    assert "3 results match." in admin_client.get("/clinician/stats").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(signed_in.get("/clinician/export.csv").get_data(as_text=True))))
    assert [row[rows[0].index("case_reference")] for row in rows[1:]] == [reference_of_code(mine.code)]
    bundle = json.loads(signed_in.get("/clinician/export.fhir.json").get_data(as_text=True))
    assert [entry["resource"]["identifier"]["value"] for entry in bundle["entry"]] == [reference_of_code(mine.code)]


def test_a_clinician_in_no_clinic_sees_nothing_and_is_told_why(app, client, make_clinician):
    make_clinician("new@example.org", clinics=())
    store()
    assert sign_in(client, "new@example.org").status_code == 303
    page = client.get("/clinician/").get_data(as_text=True)
    assert "You do not belong to a clinic yet" in page and listed(client) == set()


def test_a_series_never_shows_another_clinics_result(app, signed_in):
    first = store(answers=[4] * 20, taken_at=utc(2026, 1, 5), clinic="Other Clinic")
    second = store(answers=[3] * 20, taken_at=utc(2026, 2, 5), previous_id=first.id)
    body = signed_in.get(f"/clinician/results/{reference_of_code(second.code)}").get_data(as_text=True)
    assert codes.display(first.code) not in body and "None: this is the first result in its series." in body


def test_a_retake_through_the_clinic_link_shares_the_earlier_result_and_says_so_first(app, signed_in):
    clinic = clinic_named()
    earlier = store(answers=[4] * 20, clinic=None)
    person = app.test_client()
    start = f"/screen/pcl5?clinic={clinic.link_token}&previous={codes.display(earlier.code)}"
    page = person.get(start).get_data(as_text=True)
    assert f"Your earlier result (code {codes.display(earlier.code)}) will be shared with Home Clinic as well" in page
    code = take_pcl5_through(person, start, answers=[2] * 20)
    assert reloaded(earlier).clinic_id == clinic.id
    assert listed(signed_in) == {code}  # one row for the series: its latest result
    assert reloaded(earlier).latest_in_series is False
    detail = signed_in.get(f"/clinician/results/{reference_of_code(code)}").get_data(as_text=True)
    assert "Earlier results in this series" in detail and reference_of_code(earlier.code) in detail
    # Not kept: nothing stored, and the earlier result stays where it was.
    loose = store(answers=[4] * 20, clinic=None)
    take_pcl5_through(person, f"/screen/pcl5?clinic={clinic.link_token}&previous={loose.code}", store_it="no")
    assert reloaded(loose).clinic_id is None


def test_a_code_that_is_already_taken_is_drawn_again_and_the_retry_still_shares_the_earlier_result(
        app, signed_in, monkeypatch):
    clinic = clinic_named()
    earlier = store(answers=[4] * 20, clinic=None)
    taken = store(answers=[1] * 20, clinic=None).code
    fresh = codes.new_code()
    draws = iter([taken, fresh])
    monkeypatch.setattr(codes, "new_code", lambda: next(draws))
    person = app.test_client()
    start = f"/screen/pcl5?clinic={clinic.link_token}&previous={codes.display(earlier.code)}"
    # The first INSERT collides on the unique code and is rolled back with the shared earlier result;
    # the second draw stores the result and shares the earlier one again.
    assert take_pcl5_through(person, start, answers=[2] * 20) == fresh
    assert reloaded(earlier).clinic_id == clinic.id
    assert stored_count() == 3 and listed(signed_in) == {fresh}  # the series, by its latest result
    assert reloaded(earlier).latest_in_series is False


def test_an_unknown_or_rotated_link_is_a_calm_404_to_the_start_page(app, runner, admin_client):
    clinic = clinic_named()
    old = clinic.link_token
    assert app.test_client().get(f"/c/{old}").status_code == 200
    rotated = admin_client.post(f"/clinician/clinics/{clinic.slug}/rotate-link",
                                data={"csrf_token": csrf(admin_client, f"/clinician/clinics/{clinic.slug}")})
    assert rotated.status_code == 303
    for path in (f"/c/{old}", "/c/nothing-like-a-token", f"/screen/pcl5?clinic={old}"):
        response = app.test_client().get(path)
        body = response.get_data(as_text=True)
        assert response.status_code == 404 and "This clinic link does not work any more" in body
        assert 'href="/"' in body and "Set-Cookie" not in response.headers
    assert app.test_client().get(f"/c/{reloaded(clinic).link_token}").status_code == 200
    assert scalar(sa.select(AuditEvent.action).where(AuditEvent.action == audit.LINK_ROTATED))


def test_the_cli_rotates_a_link_and_lists_clinics_and_checks_time_zones(app, runner):
    slug, token = cli_clinic(runner, "Clínica Río", "--timezone", "Europe/Madrid")
    assert slug == "clinica-rio"
    rotated = runner.invoke(args=["clinic", "rotate-link", slug])
    assert rotated.exit_code == 0 and token not in rotated.output and f"{BASE}/c/" in rotated.output
    assert app.test_client().get(f"/c/{token}").status_code == 404
    bad = runner.invoke(args=["clinic", "create", "Mars Clinic", "--timezone", "Mars/Olympus"])
    assert bad.exit_code != 0 and "not an IANA time zone" in bad.output
    assert scalar(sa.select(sa.func.count(Clinic.id))) == 1
    listing = runner.invoke(args=["clinic", "list"]).output
    assert "clinica-rio\tClínica Río\tEurope/Madrid" in listing
    cli_clinician(runner, "a@example.org")
    added = runner.invoke(args=["clinician", "add-to-clinic", "a@example.org", slug])
    assert added.exit_code == 0 and "now belongs to Clínica Río" in added.output
    assert runner.invoke(args=["clinician", "add-to-clinic", "a@example.org", "nowhere"]).exit_code != 0
    app.config["PUBLIC_BASE_URL"] = None
    unset = runner.invoke(args=["clinic", "create", "Path Clinic"])
    assert "Public link: /c/" in unset.output and "PUBLIC_BASE_URL is not set" in unset.output


def test_link_tokens_are_long_and_random(app, runner):
    tokens = {cli_clinic(runner, f"Clinic {n}")[1] for n in range(5)}
    assert len(tokens) == 5 and all(len(token) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", token) for token in tokens)


def test_the_api_shares_with_a_clinic_by_its_token_and_refuses_an_unknown_one(app, client):
    clinic = clinic_named()
    body = {"instrument": "pcptsd5", "exposure": True, "answers": [True] * 5, "store": True}
    refused = client.post("/api/v1/screenings", json={**body, "clinic": "no-such-token"})
    assert refused.status_code == 400 and "clinic" in refused.get_json()["errors"][0] and stored_count() == 0
    assert client.post("/api/v1/screenings", json={**body, "clinic": 7}).status_code == 400 and stored_count() == 0
    created = client.post("/api/v1/screenings", json={**body, "clinic": clinic.link_token})
    assert created.status_code == 201
    assert scalar(sa.select(Screening.clinic_id)) == clinic.id


def test_the_poster_and_settings_are_open_to_the_clinics_own_clinicians_and_admins(app, signed_in, client,
                                                                                  make_clinician, admin_client):
    home = clinic_named()
    other = clinic_named("Other Clinic")
    poster = signed_in.get(f"/clinician/clinics/{home.slug}/poster")
    body = poster.get_data(as_text=True)
    short = f"{home.short_code[:4]}-{home.short_code[4:]}"
    assert poster.status_code == 200 and f"{BASE}/c/</span><wbr><span class=\"short-code\">{short}<" in body
    assert "<svg" in body
    assert "<script" not in body and "Leave this site" not in body
    assert signed_in.get(f"/clinician/clinics/{home.slug}").status_code == 200
    for path in (f"/clinician/clinics/{other.slug}", f"/clinician/clinics/{other.slug}/poster"):
        assert signed_in.get(path).status_code == 404
        assert admin_client.get(path).status_code == 200
    assert signed_in.post(f"/clinician/clinics/{home.slug}/rotate-link",
                          data={"csrf_token": csrf(signed_in, "/clinician/")}).status_code == 403
    changed = admin_client.post(f"/clinician/clinics/{home.slug}", data={
        "name": "Home Clinic North", "timezone": "Asia/Tokyo", "csrf_token": csrf(admin_client, "/clinician/")})
    assert changed.status_code == 303
    bad = admin_client.post(f"/clinician/clinics/{home.slug}", data={
        "name": "X", "timezone": "Nowhere/Else", "csrf_token": csrf(admin_client, "/clinician/")})
    assert bad.status_code == 400 and "is not a time zone name" in bad.get_data(as_text=True)
    assert (reloaded(home).name, reloaded(home).timezone) == ("Home Clinic North", "Asia/Tokyo")
    created = admin_client.post("/clinician/clinics", data={"name": "New Clinic", "timezone": "UTC",
                                                             "csrf_token": csrf(admin_client, "/clinician/")})
    assert created.status_code == 303 and created.headers["Location"].endswith("/clinician/clinics/new-clinic")
    assert signed_in.post("/clinician/clinics", data={"name": "Mine", "timezone": "UTC",
                                                      "csrf_token": csrf(signed_in, "/clinician/")}).status_code == 403


def test_a_poster_without_a_public_address_says_so_and_prints_no_code(app, signed_in):
    app.config["PUBLIC_BASE_URL"] = None
    body = signed_in.get(f"/clinician/clinics/{clinic_named().slug}/poster").get_data(as_text=True)
    assert "PUBLIC_BASE_URL" in body and "<svg" not in body


def test_the_link_is_built_from_public_base_url_never_the_host_header(app):
    from app.clinics import public_link

    clinic = clinic_named()
    with app.test_request_context("/clinician/", headers={"Host": "evil.example"}):
        assert public_link(clinic) == (f"{BASE}/c/{clinic.link_token}", True)


@pytest.mark.parametrize("path", ["/clinician/", "/clinician/stats", "/clinician/clinics", "/clinician/login",
                                  "/clinician/no-such-page", "/clinician/results/ZZZZ-ZZZZ-ZZZZ"])
def test_every_staff_page_has_the_staff_layout(app, signed_in, client, path):
    reader = client if path == "/clinician/login" else signed_in
    if path == "/clinician/login":
        reader = app.test_client()
    body = reader.get(path).get_data(as_text=True)
    assert 'class="workspace"' in body and 'class="ws-header"' in body
    assert "Leave this site" not in body and "site-footer" not in body and 'aria-label="Main"' not in body
    assert "crisis" not in body.lower()


def test_the_staff_navigation_names_the_sections_and_the_signed_in_clinician(app, signed_in, admin_client):
    page = signed_in.get("/clinician/").get_data(as_text=True)
    for label in (">Queue<", ">Statistics<", ">Clinics<", "doc@example.org", "Sign out"):
        assert label in page
    assert ">Audit<" not in page and ">Audit<" in admin_client.get("/clinician/").get_data(as_text=True)
    assert signed_in.get("/clinician/audit").status_code == 403
    assert 'class="ws-header"' in signed_in.get("/clinician/audit").get_data(as_text=True)


def test_expired_results_are_never_shown_counted_or_exported(app, signed_in, admin_client):
    app.config["RETENTION_DAYS"] = 30
    old = store(answers=[4] * 20, taken_at=utcnow() - timedelta(days=31))
    fresh = store(answers=[1] * 20, taken_at=utcnow() - timedelta(days=2))
    for client in (signed_in, admin_client):
        assert listed(client) == {fresh.code}
        assert listed(client, f"?code={old.code}") == set()
        assert client.get(f"/clinician/results/{reference_of_code(old.code)}").status_code == 404
        assert "1 result matches." in client.get("/clinician/stats").get_data(as_text=True)
        rows = list(csv.reader(io.StringIO(client.get("/clinician/export.csv").get_data(as_text=True))))
        assert [row[rows[0].index("case_reference")] for row in rows[1:]] == [reference_of_code(fresh.code)]
        bundle = json.loads(client.get("/clinician/export.fhir.json").get_data(as_text=True))
        assert len(bundle["entry"]) == 1
    loose = store(taken_at=utcnow() - timedelta(days=40), clinic=None)
    refused = signed_in.post("/clinician/", data={"code": loose.code, "csrf_token": csrf(signed_in, "/clinician/")})
    assert refused.status_code == 404


def test_statistics_show_the_backlog_the_cutoff_and_yes_counts(app, signed_in):
    store(answers=[4] * 20, taken_at=utcnow() - timedelta(days=3))
    store(answers=[1] * 20, taken_at=utcnow() - timedelta(days=1), reviewed=True)
    store("pcptsd5", answers=[True, True, False, True, False])
    store("pcptsd5", answers=[True, False, False, False, False])
    body = signed_in.get("/clinician/stats").get_data(as_text=True)
    backlog = body[body.index('id="backlog-heading"'):body.index("</section>", body.index('id="backlog-heading"'))]
    # waiting, people (series) waiting, waiting at or above the cut-off, waiting with a safety flag and
    # flagged in all ([4] * 20 rates item 16)
    assert re.findall(r"<dd>(\d+)</dd>", backlog) == ["3", "3", "2", "1", "1"] and "3 days" in backlog
    assert 'class="chart-marker"' in body and "cut-off 33" in body
    # PC-PTSD-5: re-experiencing is item 1 (2 yes of 2), avoidance items 2, 4, 5 (2 yes of 6), arousal item 3 (0 of 2).
    assert "2 “yes” of 2 answers" in body and "2 “yes” of 6 answers" in body and "0 “yes” of 2 answers" in body
    assert "mean " in body  # the PCL-5 keeps its means
    assert body.count("<table") == 4  # at or above, and the folded data tables of three charts
    assert "Of maximum" not in body  # one view of the profile, not a chart and a table saying the same


def test_the_audit_page_speaks_in_words_and_filters_by_clinician_date_and_action(app, admin_client, signed_in,
                                                                                clinician):
    row = store()
    signed_in.get(f"/clinician/results/{reference_of_code(row.code)}")
    page = admin_client.get("/clinician/audit").get_data(as_text=True)
    assert "Viewed a result" in page and ">view_result<" not in page
    mine = admin_client.get(f"/clinician/audit?clinician={clinician.id}&action=view_result").get_data(as_text=True)
    assert "1 event." in mine
    today = utcnow().date()
    assert "0 events." in admin_client.get(f"/clinician/audit?to={today - timedelta(days=1)}").get_data(as_text=True)
    assert "Signed in" in admin_client.get(f"/clinician/audit?from={today}&to={today}").get_data(as_text=True)
    for bad in ("from=yesterday", "action=nonsense", "clinician=x", f"from={today}&to={today - timedelta(days=2)}"):
        assert admin_client.get(f"/clinician/audit?{bad}").status_code == 400
    admin_client.set_cookie("lang", "es")
    spanish = admin_client.get("/clinician/audit").get_data(as_text=True)
    assert "Vio un resultado" in spanish and "Viewed a result" not in spanish


def test_fhir_meta_tag_names_the_instrument_version_under_its_own_system(app, signed_in):
    from app.screening.fhir import CASE_REFERENCE_SYSTEM, INSTRUMENT_VERSION_SYSTEM, RESULT_CODE_SYSTEM

    row = store()
    bundle = json.loads(signed_in.get("/clinician/export.fhir.json").get_data(as_text=True))
    resource = bundle["entry"][0]["resource"]
    [tag] = resource["meta"]["tag"]
    assert tag["system"] == INSTRUMENT_VERSION_SYSTEM != RESULT_CODE_SYSTEM and tag["code"] == row.instrument_version
    assert resource["identifier"] == {"system": CASE_REFERENCE_SYSTEM, "value": reference_of_code(row.code)}


@pytest.mark.parametrize("token", ["a\x00b", "x" * 65, "ab cd", "ab%2Fcd", "ñandú"])
def test_a_token_outside_the_link_alphabet_is_a_calm_404_on_either_database(client, db, token):
    """Only characters a link token is made of reach the database (PostgreSQL errs on a NUL)."""
    response = client.get("/c/" + token)
    assert response.status_code == 404


def test_every_questionnaire_link_keeps_the_clinic_from_its_landing_page_to_the_result(client, db):
    token = clinic_token_for_test()
    for path in (f"/c/{token}", f"/screen/pcl5?clinic={token}"):
        html = client.get(path).get_data(as_text=True)
        links = re.findall(r'href="(/screen/[a-z0-9]+[^"]*)"', html)
        assert links and all(f"clinic={token}" in link for link in links), (path, links)
        assert f'<li class="nav-narrow"><a href="/c/{token}"' in html
    data = {"store": "yes", "clinic": token, "submission": one_time_value(),
            **{f"q{n}": "2" for n in range(1, 21)}}
    result = client.post(f"/screen/pcl5?clinic={token}", data=data).get_data(as_text=True)
    assert "Shared with Riverside Test Clinic: give them your code if they ask." in result
    assert f'<input type="hidden" name="clinic" value="{token}">' in result  # the retake stays with the clinic
    unkept = client.post(f"/screen/pcl5?clinic={token}", data={**data, "store": "no"}).get_data(as_text=True)
    assert ">Keep it and share it with Riverside Test Clinic</button>" in unkept


@in_app_context
def clinic_token_for_test() -> str:
    from app.clinics import create_clinic
    from app.extensions import db as _db

    clinic = create_clinic("Riverside Test Clinic")
    _db.session.commit()
    return clinic.link_token
