"""The cheaper translation look-ups and once-rendered fragments (app/fast_i18n.py) change no page: the
same strings, the same bytes, in both languages."""
from __future__ import annotations

import flask_babel
import jinja2
import pytest
from babel.messages.mofile import read_mo
from flask import render_template_string

from app import fast_i18n
from app.extensions import babel
from app.screening import views

LANGUAGES = ("en", "es")
MILD = {"store": "no", **{f"q{n}": "1" for n in range(1, 21)}}
SEVERE = {"store": "no", **{f"q{n}": "4" if n == 16 else "3" for n in range(1, 21)}}  # the safety item too


def catalogue_ids(app) -> list[str]:
    path = f"{app.root_path}/translations/es/LC_MESSAGES/messages.mo"
    with open(path, "rb") as file:
        return [message.id for message in read_mo(file) if message.id and isinstance(message.id, str)]


def stock_environment() -> jinja2.Environment:
    """Jinja's i18n extension with Flask-Babel's own gettext, as Flask-Babel installs it."""
    environment = jinja2.Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: flask_babel.get_translations().ugettext(s),
        ngettext=lambda s, p, n: flask_babel.get_translations().ungettext(s, p, n), newstyle=True)
    return environment


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_reads_as_flask_babel_would_give_it(app, language):
    stock = stock_environment().from_string("{{ _(message) }}")
    messages = [message for message in catalogue_ids(app) if "%(" not in message]
    assert len(messages) > 200
    with app.test_request_context(headers={"Accept-Language": language}):
        assert isinstance(babel.domain_instance, fast_i18n.CachedDomain)
        for message in messages:
            assert render_template_string("{{ _(message) }}", message=message) == stock.render(message=message)
            assert str(flask_babel.lazy_gettext(message)) == flask_babel.get_domain().get_translations().ugettext(
                message)
        with_parameter = "Read about %(topic)s"
        assert (render_template_string("{{ _(m, topic=t) }}", m=with_parameter, t="<b>")
                == stock_environment().from_string("{{ _(m, topic=t) }}").render(m=with_parameter, t="<b>"))


def test_a_forced_locale_is_obeyed_and_then_undone(app):
    message = "If you need help now"
    with app.test_request_context(headers={"Accept-Language": "es"}):
        spanish = render_template_string("{{ _(m) }}", m=message)
        assert spanish != message
        with flask_babel.force_locale("en"):
            assert render_template_string("{{ _(m) }}", m=message) == message
            assert flask_babel.gettext(message) == message
        assert render_template_string("{{ _(m) }}", m=message) == spanish
        flask_babel.refresh()
        assert render_template_string("{{ _(m) }}", m=message) == spanish


@pytest.mark.parametrize("language", LANGUAGES)
def test_fragments_are_what_the_include_renders(app, language):
    with app.test_request_context(headers={"Accept-Language": language}):
        footer = render_template_string('{% include "_crisis.html" %}')
        compact = render_template_string('{% from "_crisis_lines.html" import crisis_lines %}'
                                         '{{ crisis_lines(compact=true) }}')
        assert fast_i18n.fragment("_crisis.html") == footer
        assert fast_i18n.fragment("_crisis_lines_compact.html") == compact
        assert fast_i18n.fragment("_crisis.html") is fast_i18n.fragment("_crisis.html")  # rendered once
    assert {key[1] for key in app.extensions["rendered_fragments"]} == {language}


def result_pages(app, monkeypatch) -> list[bytes]:
    monkeypatch.setattr(views, "new_one_time_value", lambda: "a-fixed-one-time-value")
    client = app.test_client()
    pages = []
    for language in LANGUAGES:
        headers = {"Accept-Language": language}
        for answers in (MILD, SEVERE):
            response = client.post("/screen/pcl5", data=answers, headers=headers)
            assert response.status_code == 200
            pages.append(response.get_data())
        for path in ("/screen/pcl5", "/"):
            pages.append(client.get(path, headers=headers).get_data())
    return pages


def test_result_pages_are_byte_for_byte_those_of_the_stock_path(app, monkeypatch):
    """The result page (and the questionnaire and home pages) with the cached look-ups and fragments, then
    again with Flask-Babel's own gettext, its own domain and every fragment rendered afresh: the same bytes."""
    fast = result_pages(app, monkeypatch)
    monkeypatch.setattr(babel, "domain_instance", flask_babel.Domain(domain="messages"))
    app.jinja_env.install_gettext_callables(  # what Flask-Babel installs
        gettext=lambda s: flask_babel.get_translations().ugettext(s),
        ngettext=lambda s, p, n: flask_babel.get_translations().ungettext(s, p, n), newstyle=True)
    app.jinja_env.globals["_"] = jinja2.ext._gettext_alias
    app.jinja_env.auto_reload = True  # fragment() renders afresh
    app.config["PAGE_CACHE"] = False
    app.extensions.pop("rendered_fragments", None)
    stock = result_pages(app, monkeypatch)
    assert "rendered_fragments" not in app.extensions
    assert fast == stock
    assert b"Please reach out today" in fast[1] and b"Por favor, pida apoyo hoy" in fast[5]


@pytest.mark.parametrize("header, expected", [
    ("es-ES,en;q=0.5", "es"), ("en-US,es;q=0.8", "en"), ("en;q=0.1, es;q=0.9", "es"), ("ES_mx", "es"),
    ("fr, de;q=0.5", None), ("", None), ("*", None),
])
def test_the_accept_language_header_picks_the_readers_first_offered_language(header, expected):
    assert fast_i18n.preferred_language(header, ("en", "es")) == expected


def test_the_page_language_follows_the_header_and_the_cookie(app):
    client = app.test_client()
    assert '<html lang="es">' in client.get("/about", headers={"Accept-Language": "es-ES,en;q=0.5"}).text
    assert '<html lang="en">' in client.get("/about", headers={"Accept-Language": "fr"}).text
    client.set_cookie("lang", "es")
    assert '<html lang="es">' in client.get("/about", headers={"Accept-Language": "en"}).text
