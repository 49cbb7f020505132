"""Strict parsing of the workspace's query values: dates as YYYY-MM-DD in a sane range, pages as ASCII digits."""
from __future__ import annotations

import re
from datetime import date

from flask_babel import gettext as _

# date.fromisoformat also takes 20261128 and 2026-W48-1, and str.isdigit also takes "²" and "٣".
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
PAGE = re.compile(r"[0-9]{1,6}")
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # as app/clinics.slugify makes them
# Results are screenings people took: nothing before the app's instruments, nothing centuries ahead
# (9999-12-31 + one day overflows, and no clinic means it).
EARLIEST = date(2000, 1, 1)
LATEST = date(2199, 12, 31)


class DateOutOfRange(ValueError):
    """A well-formed date outside EARLIEST–LATEST."""


def parse_date(raw: str) -> date:
    """A YYYY-MM-DD date (ASCII digits, a real day, within EARLIEST–LATEST); ValueError otherwise."""
    if not ISO_DATE.fullmatch(raw):
        raise ValueError("not YYYY-MM-DD")
    day = date.fromisoformat(raw)
    if not EARLIEST <= day <= LATEST:
        raise DateOutOfRange(raw)
    return day


def parse_page(raw: str | None) -> int:
    """A page number from the query string (1 to 999,999 in ASCII digits); anything else means page 1."""
    if raw is None or not PAGE.fullmatch(raw):
        return 1
    return max(1, int(raw))


def parse_clinic_slug(raw: str, errors: list[str]) -> str | None:
    """`?clinic=`: a clinic's slug as slugify makes them (whether the reader may see it is the scope's
    question, see filters.scope_for); anything else is reported and left out."""
    if not raw:
        return None
    if len(raw) > 80 or not SLUG.fullmatch(raw):
        errors.append(_("Choose a clinic from the list."))
        return None
    return raw
