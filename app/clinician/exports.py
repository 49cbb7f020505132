"""Streamed CSV and FHIR Bundle exports: rows are read in batches and written out as they come."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Iterator

import sqlalchemy as sa

from ..extensions import db
from ..fhir import questionnaire_response
from ..models import Screening
from ..screening import codes
from ..screening.instruments import PCL5, PRODUCT_CLUSTERS
from .queries import Filters, filtered

BATCH = 1000  # rows fetched per round trip (a server-side cursor on PostgreSQL)
CHUNK = 200  # rows per chunk handed to the server, so a 100,000-row export is not 100,000 writes
ITEM_COLUMNS = [f"q{number}" for number in range(1, len(PCL5.items) + 1)]
CSV_HEADER = ["code", "instrument", "version", "taken_at", "total", *PRODUCT_CLUSTERS,
              "at_or_above_cutoff", "reviewed", "exposure", *ITEM_COLUMNS]
# Only the columns an export needs, as plain rows: no ORM objects, no relationship loading.
BLANKS = [""] * len(ITEM_COLUMNS)
EXPORT_COLUMNS = [column for column in Screening.__table__.columns
                  if column.name not in {"review_note", "reviewed_by_id", "reviewed_at"}]


# The CSV's columns in csv_record's order, unpacked as a tuple (a Row's attribute access costs more).
CSV_COLUMNS = [Screening.code, Screening.instrument, Screening.instrument_version, Screening.taken_at,
               Screening.total, Screening.reexperiencing, Screening.avoidance, Screening.arousal,
               Screening.at_or_above_cutoff, Screening.reviewed, Screening.exposure, Screening.answers]


def export_rows(filters: Filters, columns=EXPORT_COLUMNS) -> Iterator[sa.Row]:
    """The filtered results in a stable order, fetched BATCH rows at a time."""
    statement = filtered(sa.select(*columns), filters).order_by(Screening.taken_at, Screening.id)
    yield from db.session.execute(statement.execution_options(yield_per=BATCH))


def _flag(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def csv_record(row) -> list:
    """One CSV line from CSV_COLUMNS: answers as scores (PCL-5 0–4; PC-PTSD-5 1 for Yes, 0 for No),
    blank where not asked."""
    code, instrument, version, taken_at, total, reexperiencing, avoidance, arousal, above, reviewed, exposure, \
        answers = row
    return [
        codes.display(code), instrument, version,
        taken_at.strftime("%Y-%m-%dT%H:%M:%SZ"),  # UTCDateTime reads every value back in UTC
        total, reexperiencing, avoidance, arousal, _flag(above), _flag(reviewed), _flag(exposure),
        *[int(value) for value in answers], *BLANKS[len(answers):],
    ]


def csv_stream(filters: Filters) -> Iterator[str]:
    """The CSV text in chunks: a header line, then one line per result."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    pending = 0
    for row in export_rows(filters, CSV_COLUMNS):
        writer.writerow(csv_record(row))
        pending += 1
        if pending == CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def fhir_stream(filters: Filters) -> Iterator[str]:
    """A FHIR R4 Bundle (type "collection") of QuestionnaireResponses, written entry by entry."""
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    yield '{"resourceType": "Bundle", "type": "collection", "timestamp": ' + json.dumps(stamp)
    # FHIR JSON forbids empty arrays, so "entry" opens with the first result, if there is one.
    separator = ', "entry": ['
    parts: list[str] = []
    for row in export_rows(filters):
        parts.append(separator + json.dumps({"resource": questionnaire_response(row)}, ensure_ascii=False))
        separator = ","
        if len(parts) == CHUNK:
            yield "".join(parts)
            parts.clear()
    yield "".join(parts) + ("}" if separator.startswith(", ") else "]}")
