"""Each questionnaire owns its knowledge: no code outside app/screening/instruments/ asks which one it is."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.screening.instruments import INSTRUMENTS

APP = Path(__file__).resolve().parent.parent / "app"


def identity_pattern(ids) -> re.Pattern:
    """Comparisons with an instrument's id or identity: a quoted id next to ==/!=, in a literal tuple,
    list or set, as a dict key or subscript; `is`/`is not` or ==/!= with an instrument's constant or its `.id`."""
    quoted = "|".join(re.escape(i) for i in ids)
    constants = "|".join(re.escape(i.upper()) for i in ids)
    literal = rf"""["'](?:{quoted})["']"""
    forms = [
        rf"(?:==|!=)\s*{literal}", rf"{literal}\s*(?:==|!=)",
        rf"\bin\s*[(\[{{][^)\]}}\n]*{literal}",
        rf"{literal}\s*:(?!\S)", rf"\[\s*{literal}\s*\]",
        rf"\bis\s+(?:not\s+)?(?:{constants})\b", rf"(?:==|!=)\s*(?:{constants})(?:\.id)?\b",
        rf"\b(?:{constants})(?:\.id)?\s*(?:==|!=)",
    ]
    return re.compile("|".join(f"(?:{form})" for form in forms))


PATTERN = identity_pattern(INSTRUMENTS)


@pytest.mark.parametrize("line", [
    'if instrument.id == "pcl5":',
    "{% if instrument.id == 'itq' %}",
    "{%- elif instrument.id != \"pcptsd5\" -%}",
    'if "itq" == row.instrument:',
    "if instrument is PCL5:",
    "if INSTRUMENTS[x] is not PCL5:",
    "marker = 1 if summary.instrument_id == PCL5.id else None",
    "if row.instrument != ITQ.id:",
    'if instrument.id in ("pcl5", "itq"):',
    "{% if instrument.id in ['itq'] %}",
    'FIELDS = {"pcl5": {"answers"}}',
    'extra = EXTRAS["itq"]',
])
def test_the_pattern_finds_a_comparison_with_an_instrument(line):
    assert PATTERN.search(line), line


@pytest.mark.parametrize("line", [
    "if row.instrument != instrument.id:",  # two results of the same instrument
    "if instrument.second_clusters:",
    '"""The filters as one line, e.g. `instrument=pcl5 from=2026-01-01`."""',
    "url_for('screening.form', instrument_id='pcl5')",
    "instrument = INSTRUMENTS[row.instrument]",
])
def test_the_pattern_leaves_questions_to_the_instrument_alone(line):
    assert not PATTERN.search(line), line


def comparisons_under(root: Path) -> list[str]:
    """Every line of Python or HTML under `root`, outside its screening/instruments/, that compares with an
    instrument's id or identity."""
    own = root / "screening" / "instruments"
    found = []
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.html")]):
        if own in path.parents:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if PATTERN.search(line):
                found.append(f"{path.relative_to(root.parent)}:{number}: {line.strip()}")
    return found


def test_no_code_outside_the_instruments_asks_which_instrument_it_is():
    found = comparisons_under(APP)
    assert not found, "ask the instrument instead:\n" + "\n".join(found)


def test_a_planted_comparison_is_found_and_the_instruments_own_are_not(tmp_path):
    root = tmp_path / "app"
    (root / "templates").mkdir(parents=True)
    (root / "screening" / "instruments").mkdir(parents=True)
    (root / "templates" / "planted.html").write_text('<p>{% if instrument.id == "pcl5" %}x{% endif %}</p>\n')
    (root / "screening" / "instruments" / "own.py").write_text('if instrument is PCL5:\n    pass\n')
    assert comparisons_under(root) == [
        'app/templates/planted.html:1: <p>{% if instrument.id == "pcl5" %}x{% endif %}</p>']
