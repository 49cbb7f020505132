"""The triage queue: order, paging, filters (as GET parameters) and marking results reviewed."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.clinician import queries
from app.clinician.demo import seed
from app.extensions import db as _db
from app.models import AuditEvent, Screening
from app.screening import codes
from tests.clinician_support import *  # noqa: F401,F403 - fixtures
from tests.clinician_support import clinic_named, csrf, store, utc
from tests.conftest import in_app_context, reloaded, stored_count

LINK = re.compile(r'href="/clinician/results/([0-9A-Z-]{14})"')


def listed(response) -> list[str]:
    """Result codes (stored form) in the order the queue lists them."""
    assert response.status_code == 200, response.status_code
    return [code.replace("-", "") for code in LINK.findall(response.get_data(as_text=True))]


@in_app_context
def event_count() -> int:
    return _db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))


def test_triage_order_across_instruments(signed_in):
    """Unreviewed first; at or above the cut-off first; highest share of the maximum; oldest waiting first."""
    reviewed_high = store(answers=[4] * 20, reviewed=True, taken_at=utc(2026, 5, 1))
    pcl5_below = store(answers=[2] * 20, taken_at=utc(2026, 5, 2))  # 40/80, at or above the cut-off of 33
    pcl5_low = store(answers=[1] * 20, taken_at=utc(2026, 5, 2))  # 20/80, below
    high_old = store(answers=[3] * 20, taken_at=utc(2026, 1, 1))  # 60/80
    high_new = store(answers=[3] * 20, taken_at=utc(2026, 3, 1))  # 60/80, waiting less long
    screen_full = store("pcptsd5", answers=[True] * 5, taken_at=utc(2026, 6, 1))  # 5/5
    screen_below = store("pcptsd5", answers=[True, True, False, False, False], taken_at=utc(2026, 4, 1))  # 2/5
    assert listed(signed_in.get("/clinician/")) == [
        screen_full.code, high_old.code, high_new.code, pcl5_below.code,  # at or above, by share
        screen_below.code, pcl5_low.code,  # below: 40 % before 25 %
        reviewed_high.code]
    queue = signed_in.get("/clinician/").get_data(as_text=True)
    assert "5 of 5 on the PC-PTSD-5 comes before 40 of 80 on the PCL-5" in queue


def test_a_full_pcptsd5_comes_before_a_pcl5_below_the_cutoff(signed_in):
    pcl5 = store(answers=[2] * 16 + [0] * 4, taken_at=utc(2026, 1, 1))  # 32/80: below 33, waiting longer
    screen = store("pcptsd5", answers=[True] * 5, taken_at=utc(2026, 6, 1))
    assert listed(signed_in.get("/clinician/")) == [screen.code, pcl5.code]
    assert listed(signed_in.get("/clinician/?reviewed=no")) == [screen.code, pcl5.code]


def test_fifty_a_page_with_links_that_keep_the_filters(app, signed_in):
    with app.app_context():
        seed(120, random_seed=1, clinic_ids=[clinic_named().id], unattached=0)
    first = signed_in.get("/clinician/")
    assert len(listed(first)) == 50 and "Page 1 of 3" in first.get_data(as_text=True)
    assert len(listed(signed_in.get("/clinician/?page=3"))) == 20
    assert "Page 3 of 3" in signed_in.get("/clinician/?page=99").get_data(as_text=True)
    pages = [set(listed(signed_in.get(f"/clinician/?page={n}"))) for n in (1, 2, 3)]
    assert len(set.union(*pages)) == 120
    body = signed_in.get("/clinician/?instrument=pcl5").get_data(as_text=True)
    assert "page=2&amp;instrument=pcl5" in body or "instrument=pcl5&amp;page=2" in body


def test_a_large_queue_counts_up_to_a_cap_and_still_pages_to_the_end(app, signed_in, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 60)
    with app.app_context():
        seed(120, random_seed=2, clinic_ids=[clinic_named().id], unattached=0)
    first = signed_in.get("/clinician/").get_data(as_text=True)
    assert "More than 60 results match." in first and "Page 1<" in first and "page=2" in first
    assert "of 3" not in first
    second = signed_in.get("/clinician/?page=2").get_data(as_text=True)  # counted up to 101: still more
    assert "More than 100 results match." in second and "page=3" in second
    last = signed_in.get("/clinician/?page=3").get_data(as_text=True)  # counted to the end: exact again
    assert "120 results match." in last and "Page 3 of 3" in last and "page=4" not in last
    pages = [set(listed(signed_in.get(f"/clinician/?page={n}"))) for n in (1, 2, 3)]
    assert len(set.union(*pages)) == 120 and [len(page) for page in pages] == [50, 50, 20]


@pytest.fixture
def sample(app):
    """Four results spread over instruments, dates, cut-off and review state."""
    return {
        "A": store(answers=[3] * 20, taken_at=utc(2026, 1, 15, 9)),
        "B": store(answers=[1] * 20, taken_at=utc(2026, 3, 2), reviewed=True, reviewed_at=utc(2026, 3, 3)),
        "C": store("pcptsd5", answers=[True, True, True, True, False], taken_at=utc(2026, 2, 10)),
        "D": store("pcptsd5", answers=[], exposure=False, taken_at=utc(2026, 6, 30, 23, 30), reviewed=True),
    }


@pytest.mark.parametrize("query, expected", [
    ("instrument=pcl5", "AB"),
    ("instrument=pcptsd5", "CD"),
    ("from=2026-02-01", "BCD"),
    ("to=2026-02-10", "AC"),
    ("to=2026-06-30", "ABCD"),
    ("from=2026-02-01&to=2026-03-31", "BC"),
    ("cutoff=yes", "AC"),
    ("cutoff=no", "BD"),
    ("reviewed=yes", "BD"),
    ("reviewed=no", "AC"),
    ("instrument=pcl5&cutoff=yes&reviewed=no", "A"),
    ("instrument=&from=&to=&cutoff=&reviewed=&code=", "ABCD"),
])
def test_filters(signed_in, sample, query, expected):
    assert sorted(listed(signed_in.get(f"/clinician/?{query}"))) == sorted(sample[key].code for key in expected)


@pytest.mark.parametrize("typed", [
    lambda code: code,
    lambda code: codes.display(code).lower(),
    lambda code: " " + codes.display(code).replace("-", " ") + " ",
    lambda code: code[:6],
    lambda code: codes.display(code)[:7].lower(),
], ids=["stored", "display-lowercase", "spaces", "prefix", "prefix-with-dash"])
def test_code_search_accepts_what_people_type(signed_in, sample, typed):
    target = sample["C"].code
    found = listed(signed_in.get("/clinician/", query_string={"code": typed(target)}))
    assert target in found and all(code.startswith(target[:6]) for code in found)


@pytest.mark.parametrize("query, message", [
    ("instrument=gad7", "Choose an instrument from the list."),
    ("from=2026-13-01", "must be a date like 2026-01-31"),
    ("to=yesterday", "must be a date like 2026-01-31"),
    ("from=2026-03-01&to=2026-02-01", "must not be after"),
    ("cutoff=maybe", "Choose one of the listed options"),
    ("reviewed=1", "Choose one of the listed options"),
    ("code=<script>", "A result code has 12 letters and digits"),
    ("code=UUUU", "A result code has 12 letters and digits"),
    ("code=" + "7" * 13, "A result code has 12 letters and digits"),
])
@pytest.mark.parametrize("page", ["/clinician/", "/clinician/stats", "/clinician/export.csv",
                                  "/clinician/export.fhir.json"])
def test_unusable_filters_are_reported_and_nothing_is_stored(signed_in, sample, page, query, message):
    before = event_count()
    response = signed_in.get(f"{page}?{query}")
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and message in body
    assert listed_codes_in(body) == [] and event_count() == before and stored_count() == 4
    expected_form = "/clinician/stats" if page == "/clinician/stats" else "/clinician/"
    assert f'<form method="get" class="filters" action="{expected_form}">' in body


def listed_codes_in(body: str) -> list[str]:
    return LINK.findall(body)


def test_export_and_statistics_links_carry_the_filters(signed_in, sample):
    body = signed_in.get("/clinician/?instrument=pcl5&cutoff=yes").get_data(as_text=True)
    for endpoint in ("export.csv", "export.fhir.json", "stats"):
        assert f"/clinician/{endpoint}?instrument=pcl5&amp;cutoff=yes" in body


def test_mark_reviewed_with_a_note_then_change_it_then_undo(app, signed_in, clinician):
    row = store(answers=[4] * 20)
    url = f"/clinician/results/{codes.display(row.code)}"
    response = signed_in.post(url + "/review", data={"note": "  Called back, booked an assessment. ",
                                                     "csrf_token": csrf(signed_in, url)})
    assert response.status_code == 303 and response.headers["Location"] == url
    row = reloaded(row)
    assert row.reviewed and row.reviewed_by_id == clinician.id and row.reviewed_at is not None
    assert row.review_note == "Called back, booked an assessment."
    page = signed_in.get(url).get_data(as_text=True)
    assert "Called back, booked an assessment." in page and "Reviewed" in page and "doc@example.org" in page
    signed_in.post(url + "/review", data={"note": "", "csrf_token": csrf(signed_in, url)})
    row = reloaded(row)
    assert row.reviewed and row.review_note is None
    assert signed_in.post(url + "/unreview", data={"csrf_token": csrf(signed_in, url)}).status_code == 303
    row = reloaded(row)
    assert not row.reviewed and row.reviewed_at is None and row.reviewed_by_id is None
    with app.app_context():
        actions = list(_db.session.scalars(sa.select(AuditEvent.action)
                                           .where(AuditEvent.target == codes.display(row.code))
                                           .order_by(AuditEvent.id)))
    assert [a for a in actions if a != "view_result"] == ["review", "review", "unreview"]


def test_a_reviewed_result_moves_behind_the_unreviewed(signed_in):
    high, low = store(answers=[4] * 20), store(answers=[0] * 20)
    url = f"/clinician/results/{high.code}"
    signed_in.post(url + "/review", data={"csrf_token": csrf(signed_in, url)})
    assert listed(signed_in.get("/clinician/")) == [low.code, high.code]


@pytest.mark.parametrize("action, data", [
    ("review", {"note": "x" * 501}),
    ("review", {"note": "fine", "csrf_token": None}),
    ("unreview", {"csrf_token": None}),
], ids=["note-too-long", "review-without-token", "unreview-without-token"])
def test_bad_review_posts_store_nothing(signed_in, action, data):
    row = store(answers=[4] * 20, reviewed=action == "unreview", review_note=None)
    url = f"/clinician/results/{row.code}"
    token = csrf(signed_in, url)
    data = {k: v for k, v in {**{"csrf_token": token}, **data}.items() if v is not None}
    before = event_count()
    response = signed_in.post(f"{url}/{action}", data=data)
    assert response.status_code == 400
    row = reloaded(row)
    assert row.reviewed is (action == "unreview") and row.review_note is None and row.reviewed_by_id is None
    assert event_count() == before
    if action == "review" and "note" in data and len(data["note"]) > 500:
        assert "500 characters or fewer" in response.get_data(as_text=True)


@pytest.mark.parametrize("code", ["0000-0000-0000", "not-a-code", "U" * 12])
def test_unknown_codes_are_404_and_record_nothing(signed_in, code):
    before = event_count()
    token = csrf(signed_in, "/clinician/")
    assert signed_in.get(f"/clinician/results/{code}").status_code == 404
    assert signed_in.post(f"/clinician/results/{code}/review", data={"csrf_token": token}).status_code == 404
    assert event_count() == before and stored_count() == 0


@pytest.mark.parametrize("prefix, upper", [("7K", "7M"), ("7Z", "8"), ("AZZ", "B"), ("ZZ", None), ("0", "1")])
def test_code_prefix_upper_bound_follows_the_code_alphabet(prefix, upper):
    from app.clinician.queries import _next_prefix

    assert _next_prefix(prefix) == upper


def test_a_prefix_search_at_the_end_of_the_alphabet_finds_its_codes(app, signed_in):
    rows = [store() for _ in range(3)]
    with app.app_context():
        for row, code in zip(rows, ("ZZZZ00000000", "ZZZY00000000", "ZZ0000000000"), strict=True):
            _db.session.get(Screening, row.id).code = code
        _db.session.commit()
    assert sorted(listed(signed_in.get("/clinician/?code=zzz"))) == ["ZZZY00000000", "ZZZZ00000000"]
    assert len(listed(signed_in.get("/clinician/?code=ZZ"))) == 3
