"""The result detail: every item with its answer, clusters, DSM-5 rule, retake series with its chart."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.clinician.charts import bar_chart, nice_ceiling, trend_chart
from app.clinician.filters import Scope
from app.clinician.queue import series_for
from app.extensions import db as _db
from app.models import AuditEvent, Clinic, Screening
from app.screening.instruments import PCL5, PCPTSD5
from tests.clinician_support import WORKSPACE_FIXTURES, clinic_named, ref, store, utc

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)

PCL5_ANSWERS = [0, 1, 2, 3, 4] * 4


def test_every_pcl5_item_with_its_wording_and_answer_and_the_dsm5_rule(app, signed_in, clinician):
    row = store(answers=PCL5_ANSWERS)
    response = signed_in.get(f"/clinician/results/{ref(row)}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    labels = {option.score: option.label for option in PCL5.options}
    table = body[body.index('<table class="answers">'):body.index("</table>", body.index('<table class="answers">'))]
    rows = re.findall(r'<td class="num">(\d+)</td>\s*<td>(.*?)</td>\s*<td>.*?</td>\s*<td>(.*?)</td>', table, re.S)
    assert [(int(n), label) for n, _text, label in rows] == [(i + 1, f"{labels[v]} ({v})")
                                                             for i, v in enumerate(PCL5_ANSWERS)]
    for item in PCL5.items:
        assert item.text.replace("'", "&#39;") in body
    assert "DSM-5 clusters and the provisional symptom rule" in body
    assert ("Provisional DSM-5 rule met" in body) is row.dsm5_rule_met
    assert f"{row.total} out of 80" in body
    with app.app_context():
        [event] = _db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "view_result")).all()
        assert (event.clinician_id, event.target) == (clinician.id, ref(row))


@pytest.mark.parametrize("exposure, answers, expected", [
    (True, [True, False, True, False, True], ["Yes", "No", "Yes", "No", "Yes"]),
    (False, [], []),
])
def test_pcptsd5_shows_the_gate_and_each_answer(signed_in, exposure, answers, expected):
    row = store("pcptsd5", answers=answers, exposure=exposure)
    body = signed_in.get(f"/clinician/results/{ref(row)}").get_data(as_text=True)
    assert PCPTSD5.gate in body
    assert re.findall(r"<td>(Yes|No) \([01]\)</td>\s*</tr>", body) == expected
    if not exposure:
        assert "the five questions were not asked" in body
    assert "DSM-5 clusters" not in body


def test_a_single_result_gets_no_one_dot_chart_and_says_so(app, signed_in):
    row = store(answers=PCL5_ANSWERS)
    with app.app_context():
        current = _db.session.get(Screening, row.id)
        assert series_for(current, Scope(None)) == [current]
    body = signed_in.get(f"/clinician/results/{ref(row)}").get_data(as_text=True)
    assert '<svg class="chart"' not in body and "<polyline" not in body
    assert "This is the only result in its series so far, so there is no trend to draw." in body
    assert "None: this is the first result in its series." in body


def test_the_trend_places_results_by_date_with_gaps_to_scale_in_the_clinics_zone(app, signed_in):
    clinic = clinic_named()
    with app.app_context():
        _db.session.get(Clinic, clinic.id).timezone = "Asia/Tokyo"
        _db.session.commit()
    # 30, 60 and 1 days apart; the first is taken late on 31 December in UTC: 1 January in Tokyo.
    first = store(answers=[4] * 20, taken_at=utc(2025, 12, 31, 20))
    second = store(answers=[3] * 20, taken_at=utc(2026, 1, 30, 20), previous_id=first.id)
    third = store(answers=[2] * 20, taken_at=utc(2026, 3, 31, 20), previous_id=second.id)
    fourth = store(answers=[2] * 20, taken_at=utc(2026, 4, 1, 20), previous_id=third.id)
    body = signed_in.get(f"/clinician/results/{ref(fourth)}").get_data(as_text=True)
    svg = body[body.index('<svg class="chart"'):body.index("</svg>", body.index('<svg class="chart"'))]
    xs = [float(x) for x in re.findall(r'<circle class="chart-point" cx="([0-9.]+)"', svg)]
    gaps = [later - earlier for earlier, later in zip(xs, xs[1:], strict=False)]
    assert gaps[1] == pytest.approx(2 * gaps[0], abs=0.2) and gaps[2] == pytest.approx(gaps[0] / 30, abs=0.2)
    labels = re.findall(r'<text class="chart-label"[^>]*>([^<]+)</text>', svg)
    assert labels[0] == "Jan 1, 2026" and labels[-1] == "Apr 2, 2026"  # the clinic's dates, not UTC's
    assert "Mar 31, 2026" not in labels and "Apr 1, 2026" not in labels  # a day apart: no labels on top of each other
    assert "2026-01-01 05:00 JST" in body  # the table beside it, in the same zone


def test_trend_labels_never_overlap_and_end_labels_are_kept():
    chart = trend_chart([(day * 86400.0, f"Jan {day}, 2026", 10) for day in (1, 2, 3, 20, 40, 41)], 80)
    assert chart.labelled[0] and chart.labelled[-1]
    shown = [x for (x, _y, _label, _value), on in zip(chart.points, chart.labelled, strict=True) if on]
    assert all(later - earlier >= 8 * 12 for earlier, later in zip(shown, shown[1:], strict=False))


def test_the_detail_reads_in_the_order_of_the_work(signed_in):
    first = store(answers=[4] * 20, taken_at=utc(2026, 1, 5))
    second = store(answers=[3] * 20, taken_at=utc(2026, 2, 5), previous_id=first.id)
    body = signed_in.get(f"/clinician/results/{ref(second)}").get_data(as_text=True)
    order = [body.index(marker) for marker in (
        "60 out of 80", "At or above the cut-off of 33", "\u221220", "reliable change (18 points or more",
        'id="review-heading"', '<svg class="chart"', 'id="answers-heading"')]
    assert order == sorted(order)


def test_a_series_of_retakes_is_shown_whole_from_any_of_its_results(app, signed_in):
    first = store(answers=[4] * 20, taken_at=utc(2026, 1, 5))
    second = store(answers=[3] * 20, taken_at=utc(2026, 2, 5), previous_id=first.id)
    third = store(answers=[1] * 20, taken_at=utc(2026, 3, 5), previous_id=second.id)
    unrelated = store(answers=[2] * 20)
    with app.app_context():  # the rows in this context's session, where one row is one object
        series = [_db.session.get(Screening, row.id) for row in (first, second, third)]
        for row in series:
            assert series_for(row, Scope(None)) == series
        alone = _db.session.get(Screening, unrelated.id)
        assert series_for(alone, Scope(None)) == [alone]
    body = signed_in.get(f"/clinician/results/{ref(second)}").get_data(as_text=True)
    svg = body[body.index('<svg class="chart"'):body.index("</svg>", body.index('<svg class="chart"'))]
    assert svg.count("<circle") == 3 and "<polyline" in svg
    for row in (first, third):
        assert ref(row) in body


def test_workspace_pages_have_no_inline_style_or_script(signed_in):
    row = store()
    for url in ("/clinician/", f"/clinician/results/{ref(row)}", "/clinician/stats", "/clinician/login"):
        body = signed_in.get(url).get_data(as_text=True)
        assert "style=" not in body and "<script" not in body and " on" + "click=" not in body


@pytest.mark.parametrize("value, expected", [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (480, 500), (2001, 5000)])
def test_axis_maximum_is_a_round_number(value, expected):
    assert nice_ceiling(value) == expected


def test_bar_chart_geometry():
    chart = bar_chart([("a", 0), ("b", 5), ("c", 10)])
    assert [bar.height for bar in chart.bars][0] == 0
    assert chart.bars[2].height == pytest.approx(chart.baseline - 12)  # the tallest reaches the top
    assert chart.bars[1].height == pytest.approx(chart.bars[2].height / 2)
    assert all(bar.y + bar.height == pytest.approx(chart.baseline) for bar in chart.bars)
    assert [tick.value for tick in chart.ticks] == [0, 5, 10]
    many = bar_chart([(str(i), i) for i in range(53)])
    assert sum(bar.show_label for bar in many.bars) <= 12


def test_trend_chart_places_one_point_in_the_middle_and_several_across():
    one = trend_chart([(0.0, "1 Jan", 40)], 80, 33)
    [(x, y, _label, value)] = one.points
    assert x == pytest.approx((one.plot_left + one.plot_right) / 2) and value == 40
    assert y == pytest.approx(one.baseline - (one.baseline - 12) / 2)
    assert one.line_y == pytest.approx(one.baseline - (one.baseline - 12) * 33 / 80)
    three = trend_chart([(0.0, "a", 0), (5.0, "b", 40), (10.0, "c", 80)], 80)
    assert [p[0] for p in three.points] == [three.plot_left, pytest.approx((three.plot_left + three.plot_right) / 2),
                                            three.plot_right]
    assert three.polyline.count(",") == 3 and three.line_y is None
