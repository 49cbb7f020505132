"""The English/Español switch: a cookie that overrides Accept-Language, then back to the same page."""
from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from flask import Blueprint, abort, current_app, redirect, request, url_for

from .assets import FILE_ENDPOINTS

bp = Blueprint("language", __name__)

COOKIE_NAME = "lang"  # read by app.select_locale
COOKIE_MAX_AGE = 365 * 24 * 60 * 60


def same_site_path(target: str | None) -> str | None:
    """`target` if it is a path on this site ("/…", no scheme or host), else None.

    Browsers read "//host", "/\\host" and stray control characters as another site, so anything
    that is not a plain absolute path is refused rather than cleaned up.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.get("/language/<code>")
def switch(code: str):
    """Remember the chosen language for a year and return to the page the switch was on."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    response = redirect(same_site_path(request.args.get("next")) or url_for("screening.home"), 303)
    response.set_cookie(
        COOKIE_NAME, code, max_age=COOKIE_MAX_AGE, path="/", samesite="Lax", httponly=True,
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# The query parameters the person's pages read (a clinic's link, a compare link kept from before): the
# switch carries only these, so a long foreign query is not copied into every link of the page.
PERSON_PARAMETERS = ("clinic", "previous")
# The workspace's filters are many; there a value longer than any filter's is dropped.
MAX_PARAMETER_LENGTH = 200


@bp.app_template_global()
def language_switch_next() -> str:
    """This page's path and its own query parameters, to come back to after switching (a form's POST
    returns to its GET, or to the home page where the address takes no GET)."""
    rule = request.url_rule
    if request.method != "GET" and (rule is None or "GET" not in (rule.methods or ())):
        return url_for("screening.home")
    if request.path == "/clinician" or request.path.startswith("/clinician/"):
        kept = [(name, value) for name, value in request.args.items(multi=True)
                if len(name) + len(value) <= MAX_PARAMETER_LENGTH]
    else:
        kept = [(name, value) for name in PERSON_PARAMETERS for value in request.args.getlist(name)[:1]
                if len(value) <= MAX_PARAMETER_LENGTH]
    query = urlencode(kept)
    return request.path + (f"?{query}" if query else "")


@bp.after_app_request
def vary_on_language(response):
    """Pages differ by Accept-Language and the language cookie: tell caches so (static files do not)."""
    if request.endpoint in FILE_ENDPOINTS:
        return response
    response.vary.update(("Accept-Language", "Cookie"))  # one parse and one rewrite of the header
    return response
