"""Anonymous result codes: 60 random bits in Crockford base32, grouped for reading aloud."""
from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 12 symbols × 5 bits = 60 bits from the operating system's CSPRNG
GROUP = 4
# Crockford's decoding rules: I and L read as 1, O as 0; U is never issued.
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = re.compile(r"[\s\-]+")
_VALID = re.compile(rf"[{ALPHABET}]{{{CODE_LENGTH}}}")


def new_code() -> str:
    """A fresh code in its stored form (12 symbols, no dashes)."""
    bits = secrets.randbits(5 * CODE_LENGTH)
    return "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(CODE_LENGTH))


def normalise(typed: str) -> str | None:
    """The stored form of a typed code (any case, dashes or spaces), or None if it cannot be one."""
    if not isinstance(typed, str) or len(typed) > 64:
        return None
    candidate = _SEPARATORS.sub("", typed).upper().translate(_READ_AS)
    return candidate if _VALID.fullmatch(candidate) else None


def display(code: str) -> str:
    """The code as shown to people: `7KQ2-M9XD-4TPA`."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))
