"""Translation look-ups at the cost of a dictionary read, and fragments rendered once per language.

A result page looks up about a hundred translated strings. Flask-Babel finds the catalogue afresh for each
(four trips through Flask's context proxies, the locale turned into a string): a quarter of the page's
CPU time. Here the catalogue Flask-Babel would choose is kept beside the locale it was chosen for, in the
same per-request namespace Flask-Babel keeps its locale in (so `force_locale` and `refresh`, which replace
that locale, are obeyed), and templates' `_()` reads it directly. What is shown is unchanged: the same
catalogue, the same strings.
"""
from __future__ import annotations

from functools import lru_cache

from flask import Flask, current_app
from flask.globals import _cv_app
from flask_babel import Domain, get_locale
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from .extensions import babel


@lru_cache(maxsize=512)
def preferred_language(header: str, languages: tuple[str, ...]) -> str | None:
    """The first of `languages` in an Accept-Language header, by the reader's order of preference, region
    ignored: "es-ES,en;q=0.5" means Spanish first (Werkzeug's best_match prefers any exact match, so it
    would pick English there). Kept per header value: browsers send a handful of them, and parsing one
    was a sixth of a cached page's CPU."""
    for tag, _quality in parse_accept_header(header, LanguageAccept):
        primary = tag.replace("_", "-").split("-")[0].lower()
        if primary in languages:
            return primary
    return None


class CachedDomain(Domain):
    """Flask-Babel's default domain, remembering the catalogue for the request's current locale."""

    def get_translations(self):
        context = _cv_app.get(None)
        namespace = context.g.__dict__.get("_flask_babel") if context is not None else None
        if namespace is not None:
            attributes = namespace.__dict__
            locale = attributes.get("babel_locale")
            kept = attributes.get("_cached_translations")
            if locale is not None and kept is not None and kept[0] is locale:
                return kept[1]
        translations = super().get_translations()
        namespace = context.g.__dict__.get("_flask_babel") if context is not None else None
        if namespace is not None and getattr(namespace, "babel_locale", None) is not None:
            namespace._cached_translations = (namespace.babel_locale, translations)
        return translations


def _translations():
    return babel.domain_instance.get_translations()


def install(app: Flask) -> None:
    """The cached domain as Flask-Babel's default, and templates' gettext functions reading it."""
    if not isinstance(babel.__dict__.get("domain_instance"), CachedDomain):
        babel.domain_instance = CachedDomain(domain="messages")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    # `_()` and `gettext()` in a template: what jinja2.ext.i18n's newstyle gettext does (the message as
    # Markup where autoescaping is on, then its parameters put in, each escaped), without its two extra
    # trips through the template context to find itself.
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext, fragment=fragment)


@pass_context
def template_gettext(context: Context, string: str, **variables) -> str:
    translated = _translations().ugettext(string)
    if context.eval_ctx.autoescape:
        translated = Markup(translated)
    return translated % variables


def fragment(template_name: str) -> Markup:
    """A partial that depends on nothing but the language and the environment's globals (the footer's
    crisis lines), rendered once per language and process; afresh on every call in debug mode, where
    templates are edited."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.jinja_env.auto_reload:
        return Markup(app.jinja_env.get_template(template_name).render())
    fragments = app.extensions.setdefault("rendered_fragments", {})
    key = template_name, str(get_locale())
    found = fragments.get(key)
    if found is None:
        found = fragments[key] = Markup(app.jinja_env.get_template(template_name).render())
    return found
