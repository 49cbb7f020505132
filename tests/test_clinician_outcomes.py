"""Outcomes against hand-computed series (improved, worsened, crossed the cut-off, too short), the CSV,
and `?clinic=` on every clinician page and export: an admin filtering sees only that clinic."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest

from app.extensions import db as _db
from app.models import Screening, utcnow
from app.screening.instruments import PCL5
from tests.clinician_support import WORKSPACE_FIXTURES, clinic_named, store, utc
from tests.conftest import in_app_context

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)


def pcl5(total: int) -> list[int]:
    """Twenty PCL-5 answers adding up to `total`."""
    answers = [total // 20] * 20
    for index in range(total % 20):
        answers[index] += 1
    return answers


def series(clinic, *points):
    """A series of PCL-5 results (total, taken_at) linked through their previous results."""
    previous = None
    rows = []
    for total, when in points:
        row = store(answers=pcl5(total), taken_at=when, clinic=clinic,
                    **({"previous_id": previous.id} if previous else {}))
        rows.append(row)
        previous = row
    return rows


@pytest.fixture
def outcomes_data(app):
    """Home Clinic, series begun in January 2026:
      A 60 → 40 → 20   improved (−40 ≥ 18), crossed below 33
      B 20 → 40        worsened (+20)
      C 40 → 30        neither (−10), crossed below 33
      D 80             too short: left out
    Other Clinic, begun in February 2026:
      E 40 → 60 → 22   improved (−18: exactly the reliable change), crossed below 33
    and PC-PTSD-5 retakes (no change rule: no outcome rows)."""
    clinic_named()
    clinic_named("Other Clinic")
    a = series("Home Clinic", (60, utc(2026, 1, 5)), (40, utc(2026, 2, 5)), (20, utc(2026, 3, 5)))
    b = series("Home Clinic", (20, utc(2026, 1, 10)), (40, utc(2026, 2, 10)))
    series("Home Clinic", (40, utc(2026, 1, 20)), (30, utc(2026, 2, 20)))
    series("Home Clinic", (80, utc(2026, 1, 25)))
    series("Other Clinic", (40, utc(2026, 2, 3)), (60, utc(2026, 3, 3)), (22, utc(2026, 4, 3)))
    first = store("pcptsd5", taken_at=utc(2026, 1, 6))
    store("pcptsd5", taken_at=utc(2026, 2, 6), previous_id=first.id)
    return {"A": a, "B": b}


HOME = ["home-clinic", "pcl5", "2026-01", "3", "40", "30", "1", "1", "2", "18", "33", "0"]
OTHER = ["other-clinic", "pcl5", "2026-02", "1", "40", "22", "1", "0", "1", "18", "33", "0"]


@in_app_context
def mark_reviewed(result_id: int) -> None:
    row = _db.session.get(Screening, result_id)
    row.reviewed, row.reviewed_at = True, utcnow()
    _db.session.commit()


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_outcome_figures_match_the_hand_computed_series(outcomes_data, admin_client):
    rows = csv_rows(admin_client.get("/clinician/outcomes.csv"))
    assert rows[0] == ["clinic", "instrument", "month", "series", "median_first", "median_latest",
                       "improved_reliably", "worsened_reliably", "crossed_below_cutoff", "reliable_change", "cutoff",
                       "too_soon_to_compare"]
    assert rows[1:] == [HOME, OTHER]
    assert PCL5.change_rule is not None and rows[1][9] == str(PCL5.change_rule.reliable)


def test_the_outcomes_page_shows_the_rows_a_chart_over_time_and_what_it_cannot_show(outcomes_data, admin_client):
    body = admin_client.get("/clinician/outcomes").get_data(as_text=True)
    assert "no control group" in body and "self-selected" in body and "anonymous" in body
    assert re.search(r'<th scope="row">2026-01</th>\s*<td class="num">3</td>\s*<td class="num">40</td>\s*'
                     r'<td class="num">30</td>\s*<td class="num">1</td>\s*<td class="num">1</td>\s*'
                     r'<td class="num">2</td>', body)
    svg = body[body.index('<svg class="chart"'):body.index("</svg>")]
    assert svg.count('<rect class="chart-bar"') == 2  # January and February, one bar a month
    assert 'id="outcomes-pcl5"' in body and 'id="outcomes-pcptsd5"' not in body  # no change rule, no rows
    assert 'href="/clinician/outcomes.csv"' in body


def test_a_clinician_sees_only_their_clinics_outcomes(outcomes_data, signed_in):
    assert csv_rows(signed_in.get("/clinician/outcomes.csv"))[1:] == [HOME]
    refused = signed_in.get("/clinician/outcomes?clinic=other-clinic")
    assert refused.status_code == 400 and "Choose a clinic from the list." in refused.get_data(as_text=True)


def test_an_admin_filtering_by_clinic_sees_only_that_clinic_everywhere(outcomes_data, admin_client, app):
    assert csv_rows(admin_client.get("/clinician/outcomes.csv?clinic=other-clinic"))[1:] == [OTHER]
    outcome_page = admin_client.get("/clinician/outcomes?clinic=other-clinic").get_data(as_text=True)
    assert "2026-02" in outcome_page and ">2026-01<" not in outcome_page
    queue = admin_client.get("/clinician/?clinic=other-clinic").get_data(as_text=True)
    # Series E, three results stored as retakes of each other: one queue row.
    assert len(re.findall(r'href="/clinician/results/R-[0-9A-Z]{3}-[0-9A-Z]{4}"', queue)) == 1
    assert 'href="/clinician/export.csv?clinic=other-clinic"' in queue
    stats = admin_client.get("/clinician/stats?clinic=other-clinic").get_data(as_text=True)
    assert "3 results match." in stats
    export = csv_rows(admin_client.get("/clinician/export.csv?clinic=other-clinic"))
    assert len(export) == 4
    bundle = json.loads(admin_client.get("/clinician/export.fhir.json?clinic=other-clinic").get_data(as_text=True))
    assert len(bundle["entry"]) == 3
    everything = admin_client.get("/clinician/stats").get_data(as_text=True)
    assert "13 results match." in everything


def phq9_series(*points):
    """A series of PHQ-9 results (answers, taken_at) at the home clinic, linked as retakes."""
    previous = None
    for answers, when in points:
        previous = store("phq9", answers=answers, taken_at=when,
                         **({"previous_id": previous.id} if previous else {}))


PHQ9_14, PHQ9_8 = [2] * 7 + [0, 0], [1] * 8 + [0]  # totals 14 (at or above the cut-off 10) and 8; item 9 at 0


@pytest.fixture
def too_soon_data(app):
    """Series retaken within the instrument's time frame (PHQ-9 14 days, PCL-5 30) and the same falls
    40 days apart, begun in different months:
      May 2026  PHQ-9 14 → 8 after 5 days, PCL-5 45 → 25 after 20 days: too soon to compare
      June 2026 PHQ-9 14 → 8 after 40 days, PCL-5 45 → 25 after 40 days: improved, crossed below
    (falls of 6 ≥ the PHQ-9's 5 and 20 ≥ the PCL-5's 18, from at or above the cut-off to below)."""
    clinic_named()
    phq9_series((PHQ9_14, utc(2026, 5, 4)), (PHQ9_8, utc(2026, 5, 9)))
    series("Home Clinic", (45, utc(2026, 5, 6)), (25, utc(2026, 5, 26)))
    phq9_series((PHQ9_14, utc(2026, 6, 2)), (PHQ9_8, utc(2026, 7, 12)))
    series("Home Clinic", (45, utc(2026, 6, 3)), (25, utc(2026, 7, 13)))


def test_a_series_retaken_within_the_time_frame_counts_as_too_soon_not_improved(too_soon_data, admin_client,
                                                                                signed_in):
    too_soon = [["home-clinic", "pcl5", "2026-05", "1", "45", "25", "0", "0", "0", "18", "33", "1"],
                ["home-clinic", "pcl5", "2026-06", "1", "45", "25", "1", "0", "1", "18", "33", "0"],
                ["home-clinic", "phq9", "2026-05", "1", "14", "8", "0", "0", "0", "5", "10", "1"],
                ["home-clinic", "phq9", "2026-06", "1", "14", "8", "1", "0", "1", "5", "10", "0"]]
    # A clinic's reader (from the results) and everyone's (from the screening_series rows) agree.
    assert csv_rows(signed_in.get("/clinician/outcomes.csv"))[1:] == too_soon
    assert csv_rows(admin_client.get("/clinician/outcomes.csv"))[1:] == too_soon
    assert csv_rows(admin_client.get("/clinician/outcomes.csv?clinic=home-clinic"))[1:] == too_soon
    body = signed_in.get("/clinician/outcomes").get_data(as_text=True)
    assert "Retaken too soon to compare</th>" in body
    assert "the latest result is less than 14 days after the first" in body
    assert "the latest result is less than 30 days after the first" in body
    assert re.search(r'<th scope="row">2026-05</th>\s*<td class="num">1</td>\s*<td class="num">14</td>\s*'
                     r'<td class="num">8</td>\s*<td class="num">0</td>\s*<td class="num">0</td>\s*'
                     r'<td class="num">0</td>\s*<td class="num">1</td>', body)
    spanish = signed_in.get("/clinician/outcomes", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Repetidas demasiado pronto para comparar</th>" in spanish
    assert "menos de 14 días después del primero" in spanish


def test_exactly_the_time_frame_apart_is_compared_as_on_the_result_pages(app, admin_client, signed_in):
    """windows_overlap: less than the time frame apart overlaps; exactly the time frame does not."""
    clinic_named()
    phq9_series((PHQ9_14, utc(2026, 5, 4, 10)), (PHQ9_8, utc(2026, 5, 18, 10)))  # 14 days: compared
    phq9_series((PHQ9_14, utc(2026, 6, 4, 10)), (PHQ9_8, utc(2026, 6, 18, 9, 59, 59)))  # a second less
    series("Home Clinic", (45, utc(2026, 5, 6, 8, 30)), (25, utc(2026, 6, 5, 8, 30)))  # 30 days: compared
    for reader in (signed_in, admin_client):
        rows = csv_rows(reader.get("/clinician/outcomes.csv"))[1:]
        assert [(row[1], row[2], row[3], row[6], row[-1]) for row in rows] == [
            ("pcl5", "2026-05", "1", "1", "0"), ("phq9", "2026-05", "1", "1", "0"),
            ("phq9", "2026-06", "1", "0", "1")]


@pytest.mark.parametrize("path", ["/clinician/", "/clinician/stats", "/clinician/export.csv",
                                  "/clinician/export.fhir.json", "/clinician/outcomes", "/clinician/outcomes.csv"])
@pytest.mark.parametrize("clinic", ["no-such-clinic", "Other Clinic", "x" * 81])
def test_an_unknown_or_unreadable_clinic_is_a_clear_400(outcomes_data, admin_client, path, clinic):
    response = admin_client.get(path, query_string={"clinic": clinic})
    assert response.status_code == 400
    assert "Choose a clinic from the list." in response.get_data(as_text=True)


def test_the_clinic_filter_is_offered_only_to_readers_of_several_clinics(outcomes_data, signed_in, admin_client):
    assert 'name="clinic"' in admin_client.get("/clinician/").get_data(as_text=True)
    assert 'id="f-clinic"' not in signed_in.get("/clinician/").get_data(as_text=True)
    assert signed_in.get("/clinician/?clinic=home-clinic").status_code == 200  # one's own: allowed


def test_statistics_count_people_beside_results_and_the_backlog_counts_series(outcomes_data, admin_client,
                                                                                signed_in):
    # Home: 8 PCL-5 results in 4 series (A, B, C, D) and 2 PC-PTSD-5 results in 1 series.
    body = signed_in.get("/clinician/stats").get_data(as_text=True)
    assert "10 results match." in body and "They come from 5 people (series of retakes)." in body
    assert re.search(r'<th scope="row">PCL-5</th>\s*<td class="num">8</td>\s*<td class="num">4</td>', body)
    assert re.search(r"<dt>Waiting for review</dt><dd>10</dd>", body)
    assert re.search(r"<dt>People waiting \(series\)</dt><dd>5</dd>", body)
    # Every result of series B reviewed: four series wait; one result of series A too: still four.
    for row in (*outcomes_data["B"], outcomes_data["A"][0]):
        mark_reviewed(row.id)
    body = signed_in.get("/clinician/stats").get_data(as_text=True)
    assert re.search(r"<dt>Waiting for review</dt><dd>7</dd>", body)
    assert re.search(r"<dt>People waiting \(series\)</dt><dd>4</dd>", body)
    pcl5_only = signed_in.get("/clinician/stats?instrument=pcl5").get_data(as_text=True)
    assert re.search(r"<dt>People waiting \(series\)</dt><dd>3</dd>", pcl5_only)
    everything = admin_client.get("/clinician/stats").get_data(as_text=True)
    assert "They come from 6 people (series of retakes)." in everything
