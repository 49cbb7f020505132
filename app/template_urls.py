"""Templates' url_for, each address built once per process and then read from a bounded table."""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask.globals import _cv_request

# Addresses kept; the table is emptied when full (a value in an address may come from the reader, such
# as the language switch's `next`, so the set of keys is not fixed).
MAX_KEPT = 2048
# A longer value is built each time rather than kept: no long reader-chosen strings held in memory.
MAX_KEPT_VALUE = 256


def install(app: Flask) -> None:
    """Templates' url_for kept per endpoint, values and the request's URL adapter's bindings."""
    app.jinja_env.globals["url_for"] = KeptUrls(app)


class KeptUrls:
    """Flask's app.url_for, whose result inside a request depends only on what the key names: the
    endpoint (a relative one on the request's blueprint), the values in their order with their types,
    and what werkzeug.routing.MapAdapter.build reads of the adapter the request bound (script name,
    subdomain, server name, scheme, the request's method as the default method). Built afresh whenever
    that is not plainly so: outside a request (or in one whose host no adapter matched), with Flask's
    `_external`, `_anchor`, `_method` or `_scheme`, with url_defaults functions registered (they may
    read anything), or with a value other than a short string, an integer or None."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.build = app.url_for
        self.kept: dict[tuple, str] = {}

    def __call__(self, endpoint: str, /, **values: Any) -> str:
        context = _cv_request.get(None)
        if context is None or context.url_adapter is None or self.app.url_default_functions or not all(
                name[:1] != "_" and (value is None or type(value) is int
                                     or (type(value) is str and len(value) <= MAX_KEPT_VALUE))
                for name, value in values.items()):
            return self.build(endpoint, **values)
        adapter = context.url_adapter
        key = (endpoint, context.request.blueprint if endpoint[:1] == "." else None, adapter.script_name,
               adapter.subdomain, adapter.server_name, adapter.url_scheme, adapter.default_method,
               *((name, type(value), value) for name, value in values.items()))
        found = self.kept.get(key)
        if found is None:
            found = self.build(endpoint, **values)
            if len(self.kept) >= MAX_KEPT:
                self.kept.clear()
            self.kept[key] = found
        return found
