"""One result per submission: the form's one-time value, bound to what was sent, names the stored row."""
from __future__ import annotations

import hashlib
import json
import re
import secrets

from ..models import Clinic, Screening
from .scoring import ScreeningResult

# The hidden field that carries the one-time value. The questionnaire's script fills it when the form
# is first sent (so the blank form stays one cached copy for everyone); the result page's "Keep this
# result" form carries one made by the server. Without it nothing is stored straight away: the result
# page offers to keep it instead (see docs/person-pages.md).
FIELD = "submission"
ONE_TIME_VALUE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_one_time_value() -> str:
    """A fresh random value for a form the server renders for one reader (the result page's Keep form)."""
    return secrets.token_urlsafe(18)


def submission_key(one_time_value: object, result: ScreeningResult, previous: Screening | None,
                   clinic: Clinic | None) -> str | None:
    """A digest of the one-time value and everything the submission stores; None without a usable value.

    Bound to the content, so a form changed after Back (same value, other answers) is a new result, and
    a value seen by someone else cannot fetch a result whose answers they do not also send."""
    if not isinstance(one_time_value, str) or not ONE_TIME_VALUE.fullmatch(one_time_value):
        return None
    content = {
        "once": one_time_value,
        "instrument": result.instrument.id,
        "exposure": result.exposure,
        "answers": [int(value) for value in result.answers],
        "when": result.when,
        "previous": previous.id if previous is not None else None,
        "clinic": clinic.id if clinic is not None else None,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()
