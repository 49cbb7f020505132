"""How the workspace names a result (its case reference) and words its safety flags."""
from __future__ import annotations

from flask_babel import gettext as _

from ..models import Screening
from ..screening import case_references
from ..screening.instruments import INSTRUMENTS, SafetyItem


def reference_of(row: Screening) -> str:
    """The result's case reference as shown and linked, e.g. `R-7KQ-M9XD`."""
    return case_references.display(row.case_reference)


def flagged_items(instrument_id: str, stored: str | None) -> list[SafetyItem]:
    """The instrument's safety items named by a stored `safety_items` value ("16", "9,16")."""
    if not stored:
        return []
    numbers = {int(number) for number in stored.split(",")}
    return [item for item in INSTRUMENTS[instrument_id].safety_items if item.number in numbers]


def safety_flags(row: Screening) -> list[str]:
    """Each endorsed safety item in words, e.g. "Safety item: 16 — risk-taking or self-harm"."""
    return [_("Safety item: %(number)s — %(label)s", number=item.number, label=_(item.label))
            for item in flagged_items(row.instrument, row.safety_items)]
