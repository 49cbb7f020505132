"""Stylesheet and script bundles: joined from partials in app/static, minified once, served under hashed URLs."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import rcssmin
import rjsmin
from flask import Blueprint, Flask, abort, current_app, url_for

STATIC = Path(__file__).parent / "static"
# A page loads one stylesheet and one script (three requests with the HTML), and only the rules and
# code its section uses: the learn pages carry long sourced text, so their stylesheet leaves out forms.
BUNDLES: dict[str, tuple[str, ...]] = {
    "site.css": ("css/base.css", "css/forms.css"),
    "learn.css": ("css/base.css", "css/learn.css"),
    "result.css": ("css/base.css", "css/forms.css", "css/result.css"),
    "clinician.css": ("css/base.css", "css/forms.css", "css/result.css", "css/clinician.css"),
    "site.js": ("js/leave-site.js", "js/print.js"),
    # The questionnaire's own: the exit control and the answered count / PC-PTSD-5 gate, no print.
    "form.js": ("js/leave-site.js", "js/form-progress.js"),
}
MIMETYPES = {"css": "text/css", "js": "text/javascript"}
# The URL changes whenever the content does, so browsers may keep a bundle for a year.
CACHE_CONTROL = "public, max-age=31536000, immutable"
# Endpoints that serve the same file to everyone: cacheable, and not varying by language.
FILE_ENDPOINTS = ("static", "assets.serve")

bp = Blueprint("assets", __name__)


@dataclass(frozen=True)
class Bundle:
    """One minified bundle and the hashed file name it is served under, e.g. `site.3f2a9c1b7d4e.css`."""

    name: str
    body: bytes
    filename: str

    @property
    def mimetype(self) -> str:
        return MIMETYPES[self.name.rsplit(".", 1)[1]]


def build(name: str) -> Bundle:
    """Join a bundle's partials in order (later rules win, as in one file) and minify them."""
    text = "\n".join((STATIC / part).read_text(encoding="utf-8") for part in BUNDLES[name])
    minified = rcssmin.cssmin(text) if name.endswith(".css") else rjsmin.jsmin(text)
    body = minified.encode("utf-8")
    stem, extension = name.rsplit(".", 1)
    return Bundle(name, body, f"{stem}.{hashlib.sha256(body).hexdigest()[:12]}.{extension}")


def bundles() -> dict[str, Bundle]:
    """Every bundle, built once per process; rebuilt on each use in debug mode so edits show at once."""
    built = current_app.extensions.get("asset_bundles")
    if built is None or current_app.debug:
        built = current_app.extensions["asset_bundles"] = {name: build(name) for name in BUNDLES}
    return built


def asset_url(name: str) -> str:
    """The hashed URL of a bundle, for templates: asset_url("site.css")."""
    return url_for("assets.serve", filename=bundles()[name].filename)


@bp.get("/assets/<filename>")
def serve(filename: str):
    """A bundle by its hashed name; an outdated hash is a 404, never another version's content."""
    bundle = next((b for b in bundles().values() if b.filename == filename), None) or abort(404)
    response = current_app.response_class(bundle.body, mimetype=bundle.mimetype)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


def init_assets(app: Flask) -> None:
    """Register the route and the template global."""
    app.register_blueprint(bp)
    app.add_template_global(asset_url)
