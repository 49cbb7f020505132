"""screening_series, the per-series rollup behind everyone's outcomes and people counts: kept equal to a
from-scratch computation over the results by triggers, through every kind of write, on both databases."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.clinician import statistics
from app.clinician.demo import seed
from app.clinician.filters import Filters, Scope
from app.clinician.outcomes import outcome_rows
from app.clinician.statistics import instrument_summaries
from app.extensions import db as _db
from app.models import Clinic, Screening, utcnow
from app.rollup_triggers import SERIES_COLUMNS, SERIES_FROM_RESULTS
from tests.clinician_support import WORKSPACE_FIXTURES, store, utc
from tests.results_helpers import store_pcl5
from tests.test_clinician_stats_rollup import every_kind_of_write, review, unreview

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)


def _rows(statement: str) -> dict[tuple, tuple]:
    with _db.engine.connect() as connection:
        return {(row[0], row[1]): tuple(row[2:]) for row in connection.execute(sa.text(statement))}


def series_in_table(app) -> dict[tuple, tuple]:
    with app.app_context():
        return _rows(f"SELECT {SERIES_COLUMNS} FROM screening_series")


def series_from_results(app) -> dict[tuple, tuple]:
    with app.app_context():
        return _rows(SERIES_FROM_RESULTS[_db.engine.dialect.name])


def assert_series_exact(app, expect_some: bool = True) -> dict[tuple, tuple]:
    expected = series_from_results(app)
    assert bool(expected) == expect_some
    assert series_in_table(app) == expected
    return expected


def chain(app, totals, start=(2026, 3, 1), step_days=1, **columns) -> list[int]:
    """A series of PCL-5 results with these totals, `step_days` apart, linked as the service links retakes."""
    ids: list[int] = []
    with app.app_context():
        for day, total in enumerate(totals):
            answers = [4] * (total // 4) + [total % 4] + [0] * 20
            row = store(answers=answers[:20], taken_at=utc(*start) + timedelta(days=day * step_days),
                        **({"previous_id": ids[-1]} if ids else {}), **columns)
            ids.append(row.id)
    return ids


def test_retakes_reviews_deletes_and_purge_keep_the_series_rows_exact(app, admin_client, runner):
    with app.app_context():
        seed(200, random_seed=3)  # results never retaken: no series rows
    assert_series_exact(app, expect_some=False)
    long = chain(app, [60, 50, 40, 30])
    short = chain(app, [40, 45], start=(2026, 4, 1))
    other_clinic = chain(app, [70, 20], start=(2026, 4, 1), clinic="other-clinic")
    rows = assert_series_exact(app)
    assert rows[(long[0], "pcl5")][:3] == (4, 4, long[0])  # four results, all waiting, first the first
    assert rows[(long[0], "pcl5")][4:6] == ("2026-03", 60) and rows[(long[0], "pcl5")][-1] == 30
    with app.app_context():
        codes = {row.id: row.code for row in _db.session.scalars(sa.select(Screening))}
    # Reviews (and a second review, which changes no counted column), then an unreview.
    for result_id in (long[1], long[3], short[0]):
        review(admin_client, codes[result_id], "seen")
    review(admin_client, codes[long[3]], "seen again")
    unreview(admin_client, codes[short[0]])
    assert series_in_table(app)[(long[0], "pcl5")][1] == 2
    assert_series_exact(app)
    # The latest result deleted by its code: the one before becomes the latest.
    person = app.test_client()
    assert person.delete(f"/api/v1/screenings/{codes[long[3]]}").status_code == 204
    assert series_in_table(app)[(long[0], "pcl5")][-1] == 40
    # The first result deleted: the series keeps its key (the stored series_start_id), its next result first.
    assert person.delete(f"/api/v1/screenings/{codes[long[0]]}").status_code == 204
    assert series_in_table(app)[(long[0], "pcl5")][2] == long[1]
    # A series left with one result has no row.
    assert person.delete(f"/api/v1/screenings/{codes[short[1]]}").status_code == 204
    assert (short[0], "pcl5") not in series_in_table(app)
    assert_series_exact(app)
    # A retake by the API after a result shared with a clinic, and a first result shared later (its clinic
    # changes, which the series row carries).
    earlier = store_pcl5(person, 50)
    store_pcl5(person, 20, previous=earlier)
    with app.app_context():
        first = _db.session.get(Screening, other_clinic[0])
        first.clinic_id = None
        _db.session.commit()
        moved = _db.session.get(Screening, other_clinic[1])
        moved.taken_at = utc(2026, 3, 1)  # now before the first: the order within the series changes
        _db.session.commit()
    rows = assert_series_exact(app)
    assert rows[(other_clinic[0], "pcl5")][2] == other_clinic[1]
    # Purge of old results in one statement (every series above began in 2026-03/04, before 300 days ago
    # only if today is far enough on; the seeded results span the last year either way).
    assert runner.invoke(args=["purge", "--older-than", "200"]).exit_code == 0
    assert_series_exact(app, expect_some=bool(series_from_results(app)))
    with app.app_context():
        _db.session.execute(sa.delete(Screening))
        _db.session.commit()
    assert series_in_table(app) == {}


def test_a_bulk_update_that_links_many_results_into_series_keeps_the_rows_exact(app):
    """One UPDATE of many rows (as bench/clinics.py --series does): row triggers see each row's change."""
    with app.app_context():
        seed(300, random_seed=5)
        ids = list(_db.session.scalars(sa.select(Screening.id).order_by(Screening.instrument, Screening.id)))
        _db.session.execute(sa.text(
            "UPDATE screenings SET series_start_id = (SELECT min(s.id) FROM screenings AS s"
            " WHERE s.instrument = screenings.instrument AND s.id / 7 = screenings.id / 7)"
            " WHERE id % 7 <> 0 AND id % 3 <> 0"))
        _db.session.commit()
    assert ids
    rows = assert_series_exact(app)
    assert len(rows) > 10
    with app.app_context():
        _db.session.execute(sa.update(Screening).where(Screening.id % 2 == 0).values(reviewed=True))
        _db.session.execute(sa.update(Screening).where(Screening.id % 5 == 0).values(series_start_id=None))
        _db.session.commit()
    assert_series_exact(app)


def test_every_kind_of_write_of_the_daily_counts_scenario_keeps_the_series_rows_exact(app, admin_client, runner):
    every_kind_of_write(app, admin_client, runner)
    assert_series_exact(app, expect_some=bool(series_from_results(app)))


def people_table() -> list[Filters]:
    today = utcnow().date()
    ranges = [(None, None), (date(2026, 3, 2), None), (None, date(2026, 3, 2)), (date(2026, 3, 2), date(2026, 3, 3)),
              (today - timedelta(days=30), None)]
    return [Filters(instrument, start, end) for instrument in (None, "pcl5", "pcptsd5")
            for start, end in ranges]


def test_people_counts_from_the_series_rows_equal_those_from_the_results(app, monkeypatch):
    """Series wholly inside the dates, straddling "from", "to" and the retention boundary, of two
    instruments, some results reviewed: the series rows and the results give the same people."""
    app.config["RETENTION_DAYS"] = (utcnow().date() - date(2026, 3, 2)).days + 1  # 2026-03-01 is expired
    with app.app_context():
        seed(120, random_seed=11)
    chain(app, [60, 50, 40, 30])  # 03-01 … 03-04: begins before the retention boundary and "from"
    chain(app, [40, 45, 50], start=(2026, 3, 2))  # across "to" (03-02 or 03-03)
    chain(app, [70, 20], start=(2026, 5, 1), clinic="other-clinic")
    chain(app, [70, 20], start=(2026, 3, 3), reviewed=True)
    with app.app_context():
        ids = []
        for day in (1, 2, 3, 4):
            row = store("pcptsd5", taken_at=utc(2026, 3, day), **({"previous_id": ids[-1]} if ids else {}))
            ids.append(row.id)
    assert_series_exact(app)
    everything = Scope(None)
    table = people_table()
    with app.app_context():
        assert all(statistics.uses_series_rollup(filters, everything) for filters in table)
        results = [{s.instrument_id: s.count for s in instrument_summaries(filters, everything)} for filters in table]
        waiting = [statistics.backlog(filters, everything).unreviewed for filters in table]
        from_rows = [(statistics.series_counts(filters, everything, counts),
                      statistics.series_waiting(filters, everything, unreviewed))
                     for filters, counts, unreviewed in zip(table, results, waiting, strict=True)]
        monkeypatch.setattr(statistics, "uses_series_rollup", lambda filters, scope: False)
        from_results = [(statistics.series_counts(filters, everything, counts),
                         statistics.series_waiting(filters, everything, unreviewed))
                        for filters, counts, unreviewed in zip(table, results, waiting, strict=True)]
    for filters, rows, aggregated in zip(table, from_rows, from_results, strict=True):
        assert rows == aggregated, filters
    # The series changed the figures: fewer people than results where they count.
    assert from_rows[0][0]["pcl5"] < results[0]["pcl5"] and from_rows[0][1] < waiting[0]


def test_a_cut_off_or_review_filter_counts_people_from_the_results(app):
    everything = Scope(None)
    with app.app_context():
        assert not statistics.uses_series_rollup(Filters(cutoff="yes"), everything)
        assert not statistics.uses_series_rollup(Filters(reviewed="no"), everything)
        assert not statistics.uses_series_rollup(Filters(), Scope((1,)))


def test_everyones_outcomes_from_the_series_rows_equal_those_from_the_results(app):
    """Everyone's outcomes (series rows, and the results of series straddling the retention boundary)
    equal the outcomes computed from the results for a reader of every clinic, when every result has one."""
    app.config["RETENTION_DAYS"] = (utcnow().date() - date(2026, 3, 2)).days + 1  # 2026-03-01 is expired
    # A month or more apart, so their change is judged (retakes sooner are too soon to compare).
    chain(app, [60, 50, 40, 30], step_days=31)  # begins on the expired day: counted from its results, 50 → 30
    chain(app, [40, 45, 20], start=(2026, 3, 5), step_days=31)
    chain(app, [70, 20], start=(2026, 4, 1), step_days=31, clinic="other-clinic")
    chain(app, [33, 10], start=(2026, 4, 9), step_days=31, reviewed=True)
    chain(app, [33, 10], start=(2026, 2, 27))  # wholly expired
    with app.app_context():
        ids = []
        for day, yes in ((1, 5), (2, 4), (9, 1)):
            row = store("pcptsd5", answers=[True] * yes + [False] * (5 - yes), taken_at=utc(2026, 3, day),
                        **({"previous_id": ids[-1]} if ids else {}))
            ids.append(row.id)
    assert_series_exact(app)
    with app.app_context():
        every_clinic = Scope(tuple(_db.session.scalars(sa.select(Clinic.id))))

        def figures(scope):
            return [(row.clinic, row.instrument.id, row.month, row.series, row.improved, row.worsened,
                     row.crossed_below, row.too_soon, row.first_totals, row.latest_totals)
                    for row in outcome_rows(scope)]

        from_rows, from_results = figures(Scope(None)), figures(every_clinic)
    assert from_rows == from_results
    pcl5_march = [row for row in from_rows if row[1] == "pcl5" and row[2] == "2026-03"]
    assert [row[3] for row in pcl5_march] == [1]  # the one from 03-05; the straddling one's visible part from 04-01
    pcl5_april = [row for row in from_rows if row[1] == "pcl5" and row[2] == "2026-04"]
    assert sum(row[3] for row in pcl5_april) == 3  # the straddling series, the other clinic's, the reviewed one
    assert sum(row[4] for row in from_rows) >= 3 and sum(row[6] for row in from_rows) >= 2  # change was judged


def test_everyones_too_soon_to_compare_from_the_series_rows_equals_that_from_the_results(app):
    """A series whose latest result is less than the instrument's time frame after its first is too soon
    to compare — a series, in the medians, never improved or crossed below — the same whether everyone's
    outcomes read it from its series row, from the results of a series straddling the retention
    boundary, or a reader of every clinic from the results."""
    app.config["RETENTION_DAYS"] = (utcnow().date() - date(2026, 5, 2)).days + 1  # 2026-05-01 is expired
    with app.app_context():
        def phq9(*points):
            previous = None
            for answers, when in points:
                previous = store("phq9", answers=answers, taken_at=when,
                                 **({"previous_id": previous.id} if previous else {}))

        fourteen, eight = [2] * 7 + [0, 0], [1] * 8 + [0]
        phq9((fourteen, utc(2026, 5, 4)), (eight, utc(2026, 5, 9)))  # 5 days: too soon
        phq9((fourteen, utc(2026, 5, 5)), (eight, utc(2026, 6, 14)))  # 40 days: improved, crossed below
        # PCL-5, the first two straddling the boundary (their first result expired): 45 → 25 after 20 days,
        # too soon; 45 → 25 after 40 days, improved and crossed below. Then the same from series rows.
        for first, days in ((utc(2026, 5, 3), 20), (utc(2026, 5, 3), 40), (utc(2026, 5, 6), 20),
                            (utc(2026, 5, 6), 40)):
            expired = first.day == 3
            start = store(answers=[4] * 15 + [0] * 5, taken_at=utc(2026, 5, 1)) if expired else None
            head = store(answers=[3] * 15 + [0] * 5, taken_at=first,
                         **({"previous_id": start.id} if start else {}))
            store(answers=[2] * 12 + [1] + [0] * 7, taken_at=first + timedelta(days=days), previous_id=head.id)
    assert_series_exact(app)
    with app.app_context():
        every_clinic = Scope(tuple(_db.session.scalars(sa.select(Clinic.id))))

        def figures(scope):
            return [(row.instrument.id, row.month, row.series, row.improved, row.worsened, row.crossed_below,
                     row.too_soon, row.median_first, row.median_latest) for row in outcome_rows(scope)]

        from_rows, from_results = figures(Scope(None)), figures(every_clinic)
    assert from_rows == from_results == [("pcl5", "2026-05", 4, 2, 0, 2, 2, 45, 25),
                                         ("phq9", "2026-05", 2, 1, 0, 1, 1, 14, 8)]


def test_stats_rebuild_recomputes_the_series_rows(app, runner):
    """After a restore with triggers off or a hand edit, `stats rebuild` recomputes the series rows too."""
    chain(app, [50, 40, 30])
    chain(app, [20, 35], start=(2026, 4, 1))
    expected = assert_series_exact(app)
    with app.app_context():
        _db.session.execute(sa.text("DELETE FROM screening_series WHERE series_id = "
                                    "(SELECT min(series_id) FROM screening_series)"))
        _db.session.execute(sa.text("UPDATE screening_series SET results = results + 5"))
        _db.session.commit()
    assert series_in_table(app) != expected
    result = runner.invoke(args=["stats", "rebuild"])
    assert result.exit_code == 0, result.output
    assert f"Rebuilt {len(expected)} series." in result.output
    assert series_in_table(app) == expected
