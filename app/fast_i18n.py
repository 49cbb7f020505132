"""Translation look-ups at the cost of a dictionary read, templates' literal messages translated when compiled,
and fragments rendered once per language.

A result page looks up about a hundred translated strings. Flask-Babel finds the catalogue afresh for each
(four trips through Flask's context proxies, the locale turned into a string): a quarter of the page's
CPU time. Here the catalogue Flask-Babel would choose is kept beside the locale it was chosen for, in the
same per-request namespace Flask-Babel keeps its locale in (so `force_locale` and `refresh`, which replace
that locale, are obeyed), and templates' `_()` reads it directly. What is shown is unchanged: the same
catalogue, the same strings.
"""
from __future__ import annotations

import weakref
from collections.abc import MutableMapping
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from flask import Flask, current_app, has_request_context
from flask.globals import _cv_app
from flask.templating import Environment as FlaskEnvironment
from flask_babel import Domain, get_locale
from jinja2 import Template, nodes, pass_context
from jinja2.runtime import Context
from jinja2.utils import internalcode
from jinja2.visitor import NodeTransformer
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


#: The template names whose calls with a literal message are translated when compiled: both are
#: template_gettext (install() below).
FOLDED_NAMES = ("_", "gettext")
_compiling_for: ContextVar[Any] = ContextVar("compiling_for", default=None)


class LocalisedEnvironment(FlaskEnvironment):
    """Flask's template environment, keeping one compiled copy of each template per catalogue.

    A template loaded while a catalogue is in force (a request's language, or `force_locale`) is compiled
    with `_("literal")` and `_("literal", name=value)` already translated: the message becomes a constant,
    Markup where autoescaping is on, as template_gettext returns it, and the parameters are put in by the
    same `%` on each render, each escaped. Jinja's optimizer then merges a message without parameters into
    the template's static text. Loaded outside a request and any forced locale, a template is compiled as
    written and `_()` looks its messages up when rendered. A template that binds `_` or `gettext` itself
    is compiled as written; a `_` passed to render() is not consulted for literal messages (none is).
    """

    @internalcode
    def _load_template(self, name: str, globals: MutableMapping[str, Any] | None) -> Template:
        # jinja2.Environment._load_template (Jinja 3.1), its cache key extended with the catalogue.
        if self.loader is None:
            raise TypeError("no loader for this environment specified")
        translations = self.folding_translations()
        cache_key = (weakref.ref(self.loader), name, translations)
        cache: Any = self.cache  # typed for Jinja's own two-part keys
        if cache is not None:
            template = cache.get(cache_key)
            if template is not None and (not self.auto_reload or template.is_up_to_date):
                if globals:
                    template.globals.update(globals)
                return template
        token = _compiling_for.set(translations)
        try:
            template = self.loader.load(self, name, self.make_globals(globals))
        finally:
            _compiling_for.reset(token)
        if cache is not None:
            cache[cache_key] = template
        return template

    def folding_translations(self) -> Any:
        """The catalogue `_()` would read now, if templates loaded now may be compiled with it: in a request
        or under a forced locale, with template_gettext as the templates' `_` and `gettext` (not the stock
        gettext a test may put back), and no bytecode cache (it keys compiled code by source alone)."""
        if self.bytecode_cache is not None or any(self.globals.get(name) is not template_gettext
                                                  for name in FOLDED_NAMES):
            return None
        context = _cv_app.get(None)
        if context is None:
            return None
        namespace = context.g.__dict__.get("_flask_babel")
        if not has_request_context() and getattr(namespace, "babel_locale", None) is None:
            return None
        return _translations()

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        translations = _compiling_for.get()
        if translations is None or _names_rebound(tree):
            return tree
        return LiteralMessages(translations).visit(tree)


def _names_rebound(tree: nodes.Template) -> bool:
    """Whether the template binds `_` or `gettext` itself anywhere (a `set`, a loop, a macro's parameter,
    an import), so that a call to it might not be template_gettext."""
    for node in tree.find_all((nodes.Name, nodes.Import, nodes.FromImport)):
        if isinstance(node, nodes.Name):
            if node.ctx != "load" and node.name in FOLDED_NAMES:
                return True
        elif isinstance(node, nodes.Import):
            if node.target in FOLDED_NAMES:
                return True
        elif isinstance(node, nodes.FromImport) and any(
                (item if isinstance(item, str) else item[-1]) in FOLDED_NAMES for item in node.names):
            return True
    return False


class LiteralMessages(NodeTransformer):
    """`_("literal", name=value)` as template_gettext computes it, the message looked up now:
    MarkSafeIfAutoescape(translated) % {"name": value}."""

    def __init__(self, translations: Any) -> None:
        self.translations = translations

    def visit_Call(self, call: nodes.Call) -> nodes.Node:
        node = self.generic_visit(call)
        if not (isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name)
                and node.node.name in FOLDED_NAMES and node.node.ctx == "load"
                and len(node.args) == 1 and isinstance(node.args[0], nodes.Const)
                and type(node.args[0].value) is str and node.dyn_args is None and node.dyn_kwargs is None):
            return node
        lineno = node.lineno
        message = nodes.MarkSafeIfAutoescape(nodes.Const(self.translations.ugettext(node.args[0].value),
                                                         lineno=lineno), lineno=lineno)
        parameters = nodes.Dict([nodes.Pair(nodes.Const(keyword.key, lineno=lineno), keyword.value,
                                            lineno=lineno) for keyword in node.kwargs], lineno=lineno)
        return nodes.Mod(message, parameters, lineno=lineno)


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
