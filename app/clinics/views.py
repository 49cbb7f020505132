"""The clinic's public link /c/<token>: a landing page that names the clinic; no cookie is set."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _

from ..errors import error_response
from ..screening.instruments import INSTRUMENTS
from ..screening.service import find_clinic_by_token

bp = Blueprint("clinic_link", __name__)


@bp.get("/c/<token>")
def landing(token: str):
    """Who asked, what the clinic will see, that the answers stay anonymous, and where to start."""
    clinic = find_clinic_by_token(token)
    if clinic is None:  # unknown or rotated: one calm page that leads to the ordinary start
        return unknown_link()
    response = current_app.make_response(render_template(
        "clinics/landing.html", clinic=clinic, token=token, clinic_token=token, instruments=INSTRUMENTS,
        retention_days=current_app.config["RETENTION_DAYS"]))
    # The token is a secret of the clinic: keep the page out of shared caches and search engines.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def unknown_link():
    """The calm 404 for an unknown or rotated clinic link, kept out of caches like the landing page."""
    body, status = error_response(404, message=_(
        "This clinic link does not work any more, or it was mistyped. You can still take a check on "
        "its own: nothing is shared with anyone unless you choose to."))
    response = current_app.make_response((body, status))
    response.headers["Cache-Control"] = "no-store"
    return response
