"""Risk first: safety flags, one row per series, case references instead of codes, notes and assignment."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.models import AuditEvent, Screening
from app.screening import codes
from app.screening.instruments import PCL5
from app.screening.service import add_screening, score
from tests.clinician_support import WORKSPACE_FIXTURES, clinic_named, csrf, loaded, ref, sign_in, store, utc
from tests.conftest import in_app_context, reloaded

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)

# The case: item 16 ("taking too many risks or doing things that could cause you harm") at
# Extremely and the rest low: 23/80, 29 % of the maximum, below the cut-off of 33.
HARM = [1] * 15 + [4] + [1] * 4
FLAG_TEXT = "Safety item: 16 — risk-taking or self-harm"


def test_the_harm_item_is_flagged_in_queue_detail_statistics_and_csv_and_sorts_first(app, signed_in):
    above = store(answers=[3] * 15 + [0] + [3] * 4, taken_at=utc(2026, 1, 1))  # 57/80, waiting longest
    harm = store(answers=HARM, taken_at=utc(2026, 6, 1))
    assert (harm.total, harm.at_or_above_cutoff, harm.safety_items) == (23, False, "16")
    assert above.safety_items is None
    queue = signed_in.get("/clinician/").get_data(as_text=True)
    first_row = queue[queue.index("<tbody>"):queue.index("</tr>", queue.index("<tbody>"))]
    assert ref(harm) in first_row and FLAG_TEXT in first_row and ref(above) not in first_row
    detail = signed_in.get(f"/clinician/results/{ref(harm)}").get_data(as_text=True)
    main = detail[detail.index("<h1>"):]
    assert main.index(FLAG_TEXT) < main.index("Instrument") < main.index('id="answers-heading"')
    stats = signed_in.get("/clinician/stats").get_data(as_text=True)
    backlog = stats[stats.index('id="backlog-heading"'):stats.index("</section>", stats.index('id="backlog-heading"'))]
    assert re.search(r"Waiting, with a safety flag</dt><dd>1</dd>", backlog)
    assert re.search(r"With a safety flag, in all</dt><dd>1</dd>", backlog)
    rows = list(csv.DictReader(io.StringIO(signed_in.get("/clinician/export.csv").get_data(as_text=True))))
    assert {row["case_reference"]: row["safety_items"] for row in rows} == {ref(above): "", ref(harm): "16"}
    # Reviewed, it leaves the top: unreviewed before reviewed, whatever the flag.
    url = f"/clinician/results/{ref(harm)}"
    signed_in.post(url + "/review", data={"csrf_token": csrf(signed_in, url)})
    stats = signed_in.get("/clinician/stats").get_data(as_text=True)
    assert re.search(r"Waiting, with a safety flag</dt><dd>0</dd>", stats)
    queue = signed_in.get("/clinician/").get_data(as_text=True)
    assert queue.index(ref(above)) < queue.index(ref(harm))


def test_the_spanish_queue_words_the_flag_too(signed_in):
    store(answers=HARM)
    signed_in.set_cookie("lang", "es")
    queue = signed_in.get("/clinician/").get_data(as_text=True)
    assert "Ítem de seguridad: 16 — conductas de riesgo o autolesión" in queue


@in_app_context
def retake(previous: Screening, answers: list[int], taken_at) -> Screening:
    """A retake that names the earlier result, stored through the service into the home clinic."""
    earlier = _db.session.get(Screening, previous.id)
    code = add_screening(score(PCL5, answers), previous=earlier, clinic=clinic_named())
    row = _db.session.scalar(sa.select(Screening).where(Screening.code == code))
    row.taken_at = taken_at
    _db.session.commit()
    return loaded(row)


def pcl5_total(total: int) -> list[int]:
    """PCL-5 answers adding up to `total` with item 16 at Not at all."""
    answers = [0] * 20
    for index in [i for i in range(20) if i != 15] * 4:
        if sum(answers) == total:
            break
        answers[index] += 1
    return answers


def test_a_four_result_series_is_one_row_with_its_size_and_change_and_a_retake_reopens_it(app, signed_in):
    first = store(answers=pcl5_total(60), taken_at=utc(2026, 1, 1))
    series = [first]
    for month, total in ((2, 52), (3, 45)):
        series.append(retake(series[-1], pcl5_total(total), utc(2026, month, 1)))
    url = f"/clinician/results/{ref(series[-1])}"
    signed_in.post(url + "/review", data={"csrf_token": csrf(signed_in, url)})
    other = store(answers=pcl5_total(10), taken_at=utc(2026, 5, 1))
    latest = retake(series[-1], pcl5_total(38), utc(2026, 4, 1))
    series.append(latest)
    queue = signed_in.get("/clinician/").get_data(as_text=True)
    listed = re.findall(r'href="/clinician/results/(R-[0-9A-Z-]+)"', queue)
    assert listed == [ref(latest), ref(other)]  # one row for the series, unreviewed again, and first
    assert "4 results in this series; 22 points lower than the first" in queue
    assert "2 of 1" not in queue and "1 result match" not in queue and "2 results match." in queue
    detail = signed_in.get(f"/clinician/results/{ref(latest)}").get_data(as_text=True)
    earlier = detail[detail.index('id="earlier-heading"'):]
    positions = [earlier.index(ref(row)) for row in reversed(series[:-1])]
    assert positions == sorted(positions)  # newest earlier result first
    assert all(reloaded(row).latest_in_series is False for row in series[:-1])


def test_deleting_the_latest_result_gives_its_row_back_to_the_one_before(app, client, signed_in):
    first = store(answers=pcl5_total(50))
    second = retake(first, pcl5_total(40), utc(2026, 2, 1))
    assert client.post(f"/results/{codes.display(second.code)}/delete", data={}).status_code == 303
    assert reloaded(first).latest_in_series is True
    assert ref(first) in signed_in.get("/clinician/").get_data(as_text=True)


def every_spelling(code: str) -> list[str]:
    display = codes.display(code)
    return [code, code.lower(), display, display.lower(), display.replace("-", " "), code[:4] + "-" + code[4:]]


def test_no_workspace_page_export_bundle_or_audit_entry_holds_a_result_code(app, signed_in, admin_client, clinician):
    rows = [store(answers=HARM), store("pcptsd5"), store("itq", answers=[3] * 18), store(clinic=None)]
    rows.append(retake(rows[0], pcl5_total(20), utc(2026, 3, 1)))
    # Every way a code reaches the workspace: added by its whole code, viewed, reviewed, noted, assigned.
    claim = signed_in.post("/clinician/", data={"code": codes.display(rows[3].code),
                                                "csrf_token": csrf(signed_in, "/clinician/")})
    assert claim.status_code == 303
    pages = ["/clinician/", "/clinician/stats", "/clinician/export.csv", "/clinician/export.fhir.json",
             "/clinician/?reviewed=no", "/clinician/?instrument=pcl5"]
    for row in rows:
        url = f"/clinician/results/{ref(row)}"
        token = csrf(signed_in, url)
        signed_in.post(url + "/review", data={"csrf_token": token, "note": "Called."})
        signed_in.post(url + "/notes", data={"csrf_token": token, "note": "Follow-up booked."})
        signed_in.post(url + "/assign", data={"csrf_token": token, "clinician": str(clinician.id)})
        pages.append(url)
    bodies = [signed_in.get(page).get_data(as_text=True) for page in pages]
    bodies += [admin_client.get(page).get_data(as_text=True) for page in ("/clinician/audit", "/clinician/",
                                                                          "/clinician/export.csv")]
    with app.app_context():
        bodies += [f"{event.target} {event.detail}" for event in _db.session.scalars(sa.select(AuditEvent))]
        bodies += ["|".join(str(value) for value in row)
                   for row in _db.session.execute(sa.select(AuditEvent.target, AuditEvent.detail))]
    assert len(bodies) > 20
    for row in rows:
        for spelling in every_spelling(row.code):
            assert not any(spelling in body for body in bodies), spelling
    bundle = json.loads(signed_in.get("/clinician/export.fhir.json").get_data(as_text=True))
    assert {entry["resource"]["identifier"]["system"] for entry in bundle["entry"]} == \
        {"urn:ptsd-self-check:case-reference"}


def test_a_reference_is_no_key_to_the_persons_pages(client, signed_in):
    row = store()
    for spelling in (ref(row), row.case_reference):
        assert client.get(f"/results/{spelling}").status_code == 404
        assert client.post(f"/results/{spelling}/delete", data={}).status_code in (400, 404)
    assert reloaded(row) is not None


def test_assignment_is_audited_filtered_by_me_and_in_the_csv(app, signed_in, clinician, make_clinician):
    colleague = make_clinician("colleague@example.org")
    outsider = make_clinician("outsider@example.org", clinics=("Other Clinic",))
    mine, theirs, nobodys = store(answers=pcl5_total(40)), store(answers=pcl5_total(50)), store()
    for row, who in ((mine, clinician), (theirs, colleague)):
        url = f"/clinician/results/{ref(row)}"
        response = signed_in.post(url + "/assign", data={"csrf_token": csrf(signed_in, url), "clinician": str(who.id)})
        assert response.status_code == 303
    url = f"/clinician/results/{ref(nobodys)}"
    refused = signed_in.post(url + "/assign", data={"csrf_token": csrf(signed_in, url), "clinician": str(outsider.id)})
    assert refused.status_code == 400 and reloaded(nobodys).assigned_to_id is None
    queue = signed_in.get("/clinician/?assigned=me").get_data(as_text=True)
    assert ref(mine) in queue and ref(theirs) not in queue and ref(nobodys) not in queue
    everyone = signed_in.get("/clinician/").get_data(as_text=True)
    assert "colleague@example.org" in everyone and "doc@example.org" in everyone
    rows = list(csv.DictReader(io.StringIO(signed_in.get("/clinician/export.csv").get_data(as_text=True))))
    assert {row["case_reference"]: row["assigned_to"] for row in rows} == {
        ref(mine): "doc@example.org", ref(theirs): "colleague@example.org", ref(nobodys): ""}
    with app.app_context():
        events = _db.session.execute(sa.select(AuditEvent.target, AuditEvent.detail)
                                     .where(AuditEvent.action == "assigned").order_by(AuditEvent.id)).all()
    assert [tuple(event) for event in events] == [(ref(mine), "doc@example.org"),
                                                  (ref(theirs), "colleague@example.org")]
    # A retake in the same caseload keeps its series' assignee.
    assert reloaded(retake(mine, pcl5_total(30), utc(2026, 9, 1))).assigned_to_id == clinician.id


def test_another_clinics_clinician_cannot_open_assign_or_note_by_reference(app, make_clinician):
    make_clinician("outsider@example.org", clinics=("Other Clinic",))
    row = store()
    client = app.test_client()
    assert sign_in(client, "outsider@example.org").status_code == 303
    url = f"/clinician/results/{ref(row)}"
    token = csrf(client, "/clinician/")
    assert client.get(url).status_code == 404
    for action, data in (("notes", {"note": "x"}), ("assign", {"clinician": ""}), ("review", {})):
        assert client.post(f"{url}/{action}", data={"csrf_token": token, **data}).status_code == 404


def test_notes_go_with_the_result_when_the_person_deletes_it(app, client, signed_in):
    from app.models import ResultNote

    row = store(answers=HARM, reviewed=True)
    url = f"/clinician/results/{ref(row)}"
    added = signed_in.post(url + "/notes", data={"csrf_token": csrf(signed_in, url), "note": "Called."})
    assert added.status_code == 303
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count(ResultNote.id))) == 1
    assert client.post(f"/results/{codes.display(row.code)}/delete", data={}).status_code == 303
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count(ResultNote.id))) == 0
