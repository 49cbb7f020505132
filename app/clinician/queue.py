"""The triage queue: one page of series in triage order, a page's series summaries, and finding a result."""
from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Screening
from ..retention import expiry_cutoff
from ..screening import case_references
from ..screening.service import earlier_in_series, find_screening, later_in_series
from .filters import Filters, Scope, filtered, scoped, unindexed

PAGE_SIZE = 50
# The queue counts matches only up to here (or up to the requested page): an exact COUNT over
# 1,000,000 results costs more than the page itself, and "more than 10,000" is as useful to a clinic.
COUNT_CAP = 10_000


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
