"""Streamed CSV and FHIR Bundle exports: rows are read in batches and written out as they come."""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from ..database import driver_statement
from ..extensions import db
from ..models import Clinic, Clinician, Screening
from ..screening.fhir import questionnaire_response
from ..screening.instruments import PCL5, PRODUCT_CLUSTERS
from .filters import Filters, Scope, filtered
from .statistics import is_retake, series_key, visible_to

BATCH = 2000  # rows fetched per round trip (a server-side cursor on PostgreSQL) and written per chunk
CHUNK = 200  # FHIR entries per chunk handed to the server, so a large export is not one write per result
ITEM_COLUMNS = [f"q{number}" for number in range(1, len(PCL5.items) + 1)]
# The ITQ's own scores come last, blank for the other instruments (its 18 answers fit the item columns).
ITQ_COLUMNS = ["dso_total", "affective_dysregulation", "negative_self_concept", "disturbed_relationships",
               "ptsd_criteria_met", "dso_criteria_met", "icd11_pattern"]
# `code` stays where it was, always empty: an export never holds the person's code (the key to their
# own pages); `case_reference` names the result instead. safety_items: item numbers, e.g. 16.
TRIAGE_CSV_COLUMNS = ["case_reference", "assigned_to", "safety_items"]
# Who and where, the result's place in its series (named by its first result's case reference), and the
# times again in the clinic's own zone as `2026-01-31 10:05:00`, which spreadsheets read as a date and
# time (they leave ISO 8601's T and Z as text).
CARE_COLUMNS = ["clinic", "clinic_time_zone", "series", "series_position", "reviewed_by", "reviewed_at",
                "taken_at_local", "reviewed_at_local"]
CSV_HEADER = ["code", "instrument", "version", "taken_at", "total", *PRODUCT_CLUSTERS,
              "at_or_above_cutoff", "reviewed", "exposure", *ITEM_COLUMNS, *ITQ_COLUMNS, *TRIAGE_CSV_COLUMNS,
              *CARE_COLUMNS]
# Only the columns an export needs, as plain rows: no ORM objects, no relationship loading.
EXPORT_COLUMNS = [column for column in Screening.__table__.columns
                  if column.name not in {"review_note", "reviewed_by_id", "reviewed_at", "code"}]


def export_rows(filters: Filters, scope: Scope, columns=EXPORT_COLUMNS) -> Iterator[sa.Row]:
    """The reader's filtered results in a stable order, fetched BATCH rows at a time."""
    statement = filtered(sa.select(*columns), filters, scope).order_by(Screening.taken_at, Screening.id)
    yield from db.session.execute(statement.execution_options(yield_per=BATCH))


# --- CSV ----------------------------------------------------------------------------------------
# One line per result, byte for byte what csv.writer (lineterminator "\r\n") writes for the ORM's values.
# Profiled at 1,000,000 results: ORM/Core row objects, datetime and JSON decoding cost more than all the
# rest. So PostgreSQL writes each line itself and sends it with COPY (Python only relays blocks), and on
# SQLite, where building text in SQL is slower than in Python (SQLite's concatenation and strftime cost
# more per row than Python's slicing: bench/design-measurements.md), Python formats the stored values
# straight from the driver's rows.

FLAG_TEXT = {True: "true", False: "false", None: ""}  # 1 and 0, as SQLite returns them, hash as True and False
COPY_ESCAPES = {b"\\": b"\\", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"v": b"\v"}
COPY_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)


class utc_iso(FunctionElement):
    """A timestamp as `2026-01-31T09:05:00Z` text (UTC, whole seconds), in PostgreSQL."""

    type = sa.String()
    name = "utc_iso"
    inherit_cache = True


@compiles(utc_iso)
def _utc_iso_postgresql(element, compiler, **kw):
    return f"""to_char(timezone('UTC', {compiler.process(element.clauses, **kw)}), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


class local_text(FunctionElement):
    """A timestamp in a time zone (a column of zone names) as `2026-01-31 10:05:00` text, in PostgreSQL."""

    type = sa.String()
    name = "local_text"
    inherit_cache = True


@compiles(local_text)
def _local_text_postgresql(element, compiler, **kw):
    moment, zone = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"to_char(timezone({zone}, {moment}), 'YYYY-MM-DD HH24:MI:SS')"


REVIEWER = sa.orm.aliased(Clinician, name="reviewer")


@dataclass(frozen=True)
class SeriesColumns:
    """A result's series as the CSV names it: its first visible result's case reference (stored form) and
    its place among the series' visible results (1 for the first, or for a result never retaken)."""

    reference: sa.ColumnElement
    position: sa.ColumnElement


def with_care_columns(statement: sa.Select, scope: Scope) -> tuple[sa.Select, SeriesColumns]:
    """The export's statement joined to what CARE_COLUMNS need: the clinic, the reviewer and the series.
    A series is the results sharing their stored first result (`series_key`); among those the reader may
    see, each one's place is its rank in the order they were stored (ids: a retake is always stored after
    the result it follows), in one window over the results that are in a series, never a walk of links."""
    member = sa.orm.aliased(Screening, name="series_member")
    retake = sa.orm.aliased(Screening, name="series_retake")
    key = series_key(member)
    in_series = sa.or_(is_retake(member),
                       member.id.in_(sa.select(retake.series_start_id).where(is_retake(retake))))
    ranked = (sa.select(member.id,
                        sa.func.first_value(member.case_reference).over(partition_by=key, order_by=member.id)
                        .label("reference"),
                        sa.func.row_number().over(partition_by=key, order_by=member.id).label("position"))
              .where(in_series, *visible_to(member, scope)).subquery("series_place"))
    columns = SeriesColumns(sa.func.coalesce(ranked.c.reference, Screening.case_reference),
                            sa.func.coalesce(ranked.c.position, 1))
    return (statement.select_from(Screening)
            .outerjoin(Clinic, Clinic.id == Screening.clinic_id)
            .outerjoin(REVIEWER, REVIEWER.id == Screening.reviewed_by_id)
            .outerjoin(ranked, ranked.c.id == Screening.id)), columns


def _display_reference(reference) -> sa.ColumnElement:
    """A stored case reference as shown (`R-7KQ-M9XD`), in SQL; NULL stays NULL."""
    return "R-" + sa.func.substr(reference, 1, 3) + "-" + sa.func.substr(reference, 4)


def _care_tail(series: SeriesColumns) -> sa.ColumnElement:
    """CARE_COLUMNS as PostgreSQL text, each after a comma."""
    zone = sa.func.coalesce(Clinic.timezone, "UTC")
    comma = sa.literal(",")
    return (comma + sa.func.coalesce(Clinic.slug, "") + comma + sa.func.coalesce(Clinic.timezone, "")
            + comma + _display_reference(series.reference)
            + comma + _text(series.position)
            + comma + sa.func.coalesce(_quoted_text(REVIEWER.email), "")
            + comma + sa.func.coalesce(utc_iso(Screening.reviewed_at), "")
            + comma + local_text(Screening.taken_at, zone)
            + comma + sa.func.coalesce(local_text(Screening.reviewed_at, zone), ""))


def _text(column) -> sa.ColumnElement:
    return sa.cast(column, sa.Text)


def _flag_text(column) -> sa.ColumnElement:
    return sa.case((column.is_(None), ""), (column, "true"), else_="false")


def _optional_text(column) -> sa.ColumnElement:
    """A nullable column as text, empty for NULL (which would otherwise make the whole line NULL)."""
    return sa.func.coalesce(sa.cast(column, sa.Text), "")


def _quoted_text(column) -> sa.ColumnElement:
    """The field as csv.writer quotes it: in double quotes, quotes doubled, if it holds , " CR or LF."""
    needs_quotes = sa.or_(*(sa.func.strpos(column, character) > 0 for character in ',"\r\n'))
    return sa.case((needs_quotes, '"' + sa.func.replace(column, '"', '""') + '"'), else_=column)


def _csv_line() -> sa.ColumnElement:
    """The whole CSV line but its line break, as PostgreSQL text."""
    display = _display_reference(Screening.case_reference)
    # JSON text such as `[2, 1, 0]` or `[true, false]` becomes `2,1,0` or `1,0`: scores, Yes as 1.
    json_text = _text(Screening.answers)
    answers = sa.func.replace(sa.func.substr(json_text, 2, sa.func.length(json_text) - 2), " ", "")
    answers = sa.func.replace(sa.func.replace(answers, "true", "1"), "false", "0")
    # The answers are one field even when none were asked (no exposure); each comma adds one. Counted
    # in the JSON text, which has the same commas: each function call here costs time on every row, so
    # there are few (bench/design-measurements.md).
    fields = sa.func.octet_length(json_text) - sa.func.octet_length(sa.func.replace(json_text, ",", "")) + 1
    comma = sa.literal(",")
    return (comma + Screening.instrument + comma + _quoted_text(Screening.instrument_version)
            + comma + utc_iso(Screening.taken_at) + comma + _text(Screening.total)
            + comma + _text(Screening.reexperiencing) + comma + _text(Screening.avoidance)
            + comma + _text(Screening.arousal) + comma + _flag_text(Screening.at_or_above_cutoff)
            + comma + _flag_text(Screening.reviewed) + comma + _flag_text(Screening.exposure)
            + comma + answers + sa.func.repeat(comma, len(ITEM_COLUMNS) - fields)
            + comma + _optional_text(Screening.dso_total) + comma + _optional_text(Screening.affective_dysregulation)
            + comma + _optional_text(Screening.negative_self_concept)
            + comma + _optional_text(Screening.disturbed_relationships)
            + comma + _flag_text(Screening.ptsd_criteria_met) + comma + _flag_text(Screening.dso_criteria_met)
            + comma + _optional_text(Screening.icd11_pattern)
            + comma + display + comma + sa.func.coalesce(_quoted_text(Clinician.email), "")
            + comma + sa.func.coalesce(_quoted_text(Screening.safety_items), ""))


def _csv_field(value: str) -> str:
    """One field quoted the way csv.writer quotes it among others (only if it holds , " CR or LF)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([value, ""])
    return buffer.getvalue()[:-3]


def _copied_lines(connection: sa.Connection, filters: Filters, scope: Scope) -> Iterator[str]:
    """PostgreSQL: `COPY (SELECT line …) TO STDOUT` in text format, BATCH lines a chunk. Text format ends
    each row with LF and escapes backslashes and control characters in the data, so every LF is a line
    end (made CRLF) and the escapes are undone exactly."""
    statement, series = with_care_columns(sa.select(), scope)
    statement = filtered(statement.add_columns(_csv_line() + _care_tail(series)).outerjoin(_ASSIGNEE, _ASSIGNED),
                         filters, scope).order_by(Screening.taken_at, Screening.id)
    sql, params = driver_statement(connection, statement)
    if not params:  # psycopg merges only when there are parameters; otherwise `%%` would stay doubled
        sql = sql.replace("%%", "%")
    driver = connection.connection.driver_connection
    assert driver is not None  # a checked-out connection holds its driver's connection
    encoding = driver.info.encoding
    with driver.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT", params or None) as copy:
        rows = []
        for row in copy:  # one CopyData message a row
            rows.append(row)
            if len(rows) == BATCH:
                yield _from_copy_text(b"".join(rows), encoding)
                rows.clear()
        if rows:
            yield _from_copy_text(b"".join(rows), encoding)


def _from_copy_text(data: bytes, encoding: str) -> str:
    data = data.replace(b"\n", b"\r\n")
    if b"\\" in data:
        data = COPY_ESCAPE.sub(lambda match: COPY_ESCAPES.get(match.group(1), match.group(1)), data)
    return data.decode(encoding)


def _iso_utc(stored: str) -> str:
    """A stored SQLite timestamp not in SQLAlchemy's own UTC form (e.g. with an offset) as UTC text."""
    moment = datetime.fromisoformat(stored)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _formatted_lines(connection: sa.Connection, filters: Filters, scope: Scope) -> Iterator[str]:
    """SQLite: the stored values, as the driver returns them, formatted in Python, BATCH lines a chunk."""
    columns = [Screening.case_reference, Screening.instrument, Screening.instrument_version,
               sa.type_coerce(Screening.taken_at, sa.String),  # stored as `2026-01-31 09:05:00.000000`, UTC
               Screening.total, Screening.reexperiencing, Screening.avoidance, Screening.arousal,
               Screening.at_or_above_cutoff, Screening.reviewed, Screening.exposure,
               sa.type_coerce(Screening.answers, sa.String),  # the JSON text
               Screening.dso_total, Screening.affective_dysregulation, Screening.negative_self_concept,
               Screening.disturbed_relationships, Screening.ptsd_criteria_met, Screening.dso_criteria_met,
               Screening.icd11_pattern, Clinician.email, Screening.safety_items]
    statement, series = with_care_columns(sa.select(), scope)
    care = [Clinic.slug, Clinic.timezone, series.reference, series.position, REVIEWER.email,
            sa.type_coerce(Screening.reviewed_at, sa.String)]
    # Walking the taken_at index (ties in id order, as the index holds the rowid) reads the rows where
    # they are: measured at 1,000,000 randomly placed results cheaper than sorting them all, and rows
    # that arrive in time order are then read nearly in place.
    statement = filtered(statement.add_columns(*columns, *care).outerjoin(_ASSIGNEE, _ASSIGNED),
                         filters, scope).order_by(Screening.taken_at, Screening.id)
    sql, params = driver_statement(connection, statement)
    versions: dict[str, str] = {}  # a handful of distinct versions, each quoted once
    padding = ["," * (len(ITEM_COLUMNS) - asked) for asked in range(len(ITEM_COLUMNS) + 1)]
    driver = connection.connection.driver_connection
    assert driver is not None  # a checked-out connection holds its driver's connection
    cursor = driver.cursor()
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(BATCH):
            lines = []
            for (reference, instrument, version, taken_at, total, reexperiencing, avoidance, arousal,
                 at_or_above_cutoff, reviewed, exposure, answers, dso_total, affective, self_concept,
                 relationships, ptsd_met, dso_met, pattern, assignee, safety, *care_values) in rows:
                quoted = versions.get(version)
                if quoted is None:
                    quoted = versions[version] = _csv_field(version)
                stored_taken_at = taken_at
                taken_at = (f"{taken_at[:10]}T{taken_at[11:19]}Z" if len(taken_at) in (19, 26)
                            else _iso_utc(taken_at))
                answers = answers[1:-1].replace(" ", "")
                if "e" in answers:
                    answers = answers.replace("true", "1").replace("false", "0")
                itq = ITQ_BLANK if pattern is None else _itq_fields(dso_total, affective, self_concept,
                                                                      relationships, ptsd_met, dso_met, pattern)
                lines.append(f",{instrument},{quoted},{taken_at},{total},"
                             f"{reexperiencing},{avoidance},{arousal},{FLAG_TEXT[at_or_above_cutoff]},"
                             f"{FLAG_TEXT[reviewed]},{FLAG_TEXT[exposure]},{answers}"
                             f"{padding[answers.count(',') + 1]}"
                             f"{itq}"
                             # case_references.display as a slice (a call a row costs more).
                             f",R-{reference[:3]}-{reference[3:]},{_csv_field(assignee) if assignee else ''}"
                             f",{_csv_field(safety) if safety else ''}"
                             f"{_care_fields(stored_taken_at, *care_values)}"
                             "\r\n")
            yield "".join(lines)
    finally:
        cursor.close()


ITQ_BLANK = "," * len(ITQ_COLUMNS)
# The assignee's email for the CSV, by a LEFT JOIN of the assigned clinician.
_ASSIGNEE = Clinician
_ASSIGNED = Clinician.id == Screening.assigned_to_id


def _stored_utc(stored: str) -> datetime:
    moment = datetime.fromisoformat(stored)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _care_fields(taken_at: str, slug, zone, root_reference, step, reviewer, reviewed_at) -> str:
    """CARE_COLUMNS for SQLite's lines, each after a comma (as _care_tail writes them in PostgreSQL)."""
    where = ZoneInfo(zone or "UTC")
    reviewed = _stored_utc(reviewed_at) if reviewed_at else None
    series = f"R-{root_reference[:3]}-{root_reference[3:]}" if root_reference else ""
    return ",".join(("", slug or "", zone or "", series,
                     str(step) if step is not None else "", _csv_field(reviewer) if reviewer else "",
                     reviewed.strftime("%Y-%m-%dT%H:%M:%SZ") if reviewed else "",
                     _stored_utc(taken_at).astimezone(where).strftime("%Y-%m-%d %H:%M:%S"),
                     reviewed.astimezone(where).strftime("%Y-%m-%d %H:%M:%S") if reviewed else ""))


def _itq_fields(dso_total, affective, self_concept, relationships, ptsd_met, dso_met, pattern) -> str:
    return (f",{dso_total},{affective},{self_concept},{relationships},{FLAG_TEXT[ptsd_met]},{FLAG_TEXT[dso_met]},"
            f"{pattern}")


def csv_stream(filters: Filters, scope: Scope) -> Iterator[str]:
    """The CSV text in chunks of BATCH lines: a header line, then one line per result, answers as scores
    (PCL-5 0–4; PC-PTSD-5 1 for Yes, 0 for No), blank where not asked."""
    header = io.StringIO()
    csv.writer(header, lineterminator="\r\n").writerow(CSV_HEADER)
    yield header.getvalue()
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        yield from _copied_lines(connection, filters, scope)
    else:
        yield from _formatted_lines(connection, filters, scope)


def fhir_stream(filters: Filters, scope: Scope) -> Iterator[str]:
    """A FHIR R4 Bundle (type "collection") of QuestionnaireResponses, written entry by entry."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    yield '{"resourceType": "Bundle", "type": "collection", "timestamp": ' + json.dumps(stamp)
    # FHIR JSON forbids empty arrays, so "entry" opens with the first result, if there is one.
    separator = ', "entry": ['
    parts: list[str] = []
    for row in export_rows(filters, scope):
        # A row of EXPORT_COLUMNS carries every attribute of a Screening that questionnaire_response reads.
        resource = questionnaire_response(cast(Screening, row), for_clinic=True)
        parts.append(separator + json.dumps({"resource": resource}, ensure_ascii=False))
        separator = ","
        if len(parts) == CHUNK:
            yield "".join(parts)
            parts.clear()
    yield "".join(parts) + ("}" if separator.startswith(", ") else "]}")
