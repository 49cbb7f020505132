"""The ITQ on the clinician side: the queue, the result detail, statistics, CSV and FHIR exports."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest
from fhir.resources.R4B.bundle import Bundle

from app.clinician.exports import CSV_HEADER
from app.screening.instruments.itq import ITQ
from tests.clinician_support import WORKSPACE_FIXTURES, ref, store

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)

CPTSD = [3] * 18
PTSD = [2, 0, 0, 3, 2, 0, 4, 0, 0] + [1] * 9
NONE = [1] * 18


def test_queue_lists_itq_results_and_counts_meeting_criteria_as_at_or_above(signed_in):
    rows = [store("itq", answers=CPTSD), store("itq", answers=NONE)]
    page = signed_in.get("/clinician/?instrument=itq&cutoff=yes").get_data(as_text=True)
    assert ref(rows[0]) in page and ref(rows[1]) not in page
    page = signed_in.get("/clinician/?instrument=itq&cutoff=no").get_data(as_text=True)
    assert ref(rows[1]) in page and ref(rows[0]) not in page


def status_cells(body: str) -> dict[str, str]:
    """Each queue row's status cell, text only, by the row's displayed code."""
    rows = re.findall(r'<tr[^>]*>\s*<td><a class="mono"[^>]*>(R-[0-9A-Z-]+)</a>.*?</td>.*?</td>.*?</td>'
                      r'\s*<td[^>]*>(.*?)</td>', body, re.S)
    return {code: " ".join(re.sub(r"<[^>]+>", " ", cell).split()) for code, cell in rows}


@pytest.mark.parametrize("language, expected", [
    ("en", {"cptsd": "Meets criteria: complex PTSD", "ptsd": "Meets criteria: PTSD", "none": "Criteria not met",
            "pcl5": "At or above cut-off"}),
    ("es", {"cptsd": "Cumple criterios: TEPT complejo", "ptsd": "Cumple criterios: TEPT",
            "none": "No cumple criterios", "pcl5": "En el punto de corte o por encima"}),
])
def test_queue_says_which_itq_pattern_a_result_meets_not_a_cut_off_it_has_none_of(signed_in, language, expected):
    rows = {"cptsd": store("itq", answers=CPTSD), "ptsd": store("itq", answers=PTSD),
            "none": store("itq", answers=NONE), "pcl5": store(answers=[2] * 15 + [0] + [2] * 4)}
    signed_in.set_cookie("lang", language)
    cells = status_cells(signed_in.get("/clinician/").get_data(as_text=True))
    for name, row in rows.items():
        assert cells[ref(row)].startswith(expected[name]), (name, cells[ref(row)])
    assert all("cut-off" not in cells[ref(rows[name])] for name in ("cptsd", "ptsd", "none"))


def test_result_detail_shows_both_cluster_sets_and_the_criteria(signed_in):
    row = store("itq", answers=PTSD, when="gt20y")
    response = signed_in.get(f"/clinician/results/{ref(row)}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "meets the ITQ criteria for PTSD" in body and "out of 24" in body
    assert "cut-off" not in body.split("Review")[0].lower()
    for item in ITQ.items:
        assert item.text in body
    assert "Affective dysregulation" in body and "Disturbances in relationships" in body
    assert "PTSD criteria met" in body and "DSO criteria not met" in body
    assert "more than 20 years ago" in body


def test_statistics_page_includes_the_itq(signed_in):
    store("itq", answers=CPTSD)
    store("itq", answers=NONE)
    response = signed_in.get("/clinician/stats?instrument=itq")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "ITQ: distribution of totals" in page and "Sense of current threat" in page
    assert "The ITQ has no cut-off: its results count as at or above when they meet its criteria" in page


def test_csv_has_the_itq_scores_in_its_own_columns(signed_in):
    row = store("itq", answers=CPTSD)
    store(answers=[2] * 20)
    reader = csv.DictReader(io.StringIO(signed_in.get("/clinician/export.csv").get_data(as_text=True)))
    assert reader.fieldnames == CSV_HEADER
    by_code = {line["case_reference"]: line for line in reader}
    itq = by_code[ref(row)]
    assert [itq[f"q{n}"] for n in range(1, 21)] == ["3"] * 18 + ["", ""]
    assert ((itq["total"], itq["dso_total"], itq["icd11_pattern"], itq["at_or_above_cutoff"])
            == ("18", "18", "cptsd", "true"))
    assert (itq["ptsd_criteria_met"], itq["dso_criteria_met"], itq["affective_dysregulation"]) == ("true", "true", "6")
    pcl5 = next(line for code, line in by_code.items() if code != ref(row))
    assert all(pcl5[column] == "" for column in ("dso_total", "icd11_pattern", "ptsd_criteria_met"))


def test_fhir_bundle_with_an_itq_result_validates(signed_in):
    store("itq", answers=PTSD)
    document = json.loads(signed_in.get("/clinician/export.fhir.json").get_data(as_text=True))
    Bundle.model_validate(document)
    [entry] = document["entry"]
    links = {item["linkId"] for item in entry["resource"]["item"][1]["item"]}
    assert {"total", "dso-total", "ptsd-criteria-met", "dso-criteria-met", "diagnosis"} <= links
