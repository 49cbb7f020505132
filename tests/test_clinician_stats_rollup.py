"""The daily counts behind the statistics page: kept exact by triggers through every kind of write,
so statistics read from them equal statistics aggregated from the results themselves."""
from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.clinician import statistics
from app.clinician.demo import seed
from app.clinician.filters import Filters, Scope
from app.clinician.statistics import instrument_summaries, weekly_counts
from app.extensions import db as _db
from app.models import AuditEvent, Screening, ScreeningDailyCount, utcnow
from tests.clinician_support import (
    WORKSPACE_FIXTURES,
    counts_from_results,
    counts_in_table,
    csrf,
    reference_of_code,
    store,
    utc,
)
from tests.conftest import kept_code, one_time_value, using_postgres
from tests.results_helpers import pcl5_answers, store_pcl5, store_pcptsd5

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)


@pytest.fixture(autouse=True)
def far_from_utc(app):
    """On PostgreSQL, sessions in a time zone 14 hours ahead of UTC: the UTC day of a result must not
    depend on the connection's TimeZone setting. (SQLite has no such setting.)"""
    if not using_postgres():
        yield
        return

    def set_zone(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'Pacific/Kiritimati'")
        dbapi_connection.commit()

    with app.app_context():
        engine = _db.engine
    sa.event.listen(engine, "connect", set_zone)
    engine.dispose()  # connections opened so far (creating the tables) lack the setting
    yield
    sa.event.remove(engine, "connect", set_zone)
    engine.dispose()


def assert_counts_exact() -> None:
    expected = counts_from_results()
    assert expected, "the scenario left no results: nothing would be compared"
    assert counts_in_table() == expected


def person_form_store(client, answers: list[int]) -> str:
    data = {"store": "yes", "submission": one_time_value(),
            **{f"q{n}": str(v) for n, v in enumerate(answers, start=1)}}
    response = client.post("/screen/pcl5", data=data)
    assert response.status_code == 200 and kept_code(response)
    return kept_code(response)


def person_delete(client, code: str) -> None:
    assert client.post("/results/delete", data={"code": code, "confirm": "yes"}).status_code == 303


def workspace_url(code: str) -> str:
    """The workspace's address of the result with this person's code (by its case reference)."""
    return f"/clinician/results/{reference_of_code(code)}"


def review(client, code: str, note: str = "") -> None:
    url = workspace_url(code)
    token = csrf(client, url)
    assert client.post(f"{url}/review", data={"csrf_token": token, "note": note}).status_code == 303


def unreview(client, code: str) -> None:
    url = workspace_url(code)
    token = csrf(client, url)
    assert client.post(f"{url}/unreview", data={"csrf_token": token}).status_code == 303


def every_kind_of_write(app, signed_in, runner) -> None:
    """Seeded bulk inserts, then each way the app or the database changes results."""
    with app.app_context():
        seed(400, random_seed=8)
    assert_counts_exact()
    person = app.test_client()
    form_codes = [person_form_store(person, pcl5_answers(total)) for total in (5, 33, 70)]
    api_codes = ([store_pcl5(person, total) for total in (10, 40, 40, 79)]
                 + [store_pcptsd5(person, yes) for yes in (1, 4)])
    earlier = store_pcl5(person, 50)
    retake = store_pcl5(person, 30, previous=earlier)
    assert_counts_exact()
    # Reviews move a result between groups; a second review (a new note) changes no counted column.
    for code in (form_codes[0], api_codes[1], retake):
        review(signed_in, code, "seen")
    review(signed_in, retake, "seen again")
    unreview(signed_in, api_codes[1])
    assert_counts_exact()
    person_delete(person, form_codes[1])
    assert person.delete(f"/api/v1/screenings/{api_codes[2]}").status_code == 204
    # The retake's earlier result goes: ON DELETE SET NULL updates the retake, which must count once.
    assert person.delete(f"/api/v1/screenings/{earlier}").status_code == 204
    assert_counts_exact()
    # A result moved to another day (and back across a UTC midnight), and a bulk UPDATE of many rows.
    with app.app_context():
        moved = _db.session.scalar(sa.select(Screening).order_by(Screening.id).limit(1))
        moved.taken_at = utc(2026, 1, 4, 23, 59, 59)
        _db.session.commit()
        moved.taken_at, moved.reviewed = utc(2026, 1, 5), not moved.reviewed
        _db.session.commit()
        _db.session.execute(sa.update(Screening).where(Screening.total < 3).values(reviewed=True))
        _db.session.commit()
    assert_counts_exact()
    assert runner.invoke(args=["purge", "--older-than", "300"]).exit_code == 0
    assert_counts_exact()


def test_every_write_keeps_the_daily_counts_exact(app, admin_client, runner):
    every_kind_of_write(app, admin_client, runner)
    assert 0 not in {value[0] for value in counts_in_table().values()}  # emptied groups are deleted
    with app.app_context():
        for row in _db.session.scalars(sa.select(Screening)):
            _db.session.delete(row)
        _db.session.commit()
    assert counts_in_table() == {}


def filter_table() -> list[Filters]:
    today = utcnow().date()
    ranges = [(None, None), (today - timedelta(days=200), None), (None, today - timedelta(days=30)),
              (today - timedelta(days=90), today - timedelta(days=8)), (date(2026, 1, 5), date(2026, 1, 5))]
    return [Filters(instrument, start, end, cutoff, reviewed)
            for instrument, (start, end), cutoff, reviewed in itertools.product(
                (None, "pcl5", "pcptsd5"), ranges, (None, "yes", "no"), (None, "yes", "no"))]


def test_statistics_from_the_daily_counts_equal_those_from_the_results(app, admin_client, runner, monkeypatch):
    every_kind_of_write(app, admin_client, runner)
    # Results either side of a UTC midnight that one of the date ranges starts and ends on.
    for when in (utc(2026, 1, 4, 23, 59, 59), utc(2026, 1, 5), utc(2026, 1, 5, 23, 59, 59), utc(2026, 1, 6)):
        store(taken_at=when)
    table = filter_table()
    everything = Scope(None)
    assert all(statistics.uses_daily_counts(filters, everything) for filters in table)
    with app.app_context():
        from_counts = [(weekly_counts(filters, everything), instrument_summaries(filters, everything),
                        statistics.backlog(filters, everything)) for filters in table]
        monkeypatch.setattr(statistics, "uses_daily_counts", lambda filters, scope: False)
        from_results = [(weekly_counts(filters, everything), instrument_summaries(filters, everything),
                         statistics.backlog(filters, everything)) for filters in table]
    for filters, counted, aggregated in zip(table, from_counts, from_results, strict=True):
        assert counted == aggregated, filters
    # The comparison saw real figures: most combinations match something, and types are the same.
    assert sum(1 for weeks, _summaries, _backlog in from_counts if weeks) > len(table) // 2
    first_week, first_count = from_counts[0][0][0]
    assert type(first_week) is date and type(first_count) is int
    assert {summary.instrument_id: summary.count for summary in from_counts[0][1]} == {
        "pcl5": sum(v[0] for k, v in counts_from_results().items() if k[1] == "pcl5"),
        "pcptsd5": sum(v[0] for k, v in counts_from_results().items() if k[1] == "pcptsd5"),
        "itq": sum(v[0] for k, v in counts_from_results().items() if k[1] == "itq"),
        "phq9": sum(v[0] for k, v in counts_from_results().items() if k[1] == "phq9")}


def test_a_code_search_counts_the_results_themselves(app):
    row = store(answers=[4] * 20)
    store(answers=[1] * 20)
    filters = Filters(code=row.case_reference)
    with app.app_context():
        _db.session.execute(sa.delete(ScreeningDailyCount))  # the counts cannot be what answers this
        _db.session.commit()
        assert not statistics.uses_daily_counts(filters, Scope(None))
        [pcl5, pcptsd5, _itq, _phq9] = instrument_summaries(filters, Scope(None))
        assert (pcl5.count, pcl5.totals, pcptsd5.count) == (1, {80: 1}, 0)
        assert len(weekly_counts(filters, Scope(None))) == 1


def test_stats_rebuild_recomputes_the_counts_and_is_audited(app, runner):
    with app.app_context():
        seed(50, random_seed=3)
    store(answers=[4] * 20)
    expected = counts_from_results()
    # Damage it as a restore with triggers off or a hand edit could: a lost group, a wrong one, a stray one.
    with app.app_context():
        first = _db.session.scalars(sa.select(ScreeningDailyCount).order_by(ScreeningDailyCount.day)).first()
        _db.session.delete(first)
        _db.session.execute(sa.update(ScreeningDailyCount).where(ScreeningDailyCount.instrument == "pcl5")
                            .values(results=ScreeningDailyCount.results + 7))
        _db.session.add(ScreeningDailyCount(day=date(2001, 1, 1), instrument="pcl5", total=3,
                                            at_or_above_cutoff=False, reviewed=False, results=1,
                                            reexperiencing_sum=1, avoidance_sum=1, arousal_sum=1))
        _db.session.commit()
    assert counts_in_table() != expected
    result = runner.invoke(args=["stats", "rebuild"])
    assert result.exit_code == 0, result.output
    assert counts_in_table() == expected
    assert f"Rebuilt {len(expected)} daily groups from 51 results." in result.output
    with app.app_context():
        [event] = _db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "stats_rebuild"))
        assert event.detail == f"{len(expected)} daily groups from 51 results; 0 series" and event.clinician_id is None
    store(answers=[0] * 20)  # the triggers carry on from the rebuilt counts
    assert_counts_exact()
