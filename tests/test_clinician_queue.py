"""The triage queue: order, paging, filters (as GET parameters) and marking results reviewed."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.clinician import queue
from app.clinician.demo import seed
from app.extensions import db as _db
from app.models import AuditEvent, ResultNote, Screening
from app.screening import codes
from app.screening.case_references import display as ref_display
from app.screening.triage import FULL_POSITIVE
from tests.clinician_support import WORKSPACE_FIXTURES, clinic_named, csrf, ref, store, utc
from tests.conftest import in_app_context, reloaded, stored_count

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)

LINK = re.compile(r'href="/clinician/results/R-([0-9A-Z]{3})-([0-9A-Z]{4})"')


def listed(response) -> list[str]:
    """Case references (stored form) in the order the queue lists them."""
    assert response.status_code == 200, response.status_code
    return ["".join(parts) for parts in LINK.findall(response.get_data(as_text=True))]


def no_harm(level: int) -> list[int]:
    """PCL-5 answers at one level but item 16 (risk-taking or self-harm) at Not at all: 19 × level."""
    return [level] * 15 + [0] + [level] * 4


@in_app_context
def event_count() -> int:
    return _db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))


def test_triage_order_across_instruments(signed_in):
    """Unreviewed first; then a safety item, a positive full measure (most severe first), a positive brief
    screen, the rest (most severe first); within a tier the longest waiting first."""
    reviewed_high = store(answers=[4] * 20, reviewed=True, taken_at=utc(2026, 5, 1))  # flagged, but reviewed
    pcl5_40 = store(answers=no_harm(2), taken_at=utc(2026, 5, 2))  # 38/80, at or above the cut-off of 33
    pcl5_low = store(answers=no_harm(1), taken_at=utc(2026, 5, 2))  # 19/80, below
    high_old = store(answers=no_harm(3), taken_at=utc(2026, 1, 1))  # 57/80
    high_new = store(answers=no_harm(3), taken_at=utc(2026, 3, 1))  # 57/80, waiting less long
    harm = store(answers=[0] * 15 + [4] + [0] * 4, taken_at=utc(2026, 6, 2))  # 4/80, item 16 at Extremely
    screen_full = store("pcptsd5", answers=[True] * 5, taken_at=utc(2025, 7, 1))  # 5/5, the oldest
    screen_below = store("pcptsd5", answers=[True, True, False, False, False], taken_at=utc(2026, 4, 1))  # 2/5
    assert listed(signed_in.get("/clinician/")) == [
        harm.case_reference,  # a safety item, whatever its total
        high_old.case_reference, high_new.case_reference, pcl5_40.case_reference,  # full measure, by severity
        screen_full.case_reference,  # a positive brief screen calls for a full assessment
        screen_below.case_reference, pcl5_low.case_reference,  # below: 40 % before 24 %
        reviewed_high.case_reference]
    queue = signed_in.get("/clinician/").get_data(as_text=True)
    assert "a safety item endorsed; a positive full measure" in queue


def test_a_pcl5_of_69_comes_before_eleven_pcptsd5_of_5_however_old(signed_in):
    screens = [store("pcptsd5", answers=[True] * 5, taken_at=utc(2026, 7, day)) for day in range(1, 12)]
    pcl5 = store(answers=[4] * 9 + [3] * 6 + [1] + [4, 4, 3, 3], taken_at=utc(2026, 12, 1))  # 36+18+1+14 = 69
    assert pcl5.total == 69 and pcl5.safety_items is None
    assert listed(signed_in.get("/clinician/")) == [pcl5.case_reference, *(row.case_reference for row in screens)]


def test_itq_complex_ptsd_comes_before_ptsd_with_the_same_ptsd_items(signed_in):
    ptsd_items, impairment = [3] * 6 + [3] * 3, [3] * 3
    ptsd = store("itq", answers=ptsd_items + [0] * 6 + [0] * 3, taken_at=utc(2026, 1, 1))
    cptsd = store("itq", answers=ptsd_items + [3] * 6 + impairment, taken_at=utc(2026, 6, 1))
    assert (ptsd.icd11_pattern, cptsd.icd11_pattern) == ("ptsd", "cptsd") and ptsd.total == cptsd.total
    below = store(answers=[1] * 20, taken_at=utc(2025, 1, 1))
    assert listed(signed_in.get("/clinician/")) == [cptsd.case_reference, ptsd.case_reference, below.case_reference]


def test_a_mild_itq_complex_ptsd_comes_before_every_other_positive_full_measure_however_severe(signed_in):
    """Complex PTSD is PTSD plus disturbances in self-organisation with impairment (ICD-11): within the
    positive full measures it comes first, then the most severe, then the longest waiting."""
    mild_cptsd = store("itq", answers=[2, 0] * 3 + [2, 0, 0] + [2, 0] * 3 + [2, 0, 0], taken_at=utc(2026, 6, 1))
    severe_ptsd = store("itq", answers=[4] * 15 + [0] * 3, taken_at=utc(2026, 1, 1))  # no DSO impairment
    severe_pcl5 = store(answers=no_harm(4), taken_at=utc(2025, 1, 1))  # 76/80, waiting longest
    severe_phq9 = store("phq9", answers=[3] * 8 + [0], taken_at=utc(2025, 6, 1))  # 24/27, item 9 at Not at all
    assert (mild_cptsd.icd11_pattern, severe_ptsd.icd11_pattern) == ("cptsd", "ptsd")
    assert mild_cptsd.total < severe_ptsd.total and mild_cptsd.dso_total < severe_ptsd.dso_total
    assert {row.triage_tier for row in (mild_cptsd, severe_ptsd, severe_pcl5, severe_phq9)} == {FULL_POSITIVE}
    assert listed(signed_in.get("/clinician/")) == [
        mild_cptsd.case_reference,  # complex PTSD first, however mild
        severe_ptsd.case_reference, severe_pcl5.case_reference, severe_phq9.case_reference]  # by severity share


def test_a_full_pcptsd5_comes_before_a_pcl5_below_the_cutoff(signed_in):
    pcl5 = store(answers=[2] * 15 + [0, 1, 1, 0, 0], taken_at=utc(2026, 1, 1))  # 32/80: below 33, waiting longer
    screen = store("pcptsd5", answers=[True] * 5, taken_at=utc(2026, 6, 1))
    assert listed(signed_in.get("/clinician/")) == [screen.case_reference, pcl5.case_reference]
    assert listed(signed_in.get("/clinician/?reviewed=no")) == [screen.case_reference, pcl5.case_reference]


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
    monkeypatch.setattr(queue, "COUNT_CAP", 60)
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
    expected_references = sorted(sample[key].case_reference for key in expected)
    assert sorted(listed(signed_in.get(f"/clinician/?{query}"))) == expected_references


@pytest.mark.parametrize("typed", [
    lambda reference: reference,
    lambda reference: ref_display(reference).lower(),
    lambda reference: " " + ref_display(reference).replace("-", " ") + " ",
    lambda reference: reference[:4],
    lambda reference: ref_display(reference)[:6].lower(),
], ids=["stored", "display-lowercase", "spaces", "prefix", "prefix-with-dash"])
def test_reference_search_accepts_what_people_type(signed_in, sample, typed):
    target = sample["C"].case_reference
    found = listed(signed_in.get("/clinician/", query_string={"code": typed(target)}))
    assert target in found and all(reference.startswith(target[:4]) for reference in found)


def test_a_persons_code_does_not_search_the_queue_and_is_not_echoed(signed_in, sample):
    code = codes.display(sample["C"].code)
    response = signed_in.get("/clinician/", query_string={"code": code})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "A case reference looks like" in body
    assert f'value="{code}"' not in body and sample["C"].code not in body


@pytest.mark.parametrize("query, message", [
    ("instrument=gad7", "Choose an instrument from the list."),
    ("from=2026-13-01", "must be a date like 2026-01-31"),
    ("to=yesterday", "must be a date like 2026-01-31"),
    ("from=2026-03-01&to=2026-02-01", "must not be after"),
    ("cutoff=maybe", "Choose one of the listed options"),
    ("reviewed=1", "Choose one of the listed options"),
    ("code=<script>", "A case reference looks like R-7KQ-M9XD"),
    ("code=UUUU", "A case reference looks like R-7KQ-M9XD"),
    ("code=" + "7" * 13, "A case reference looks like R-7KQ-M9XD"),
    ("assigned=you", "Choose one of the listed options"),
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


def test_mark_reviewed_with_a_note_then_add_notes_then_undo(app, signed_in, clinician):
    row = store(answers=[4] * 20)
    url = f"/clinician/results/{ref(row)}"
    response = signed_in.post(url + "/review", data={"note": "  Called back, booked an assessment. ",
                                                     "csrf_token": csrf(signed_in, url)})
    assert response.status_code == 303 and response.headers["Location"] == url
    row = reloaded(row)
    assert row.reviewed and row.reviewed_by_id == clinician.id and row.reviewed_at is not None
    page = signed_in.get(url).get_data(as_text=True)
    assert "Called back, booked an assessment." in page and "Reviewed" in page and "doc@example.org" in page
    response = signed_in.post(url + "/notes", data={"note": "No answer at 3 pm; will try tomorrow.",
                                                    "csrf_token": csrf(signed_in, url)})
    assert response.status_code == 303
    page = signed_in.get(url).get_data(as_text=True)
    first, second = page.index("Called back, booked"), page.index("No answer at 3 pm")
    assert first < second  # appended, oldest first; the first one is kept
    assert notes_of(app, row) == [(clinician.id, "Called back, booked an assessment."),
                                  (clinician.id, "No answer at 3 pm; will try tomorrow.")]
    assert signed_in.post(url + "/unreview", data={"csrf_token": csrf(signed_in, url)}).status_code == 303
    row = reloaded(row)
    assert not row.reviewed and row.reviewed_at is None and row.reviewed_by_id is None
    assert len(notes_of(app, row)) == 2  # notes stay
    with app.app_context():
        actions = list(_db.session.scalars(sa.select(AuditEvent.action)
                                           .where(AuditEvent.target == ref(row)).order_by(AuditEvent.id)))
    assert [a for a in actions if a != "view_result"] == ["review", "note_added", "note_added", "unreview"]


def test_an_empty_note_is_a_400_and_adds_nothing(app, signed_in):
    row = store(answers=[4] * 20, reviewed=True)
    url = f"/clinician/results/{ref(row)}"
    before = event_count()
    response = signed_in.post(url + "/notes", data={"note": "   ", "csrf_token": csrf(signed_in, url)})
    assert response.status_code == 400 and "Write the note before adding it." in response.get_data(as_text=True)
    assert notes_of(app, row) == [] and event_count() == before + 1  # only the page view above


def notes_of(app, row) -> list[tuple]:
    with app.app_context():
        return [tuple(note) for note in _db.session.execute(
            sa.select(ResultNote.author_id, ResultNote.text).where(ResultNote.screening_id == row.id)
            .order_by(ResultNote.id))]


def test_a_reviewed_result_moves_behind_the_unreviewed(signed_in):
    high, low = store(answers=[4] * 20), store(answers=[0] * 20)
    url = f"/clinician/results/{ref(high)}"
    signed_in.post(url + "/review", data={"csrf_token": csrf(signed_in, url)})
    assert listed(signed_in.get("/clinician/")) == [low.case_reference, high.case_reference]


@pytest.mark.parametrize("action, data", [
    ("review", {"note": "x" * 2001}),
    ("review", {"note": "fine", "csrf_token": None}),
    ("unreview", {"csrf_token": None}),
], ids=["note-too-long", "review-without-token", "unreview-without-token"])
def test_bad_review_posts_store_nothing(app, signed_in, action, data):
    row = store(answers=[4] * 20, reviewed=action == "unreview")
    url = f"/clinician/results/{ref(row)}"
    token = csrf(signed_in, url)
    data = {k: v for k, v in {**{"csrf_token": token}, **data}.items() if v is not None}
    before = event_count()
    response = signed_in.post(f"{url}/{action}", data=data)
    assert response.status_code == 400
    row = reloaded(row)
    assert row.reviewed is (action == "unreview") and row.reviewed_by_id is None
    assert event_count() == before and notes_of(app, row) == []
    if action == "review" and "note" in data and len(data["note"]) > 2000:
        assert "2000 characters or fewer" in response.get_data(as_text=True)


@pytest.mark.parametrize("code", ["0000-0000-0000", "not-a-code", "U" * 12])
def test_unknown_codes_are_404_and_record_nothing(signed_in, code):
    before = event_count()
    token = csrf(signed_in, "/clinician/")
    assert signed_in.get(f"/clinician/results/{code}").status_code == 404
    assert signed_in.post(f"/clinician/results/{code}/review", data={"csrf_token": token}).status_code == 404
    assert event_count() == before and stored_count() == 0


@pytest.mark.parametrize("prefix, upper", [("7K", "7M"), ("7Z", "8"), ("AZZ", "B"), ("ZZ", None), ("0", "1")])
def test_code_prefix_upper_bound_follows_the_code_alphabet(prefix, upper):
    from app.clinician.filters import _next_prefix

    assert _next_prefix(prefix) == upper


def test_a_prefix_search_at_the_end_of_the_alphabet_finds_its_references(app, signed_in):
    rows = [store() for _ in range(3)]
    with app.app_context():
        for row, reference in zip(rows, ("ZZZZ000", "ZZZY000", "ZZ00000"), strict=True):
            _db.session.get(Screening, row.id).case_reference = reference
        _db.session.commit()
    assert sorted(listed(signed_in.get("/clinician/?code=R-zzz"))) == ["ZZZY000", "ZZZZ000"]
    assert len(listed(signed_in.get("/clinician/?code=ZZ"))) == 3
