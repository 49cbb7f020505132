"""The clinic's public link /c/<token>: a landing page that names the clinic; no cookie is set."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, url_for

from ..errors import unknown_link
from ..extensions import db
from ..models import Clinic
from ..screening.instruments import INSTRUMENTS
from ..screening.service import find_clinic_by_token
from . import SHORT_CODE_MAX, offered_instruments, typed_short_code

bp = Blueprint("clinic_link", __name__)


def find_clinic_by_short_code(text: str) -> Clinic | None:
    """The clinic whose current short code this is, in any case, with or without its dash."""
    code = typed_short_code(text)
    return db.session.scalar(sa.select(Clinic).where(Clinic.short_code == code)) if code else None


@bp.get("/c/<token>")
def landing(token: str):
    """Who asked, what the clinic will see, that the answers stay anonymous, and where to start. The
    path holds the link's token or the short code typed from the poster (both share the code look-up
    rate limit). A clinic that offers one questionnaire sends people straight to its form."""
    # The short code, perhaps with dashes, or the link's 43-character token.
    typed = len(token) <= SHORT_CODE_MAX + 2
    clinic = find_clinic_by_short_code(token) if typed else find_clinic_by_token(token)
    if clinic is None:  # unknown or rotated: one calm page that leads to the ordinary start
        return unknown_link()
    offered = [INSTRUMENTS[name] for name in offered_instruments(clinic)]
    if len(offered) == 1:
        response = redirect(url_for("screening.screen", instrument_id=offered[0].id, clinic=clinic.link_token))
    else:
        response = current_app.make_response(render_template(
            "clinics/landing.html", clinic=clinic, token=clinic.link_token, clinic_token=clinic.link_token,
            instruments=offered,
            retention_days=current_app.config["RETENTION_DAYS"]))
    # The token is a secret of the clinic: keep the page out of shared caches and search engines.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
