"""Outcomes: for each questionnaire with a change rule, the series of two or more results — first and
latest scores, reliable change up and down, and crossing below the cut-off — per clinic and month of the
first result, aggregated in SQL (the results of each stored series, then GROUP BY)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import Response, render_template, request
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from .. import audit
from ..database import driver_statement
from ..extensions import db
from ..models import Clinic, Screening, ScreeningSeries
from ..retention import expiry_cutoff
from ..screening.instruments import INSTRUMENTS, Instrument
from ..screening.service import required_cutoff
from .blueprint import bp, filter_errors, signed_in_clinician
from .charts import bar_chart
from .filters import Filters, Scope, parse_filters, scope_for, unindexed
from .statistics import is_retake, series_key, visible_to

CSV_HEADER = ["clinic", "instrument", "month", "series", "median_first", "median_latest",
              "improved_reliably", "worsened_reliably", "crossed_below_cutoff", "reliable_change", "cutoff",
              "too_soon_to_compare"]


class month_of(FunctionElement):
    """A timestamp's UTC month as `2026-01` text: SQL differs per database."""

    type = sa.String()
    name = "month_of"
    inherit_cache = True


@compiles(month_of)
def _month_postgresql(element, compiler, **kw):
    return f"to_char(timezone('UTC', {compiler.process(element.clauses, **kw)}), 'YYYY-MM')"


@compiles(month_of, "sqlite")
def _month_sqlite(element, compiler, **kw):
    # Timestamps are stored as UTC text, '2026-01-05 23:59:59.000000': the month is its first 7 characters
    # (strftime parses every value, see bench/RESULTS.md).
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 7)"


class days_between(FunctionElement):
    """The days from the second timestamp to the first (fractional): SQL differs per database."""

    type = sa.Numeric()
    name = "days_between"
    inherit_cache = True


@compiles(days_between)
def _days_between_postgresql(element, compiler, **kw):
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses.clauses)
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400)"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    # UTC text on SQLite. julianday is exact to the millisecond but its difference is a float: rounded to
    # under a millisecond so that exactly 30 days apart is 30, not 29.9999999996.
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses.clauses)
    return f"round(julianday({later}) - julianday({earlier}), 8)"


def too_soon(instrument: Instrument, first_at, latest_at):
    """1 where the latest result is less than the instrument's time frame after the first (the periods
    they ask about overlap, so the result pages judge no change between them, see
    screening.change.windows_overlap), else 0. Constants are written into the SQL, not bound, so that
    the same expression in SELECT and GROUP BY is the same on PostgreSQL."""
    days = int(instrument.time_frame_days or 0)  # no time frame: never too soon (latest >= first)
    return sa.case((days_between(latest_at, first_at) < sa.literal_column(str(days)), sa.literal_column("1")),
                   else_=sa.literal_column("0"))


def series_rows(instrument: Instrument, scope: Scope) -> sa.Subquery:
    """One row per series of two or more of the instrument's results visible to the reader: the clinic
    and month of its first result, its first and latest totals. Only results in a series of retakes are
    read, never every result: everyone's are the few series that straddle the retention boundary (the
    rest come from their series rows, see `groups_of_series`), found through the series rows, each
    series' results by id and series_start_id; a clinic's through its own results, each checked for a
    retake. `too_soon`: 1 where the latest result is less than the instrument's time frame after the first."""
    member = sa.orm.aliased(Screening, name="member")
    if scope.everything:
        straddling = (sa.select(ScreeningSeries.series_id)
                      .where(ScreeningSeries.instrument == instrument.id,
                             ScreeningSeries.first_taken_at < expiry_cutoff(),
                             ScreeningSeries.latest_taken_at >= expiry_cutoff()))
        in_series = sa.union_all(
            sa.select(Screening.id).where(Screening.id.in_(straddling)),
            sa.select(Screening.id).where(Screening.series_start_id.in_(straddling))).subquery("in_series")
        members = sa.select().select_from(in_series).join(member, member.id == in_series.c.id)
    else:
        retake = sa.orm.aliased(Screening, name="retake")
        members = sa.select().select_from(member).where(
            sa.or_(is_retake(member), sa.exists().where(retake.series_start_id == member.id)))
    # Everyone's: kept off SQLite's instrument indexes, which it took to read every result of the instrument.
    same_instrument = (unindexed(member.instrument) if scope.everything else member.instrument) == instrument.id
    key = series_key(member)
    # Each result's place from either end of its series (among the visible results), in one pass.
    ranked = (members.add_columns(
        key.label("root"), member.total, member.taken_at, member.clinic_id,
        sa.func.row_number().over(partition_by=key, order_by=(member.taken_at, member.id)).label("from_start"),
        sa.func.row_number().over(partition_by=key, order_by=(member.taken_at.desc(), member.id.desc()))
        .label("from_end"))
        .where(*visible_to(member, scope), same_instrument).subquery("ranked"))

    def first(column):
        return sa.func.max(sa.case((ranked.c.from_start == 1, column)))

    def latest(column):
        return sa.func.max(sa.case((ranked.c.from_end == 1, column)))

    return (sa.select(ranked.c.root, first(ranked.c.clinic_id).label("clinic_id"),
                      month_of(first(ranked.c.taken_at)).label("month"),
                      first(ranked.c.total).label("first_total"),
                      latest(ranked.c.total).label("latest_total"),
                      too_soon(instrument, first(ranked.c.taken_at), latest(ranked.c.taken_at)).label("too_soon"))
            .group_by(ranked.c.root).having(sa.func.count() >= 2).subquery("series"))


def _tuples(statement: sa.Select) -> list[tuple]:
    """The statement's rows as the driver's plain tuples: tens of thousands of groups, each read once, for
    which building SQLAlchemy rows cost more than the loop that sums them."""
    connection = db.session.connection()
    sql, params = driver_statement(connection, statement)
    driver = connection.connection.driver_connection
    assert driver is not None  # a checked-out connection holds its driver's connection
    cursor = driver.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def groups_of_series(instrument: Instrument) -> list[tuple]:
    """Everyone's series of the instrument that began within the retention period, from their rows in
    screening_series (kept by triggers): (clinic, month of the first result, first total, latest total,
    how many, how many of them too soon to compare). Their results are all within the period (none precedes the
    first), so each row is what `series_rows` would compute from the results; a series begun before it
    is `series_rows`' to count. Grouped in the order of ix_screening_series_outcomes, which also holds both
    times (so too soon is read from the index); the time is kept off SQLite's indexes that lead with it,
    which would otherwise take the time index and sort every series."""
    series = ScreeningSeries
    columns = (series.first_clinic_id, series.first_month, series.first_total, series.latest_total)
    return _tuples(
        sa.select(*columns, sa.func.count(),
                  sa.func.sum(too_soon(instrument, series.first_taken_at, series.latest_taken_at)))
        .where(series.instrument == instrument.id, unindexed(series.first_taken_at) >= expiry_cutoff())
        .group_by(*columns))


@dataclass
class OutcomeRow:
    """One clinic's (or every clinic's) series of one instrument that began in one month (or ever)."""

    clinic: str
    instrument: Instrument
    month: str
    series: int = 0
    improved: int = 0
    worsened: int = 0
    crossed_below: int = 0
    first_totals: dict[int, int] = field(default_factory=dict)
    latest_totals: dict[int, int] = field(default_factory=dict)
    # Latest less than the instrument's time frame after the first: counted in `series` and the medians,
    # never as improved, worsened or crossed below (the periods asked about overlap).
    too_soon: int = 0

    @property
    def median_first(self) -> float | None:
        return median(self.first_totals)

    @property
    def median_latest(self) -> float | None:
        return median(self.latest_totals)

    def add(self, other: OutcomeRow) -> None:
        self.series += other.series
        self.improved += other.improved
        self.worsened += other.worsened
        self.crossed_below += other.crossed_below
        self.too_soon += other.too_soon
        for mine, theirs in ((self.first_totals, other.first_totals), (self.latest_totals, other.latest_totals)):
            for total, count in theirs.items():
                mine[total] = mine.get(total, 0) + count


def median(counts: dict[int, int]) -> float | None:
    """The median of totals given as total → how many (the mean of the middle two for an even count)."""
    size = sum(counts.values())
    if not size:
        return None
    middle = [(size - 1) // 2, size // 2]
    values, seen = [], 0
    for total in sorted(counts):
        while middle and middle[0] < seen + counts[total]:
            values.append(total)
            middle.pop(0)
        seen += counts[total]
    return sum(values) / 2


def outcome_rows(scope: Scope) -> list[OutcomeRow]:
    """Per clinic, instrument (those with a change rule) and month of the first result: one GROUP BY over
    the series by (clinic, month, first total, latest total) — at most 81 × 81 groups a clinic and month;
    about as many as series when a clinic has hundreds a month — from which the counts, changes and
    medians are summed here, in one tight loop."""
    names = dict(db.session.execute(sa.select(Clinic.id, Clinic.slug)).all())
    rows: list[OutcomeRow] = []
    for instrument in INSTRUMENTS.values():
        rule = instrument.change_rule
        if rule is None:
            continue
        cutoff, reliable = required_cutoff(instrument), rule.reliable
        series = series_rows(instrument, scope)
        groups = [_tuples(
            sa.select(series.c.clinic_id, series.c.month, series.c.first_total, series.c.latest_total,
                      sa.func.count(), sa.func.sum(series.c.too_soon))
            .group_by(series.c.clinic_id, series.c.month, series.c.first_total, series.c.latest_total))]
        if scope.everything:
            groups.append(groups_of_series(instrument))
        # (clinic id, month) → [series, improved, worsened, crossed below, first totals, latest totals,
        # too soon to compare]
        cells: dict[tuple, list] = {}
        for result in groups:
            for clinic_id, month, first, latest, count, soon in result:
                cell = cells.get((clinic_id, month))
                if cell is None:
                    cell = cells[(clinic_id, month)] = [0, 0, 0, 0, {}, {}, 0]
                cell[0] += count
                # Retaken too soon, the periods asked about overlap: no change is judged, as on the result pages.
                cell[6] += soon
                judged = count - soon
                if latest - first <= -reliable:
                    cell[1] += judged
                if latest - first >= reliable:
                    cell[2] += judged
                if first >= cutoff > latest:
                    cell[3] += judged
                firsts, latests = cell[4], cell[5]
                firsts[first] = firsts.get(first, 0) + count
                latests[latest] = latests.get(latest, 0) + count
        merged: dict[tuple, OutcomeRow] = {}
        for (clinic_id, month), (count, improved, worsened, crossed, firsts, latests, soon) in cells.items():
            row = OutcomeRow(names.get(clinic_id, ""), instrument, month, count, improved, worsened, crossed,
                             firsts, latests, soon)
            if (row.clinic, month) in merged:  # a clinic deleted since (its id gone): rows without a clinic
                merged[(row.clinic, month)].add(row)
            else:
                merged[(row.clinic, month)] = row
        rows.extend(merged.values())
    return sorted(rows, key=lambda row: (row.instrument.id, row.clinic, row.month))


def combined(rows: list[OutcomeRow], by: str) -> list[OutcomeRow]:
    """The rows summed per instrument and month (by="month") or per instrument and clinic (by="clinic")."""
    merged: dict[tuple, OutcomeRow] = {}
    for row in rows:
        key = (row.instrument.id, row.month if by == "month" else row.clinic)
        target = merged.setdefault(key, OutcomeRow(row.clinic if by == "clinic" else "", row.instrument,
                                                   row.month if by == "month" else ""))
        target.add(row)
    return [merged[key] for key in sorted(merged)]


def month_chart(rows: list[OutcomeRow]):
    """Series per month of their first result, every month between the first and the last drawn, so
    the x axis is time."""
    counts = {row.month: row.series for row in rows}
    if not counts:
        return None
    first, last = min(counts), max(counts)
    year, month = int(first[:4]), int(first[5:])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        label = f"{year:04d}-{month:02d}"
        months.append((label, counts.get(label, 0)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return bar_chart(months)


def reader_scope() -> tuple[Filters, Scope, list[str]]:
    filters, errors = parse_filters({"clinic": request.args.get("clinic", "")})
    scope, clinic_errors = scope_for(signed_in_clinician(), filters)
    return filters, scope, errors + clinic_errors


@bp.get("/outcomes")
def outcomes():
    """Are the clinic's patients getting better? Series of two or more results, first against latest."""
    filters, scope, errors = reader_scope()
    if errors:
        return filter_errors(errors)
    rows = outcome_rows(scope)
    instruments = [instrument for instrument in INSTRUMENTS.values() if instrument.change_rule is not None]
    by_month = combined(rows, "month")
    return render_template(
        "clinician/outcomes.html", filters=filters, instruments=instruments, by_month=by_month,
        by_clinic=combined(rows, "clinic"), cutoffs={i.id: required_cutoff(i) for i in instruments},
        charts={i.id: month_chart([row for row in by_month if row.instrument is i]) for i in instruments},
        clinic_names=dict(db.session.execute(sa.select(Clinic.slug, Clinic.name)).all()))


def outcome_lines(rows: list[OutcomeRow]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        rule = row.instrument.change_rule
        assert rule is not None  # rows exist only for instruments with a change rule
        writer.writerow([row.clinic, row.instrument.id, row.month, row.series, _number(row.median_first),
                         _number(row.median_latest), row.improved, row.worsened, row.crossed_below,
                         rule.reliable, required_cutoff(row.instrument), row.too_soon])
    yield buffer.getvalue()


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else f"{value:.1f}"


@bp.get("/outcomes.csv")
def outcomes_csv():
    """The outcome rows per clinic, instrument and month of the first result, as CSV."""
    filters, scope, errors = reader_scope()
    if errors:
        return filter_errors(errors)
    rows = outcome_rows(scope)
    audit.record(audit.EXPORT_CSV, signed_in_clinician(), detail=f"outcomes {filters.describe()}")
    db.session.commit()
    response = Response("".join(outcome_lines(rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="ptsd-outcomes.csv"'
    return response
