"""The workspace's filters and queries: the triage queue, retake series and SQL aggregates for statistics."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import replacement_traverse

from ..extensions import db
from ..models import Clinic, Clinician, Screening, ScreeningDailyCount
from ..retention import expiry_cutoff
from ..screening import case_references, codes
from ..screening.instruments import INSTRUMENTS, PRODUCT_CLUSTERS
from ..screening.service import earlier_in_series, find_screening, later_in_series
from ..screening.triage import SAFETY
from .filter_parsing import EARLIEST, LATEST, DateOutOfRange, parse_clinic_slug, parse_date

PAGE_SIZE = 50
# The queue counts matches only up to here (or up to the requested page): an exact COUNT over
# 1,000,000 results costs more than the page itself, and "more than 10,000" is as useful to a clinic.
COUNT_CAP = 10_000
YES, NO = "yes", "no"
ME = "me"
# Typed reference fragments: the code alphabet plus Crockford's look-alikes, ignoring dashes and spaces.
_FRAGMENT = re.compile(r"[0-9A-Za-z\s\-]{1,20}")


@dataclass(frozen=True)
class Filters:
    """The current filters, read from GET parameters so every filtered page, chart and export is a link."""

    instrument: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    cutoff: str | None = None  # "yes": at or above the cut-off, "no": below
    reviewed: str | None = None  # "yes" or "no"
    code: str | None = None  # a case reference or its beginning, as typed (never a person's code)
    assigned: str | None = None  # "me": the series assigned to the reader
    clinic: str | None = None  # a clinic's slug: only its results (for readers who see several clinics)

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def args(self) -> dict[str, str]:
        """The GET parameters that reproduce these filters (for links, pagination and exports)."""
        values = {
            "instrument": self.instrument,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "cutoff": self.cutoff,
            "reviewed": self.reviewed,
            "code": self.code,
            "assigned": self.assigned,
            "clinic": self.clinic,
        }
        return {name: value for name, value in values.items() if value}

    def describe(self) -> str:
        """The filters as one line for the audit log, e.g. `instrument=pcl5 from=2026-01-01`."""
        return " ".join(f"{name}={value}" for name, value in self.args().items()) or "all"

    def reference_match(self) -> str | None:
        """The stored form of the typed case reference or its beginning, for the search."""
        if not self.code:
            return None
        return case_references.normalise(self.code, prefix=True)


def _date(raw: str, label: str, errors: list[str]) -> date | None:
    try:
        return parse_date(raw)
    except DateOutOfRange:
        errors.append(_("%(label)s must be a date between %(earliest)s and %(latest)s.", label=label,
                        earliest=EARLIEST.isoformat(), latest=LATEST.isoformat()))
    except ValueError:
        errors.append(_("%(label)s must be a date like 2026-01-31.", label=label))
    return None


def parse_filters(args) -> tuple[Filters, list[str]]:
    """Filters from request.args; every unusable value is reported and left out, never guessed."""
    errors: list[str] = []
    raw = {name: (args.get(name) or "").strip()
           for name in ("instrument", "from", "to", "cutoff", "reviewed", "code", "assigned", "clinic")}
    instrument = raw["instrument"] or None
    if instrument and instrument not in INSTRUMENTS:
        errors.append(_("Choose an instrument from the list."))
        instrument = None
    date_from = _date(raw["from"], _("“From”"), errors) if raw["from"] else None
    date_to = _date(raw["to"], _("“To”"), errors) if raw["to"] else None
    if date_from and date_to and date_from > date_to:
        errors.append(_("“From” must not be after “To”."))
        date_from = date_to = None
    choices = {}
    for name in ("cutoff", "reviewed"):
        value = raw[name] or None
        if value not in (None, YES, NO):
            errors.append(_("Choose one of the listed options for “%(name)s”.",
                            name=_("Cut-off") if name == "cutoff" else _("Reviewed")))
            value = None
        choices[name] = value
    code = raw["code"] or None
    if code and not (_FRAGMENT.fullmatch(code) and case_references.normalise(code, prefix=True)):
        # Not echoed: the text may be a person's code, which no workspace page shows.
        errors.append(_("A case reference looks like R-7KQ-M9XD; you can also type its beginning. To add a "
                        "result by the person's code, use “Add a result by its code”."))
        code = None
    assigned = raw["assigned"] or None
    if assigned not in (None, ME):
        errors.append(_("Choose one of the listed options for “%(name)s”.", name=_("Assigned")))
        assigned = None
    clinic = parse_clinic_slug(raw["clinic"], errors)
    return (Filters(instrument, date_from, date_to, choices["cutoff"], choices["reviewed"], code, assigned, clinic),
            errors)


@dataclass(frozen=True)
class Scope:
    """Which results a reader may see: every one (admins), or those shared with their clinics."""

    clinic_ids: tuple[int, ...] | None  # None: every result
    clinician_id: int | None = None  # the reader, for ?assigned=me

    @property
    def everything(self) -> bool:
        return self.clinic_ids is None

    def allows(self, row: Screening) -> bool:
        """Whether this reader may see a result (its age is checked by the query that found it)."""
        return self.clinic_ids is None or row.clinic_id in self.clinic_ids  # None: everything


def scope_of(clinician: Clinician) -> Scope:
    """Admins see every result; a clinician those of the clinics they belong to (none: nothing)."""
    if clinician.is_admin:
        return Scope(None, clinician.id)
    return Scope(tuple(sorted(clinic.id for clinic in clinician.clinics)), clinician.id)


def scope_for(clinician: Clinician, filters: Filters) -> tuple[Scope, list[str]]:
    """The reader's scope narrowed to the clinic `?clinic=` names, if any: one of their clinics (an
    admin: any). Another clinic, or an unknown one, is an error alike, so none is confirmed to exist."""
    scope = scope_of(clinician)
    if not filters.clinic:
        return scope, []
    clinic_id = db.session.scalar(sa.select(Clinic.id).where(Clinic.slug == filters.clinic))
    if clinic_id is None or not (scope.everything or clinic_id in (scope.clinic_ids or ())):
        return scope, [_("Choose a clinic from the list.")]
    return Scope((clinic_id,)), []


class unindexed(FunctionElement):
    """A column that SQLite must not pick an index for (`+taken_at`); other databases see the column.
    The queue walks a triage index in order; left to itself, SQLite took a date range (the retention
    bound and "to") on the taken_at index and sorted every match: 3.6 s instead of 0.1 ms at 430,000."""

    inherit_cache = True

    def __init__(self, column):
        super().__init__(column)
        self.type = column.type  # so a compared value is bound as the column's (UTCDateTime's check)


@compiles(unindexed)
def _unindexed_default(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element, compiler, **kw):
    return f"+{compiler.process(element.clauses, **kw)}"


def _taken_at(in_triage_order: bool):
    return unindexed(Screening.taken_at) if in_triage_order else Screening.taken_at


def scoped(statement: sa.Select, scope: Scope, in_triage_order: bool = False,
           narrower: bool = False) -> sa.Select:
    """Only results within retention that this reader may see. A clinic's results are found through
    its clinic_id (a fiftieth of the rows at 50 clinics), never a date index: SQLite took the taken_at
    index for the retention bound and read every clinic's rows (statistics 180 ms instead of ~20).
    With `narrower` (a reference or an assignee, which match far fewer), the clinic is checked on the
    rows those find: SQLite otherwise walked the whole clinic (130–170 ms at 1,000,000)."""
    keep_off_dates = in_triage_order or not scope.everything
    statement = statement.where(_taken_at(keep_off_dates) >= expiry_cutoff())
    if scope.everything:
        return statement
    if not scope.clinic_ids:
        return statement.where(sa.false())
    clinic_id = unindexed(Screening.clinic_id) if narrower else Screening.clinic_id
    if len(scope.clinic_ids) == 1:
        return statement.where(clinic_id == scope.clinic_ids[0])
    return statement.where(clinic_id.in_(scope.clinic_ids))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def filtered(statement: sa.Select, filters: Filters, scope: Scope, in_triage_order: bool = False) -> sa.Select:
    """Add the reader's scope and the filters' WHERE clauses to a statement over screenings. A statement
    read in triage order (the queue) keeps SQLite off the taken_at indexes (see `unindexed`)."""
    statement = scoped(statement, scope, in_triage_order,
                       narrower=filters.assigned == ME or filters.reference_match() is not None)
    taken_at = _taken_at(in_triage_order or not scope.everything)
    # Within a clinic, the cut-off is filtered on the clinic's own index: SQLite otherwise walked the
    # cut-off index through every clinic's results (1.3 s instead of ~10 ms at 1,000,000).
    cutoff = unindexed(Screening.at_or_above_cutoff) if not scope.everything else Screening.at_or_above_cutoff
    if filters.instrument:
        statement = statement.where(Screening.instrument == filters.instrument)
    if filters.date_from:
        statement = statement.where(taken_at >= _start_of(filters.date_from))
    if filters.date_to:  # "to" includes the whole day
        statement = statement.where(taken_at < _start_of(filters.date_to + timedelta(days=1)))
    if filters.cutoff:
        statement = statement.where(cutoff.is_(filters.cutoff == YES))
    if filters.reviewed:
        statement = statement.where(Screening.reviewed.is_(filters.reviewed == YES))
    if filters.assigned == ME:
        statement = statement.where(Screening.assigned_to_id == scope.clinician_id)
    typed = filters.reference_match()
    if typed:
        # A reference never reaches a result no clinic has: only its whole code, handed over, does.
        statement = statement.where(Screening.clinic_id.is_not(None))
        # LIKE 'AB%' cannot use the unique index on SQLite (its LIKE ignores case); the range can.
        reference = Screening.case_reference
        statement = statement.where(reference >= typed, reference.startswith(typed, autoescape=True))
        upper = _next_prefix(typed)
        if upper:
            statement = statement.where(reference < upper)
    return statement


def _next_prefix(prefix: str) -> str | None:
    """The smallest code prefix after every code that starts with `prefix`, in the code alphabet
    (whose symbols sort the same way bytewise and in common collations), or None if there is none."""
    while prefix:
        position = codes.ALPHABET.find(prefix[-1])
        if position + 1 < len(codes.ALPHABET):
            return prefix[:-1] + codes.ALPHABET[position + 1]
        prefix = prefix[:-1]
    return None


# Triage (the tiers: app/screening/triage.py): one row per series, its latest result; unreviewed first;
# then by tier, the most severe first within it, the longest waiting first. The same columns and
# directions as the ix_screenings_*triage indexes, which serve it.
QUEUE_ORDER = (Screening.reviewed.asc(), Screening.triage_tier.asc(), Screening.severity.desc(),
               Screening.taken_at.asc(), Screening.id.asc())


@dataclass(frozen=True)
class Page:
    """One page of the queue and where it sits among all matching results: `count` is exact, or with
    `exact` False a lower bound (more than `count` match, and at least one more page follows)."""

    rows: list
    number: int
    count: int
    exact: bool = True

    @property
    def pages(self) -> int:
        if not self.exact:
            return self.number + 1
        return max(1, math.ceil(self.count / PAGE_SIZE))


def in_queue_order(statement: sa.Select, filters: Filters) -> sa.Select:
    """The latest result of each series, in QUEUE_ORDER. A reference search matches few results: there
    SQLite must find them through the reference index and sort them, not walk a triage index past every
    other result (2.2 s at 1,000,000), so the triage columns are kept off its indexes (`unindexed`)."""
    if not filters.reference_match():
        return statement.where(Screening.latest_in_series.is_(True)).order_by(*QUEUE_ORDER)
    return (statement.where(unindexed(Screening.latest_in_series).is_(True))
            .order_by(unindexed(Screening.reviewed).asc(), *QUEUE_ORDER[1:]))


def queue_page(filters: Filters, number: int, scope: Scope) -> Page:
    """The reader's results in triage order (QUEUE_ORDER); 50 a page (offset paging, see README).
    Matches are counted up to COUNT_CAP or to the end of the requested page, whichever is more."""
    limit = max(COUNT_CAP, number * PAGE_SIZE)
    # Counted in queue order, so the planner walks the same index as the page (at 820,000 results
    # SQLite otherwise chose (instrument, taken_at) for a filtered count: 640 ms instead of 14 ms).
    matches = (in_queue_order(filtered(sa.select(Screening.id), filters, scope, in_triage_order=True), filters)
               .limit(limit + 1).subquery())
    count = db.session.execute(sa.select(sa.func.count()).select_from(matches)).scalar_one()
    exact = count <= limit
    if exact:
        number = min(number, max(1, math.ceil(count / PAGE_SIZE)))
    else:
        count = limit
    # The page's ids first, then their rows: asked for whole rows, PostgreSQL walked the triage index
    # without the filter's column and read rows until 50 matched (a filter met only late in the order,
    # such as one instrument's or the results below the cut-off: 0.3–2 s at 1,000,000); asked for ids,
    # it reads them from the index that holds the filter's column.
    ids = (in_queue_order(filtered(sa.select(Screening.id), filters, scope, in_triage_order=True), filters)
           .limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE).subquery("page_ids"))
    statement = (sa.select(Screening).where(Screening.id.in_(sa.select(ids.c.id))).order_by(*QUEUE_ORDER)
                 .options(selectinload(Screening.assigned_to)))
    return Page(list(db.session.scalars(statement)), number, count, exact)


@dataclass(frozen=True)
class SeriesSummary:
    """A queue row's series in its caseload: how many results, and the first one's total."""

    results: int
    first_total: int


def series_summaries(rows: list[Screening], scope: Scope) -> dict[int, SeriesSummary]:
    """For each queue row that has earlier results in its caseload, its series' size and first total
    (one query for the page; expired and other clinics' results are not counted)."""
    starts = {row.series_start_id: row for row in rows if row.series_start_id is not None}
    if not starts:
        return {}
    key = sa.func.coalesce(Screening.series_start_id, Screening.id)
    members = db.session.execute(
        # Found through the series and primary-key indexes only: SQLite otherwise took the date index for
        # the retention bound, or walked it for the order, and read every result (1.5 s for an admin at
        # 1,000,000 with series common).
        scoped(sa.select(key, Screening.clinic_id, Screening.total), scope, in_triage_order=True, narrower=True)
        .where(sa.or_(Screening.series_start_id.in_(list(starts)), Screening.id.in_(list(starts))))
        .order_by(unindexed(Screening.taken_at), unindexed(Screening.id))).all()
    summaries: dict[int, SeriesSummary] = {}
    for start, clinic_id, total in members:
        row = starts[start]
        if clinic_id != row.clinic_id:
            continue
        found = summaries.get(row.id)
        summaries[row.id] = SeriesSummary(found.results + 1, found.first_total) if found else SeriesSummary(1, total)
    return {row_id: summary for row_id, summary in summaries.items() if summary.results > 1}


def find_by_reference(typed: str, scope: Scope) -> Screening | None:
    """A result this reader may see, by its case reference; another clinic's, an expired and an unknown
    reference alike None."""
    reference = case_references.normalise(typed)
    if reference is None:
        return None
    row = db.session.scalar(sa.select(Screening).where(Screening.case_reference == reference,
                                                       Screening.taken_at >= expiry_cutoff()))
    if row is None or not scope.allows(row):
        return None
    return row


def find_visible(typed_code: str, scope: Scope) -> Screening | None:
    """A result this reader may see, by its code; another clinic's, an expired and an unknown code alike
    None (find_screening already leaves out expired results)."""
    row = find_screening(typed_code)
    if row is None or not scope.allows(row):
        return None
    return row


def series_for(row: Screening, scope: Scope) -> list[Screening]:
    """A result with the retakes linked to it before and after, oldest first: only those this reader
    may see (a series never shows another clinic's result; expired ones are not in a series)."""
    return [item for item in (*earlier_in_series(row), row, *later_in_series(row))
            if item is row or scope.allows(item)]


# --- statistics: every figure below is one SQL aggregate query --------------------------------

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
    """The conditions `scoped` puts on screenings, for an alias of the table (a series walks two). The
    date is kept off SQLite's indexes (see `unindexed`): a step of the walk must find its rows through
    previous_id, not scan a date range."""
    conditions: list[sa.ColumnElement] = [unindexed(table.taken_at) >= expiry_cutoff()]
    if not scope.clinic_ids:
        conditions.append(sa.true() if scope.everything else sa.false())
    elif len(scope.clinic_ids) == 1:
        conditions.append(table.clinic_id == scope.clinic_ids[0])
    else:
        conditions.append(table.clinic_id.in_(scope.clinic_ids))
    return conditions


def series_of_results(scope: Scope, instrument: str | None = None) -> sa.CTE:
    """Every result the reader may see (of one instrument, if given) with the first result of its series
    (`root`) and its place in it (`step`): a series starts at a result whose earlier one is absent (none,
    expired, not the reader's, or another instrument's) and follows the links. Each step reads the table
    through its indexes (the primary key, previous_id), never a materialised copy, which SQLite would
    scan once per step."""
    from ..screening.service import MAX_SERIES_LENGTH

    result, earlier = sa.orm.aliased(Screening, name="series_result"), sa.orm.aliased(Screening, name="series_earlier")
    same = [] if instrument is None else [result.instrument == instrument]
    earlier_same = [] if instrument is None else [unindexed(earlier.instrument) == instrument]
    starts = (sa.select(result.id, result.id.label("root"), sa.literal(1).label("step"))
              .outerjoin(earlier, sa.and_(earlier.id == result.previous_id, *visible_to(earlier, scope), *earlier_same))
              .where(*visible_to(result, scope), *same, earlier.id.is_(None)))
    chain = starts.cte("series_chain", recursive=True)
    retake = sa.orm.aliased(Screening, name="series_retake")
    retake_same = [] if instrument is None else [unindexed(retake.instrument) == instrument]
    return chain.union_all(sa.select(retake.id, chain.c.root, (chain.c.step + 1).label("step"))
                           .join(chain, retake.previous_id == chain.c.id)
                           .where(*visible_to(retake, scope), *retake_same, chain.c.step < MAX_SERIES_LENGTH))


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
    return _people(results, filters, scope)


def series_waiting(filters: Filters, scope: Scope, unreviewed: int) -> int:
    """How many series have a filtered result waiting for review, given how many such results (the
    backlog's count)."""
    if filters.reviewed == YES:
        return 0
    rows = db.session.execute(_retakes(replace(filters, reviewed=NO), scope)).all()
    return unreviewed - sum(int(retakes) for _, retakes, _ in rows) + sum(int(outside) for _, _, outside in rows)
