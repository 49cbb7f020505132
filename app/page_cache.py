"""Pages that are the same for every reader, rendered once per language and process and served as is."""
from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, request
from flask_babel import get_locale

# Content files are looked at no more than once a second: an edit shows within a second, and a busy
# server does not list the content directory on every request.
CONTENT_CHECK_SECONDS = 1.0
# What else every cached page is made from: (where the files are now, their version there). The part
# that owns the files adds its own (the learn pages: education/views.py), so this module imports none.
CONTENT_SOURCES: list[tuple[Callable[[], Any], Callable[[Any], tuple]]] = []
_content_seen: dict = {}  # content directory → (when looked at, its version)


def _content_version() -> tuple:
    now = time.monotonic()
    versions = []
    for where, version in CONTENT_SOURCES:
        root = where()
        seen = _content_seen.get(root)
        if seen is None or now - seen[0] >= CONTENT_CHECK_SECONDS:
            seen = _content_seen[root] = (now, version(root))
        versions.append(seen[1])
    return tuple(versions)


def _cache_key(view_args: dict) -> tuple | None:
    """What a cached page depends on, or None when this request must be rendered afresh: a query
    string (?previous=…), a POST, or the cache switched off. A person's page holds nothing of the
    reader's own (no CSRF token, no flashed message: they get no session), so one copy serves all."""
    if (request.method not in ("GET", "HEAD") or request.query_string
            or current_app.debug or not current_app.config["PAGE_CACHE"]):
        return None
    # Learn links and pages come from the content files, so an edited file is a new key.
    return request.endpoint, tuple(sorted(view_args.items())), str(get_locale()), _content_version()


def cached_page(view):
    """Serve a GET page from the render cache; only a 200 HTML page is kept."""

    @functools.wraps(view)
    def wrapper(**view_args):
        key = _cache_key(view_args)
        if key is None:
            return view(**view_args)
        pages = current_app.extensions.setdefault("page_cache", {})
        cached = pages.get(key)
        if cached is not None:
            return current_app.response_class(cached, mimetype="text/html")
        response = current_app.make_response(view(**view_args))
        if response.status_code == 200 and response.mimetype == "text/html":
            pages[key] = response.get_data()
        return response

    return wrapper
