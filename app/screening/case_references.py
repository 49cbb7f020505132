"""Case references: what the clinician's workspace shows for a result instead of the person's code."""
from __future__ import annotations

import re
import secrets

from ..models import CASE_REFERENCE_LENGTH
from .codes import ALPHABET

# 7 symbols × 5 bits: 35 random bits, unique (a clash is retried). Shorter than a code (12), so the
# person's pages, which take only whole codes, can never open a result by its reference.
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = re.compile(r"[\s\-]+")
_VALID = re.compile(rf"[{ALPHABET}]{{{CASE_REFERENCE_LENGTH}}}")
_PREFIX = re.compile(rf"[{ALPHABET}]{{1,{CASE_REFERENCE_LENGTH}}}")


def new_case_reference() -> str:
    """A fresh reference in its stored form (7 symbols, no dash)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CASE_REFERENCE_LENGTH))


def display(reference: str) -> str:
    """The reference as shown: `R-7KQ-M9XD` (the R says it is a reference, not a person's code)."""
    return f"R-{reference[:3]}-{reference[3:]}"


def normalise(typed: str, prefix: bool = False) -> str | None:
    """The stored form of a typed reference (any case, with or without the R- and dashes), or None; with
    `prefix`, a beginning of one is accepted too."""
    if not isinstance(typed, str) or len(typed) > 32:
        return None
    typed = typed.strip().upper()
    if typed.startswith("R-"):
        typed = typed[2:]
    candidate = _SEPARATORS.sub("", typed)
    if len(candidate) == CASE_REFERENCE_LENGTH + 1 and candidate.startswith("R"):  # R7KQM9XD
        candidate = candidate[1:]
    candidate = candidate.translate(_READ_AS)
    return candidate if (_PREFIX if prefix else _VALID).fullmatch(candidate) else None
