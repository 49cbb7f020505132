"""The learn pages (/learn…), and the links to them that other pages use."""
from __future__ import annotations

from typing import NamedTuple

from flask import Blueprint, abort, current_app, render_template, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from ..page_cache import CONTENT_SOURCES, cached_page
from . import content
from .content import DEFAULT_LANGUAGE, PAGES, ContentError, Page, load_page

bp = Blueprint("education", __name__, url_prefix="/learn")

# Learn links and pages come from the content files, so every cached page depends on their version
# (read where CONTENT_DIR points now: tests point it elsewhere).
CONTENT_SOURCES.append((lambda: content.CONTENT_DIR, content.content_version))

TOPICS = tuple(slug for slug in PAGES if slug != "index")
STATUS_LABELS = {
    "mdma-assisted-therapy": _l("Investigational — not an approved treatment in the US; MDMA is a Schedule I drug"),
}


class LearnLink(NamedTuple):
    url: str
    title: str
    summary: str = ""


def content_language() -> str:
    """The reader's language (the app's locale selector), if the app offers it; else English."""
    locale = get_locale()
    language = locale.language if locale else DEFAULT_LANGUAGE
    return language if language in current_app.config["LANGUAGES"] else DEFAULT_LANGUAGE


def page_url(slug: str, anchor: str | None = None) -> str:
    if slug == "index":
        return url_for("education.index", _anchor=anchor)
    return url_for("education.page", slug=slug, _anchor=anchor)


def render_page(slug: str, template: str, **context):
    try:
        page = load_page(slug, content_language())
    except ContentError:
        # A broken file is a deploy mistake the tests and `flask learn check` exist to catch;
        # the reader gets the site's error page, the log gets the reason.
        current_app.logger.exception("learn page %s could not be loaded", slug)
        abort(500)
    return render_template(template, page=page, status_label=STATUS_LABELS.get(slug), **context)


@bp.get("", strict_slashes=False)  # /learn/ too, as people type it
@cached_page
def index():
    """What the learn section covers, with a link to each page."""
    return render_page("index", "education/index.html")


@bp.get("/<any(ptsd, treatments, 'mdma-assisted-therapy', 'find-help'):slug>")
@cached_page
def page(slug: str):
    """One learn page."""
    return render_page(slug, "education/page.html")


def _safe_load(slug: str) -> Page | None:
    # Home and result pages link here; a broken learn file must never break those pages.
    try:
        return load_page(slug, content_language())
    except ContentError:
        current_app.logger.exception("learn page %s could not be loaded", slug)
        return None


@bp.app_template_global()
def learn_page(slug: str) -> LearnLink | None:
    """A link to one learn page, titled in the reader's language; None if the page is broken."""
    page = _safe_load(slug)
    return LearnLink(page_url(slug), page.title, page.summary) if page else None


@bp.app_template_global()
def learn_pages() -> list[LearnLink]:
    """The topic pages, for menus and link lists."""
    return [link for link in map(learn_page, TOPICS) if link]


@bp.app_template_global()
def learn_section(cluster_id: str) -> LearnLink:
    """The /learn/ptsd section about a symptom cluster, found by the page's `anchors` header.

    Heading ids differ by language (they come from the headings), so the anchor is looked up in
    the page as it renders for this reader, never written down here.
    """
    ptsd = _safe_load("ptsd")
    anchor = ptsd.anchor(cluster_id) if ptsd else None
    name = next((h.name for h in ptsd.headings if h.id == anchor), "") if ptsd and anchor else ""
    return LearnLink(page_url("ptsd", anchor), name)
