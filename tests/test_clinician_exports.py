"""CSV and FHIR exports: streamed, parseable, valid, filtered like the queue, and audited."""
from __future__ import annotations

import csv
import io
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

# fhir.resources ships R5 as its default and R4B beside it; R4B's Bundle is R4's.
from fhir.resources.R4B.bundle import Bundle
from werkzeug.datastructures import MultiDict

from app.clinician import exports
from app.clinician.demo import seed
from app.clinician.exports import CSV_HEADER, csv_stream
from app.clinician.filters import Filters, Scope, filtered, parse_filters
from app.extensions import db as _db
from app.models import AuditEvent, Clinic, Screening
from tests.clinician_support import WORKSPACE_FIXTURES, clinic_named, ref, sign_in, store, utc

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)


@pytest.fixture
def sample(app):
    return [
        store(answers=[0, 1, 2, 3, 4] * 4, taken_at=utc(2026, 1, 2, 3, 4, 5), reviewed=True),
        store("pcptsd5", answers=[True, False, True, False, True], taken_at=utc(2026, 2, 1)),
        store("pcptsd5", answers=[], exposure=False, taken_at=utc(2026, 3, 1)),
    ]


def parse_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv_has_one_parseable_row_per_result(signed_in, sample):
    response = signed_in.get("/clinician/export.csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="ptsd-results-') and disposition.endswith('.csv"')
    reader = csv.reader(io.StringIO(response.get_data(as_text=True)))
    assert next(reader) == CSV_HEADER
    pcl5, screen, no_exposure = parse_csv(response)
    assert pcl5["code"] == "" and pcl5["case_reference"] == ref(sample[0])  # never the person's code
    assert (pcl5["instrument"], pcl5["version"], pcl5["taken_at"]) == ("pcl5", "PCL-5 (2013), past month",
                                                                       "2026-01-02T03:04:05Z")
    assert (pcl5["total"], pcl5["reexperiencing"], pcl5["avoidance"], pcl5["arousal"]) == ("40", "10", "16", "14")
    assert (pcl5["at_or_above_cutoff"], pcl5["reviewed"], pcl5["exposure"]) == ("true", "true", "")
    assert [pcl5[f"q{n}"] for n in range(1, 21)] == [str(v) for v in [0, 1, 2, 3, 4] * 4]
    assert (screen["exposure"], screen["total"], screen["reviewed"]) == ("true", "3", "false")
    assert [screen[f"q{n}"] for n in range(1, 21)] == ["1", "0", "1", "0", "1"] + [""] * 15
    assert (no_exposure["exposure"], no_exposure["total"]) == ("false", "0")
    assert [no_exposure[f"q{n}"] for n in range(1, 21)] == [""] * 20


@pytest.mark.parametrize("query, expected", [
    ("instrument=pcptsd5", [1, 2]),
    ("reviewed=yes", [0]),
    ("cutoff=yes&from=2026-01-15", [1]),
    ("to=2025-12-31", []),
])
def test_csv_follows_the_filters(signed_in, sample, query, expected):
    rows = parse_csv(signed_in.get(f"/clinician/export.csv?{query}"))
    assert [row["case_reference"] for row in rows] == [ref(sample[i]) for i in expected]


@pytest.mark.parametrize("query, expected", [("", [0, 1, 2]), ("instrument=pcl5", [0]), ("to=2025-12-31", [])])
def test_fhir_bundle_validates_with_fhir_resources(signed_in, sample, query, expected):
    response = signed_in.get(f"/clinician/export.fhir.json?{query}")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "application/fhir+json"
    assert response.headers["Content-Disposition"].endswith('.fhir.json"')
    document = json.loads(response.get_data(as_text=True))
    bundle = Bundle.model_validate(document)
    assert bundle.type == "collection"
    entries = document.get("entry", [])
    assert [entry["resource"]["identifier"]["value"] for entry in entries] == \
        [ref(sample[i]) for i in expected]
    assert all(entry["resource"]["resourceType"] == "QuestionnaireResponse" for entry in entries)


@pytest.mark.parametrize("url, action", [("/clinician/export.csv?instrument=pcl5&cutoff=yes", "export_csv"),
                                         ("/clinician/export.fhir.json?reviewed=no", "export_fhir")])
def test_each_export_is_audited_with_its_filters(app, signed_in, clinician, sample, url, action):
    signed_in.get(url).get_data()
    with app.app_context():
        [event] = _db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action.like("export%"))).all()
        assert (event.action, event.clinician_id) == (action, clinician.id)
        assert event.detail == url.split("?")[1].replace("&", " ")


def test_a_large_export_streams_in_chunks_and_keeps_every_row(app, signed_in, monkeypatch):
    with app.app_context():
        seed(1234, random_seed=7, clinic_ids=[clinic_named().id], unattached=0)
    monkeypatch.setattr(exports, "BATCH", 100)  # fetched and written 100 rows at a time
    with app.test_request_context():
        chunks = list(csv_stream(Filters(), Scope(None)))
    assert len(chunks) == 1 + 13  # the header, then one chunk per batch: written out as it goes, not built whole
    rows = list(csv.reader(io.StringIO("".join(chunks))))
    reference_at = CSV_HEADER.index("case_reference")
    assert len(rows) == 1235 and len({row[reference_at] for row in rows[1:]}) == 1234
    document = json.loads(signed_in.get("/clinician/export.fhir.json").get_data(as_text=True))
    with app.app_context():
        assert len(document["entry"]) == 1234 == _db.session.scalar(sa.select(sa.func.count(Screening.id)))
    Bundle.model_validate(document)


# --- the CSV against a straightforward csv.writer over ORM rows -------------------------------------

def reference_csv(filters: Filters) -> bytes:
    """The export as csv.writer writes it from the ORM's values: the format the fast path must keep."""
    def flag(value):
        return "" if value is None else ("true" if value else "false")

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    statement = filtered(sa.select(Screening), filters, Scope(None)).order_by(Screening.taken_at, Screening.id)
    for row in _db.session.scalars(statement):
        answers = [int(answer) for answer in row.answers]  # Yes/No as 1/0
        writer.writerow(["", row.instrument, row.instrument_version,
                         row.taken_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                         row.total, row.reexperiencing, row.avoidance, row.arousal,
                         flag(row.at_or_above_cutoff), flag(row.reviewed), flag(row.exposure),
                         *answers, *[""] * (20 - len(answers)),
                         *[("" if value is None else value) for value in (
                             row.dso_total, row.affective_dysregulation, row.negative_self_concept,
                             row.disturbed_relationships)],
                         flag(row.ptsd_criteria_met), flag(row.dso_criteria_met), row.icd11_pattern or "",
                         ref(row), row.assigned_to.email if row.assigned_to else "", row.safety_items or "",
                         *care_columns(row)])
    return buffer.getvalue().encode()


def care_columns(row: Screening) -> list[str]:
    """clinic, its zone, the series' first case reference and this result's place in it, the reviewer, review time,
    and both times in the clinic's zone, from the ORM row and its previous links."""
    zone = ZoneInfo(row.clinic.timezone if row.clinic else "UTC")
    first, position = row, 1
    while first.previous is not None:
        first, position = first.previous, position + 1

    def local(moment):
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if moment else ""

    return [row.clinic.slug if row.clinic else "", row.clinic.timezone if row.clinic else "",
            ref(first), str(position), row.reviewed_by.email if row.reviewed_by else "",
            row.reviewed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if row.reviewed_at else "",
            local(row.taken_at), local(row.reviewed_at)]


@pytest.fixture
def varied(app, clinician):
    """Results that exercise every way a field is written: both instruments, no exposure, reviewed or
    not, versions that need quoting (comma, quote, line breaks) or escaping in PostgreSQL's COPY
    (backslash, tab), non-ASCII and empty text, microseconds, a non-UTC offset and equal timestamps."""
    versions = ["PCL-5 (2013), past month", "plain", 'with "quotes"', "line\nbreak", "carriage\rreturn",
                "back\\slash \\n", "tab\there", "Ünïcödé, ñ", ""]
    times = [datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
             datetime(2026, 5, 6, 23, 30, tzinfo=timezone(timedelta(hours=-5))),  # 04:30Z the next day
             datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)]
    rows = []
    with app.app_context():  # store() works in this context: its rows stay in this session to be changed
        for number in range(40):
            instrument = ("pcl5", "pcptsd5", "pcptsd5")[number % 3] if number < 36 else "itq"
            if instrument == "itq":
                row = store("itq", answers=[(number * item) % 5 for item in range(18)])
            elif instrument == "pcl5":
                row = store(answers=[(number + item) % 5 for item in range(20)])
            elif number % 2:
                row = store("pcptsd5", answers=[(number >> item) & 1 == 1 for item in range(5)])
            else:
                row = store("pcptsd5", answers=[], exposure=False)
            row.instrument_version = versions[number % len(versions)]
            row.taken_at = times[number % len(times)] + timedelta(days=number // len(times) % 3)
            row.reviewed = number % 4 == 0
            if row.reviewed:  # by the clinician, at a time that is the day before in Chicago
                row.reviewed_by_id, row.reviewed_at = clinician.id, datetime(2026, 6, 1, 3, 15, 9, tzinfo=UTC)
            if number >= 3 and number % 3 == 0:  # chains of retakes: 0 ← 3 ← 6 …, stored as the service stores them
                row.previous_id = rows[number - 3].id
                row.series_start_id = rows[number - 3].series_start_id or rows[number - 3].id
            rows.append(row)
        home = _db.session.scalar(sa.select(Clinic).where(Clinic.slug == "home-clinic"))
        home.timezone = "America/Chicago"
        _db.session.commit()
        for row in rows:
            _db.session.refresh(row)  # read back what the database holds
    return rows


@pytest.mark.parametrize("query", ["", "instrument=pcptsd5", "instrument=pcl5&reviewed=no", "cutoff=yes",
                                   "from=2026-03-01&to=2026-03-02", "code=first-code-prefix"])
def test_csv_is_byte_for_byte_what_csv_writer_writes(app, signed_in, varied, query):
    if query == "code=first-code-prefix":
        query = f"code={varied[0].case_reference[:3].lower()}"
    with app.test_request_context():  # the filters' error messages are translated
        filters, errors = parse_filters(MultiDict(parse_qsl(query)))
    assert not errors
    with app.app_context():
        expected = reference_csv(filters)
    assert expected.count(b"\r\n") > 1 or query.startswith("code")  # the filter leaves something to compare
    assert signed_in.get(f"/clinician/export.csv?{query}").get_data() == expected


def test_csv_chunks_join_to_the_reference_whatever_the_batch(app, varied, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 5)
    with app.test_request_context():
        chunks = list(csv_stream(Filters(), Scope(None)))
    assert len(chunks) == 1 + math.ceil(len(varied) / 5)
    with app.app_context():
        assert "".join(chunks).encode() == reference_csv(Filters())


def test_a_csv_download_given_up_halfway_leaves_the_session_usable(app, varied, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 5)
    with app.test_request_context():
        stream = csv_stream(Filters(), Scope(None))
        next(stream), next(stream)  # the header and one batch, then the client goes away
        stream.close()
        assert _db.session.scalar(sa.select(sa.func.count(Screening.id))) == len(varied)


def test_a_clinician_of_two_clinics_exports_both_and_can_narrow_to_one(app, make_clinician, client):
    make_clinician("two@example.org", clinics=("Home Clinic", "Other Clinic"))
    store(answers=[4] * 20)
    store(answers=[1] * 20, clinic="Other Clinic")
    store(answers=[2] * 20, clinic="Third Clinic")
    assert sign_in(client, "two@example.org").status_code == 303
    both = client.get("/clinician/export.csv")
    assert both.status_code == 200 and both.get_data(as_text=True).count("\r\n") == 3  # header and two rows
    one = client.get("/clinician/export.csv?clinic=other-clinic").get_data(as_text=True)
    assert one.count("\r\n") == 2 and ",other-clinic," in one
