"""Statistics: SQL aggregates (identical on SQLite and PostgreSQL), SVG charts with data tables."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from app.clinician.filters import Filters, Scope
from app.clinician.statistics import instrument_summaries, weekly_counts
from app.extensions import db as _db
from tests.clinician_support import WORKSPACE_FIXTURES, store, utc

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)


@pytest.mark.parametrize("taken_at, monday", [
    (utc(2026, 1, 5, 0, 0, 1), date(2026, 1, 5)),  # a Monday just after midnight UTC
    (utc(2026, 1, 11, 23, 59, 59), date(2026, 1, 5)),  # the Sunday that ends that week
    (utc(2026, 1, 12), date(2026, 1, 12)),
    (utc(2025, 12, 31, 12), date(2025, 12, 29)),  # a week across the new year
    (utc(2024, 2, 29, 6), date(2024, 2, 26)),
])
def test_weeks_start_on_monday_utc(app, taken_at, monday):
    store(taken_at=taken_at)
    with app.app_context():
        assert weekly_counts(Filters(), Scope(None)) == [(monday, 1)]


def test_results_per_week_fill_empty_weeks_and_follow_filters(app):
    for when in (utc(2026, 1, 5, 1), utc(2026, 1, 11, 23)):
        store(taken_at=when)
    store("pcptsd5", taken_at=utc(2026, 1, 13))
    store(taken_at=utc(2026, 1, 27))
    with app.app_context():
        assert weekly_counts(Filters(), Scope(None)) == [
            (date(2026, 1, 5), 2), (date(2026, 1, 12), 1), (date(2026, 1, 19), 0), (date(2026, 1, 26), 1)]
        assert weekly_counts(Filters(instrument="pcptsd5"), Scope(None)) == [(date(2026, 1, 12), 1)]
        assert weekly_counts(Filters(instrument="pcptsd5", date_to=date(2026, 1, 12)), Scope(None)) == []


def test_distribution_of_totals_in_bands(app):
    for total in (0, 4, 5, 79, 80):
        store(answers=[4] * (total // 4) + [total % 4] + [0] * (19 - total // 4) if total < 80 else [4] * 20)
    for yes in (0, 3, 5):
        store("pcptsd5", answers=[True] * yes + [False] * (5 - yes))
    store("pcptsd5", answers=[], exposure=False)
    with app.app_context():
        pcl5_summary, pcptsd5_summary, _itq, _phq9 = instrument_summaries(Filters(), Scope(None))
    pcl5 = pcl5_summary.distribution()
    assert len(pcl5) == 16 and pcl5[0] == ("0–4", 2) and pcl5[1] == ("5–9", 1) and pcl5[-1] == ("75–80", 2)
    assert sum(count for _band, count in pcl5) == 5
    assert pcptsd5_summary.distribution() == [("0", 2), ("1", 0), ("2", 0), ("3", 1), ("4", 0), ("5", 1)]


def test_share_at_or_above_and_mean_cluster_profile(app):
    rows = [store(answers=[4] * 20), store(answers=[1] * 20), store(answers=[2] * 20),
            store("pcptsd5", answers=[True, True, True, False, False]),
            store("itq", answers=[3] * 18), store("itq", answers=[1] * 18)]
    with app.app_context():
        pcl5, pcptsd5, itq, _phq9 = instrument_summaries(Filters(), Scope(None))
    # The ITQ's "at or above" is "meets the PTSD or complex PTSD criteria"; its totals run 0–24.
    assert (itq.count, itq.at_or_above, itq.totals) == (2, 1, {18: 1, 6: 1})
    assert len(itq.distribution()) == 25
    assert (pcl5.instrument_id, pcl5.count, pcl5.at_or_above) == ("pcl5", 3, 2)
    assert pcl5.share == pytest.approx(2 / 3)
    for cluster in ("reexperiencing", "avoidance", "arousal"):
        assert pcl5.cluster_means[cluster] == pytest.approx(sum(getattr(r, cluster) for r in rows[:3]) / 3)
    assert (pcptsd5.count, pcptsd5.at_or_above, pcptsd5.share) == (1, 1, 1.0)
    assert pcptsd5.cluster_means == {"reexperiencing": 1.0, "avoidance": 1.0, "arousal": 1.0}
    with app.app_context():
        [only] = instrument_summaries(Filters(cutoff="no"), Scope(None))[:1]
        empty = instrument_summaries(Filters(instrument="pcptsd5", reviewed="yes"), Scope(None))
    assert (only.count, only.at_or_above) == (1, 0)
    assert [(s.instrument_id, s.count, s.share) for s in empty] == [("pcptsd5", 0, None)]


def page_statements(client, url: str) -> list[str]:
    """The SQL that one request sends, in order."""
    statements = []
    with client.application.app_context():
        engine = _db.engine

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        response = client.get(url)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    assert response.status_code == 200
    return statements


def counts_people(statement: str) -> bool:
    return "series_start_id" in statement or "screening_series" in statement


def without_people_counts(statements: list[str]) -> tuple[list[str], list[str]]:
    """(the statistics' other statements, those that count series: people and people waiting)."""
    return [s for s in statements if not counts_people(s)], [s for s in statements if counts_people(s)]


@pytest.mark.parametrize("query", ["", "?instrument=pcl5&from=2026-01-01&to=2026-12-31&cutoff=yes&reviewed=no"],
                         ids=["unfiltered", "filtered"])
def test_everyones_statistics_aggregate_the_daily_counts_and_never_read_the_results(admin_client, query):
    for answers in ([4] * 20, [1] * 20):
        store(answers=answers)
    store("pcptsd5")
    statements, people = without_people_counts(page_statements(admin_client, f"/clinician/stats{query}"))
    on_counts = [s for s in statements if "FROM screening_daily_counts" in s]
    assert len(on_counts) == 3 and sum("GROUP BY" in s for s in on_counts) == 2  # and the backlog
    # The results themselves are read only for the flagged count: the few with a safety item, by index.
    [flagged] = [s for s in statements if "FROM screenings" in s]
    assert "screenings.triage_tier = " in flagged and "screenings.answers" not in flagged
    if query:  # a cut-off or review filter selects single results of a series: counted from the results
        assert len(people) == 2 and not any("screening_series" in s for s in people)
    else:  # people and people waiting from the series rows, and the few series that straddle the dates
        assert len(people) == 4 and all("FROM screening_series" in s for s in people), "\n\n".join(people)


def test_a_clinics_statistics_aggregate_its_results_in_sql_and_never_load_the_answers(signed_in):
    store(answers=[4] * 20)
    store(answers=[1] * 20, clinic="Other Clinic")
    statements, people = without_people_counts(page_statements(signed_in, "/clinician/stats"))
    on_screenings = [s for s in statements if "FROM screenings" in s]
    assert len(on_screenings) == 4 and all("screenings.clinic_id = " in s for s in on_screenings)  # and flagged
    assert len(people) == 2 and all("screenings.clinic_id = " in s for s in people)
    assert not any("screenings.answers" in s for s in statements)


def test_a_code_search_aggregates_the_matching_results_in_sql_and_never_loads_the_answers(signed_in):
    row = store(answers=[4] * 20)
    store(answers=[1] * 20)
    statements, _people = without_people_counts(
        page_statements(signed_in, f"/clinician/stats?code={row.case_reference[:4]}"))
    on_screenings = [s for s in statements if "FROM screenings" in s]
    assert len(on_screenings) == 4 and sum("GROUP BY" in s for s in on_screenings) == 2  # and the backlog
    assert not any("screenings.answers" in s for s in statements)
    assert not any("FROM screening_daily_counts" in s for s in statements)


def test_the_page_draws_each_chart_with_its_table_and_follows_the_filters(signed_in):
    store(answers=[4] * 20, taken_at=utc(2026, 3, 4))
    store("pcptsd5", taken_at=utc(2026, 3, 5))
    body = signed_in.get("/clinician/stats").get_data(as_text=True)
    assert body.count('<svg class="chart"') == 3  # per week, and one distribution per instrument
    assert "2026-03-02" in body and "75–80" in body and "Results per week" in body
    assert body.count('class="bar-fill"') == 6  # three cluster means for each instrument
    assert "50.0 %" in body or "100.0 %" in body
    filtered = signed_in.get("/clinician/stats?instrument=pcptsd5").get_data(as_text=True)
    assert filtered.count('<svg class="chart"') == 2 and "PCL-5: distribution" not in filtered
    assert "1 result matches." in filtered


def test_the_page_with_nothing_stored(signed_in):
    body = signed_in.get("/clinician/stats").get_data(as_text=True)
    assert "No results match these filters." in body and '<svg class="chart"' not in body
