"""No translated string with a parameter is marked safe as a whole: every parameter is escaped, in
both languages, whichever way the string is made (a template's `_()`, WithParameters in Python)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from jinja2 import nodes

from app.extensions import db as _db
from app.models import Clinic
from app.translated_text import WithParameters
from tests.clinician_support import WORKSPACE_FIXTURES, csrf

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "app" / "translations" / "es" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
MARKUP = '<b id="x">&</b>'
ESCAPED = "&lt;b id=&#34;x&#34;&gt;&amp;&lt;/b&gt;"
LAZY_NAMES = {"_l", "lazy_gettext", "lazy_ngettext", "lazy_pgettext"}
GETTEXT_NAMES = {"_", "gettext", "ngettext", "pgettext", *LAZY_NAMES}


def messages_with_parameters() -> list[tuple[str, tuple[str, ...]]]:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    found = []
    for message in catalog:
        if isinstance(message.id, str) and PLACEHOLDER.search(message.id):
            found.append((message.id, tuple(dict.fromkeys(PLACEHOLDER.findall(message.id)))))
    return found


MESSAGES = messages_with_parameters()


def test_the_catalog_has_parameterised_strings_to_check():
    assert len(MESSAGES) > 20
    assert any("share it with %(clinic)s" in msgid for msgid, _names in MESSAGES)
    assert any("%(zone)s" in msgid for msgid, _names in MESSAGES)


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_parameterised_string_escapes_markup_in_each_parameter(app, language):
    template = app.jinja_env.from_string("{{ _(msgid, **params) }}|{{ lazy }}")
    with app.test_request_context("/"), force_locale(language):
        for msgid, names in MESSAGES:
            params = {name: MARKUP for name in names}
            rendered = template.render(msgid=msgid, params=params, lazy=WithParameters(_l(msgid), **params))
            assert "<b" not in rendered, (language, msgid, rendered)
            assert rendered.count(ESCAPED) >= 2 * len(names), (language, msgid, rendered)
            # As plain text (a JSON error, an e-mail) the parameter is the value itself, unescaped.
            assert MARKUP in str(WithParameters(_l(msgid), **params))


def python_sources():
    return sorted((ROOT / "app").rglob("*.py"))


def called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def test_no_lazy_string_takes_its_parameters_itself():
    """Flask-Babel's lazy string with parameters marks the interpolated text safe: WithParameters instead."""
    offenders = []
    for path in python_sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and called_name(node) in LAZY_NAMES and node.keywords:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_no_translated_string_with_parameters_is_made_markup_in_python():
    offenders = []
    for path in python_sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and called_name(node) == "Markup":
                for argument in node.args:
                    if isinstance(argument, ast.Call) and called_name(argument) in GETTEXT_NAMES:
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_no_template_marks_a_parameterised_translation_safe(app):
    offenders = []
    for name in app.jinja_env.list_templates(extensions=["html", "txt"]):
        source = app.jinja_env.loader.get_source(app.jinja_env, name)[0]
        for safe in app.jinja_env.parse(source).find_all(nodes.Filter):
            call = safe.node
            if (safe.name == "safe" and isinstance(call, nodes.Call) and isinstance(call.node, nodes.Name)
                    and call.node.name in GETTEXT_NAMES and (call.kwargs or call.dyn_kwargs)):
                offenders.append(f"{name}:{safe.lineno}")
    assert offenders == []


def test_a_clinic_name_with_markup_is_shown_as_text_on_the_persons_form(app, client):
    with app.app_context():
        clinic = Clinic(name='<script>alert(1)</script> & <i>Co</i>', slug="odd", link_token="m" * 22)
        _db.session.add(clinic)
        _db.session.commit()
    for language in ("en", "es"):
        page = client.get(f"/screen/pcl5?clinic={'m' * 22}&lang={language}",
                          headers={"Accept-Language": language}).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page and "<i>Co</i>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;i&gt;Co&lt;/i&gt;" in page


def test_a_typed_time_zone_with_markup_is_shown_as_text_in_the_error(app, admin_client):
    typed = '<img src=x onerror="alert(1)">'
    response = admin_client.post("/clinician/clinics", data={
        "name": "Riverside", "timezone": typed, "csrf_token": csrf(admin_client, "/clinician/clinics")})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert typed not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    with app.app_context():
        assert _db.session.query(Clinic).filter_by(name="Riverside").count() == 0
