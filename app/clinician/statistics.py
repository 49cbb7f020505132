"""The statistics: results per week, summaries per instrument, the backlog, flagged results and people
(series); every figure is one SQL aggregate query."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import replacement_traverse

from ..extensions import db
from ..models import Screening, ScreeningDailyCount, ScreeningSeries
from ..retention import expiry_cutoff
from ..screening.instruments import INSTRUMENTS, PRODUCT_CLUSTERS
from ..screening.triage import SAFETY
from .filters import NO, YES, Filters, Scope, _start_of, filtered, unindexed


class week_start(FunctionElement):
    """The Monday (UTC) of a timestamp's ISO week, as a date: SQL differs per database."""

    type = sa.Date()
    name = "week_start"
    inherit_cache = True


@compiles(week_start)
def _week_start_postgresql(element, compiler, **kw):
    return f"CAST(date_trunc('week', timezone('UTC', {compiler.process(element.clauses, **kw)})) AS DATE)"


@compiles(week_start, "sqlite")
def _week_start_sqlite(element, compiler, **kw):
    # 'weekday 0' moves forward to Sunday (or stays on one); six days back is that week's Monday.
    return f"date({compiler.process(element.clauses, **kw)}, 'weekday 0', '-6 days')"


def filtered_daily_counts(statement: sa.Select, filters: Filters) -> sa.Select:
    """Add the filters' WHERE clauses to a statement over screening_daily_counts; dates are whole UTC
    days, so they select days. The code filter has no counterpart there (see `uses_daily_counts`).
    Only whole days after the retention boundary count: the boundary day's results, some expired and
    some not, are left out rather than an expired one counted."""
    statement = statement.where(ScreeningDailyCount.day > expiry_cutoff().date())
    if filters.instrument:
        statement = statement.where(ScreeningDailyCount.instrument == filters.instrument)
    if filters.date_from:
        statement = statement.where(ScreeningDailyCount.day >= filters.date_from)
    if filters.date_to:
        statement = statement.where(ScreeningDailyCount.day <= filters.date_to)
    if filters.cutoff:
        statement = statement.where(ScreeningDailyCount.at_or_above_cutoff.is_(filters.cutoff == YES))
    if filters.reviewed:
        statement = statement.where(ScreeningDailyCount.reviewed.is_(filters.reviewed == YES))
    return statement


def uses_daily_counts(filters: Filters, scope: Scope) -> bool:
    """Everyone's statistics (an admin's) come from the daily counts (tens of thousands of rows at
    1,000,000 results, kept by triggers) unless a code is searched: that matches few results, which the
    code index finds. A clinic's come from its own results through ix_screenings_clinic_stats."""
    return not filters.code and scope.everything


def weekly_counts(filters: Filters, scope: Scope) -> list[tuple[date, int]]:
    """Results per ISO week, with empty weeks between the first and the last filled in as 0."""
    if uses_daily_counts(filters, scope):
        # Per day in SQL (one group per day, about 365), folded into Monday-to-Sunday weeks here.
        days = db.session.execute(filtered_daily_counts(
            sa.select(ScreeningDailyCount.day, sa.func.sum(ScreeningDailyCount.results)), filters)
            .group_by(ScreeningDailyCount.day)).all()
        counts: dict[date, int] = {}
        for day, results in days:
            monday = day - timedelta(days=day.weekday())
            counts[monday] = counts.get(monday, 0) + int(results)
    else:
        week = week_start(Screening.taken_at)
        rows = db.session.execute(filtered(sa.select(week.label("week"), sa.func.count()), filters, scope)
                                  .group_by(week).order_by(week)).all()
        counts = {_as_date(row[0]): row[1] for row in rows}
    if not counts:
        return []
    weeks, current, last = [], min(counts), max(counts)
    while current <= last:
        weeks.append((current, counts.get(current, 0)))
        current += timedelta(days=7)
    return weeks


def _as_date(value) -> date:
    """SQLite's date() is text; PostgreSQL's a date."""
    return date.fromisoformat(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Backlog:
    """What waits for review: how many, how many at or above the cut-off, and since when."""

    unreviewed: int
    unreviewed_at_or_above: int
    oldest: date | None  # the UTC day the longest-waiting result was taken

    def waiting_days(self, today: date) -> int | None:
        return (today - self.oldest).days if self.oldest else None


def backlog(filters: Filters, scope: Scope) -> Backlog:
    """The unreviewed results among the filtered ones, in one aggregate query."""
    if filters.reviewed == YES:
        return Backlog(0, 0, None)
    if uses_daily_counts(filters, scope):
        counts = ScreeningDailyCount
        statement = filtered_daily_counts(sa.select(
            sa.func.sum(counts.results),
            sa.func.sum(sa.case((counts.at_or_above_cutoff, counts.results), else_=0)),
            sa.func.min(counts.day)), filters).where(counts.reviewed.is_(False))
    else:
        statement = filtered(sa.select(
            sa.func.count(), sa.func.sum(sa.case((Screening.at_or_above_cutoff, 1), else_=0)),
            sa.func.min(Screening.taken_at)), filters, scope).where(Screening.reviewed.is_(False))
    unreviewed, above, oldest = db.session.execute(statement).one()
    if isinstance(oldest, str):  # SQLite returns min() of a timestamp as its stored text
        oldest = datetime.fromisoformat(oldest[:19])
    if isinstance(oldest, datetime):
        oldest = oldest.astimezone(UTC).date() if oldest.tzinfo else oldest.date()
    return Backlog(int(unreviewed or 0), int(above or 0), oldest)


@dataclass(frozen=True)
class Flagged:
    """Results with a safety item endorsed among the filtered ones: all, and those waiting for review."""

    results: int
    unreviewed: int


def flagged_counts(filters: Filters, scope: Scope) -> Flagged:
    """One aggregate query over the flagged results only (few: read through ix_screenings_flagged)."""
    statement = filtered(sa.select(sa.func.count(), sa.func.sum(sa.case((Screening.reviewed, 0), else_=1))),
                         filters, scope).where(Screening.triage_tier == SAFETY)
    results, unreviewed = db.session.execute(statement).one()
    return Flagged(int(results or 0), int(unreviewed or 0))


@dataclass(frozen=True)
class InstrumentSummary:
    """Per instrument: how many results, how many at or above the cut-off, cluster sums, totals."""

    instrument_id: str
    count: int
    at_or_above: int
    cluster_sums: dict[str, int]
    totals: dict[int, int]  # total → how many results have it

    @property
    def share(self) -> float | None:
        return self.at_or_above / self.count if self.count else None

    @property
    def cluster_means(self) -> dict[str, float]:
        return {cluster: value / self.count for cluster, value in self.cluster_sums.items()} if self.count else {}

    def cluster_possible(self, cluster: str) -> int:
        """How many answers the cluster's sum is out of: its maximum for every result."""
        return INSTRUMENTS[self.instrument_id].cluster_max(cluster) * self.count

    def distribution(self) -> list[tuple[str, int]]:
        """(band label, count) over every possible total: PCL-5 in bands of 5 (75–80 the last), PC-PTSD-5 0–5."""
        instrument = INSTRUMENTS[self.instrument_id]
        band = instrument.distribution_band
        if band == 1:
            return [(str(total), self.totals.get(total, 0)) for total in range(instrument.max_total + 1)]
        top = instrument.max_total // band - 1
        bands = [0] * (top + 1)
        for total, count in self.totals.items():
            bands[min(top, total // band)] += count
        return [(f"{b * band}–{instrument.max_total if b == top else b * band + band - 1}",
                 bands[b]) for b in range(top + 1)]

    def cutoff_position(self, cutoff: int) -> float:
        """Where the cut-off falls on the distribution, in bars from the left: the PCL-5's 33 lies three
        fifths into the band 30–34, so 6.6; a total per bar puts it at the left edge of its own bar."""
        instrument = INSTRUMENTS[self.instrument_id]
        if instrument.distribution_band == 1:
            return float(cutoff)
        return min(cutoff / instrument.distribution_band, instrument.max_total // instrument.distribution_band)


def instrument_summaries(filters: Filters, scope: Scope) -> list[InstrumentSummary]:
    """One aggregate query, GROUP BY instrument and total (at most 87 groups): counts, results at or above
    the cut-off and cluster sums; the per-instrument figures are sums of those groups."""
    if uses_daily_counts(filters, scope):
        counts = ScreeningDailyCount
        statement = filtered_daily_counts(sa.select(
            counts.instrument,
            counts.total,
            sa.func.sum(counts.results),
            sa.func.sum(sa.case((counts.at_or_above_cutoff, counts.results), else_=0)),
            *(sa.func.sum(getattr(counts, f"{cluster}_sum")) for cluster in PRODUCT_CLUSTERS),
        ), filters).group_by(counts.instrument, counts.total)
    else:
        statement = filtered(sa.select(
            Screening.instrument,
            Screening.total,
            sa.func.count(),
            sa.func.sum(sa.case((Screening.at_or_above_cutoff, 1), else_=0)),
            *(sa.func.sum(getattr(Screening, cluster)) for cluster in PRODUCT_CLUSTERS),
        ), filters, scope).group_by(Screening.instrument, Screening.total)
    groups: dict[str, list] = {}
    for instrument_id, total, count, above, *sums in db.session.execute(statement).all():
        groups.setdefault(instrument_id, []).append((int(total), int(count), int(above), [int(v) for v in sums]))
    summaries = []
    for instrument_id in INSTRUMENTS:
        if filters.instrument and filters.instrument != instrument_id:
            continue
        rows = groups.get(instrument_id, [])
        count = sum(row[1] for row in rows)
        cluster_sums = {cluster: sum(row[3][i] for row in rows) for i, cluster in enumerate(PRODUCT_CLUSTERS)}
        summaries.append(InstrumentSummary(instrument_id, count, sum(row[2] for row in rows), cluster_sums,
                                           {row[0]: row[1] for row in rows}))
    return summaries


# --- people: results counted by series (a person's retakes linked by code) ----------------------

def visible_to(table, scope: Scope) -> list[sa.ColumnElement]:
    """The conditions `scoped` puts on screenings, for an alias of the table (the outcomes' series and the
    CSV's series places). The date is kept off SQLite's indexes (see `unindexed`): a series' results are
    found through their ids and series_start_id, not by scanning a date range."""
    conditions: list[sa.ColumnElement] = [unindexed(table.taken_at) >= expiry_cutoff()]
    if not scope.clinic_ids:
        conditions.append(sa.true() if scope.everything else sa.false())
    elif len(scope.clinic_ids) == 1:
        conditions.append(table.clinic_id == scope.clinic_ids[0])
    else:
        conditions.append(table.clinic_id.in_(scope.clinic_ids))
    return conditions


def series_key(table=Screening) -> sa.ColumnElement:
    """A result's series as stored when it was taken: the id of the series' first result (its own id
    for a first result or one never retaken)."""
    return sa.func.coalesce(table.series_start_id, table.id)


def is_retake(table=Screening) -> sa.ColumnElement[bool]:
    """A result with an earlier one in its series. Written as a range (ids are positive): SQLite finds
    `IS NOT NULL` through no index. A literal, not a parameter: PostgreSQL's generic plan for a prepared
    `> $1` guesses a third of the rows match and reads another index."""
    return table.series_start_id > sa.literal_column("0")


def _off_indexes(condition: sa.ColumnElement) -> sa.ColumnElement:
    """A condition on screenings with every column but the series link kept off SQLite's indexes."""
    def replace_column(element):
        if isinstance(element, sa.Column) and element.table is Screening.__table__ \
                and element.name != "series_start_id":
            return unindexed(element)
        return None
    return cast(sa.ColumnElement, replacement_traverse(condition, {}, replace_column))  # type: ignore[call-overload]


def _retakes(filters: Filters, scope: Scope) -> sa.Select:
    """Per instrument, among the filtered results that are retakes (a series' second or later): how many,
    and how many distinct series whose first result is not itself among the filtered results. Only
    retakes are read, through the series_start_id index, and each one's first result by its id."""
    conditions = filtered(sa.select(Screening.id), filters, scope).whereclause
    assert conditions is not None  # scoped() always bounds the retention period
    everyone = uses_daily_counts(filters, scope)
    if everyone:  # the same results as the daily counts: whole days after the retention boundary's
        conditions = sa.and_(conditions,
                             Screening.taken_at >= _start_of(expiry_cutoff().date() + timedelta(days=1)))
    first = cast(sa.Table, Screening.__table__).alias("series_first")
    first_matches = sa.exists().where(first.c.id == Screening.series_start_id,
                                      ClauseAdapter(first).traverse(conditions))
    if everyone:
        # Everyone's retakes, found through the series index: SQLite otherwise took an instrument's or a
        # date's index and read every result in it (3 s at 1,000,000).
        conditions = _off_indexes(conditions)
    instrument = unindexed(Screening.instrument) if everyone else Screening.instrument
    return (sa.select(instrument, sa.func.count(),
                      sa.func.count(sa.distinct(sa.case((~first_matches, Screening.series_start_id)))))
            .where(is_retake(), conditions).group_by(instrument))


def _people(results: dict[str, int], filters: Filters, scope: Scope) -> dict[str, int]:
    """The distinct series among `results` (per instrument, the filtered results' count): every result
    that is no retake starts its own series; a retake adds one only when its series' first result is
    not among them (one per such series)."""
    people = dict(results)
    for instrument, retakes, series_outside in db.session.execute(_retakes(filters, scope)).all():
        people[instrument] = people.get(instrument, 0) - int(retakes) + int(series_outside)
    return {instrument: count for instrument, count in people.items() if count}


def series_counts(filters: Filters, scope: Scope, results: dict[str, int]) -> dict[str, int]:
    """Per instrument, how many series (people, as far as anonymous results tell) the filtered results
    belong to, given how many filtered results each instrument has (the statistics' summaries)."""
    if uses_series_rollup(filters, scope):
        overcount = _beyond_first(filters)
        people = {instrument: count - overcount.get(instrument, 0) for instrument, count in results.items()}
        return {instrument: count for instrument, count in people.items() if count}
    return _people(results, filters, scope)


def series_waiting(filters: Filters, scope: Scope, unreviewed: int) -> int:
    """How many series have a filtered result waiting for review, given how many such results (the
    backlog's count)."""
    if filters.reviewed == YES:
        return 0
    if uses_series_rollup(filters, scope):
        return unreviewed - sum(_beyond_first(filters, waiting=True).values())
    rows = db.session.execute(_retakes(replace(filters, reviewed=NO), scope)).all()
    return unreviewed - sum(int(retakes) for _, retakes, _ in rows) + sum(int(outside) for _, _, outside in rows)


# --- people from screening_series (everyone's statistics) ---------------------------------------

def uses_series_rollup(filters: Filters, scope: Scope) -> bool:
    """Everyone's people counts come from the series rows (kept by triggers, app/rollup_triggers.py) when
    the filters select results only by instrument and dates, which a series row can answer; a filter on
    the cut-off side, review state or assignee selects single results within a series, and is counted
    from the results as before."""
    return (uses_daily_counts(filters, scope) and not filters.cutoff and not filters.reviewed
            and not filters.assigned)


def _window(filters: Filters) -> tuple[datetime, datetime | None]:
    """The results the daily counts cover, as taken_at bounds [from, to): whole UTC days after the
    retention boundary's, within the filter's dates."""
    start = _start_of(expiry_cutoff().date() + timedelta(days=1))
    if filters.date_from:
        start = max(start, _start_of(filters.date_from))
    end = _start_of(filters.date_to + timedelta(days=1)) if filters.date_to else None
    return start, end


def _beyond_first(filters: Filters, waiting: bool = False) -> dict[str, int]:
    """Per instrument, how many of the filtered results (those waiting for review, if `waiting`) are not
    the first of their series among them: the results' count minus this is the series' count.
    A series wholly inside the dates gives `results - 1` (or `unreviewed - 1`) from its row; one that
    straddles a bound (begun before the retention boundary or "from", or going on after "to": few)
    has its results inside counted from screenings."""
    series = ScreeningSeries
    start, end = _window(filters)
    # One range of the index per instrument (SQLite reads an IN list that way, and skips nothing else).
    instruments = [filters.instrument] if filters.instrument else list(INSTRUMENTS)
    inside = [series.first_taken_at >= start] + ([series.latest_taken_at < end] if end is not None else [])
    members = series.unreviewed if waiting else series.results
    overcount: dict[str, int] = {}
    statement = (sa.select(series.instrument, sa.func.sum(sa.case((members > 0, members - 1), else_=0)))
                 .where(series.instrument.in_(instruments), *inside).group_by(series.instrument))
    for instrument, count in db.session.execute(statement).all():
        overcount[instrument] = int(count or 0)
    straddling = (sa.select(series.series_id, series.instrument)
                  .where(series.instrument.in_(instruments), series.latest_taken_at >= start,
                         sa.or_(series.first_taken_at < start, series.latest_taken_at >= end)
                         if end is not None else series.first_taken_at < start,
                         *([series.first_taken_at < end] if end is not None else []))
                  .subquery("straddling"))
    # Found by id and series_start_id only: SQLite otherwise took (instrument, taken_at) for each series
    # and read every later result of the instrument (bench/RESULTS.md).
    taken_at = unindexed(Screening.taken_at)
    in_dates = [taken_at >= start, unindexed(Screening.instrument) == straddling.c.instrument,
                *([taken_at < end] if end is not None else []),
                *([unindexed(Screening.reviewed).is_(False)] if waiting else [])]
    found = sa.union_all(  # each series' results: its first by id, its retakes by series_start_id
        sa.select(straddling.c.series_id, straddling.c.instrument)
        .join(Screening, Screening.id == straddling.c.series_id).where(*in_dates),
        sa.select(straddling.c.series_id, straddling.c.instrument)
        .join(Screening, Screening.series_start_id == straddling.c.series_id).where(*in_dates)).subquery("found")
    for instrument, count in db.session.execute(
            sa.select(found.c.instrument, sa.func.count() - sa.func.count(sa.distinct(found.c.series_id)))
            .group_by(found.c.instrument)).all():
        overcount[instrument] = overcount.get(instrument, 0) + int(count)
    return overcount
