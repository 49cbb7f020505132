"""The cheaper translation look-ups, the literal messages translated when templates are compiled and the
once-rendered fragments (app/fast_i18n.py) change no page: the same strings, the same bytes, in both
languages."""
from __future__ import annotations

import re

import flask_babel
import jinja2
import pytest
from babel.messages.mofile import read_mo
from flask import render_template, render_template_string
from markupsafe import Markup

from app import fast_i18n
from app.extensions import babel
from app.screening import views
from tests.clinician_support import WORKSPACE_FIXTURES, sign_in

LANGUAGES = ("en", "es")
MILD = {"store": "no", **{f"q{n}": "1" for n in range(1, 21)}}
SEVERE = {"store": "no", **{f"q{n}": "4" if n == 16 else "3" for n in range(1, 21)}}  # the safety item too


def catalogue_ids(app) -> list[str]:
    path = f"{app.root_path}/translations/es/LC_MESSAGES/messages.mo"
    with open(path, "rb") as file:
        return [message.id for message in read_mo(file) if message.id and isinstance(message.id, str)]


def stock_environment(autoescape: bool = True) -> jinja2.Environment:
    """Jinja's i18n extension with Flask-Babel's own gettext, as Flask-Babel installs it."""
    environment = jinja2.Environment(autoescape=autoescape, extensions=["jinja2.ext.i18n"])
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


CSRF_TOKEN = re.compile(rb'(<input[^>]*name="csrf_token"[^>]*value=")[^"]*')


def result_pages(app, monkeypatch, workspace) -> list[bytes]:
    """The result pages, the questionnaire (blank and with problems), home, learn and about pages and the
    clinician's queue (its forms' CSRF tokens, signed with the time, left out), in both languages."""
    monkeypatch.setattr(views, "new_one_time_value", lambda: "a-fixed-one-time-value")
    client = app.test_client()
    pages = []
    for language in LANGUAGES:
        headers = {"Accept-Language": language}
        for answers in (MILD, SEVERE):
            response = client.post("/screen/pcl5", data=answers, headers=headers)
            assert response.status_code == 200
            pages.append(response.get_data())
        response = client.post("/screen/pcl5", data={"store": "no", "q1": "1", "q2": "9"}, headers=headers)
        assert response.status_code == 400  # the questionnaire again, with its problems listed
        pages.append(response.get_data())
        for path in ("/screen/pcl5", "/", "/learn", "/learn/ptsd", "/about"):
            response = client.get(path, headers=headers)
            assert response.status_code == 200, path
            pages.append(response.get_data())
        response = workspace.get("/clinician/", headers=headers)
        assert response.status_code == 200
        page, tokens = CSRF_TOKEN.subn(rb"\1", response.get_data())
        assert tokens
        pages.append(page)
    return pages


def use_the_stock_path(app, monkeypatch) -> None:
    """Flask-Babel's own gettext and domain, templates compiled as written, fragments rendered afresh."""
    monkeypatch.setattr(babel, "domain_instance", flask_babel.Domain(domain="messages"))
    app.jinja_env.install_gettext_callables(  # what Flask-Babel installs
        gettext=lambda s: flask_babel.get_translations().ugettext(s),
        ngettext=lambda s, p, n: flask_babel.get_translations().ungettext(s, p, n), newstyle=True)
    app.jinja_env.globals["_"] = jinja2.ext._gettext_alias
    app.jinja_env.auto_reload = True  # fragment() renders afresh
    app.config["PAGE_CACHE"] = False
    app.extensions.pop("rendered_fragments", None)


@pytest.mark.usefixtures(*WORKSPACE_FIXTURES)
def test_result_pages_are_byte_for_byte_those_of_the_stock_path(app, monkeypatch, make_clinician):
    """The result page (and the questionnaire, home, learn and workspace pages) with the cached look-ups,
    the messages translated when compiled and the fragments, then again with Flask-Babel's own gettext, its
    own domain, templates compiled as written and every fragment rendered afresh: the same bytes."""
    make_clinician()
    workspace = app.test_client()
    assert sign_in(workspace).status_code == 303
    fast = result_pages(app, monkeypatch, workspace)
    assert {len(key) for key in app.jinja_env.cache} == {3}  # compiled per catalogue
    assert all(key[2] is not None for key in app.jinja_env.cache)
    use_the_stock_path(app, monkeypatch)
    stock = result_pages(app, monkeypatch, workspace)
    assert "rendered_fragments" not in app.extensions
    assert any(key[2] is None for key in app.jinja_env.cache)
    assert fast == stock
    assert b"Please reach out today" in fast[1] and b"Por favor, pida apoyo hoy" in fast[10]
    assert b"Question 2: please choose one of the listed answers." in fast[2]
    assert b"Triage queue" in fast[8] and b"Triage queue" not in fast[17]


def literal(message: str) -> str:
    """A Jinja string literal of `message` (Python's ASCII repr: Jinja decodes the same escapes)."""
    return ascii(message)


PARAMETER = re.compile(r"%\((\w+)\)")
UNSAFE = "<b>\"Tom\" & 'Jerry'</b>"


def folding_templates(app) -> dict[str, str]:
    """Every catalogue message as a literal in a template: those without parameters alone, those with,
    given a string to escape, Markup to keep and a number; the same as a text template (no escaping)."""
    plain = "\n|\n".join(f"{{{{ _({literal(message)}) }}}}" for message in catalogue_ids(app) if "%(" not in message)
    calls = []
    for message in catalogue_ids(app):
        names = sorted(set(PARAMETER.findall(message)))
        if names:
            for value in ("unsafe", "kept", "number"):
                calls.append(f"{{{{ gettext({literal(message)}, {', '.join(f'{name}={value}' for name in names)}) }}}}")
    with_parameters = "\n|\n".join(calls)
    return {"plain.html": plain, "plain.txt": plain, "parameters.html": with_parameters,
            "parameters.txt": with_parameters,
            "rebound.html": '{% for _ in [1] %}{% endfor %}{{ _("Learn") }}',
            "rule.html": '{% set rule = _("Learn") %}{{ _("Read about %(topic)s", topic=rule) }}'}


PARAMETERS = {"unsafe": UNSAFE, "kept": Markup("<i>kept</i>"), "number": 3}


def stock_rendering(source: str, name: str) -> str:
    return stock_environment(autoescape=name.endswith(".html")).from_string(source).render(**PARAMETERS)


def refuse(*args, **kwargs):
    raise AssertionError("looked up when rendered")


@pytest.fixture
def folding_app(app, monkeypatch):
    templates = folding_templates(app)
    monkeypatch.setattr(app.jinja_env, "loader", jinja2.ChoiceLoader([jinja2.DictLoader(templates),
                                                                      app.jinja_env.loader]))
    app.jinja_env.cache.clear()
    return app, templates


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_literal_message_is_translated_when_compiled_as_flask_babel_would_give_it(folding_app, language):
    app, templates = folding_app
    with app.test_request_context(headers={"Accept-Language": language}):
        for name in ("plain.html", "plain.txt", "parameters.html", "parameters.txt", "rule.html"):
            folded = render_template(name, **PARAMETERS)
            assert folded == stock_rendering(templates[name], name), name
            # Compiled with the messages in: the template no longer asks `_()` or `gettext()` for them.
            assert app.jinja_env.get_template(name).render(_=refuse, gettext=refuse, **PARAMETERS) == folded
        assert len(render_template("plain.html").split("\n|\n")) > 200
        escaped = render_template("parameters.html", **PARAMETERS)
        assert "&lt;b&gt;&#34;Tom&#34; &amp; &#39;Jerry&#39;&lt;/b&gt;" in escaped and "<i>kept</i>" in escaped
        assert UNSAFE in render_template("parameters.txt", **PARAMETERS)


def test_a_template_that_binds_the_name_itself_is_compiled_as_written(folding_app):
    app, _templates = folding_app
    with app.test_request_context(headers={"Accept-Language": "es"}):
        assert render_template("rebound.html") == "Aprender"
        with pytest.raises(AssertionError, match="looked up"):
            app.jinja_env.get_template("rebound.html").render(_=refuse)


def test_a_forced_locale_compiles_its_own_copy(folding_app):
    app, templates = folding_app
    with app.test_request_context(headers={"Accept-Language": "en"}):
        english = render_template("plain.html")
    with app.test_request_context(headers={"Accept-Language": "es"}):
        spanish = render_template("plain.html")
        assert spanish != english
        with flask_babel.force_locale("en"):
            assert render_template("plain.html") == english
        assert render_template("plain.html") == spanish
    with app.app_context():  # an e-mail sent by a background job: no request, the recipient's language
        with flask_babel.force_locale("es"):
            assert render_template("plain.html") == spanish
            assert app.jinja_env.get_template("plain.html").render(_=refuse) == spanish
        # Neither a request nor a forced locale: compiled as written, `_()` asked when rendered.
        assert app.jinja_env.folding_translations() is None  # type: ignore[attr-defined]


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


def test_an_edited_template_is_compiled_afresh_in_debug(app, monkeypatch):
    """auto_reload (debug): each language's compiled copy notices its source changed."""
    templates = {"edited.html": '{{ _("Learn") }}'}
    monkeypatch.setattr(app.jinja_env, "loader", jinja2.ChoiceLoader([jinja2.DictLoader(templates),
                                                                      app.jinja_env.loader]))
    app.jinja_env.auto_reload = True
    for language, before, after in (("es", "Aprender", "Aprender!"), ("en", "Learn", "Learn!")):
        templates["edited.html"] = '{{ _("Learn") }}'
        with app.test_request_context(headers={"Accept-Language": language}):
            assert render_template("edited.html") == before
            templates["edited.html"] = '{{ _("Learn") }}!'
            assert render_template("edited.html") == after
