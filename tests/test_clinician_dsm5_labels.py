"""The clinician's PCL-5 page names DSM-5's own clusters with their letters (items 8–14 are D, negative
alterations in cognitions and mood), never the site's grouping with a DSM-5 letter beside it."""
from __future__ import annotations

import re

import pytest

from tests.clinician_support import WORKSPACE_FIXTURES, reference_of_code, store

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)

ANSWERS = [2] * 20
NAMES = {
    "en": {"B": "intrusion", "C": "avoidance", "D": "negative alterations in cognitions and mood",
           "E": "alterations in arousal and reactivity"},
    "es": {"B": "intrusión", "C": "evitación", "D": "alteraciones negativas cognitivas y del estado de ánimo",
           "E": "alteración de la alerta y la reactividad"},
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_each_item_names_its_dsm5_cluster_by_dsm5s_own_name(signed_in, language):
    row = store(answers=ANSWERS)
    body = signed_in.get(f"/clinician/results/{reference_of_code(row.code)}",
                         headers={"Accept-Language": language}).get_data(as_text=True)
    table = body[body.index('<table class="answers">'):body.index("</table>", body.index('<table class="answers">'))]
    cells = re.findall(r'<td class="num">(\d+)</td>\s*<td>.*?</td>\s*<td>(.*?)</td>', table, re.S)
    assert len(cells) == 20
    for number, cell in cells:
        letter = "B" if int(number) <= 5 else "C" if int(number) <= 7 else "D" if int(number) <= 14 else "E"
        assert f"DSM-5 {letter}: {NAMES[language][letter]}" in cell, (number, cell)
    assert "(D)" not in table and "numbing (D)" not in body
    dsm5 = body[body.index('id="dsm5-heading"'):]
    for letter, name in NAMES[language].items():
        assert re.search(rf'<th scope="row">{letter} <span class="small">{re.escape(name)}</span></th>', dsm5)
