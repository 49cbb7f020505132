"""Pages that are the same for every reader, rendered once per language and process, each reader's CSRF token filled in."""
from __future__ import annotations

import functools
import time

from flask import current_app, g, request, session
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf

from .education import content

# Content files are looked at no more than once a second: an edit shows within a second, and a busy
# server does not list the content directory on every request.
CONTENT_CHECK_SECONDS = 1.0
_content_seen: dict = {}  # content directory → (when looked at, content_version())


def _content_version() -> tuple:
    root = content.CONTENT_DIR
    now = time.monotonic()
    seen = _content_seen.get(root)
    if seen is None or now - seen[0] >= CONTENT_CHECK_SECONDS:
        seen = _content_seen[root] = (now, content.content_version(root))
    return seen[1]


def _cache_key(view_args: dict) -> tuple | None:
    """What a cached page depends on, or None when this request must be rendered afresh: a query
    string (?previous=…), a message waiting to be flashed, a POST, or the cache switched off."""
    if (request.method not in ("GET", "HEAD") or request.query_string or "_flashes" in session
            or current_app.debug or not current_app.config["PAGE_CACHE"]):
        return None
    # Learn links and pages come from the content files, so an edited file is a new key.
    return request.endpoint, tuple(sorted(view_args.items())), str(get_locale()), _content_version()


def cached_page(view):
    """Serve a GET page from the render cache; only a 200 HTML page is kept, as the text around its
    CSRF token (the first reader's token is never served again: each reader's own is put between)."""

    @functools.wraps(view)
    def wrapper(**view_args):
        key = _cache_key(view_args)
        if key is None:
            return view(**view_args)
        pages = current_app.extensions.setdefault("page_cache", {})
        cached = pages.get(key)
        if cached is not None:
            # Split around the token when stored, so serving joins three strings instead of searching 20 KB.
            html = generate_csrf().join(cached) if len(cached) > 1 else cached[0]
            return current_app.response_class(html, mimetype="text/html")
        response = current_app.make_response(view(**view_args))
        if response.status_code == 200 and response.mimetype == "text/html":
            html = response.get_data(as_text=True)
            token = g.get(current_app.config["WTF_CSRF_FIELD_NAME"])
            pages[key] = tuple(html.split(token)) if token else (html,)
        return response

    return wrapper
