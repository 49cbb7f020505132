"""Times shown in a clinic's own time zone, with the zone named, and the checks on zone names."""
from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import sqlalchemy as sa

from ..extensions import db
from ..models import Clinic


def is_zone(name: str) -> bool:
    """An IANA time zone name such as Europe/Madrid (or UTC), as the system's zone database knows it."""
    if not name or name != name.strip() or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return name in _known_zones()


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def zone_names() -> list[str]:
    """Every IANA zone name, sorted, for a clinic's settings."""
    return sorted(_known_zones())


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def in_zone(moment: datetime | None, zone: str | None) -> str:
    """`2026-11-28 09:15 CET`: a stored UTC time in a clinic's zone, with the zone's abbreviation."""
    if moment is None:
        return "—"
    local = moment.astimezone(_zone(zone or "UTC"))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def local_date(moment: datetime, zone: str | None) -> date:
    """The calendar date of a stored UTC time in a clinic's zone (23:30 UTC is the next day in Madrid)."""
    return moment.astimezone(_zone(zone or "UTC")).date()


def clinic_names_and_zones() -> tuple[dict[int, str], dict[int | None, str]]:
    """clinic id → its name, and clinic id → its time zone (a result without a clinic: UTC), in one
    query; a few dozen rows at most."""
    names: dict[int, str] = {}
    zones: dict[int | None, str] = {None: "UTC"}
    for clinic_id, name, zone in db.session.execute(sa.select(Clinic.id, Clinic.name, Clinic.timezone)):
        names[clinic_id], zones[clinic_id] = name, zone
    return names, zones
