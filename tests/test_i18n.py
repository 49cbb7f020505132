"""Spanish: the language switch, <html lang>, translated pages and API errors, and a complete catalog."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from flask_babel import ngettext

from tests.conftest import stored_count

ROOT = Path(__file__).resolve().parent.parent
PO_FILE = ROOT / "app/translations/es/LC_MESSAGES/messages.po"
MO_FILE = PO_FILE.with_suffix(".mo")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}  # as `make translations` extracts


def get(client, url: str, language: str | None = None, **kwargs):
    """GET as a reader whose browser asks for `language`."""
    headers = {"Accept-Language": language} if language else {}
    return client.get(url, headers=headers, **kwargs)


def html_lang(markup: str) -> str:
    return re.search(r"<html lang=\"([^\"]+)\"", markup).group(1)


# --- the switch ---------------------------------------------------------------------------------

def test_switch_sets_a_lax_httponly_cookie_for_a_year_and_returns_to_the_page(client):
    response = client.get("/language/es?next=/screen/pcl5?previous%3DABCD")
    assert response.status_code == 303
    assert response.headers["Location"] == "/screen/pcl5?previous=ABCD"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=es;")
    for attribute in ("HttpOnly", "SameSite=Lax", "Max-Age=31536000", "Path=/"):
        assert attribute in cookie
    assert response.headers["Cache-Control"] == "no-store"


def test_chosen_language_overrides_the_browser_and_html_lang_follows(client):
    assert html_lang(get(client, "/", "es-MX,es;q=0.9").get_data(as_text=True)) == "es"
    client.get("/language/en?next=/")
    page = get(client, "/", "es-MX,es;q=0.9").get_data(as_text=True)
    assert html_lang(page) == "en" and "Check in on how a stressful experience" in page
    client.get("/language/es?next=/")
    page = get(client, "/", "en-US").get_data(as_text=True)
    assert html_lang(page) == "es" and "Vea cómo le está afectando" in page


@pytest.mark.parametrize("accept, expected", [
    ("es", "es"), ("es-419", "es"), ("es-ES,en;q=0.5", "es"), ("en-GB", "en"), ("fr-FR", "en"), (None, "en"),
    ("de, es;q=0.8", "es"), ("es;q=0, en;q=0.5", "en"), ("*", "en"), ("es_MX", "es"),
])
def test_accept_language_picks_the_page_language(client, accept, expected):
    assert html_lang(get(client, "/", accept).get_data(as_text=True)) == expected


@pytest.mark.parametrize("next_value", [
    None, "", "https://evil.example/", "//evil.example/", "///evil.example", "/\\evil.example",
    "\\\\evil.example", "/\\/evil.example", "javascript:alert(1)", "evil.example", "http:/evil.example",
    "/\r\nSet-Cookie: x=1", "/\tevil", " //evil.example", "%2F%2Fevil.example",
])
def test_switch_never_redirects_off_site(client, next_value):
    query = {} if next_value is None else {"next": next_value}
    response = client.get("/language/es", query_string=query)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert "lang=es" in response.headers["Set-Cookie"]


@pytest.mark.parametrize("code", ["fr", "EN", "es-MX", "xx", "..%2F"])
def test_unknown_language_is_a_404_and_sets_nothing(client, code):
    response = client.get(f"/language/{code}?next=/")
    assert response.status_code == 404
    assert "Set-Cookie" not in response.headers or "lang=" not in response.headers["Set-Cookie"]


def test_switch_links_are_visible_marked_and_return_to_this_page(client):
    page = get(client, "/learn/ptsd?clinic=abc&x=1", "es").get_data(as_text=True)
    switch = re.search(r'<nav class="language-switch" aria-label="Idioma">.*?</nav>', page, re.S).group(0)
    links = re.findall(r"<a [^>]+>[^<]+</a>", switch)
    # Only the site's own parameters travel (a clinic's link); a foreign one is left behind.
    assert links == [
        '<a href="/language/en?next=/learn/ptsd?clinic%3Dabc" lang="en" hreflang="en">English</a>',
        '<a href="/language/es?next=/learn/ptsd?clinic%3Dabc" lang="es" hreflang="es" aria-current="true">Español</a>',
    ]


def test_a_long_foreign_query_is_not_copied_into_the_page(client):
    plain = get(client, "/").get_data()
    padded = get(client, "/?" + "junk=" + "x" * 20_000)
    assert padded.status_code == 200 and len(padded.get_data()) < len(plain) + 200


def test_the_switch_on_a_page_that_answers_a_post_returns_to_a_page_that_takes_a_get(client, db):
    page = client.post("/results", data={"code": "0000-0000-0000"}).get_data(as_text=True)
    assert 'href="/language/es?next=/"' in page


def test_pages_vary_by_language(client):
    vary = get(client, "/").headers["Vary"]
    assert "Accept-Language" in vary and "Cookie" in vary
    static = get(client, "/static/css/base.css")
    static.close()  # a file response: close it, or the open file warns
    assert "Accept-Language" not in static.headers.get("Vary", "")


# --- Spanish pages ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/screen/pcl5", "/screen/pcptsd5"])
def test_spanish_screening_keeps_english_items_marked_and_says_why(client, path):
    page = get(client, path, "es").get_data(as_text=True)
    assert "Las preguntas están en inglés, el idioma en que se validaron" in page
    assert "pueden ayudarle un médico, un consejero o un intérprete" in page
    assert "solo si es seguro para usted" in page
    # Each question's fieldset (its wording and answer labels) is marked as English.
    items = re.findall(r'<fieldset id="(?:q\d+|exposure)" class="[^"]*" lang="en">', page)
    assert len(items) == (20 if path.endswith("pcl5") else 6)  # items (+ the PC-PTSD-5 gate)
    assert '<p class="stem" lang="en">' in page and '<p class="instructions" lang="en">' in page
    # The interface around the items is Spanish, including the consent question, unmarked.
    assert "Ver mi resultado" in page and '<legend>¿Guardar este resultado?</legend>' in page


@pytest.mark.parametrize("path", ["/screen/pcl5", "/screen/pcptsd5"])
def test_english_screening_has_no_language_note(client, path):
    page = get(client, path, "en").get_data(as_text=True)
    assert 'class="language-note' not in page and 'lang="en">' in page


def test_spanish_validation_errors_name_the_question(client):
    assert client.get("/screen/pcl5").status_code == 200
    answers = {f"q{n}": "2" for n in range(1, 21) if n != 7}
    response = client.post("/screen/pcl5", data={"store": "yes", **answers},
                           headers={"Accept-Language": "es"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and stored_count() == 0
    assert "Por favor, revise sus respuestas" in page and "No se guardó nada." in page
    # Inside an English-marked question, the Spanish error message is marked Spanish.
    assert 'id="q7-error" lang="es">Pregunta 7: elija una respuesta.</p>' in page


def test_spanish_result_page_and_crisis_lines(client):
    assert client.get("/screen/pcl5").status_code == 200
    answers = {f"q{n}": "2" for n in range(1, 21)}
    page = client.post("/screen/pcl5", data={"store": "no", **answers},
                       headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert html_lang(page) == "es"
    # The abbreviation is kept on one line (a narrow screen broke "PHQ-9" after its hyphen).
    assert '<h1>Su resultado del <span class="nowrap">PCL-5</span></h1>' in page and "<strong>40</strong> de 80" in page
    assert "Sus respuestas indican síntomas de TEPT" in page
    assert 'en español, llame al <a href="tel:988">988</a> y marque 2' in page
    assert "AYUDA" in page and "024" in page and "800 911 2000" in page
    assert "Esto no es un diagnóstico" in page


def test_spanish_error_page(client):
    response = get(client, "/results/0000-0000-0000", "es")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and html_lang(page) == "es"
    assert "No encontramos la página" in page and "Ir a la página de inicio" in page


@pytest.mark.parametrize("body, message", [
    ({"instrument": "x"}, '"instrument" debe ser uno de estos: itq, pcl5, pcptsd5, phq9.'),
    ({"instrument": "pcl5", "answers": [9] * 20}, "La respuesta 1 debe estar entre 0 y 4; es 9."),
    ({"instrument": "pcptsd5", "exposure": "yes"}, '"exposure" debe ser true o false.'),
    ({"instrument": "pcl5", "answers": [1] * 20, "previous": "nonsense"},
     "El código anterior no parece un código de resultado: tiene 12 letras y números, como 7KQ2-M9XD-4TPA."),
])
def test_api_errors_in_spanish(client, body, message):
    response = client.post("/api/v1/screenings", json=body, headers={"Accept-Language": "es"})
    assert response.status_code == 400 and stored_count() == 0
    assert message in response.get_json()["errors"]


# --- the catalog --------------------------------------------------------------------------------

def spanish_catalog() -> Catalog:
    with PO_FILE.open("rb") as handle:
        return read_po(handle)


def not_hidden(path: str) -> bool:
    """The Makefile's --ignore-dirs='.* __pycache__' (Babel's own default would skip templates/_macros)."""
    name = Path(path).name
    return not name.startswith(".") and name != "__pycache__"


def extracted_catalog(tmp_path: Path) -> Catalog:
    """What `make translations` would extract now, written to a temporary .pot and read back."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    template = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, directory_filter=not_hidden
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    pot = tmp_path / "messages.pot"
    with pot.open("wb") as handle:
        write_po(handle, template)
    with pot.open("rb") as handle:
        return read_po(handle)


def test_babel_cfg_covers_python_and_templates():
    config = (ROOT / "babel.cfg").read_text()
    assert "[python: app/**.py]" in config and "[jinja2: app/templates/**.html]" in config


def test_every_extracted_string_has_a_spanish_translation(tmp_path):
    extracted = extracted_catalog(tmp_path)
    spanish = spanish_catalog()
    ids = [message.id for message in extracted if message.id]
    assert len(ids) > 150  # the extraction really ran over the templates and the code
    assert "Please check your answers" in ids  # and over templates/_macros
    missing = []
    for msgid in ids:
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        translation = spanish.get(key)
        strings = translation.string if translation else None
        forms = strings if isinstance(strings, tuple) else (strings,)
        if translation is None or translation.fuzzy or not all(forms):
            missing.append(key)
    assert not missing, "untranslated (run `make translations`, then translate):\n" + "\n".join(missing)


def test_catalog_is_clean_placeholders_match_and_nothing_is_fuzzy():
    spanish = spanish_catalog()
    problems = [(message.id, str(error)) for message in spanish for error in message.check(spanish)]
    assert not problems
    assert not [message.id for message in spanish if message.id and message.fuzzy]
    for message in spanish:
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        targets = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\(\w+\)s", sources[-1]))
        for target in targets:
            assert set(re.findall(r"%\(\w+\)s", target)) == wanted, message.id


def test_spanish_says_usted_never_tu():
    informal = re.compile(r"\b(tú|tu|tus|te|ti|contigo|puedes|tienes|quieres|necesitas|eres|estás)\b",
                          re.IGNORECASE)
    spanish = spanish_catalog()
    found = [message.string for message in spanish if message.id and any(
        informal.search(text) for text in (message.string if isinstance(message.string, tuple)
                                           else (message.string,)))]
    assert not found


def test_committed_mo_matches_the_po():
    """The app loads the committed .mo; it must be what compiling the committed .po gives."""
    compiled = io.BytesIO()
    write_mo(compiled, spanish_catalog(), use_fuzzy=False)
    assert MO_FILE.exists(), "run `make translations` and commit the .mo"
    assert MO_FILE.read_bytes() == compiled.getvalue(), "stale .mo: run `make translations` and commit it"


@pytest.mark.parametrize("count, expected", [
    (1, "1 resultado coincide."), (0, "0 resultados coinciden."), (9, "9 resultados coinciden."),
    (1_000_000, "1000000 de resultados coinciden."),
])
def test_spanish_plurals_use_the_right_form(app, count, expected):
    """Spanish has three forms in CLDR: one, whole millions ("1 000 000 de ..."), and the rest."""
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert ngettext("%(num)s result matches.", "%(num)s results match.", count) == expected
