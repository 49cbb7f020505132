"""Clinics: names and slugs, the unguessable link token, the public link and its QR code."""
from __future__ import annotations

import re
import secrets
import unicodedata

import segno
import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import SHORT_CODE_ALPHABET, Clinic, random_short_code
from ..screening.instruments import INSTRUMENTS

# 32 random bytes: 256 bits, far above the 64 the link needs to be unguessable; 43 URL-safe characters.
TOKEN_BYTES = 32
SHORT_CODE_MAX = 10  # what /c/<short> accepts as a short code (the issued ones have SHORT_CODE_LENGTH)


def slugify(name: str) -> str:
    """`Riverside Clinic` → `riverside-clinic`: ASCII letters and digits joined by single dashes."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:80].strip("-")


def unique_slug(name: str) -> str:
    """The name's slug, with -2, -3 … added if another clinic has it already."""
    base = slugify(name) or "clinic"
    taken = set(db.session.scalars(sa.select(Clinic.slug).where(Clinic.slug.startswith(base, autoescape=True))))
    slug, number = base, 2
    while slug in taken:
        suffix = f"-{number}"
        slug, number = base[:80 - len(suffix)] + suffix, number + 1
    return slug


def new_link_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_short_code() -> str:
    """A short code no clinic has (a clash is checked, not merely unlikely)."""
    while True:
        code = random_short_code()
        if db.session.scalar(sa.select(Clinic.id).where(Clinic.short_code == code)) is None:
            return code


def typed_short_code(text: str) -> str | None:
    """What someone typed, as a stored short code (upper case, spaces and dashes dropped); None if it
    cannot be one, so nothing is looked up."""
    code = re.sub(r"[\s-]+", "", text or "").upper()
    if not 0 < len(code) <= SHORT_CODE_MAX or any(char not in SHORT_CODE_ALPHABET for char in code):
        return None
    return code


def grouped_short_code(code: str) -> str:
    """`K7PM3QXR` → `K7PM-3QXR`, easier to read out and type; the dash is optional when typed."""
    return f"{code[:4]}-{code[4:]}" if len(code) > 5 else code


def create_clinic(name: str, timezone: str = "UTC") -> Clinic:
    """A new clinic with a fresh link (the caller checks the zone and commits)."""
    clinic = Clinic(name=name.strip(), slug=unique_slug(name), timezone=timezone, link_token=new_link_token(),
                    short_code=new_short_code())
    db.session.add(clinic)
    return clinic


def rotate_link(clinic: Clinic) -> None:
    """A new token and short code: the old link and code stop working at once (the caller commits)."""
    clinic.link_token = new_link_token()
    clinic.short_code = new_short_code()


def offered_instruments(clinic: Clinic) -> list[str]:
    """The ids of the questionnaires the clinic's link offers, in the clinic's order (unknown ids are
    skipped; none chosen: every questionnaire the menu offers, the PTSD ones)."""
    chosen = [name for name in (clinic.instruments or "").split(",") if name in INSTRUMENTS]
    return chosen or [name for name, instrument in INSTRUMENTS.items() if instrument.menu_order is not None]


def public_link(clinic: Clinic) -> tuple[str, bool]:
    """The clinic's link and whether it is a whole URL: PUBLIC_BASE_URL and the path, never built from a
    request's Host header; without the setting, only the path (the caller says so)."""
    # Built from the URL map rather than url_for, which needs a request (the commands have none).
    adapter = current_app.url_map.bind("", script_name=current_app.config.get("APPLICATION_ROOT") or "/")
    path = adapter.build("clinic_link.landing", {"token": clinic.link_token})
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return (base + path, True) if base else (path, False)


def short_link(clinic: Clinic) -> tuple[str, bool]:
    """The typed form of the clinic's link: as public_link, with the grouped short code."""
    link, whole = public_link(clinic)
    return link[: -len(clinic.link_token)] + grouped_short_code(clinic.short_code), whole


def qr_svg(text: str) -> str:
    """The text as an inline SVG QR code (error correction M, a quiet zone of 4 modules), made here."""
    code = segno.make(text, error="m", micro=False)
    svg = code.svg_inline(scale=8, border=4, dark="#000", light="#fff", omitsize=True)
    # The link is printed as text beside it, so the picture is hidden from screen readers.
    return svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)
