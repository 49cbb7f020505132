"""Learn pages: rendering, notices, sources, facts, sanitising, fallback, links in, readability."""
from __future__ import annotations

import html
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import render_template_string
from flask_babel import gettext

from app.education import content
from app.education.content import PAGES, ContentError, load_page, parse_file
from app.screening.instruments import PRODUCT_CLUSTERS

from .conftest import scripts_are_only_the_site_script
from .readability import plain_text, problems, scores

URLS = {
    "index": "/learn",
    "ptsd": "/learn/ptsd",
    "treatments": "/learn/treatments",
    "mdma-assisted-therapy": "/learn/mdma-assisted-therapy",
    "find-help": "/learn/find-help",
}
LANGUAGES = ("en", "es")
NOTICE = ("This is educational information, not medical advice. Please see a clinician about your "
          "own health, and talk with your prescriber before you start, stop or change any medicine.")
STATUS_LABEL = "Investigational — not an approved treatment in the US; MDMA is a Schedule I drug"


class Parsed(HTMLParser):
    """What the tests look at in a page: ids, links, the element path of each id, visible text."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.links: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.text_parts: list[str] = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if "id" in attributes:
            self.ids.append(attributes["id"])
        if tag == "a" and "href" in attributes:
            self.links.append(attributes["href"])

    def handle_data(self, data):
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text_parts))


def in_language(app, language: str, path: str = "/"):
    """A request context for a reader of `language`."""
    return app.test_request_context(path, headers={"Accept-Language": language})


def get(client, url: str, language: str):
    return client.get(url, headers={"Accept-Language": language})


def translated(app, language: str, message: str) -> str:
    """A UI string as the reader's language shows it (English until a catalog translates it)."""
    with in_language(app, language):
        return gettext(message)


def section(markup: str, start: str, end: str) -> str:
    return markup[markup.index(start):markup.index(end, markup.index(start))]


# --- every page, both languages -----------------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("slug", PAGES)
def test_page_renders_without_javascript_with_notice_date_sources_and_crisis_lines(
        app, client, slug, language):
    response = get(client, URLS[slug], language)
    assert response.status_code == 200
    markup = response.get_data(as_text=True)
    page = Parsed(markup)
    # Nothing on the page needs JavaScript: the only script is the site-wide external enhancement.
    assert scripts_are_only_the_site_script(markup)
    assert f'<html lang="{language}">' in markup
    assert html.unescape(translated(app, language, NOTICE)) in page.text
    assert translated(app, language, "Last reviewed:") in page.text
    assert re.search(r'<time datetime="\d{4}-\d{2}-\d{2}">[^<]*2026</time>', markup)
    sources = section(markup, 'id="sources-heading"', "</section>")
    items = re.findall(r'<li id="source-(\d+)">(.*?)</li>', sources, re.S)
    assert len(items) >= 3
    assert [int(n) for n, _ in items] == list(range(1, len(items) + 1))
    assert all(re.search(r'<a href="https://[^"]+">', item) for _, item in items)
    assert "crisis-heading" in page.ids and "988" in page.text  # crisis lines
    assert "notice-heading" in page.ids  # the not-a-diagnosis notice
    assert len(page.ids) == len(set(page.ids)), "duplicate ids on the page"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("slug", PAGES)
def test_status_label_only_and_first_on_the_mdma_page(app, client, slug, language):
    markup = get(client, URLS[slug], language).get_data(as_text=True)
    label = str(html.escape(translated(app, language, STATUS_LABEL), quote=False))
    if slug == "mdma-assisted-therapy":
        assert label in markup
        assert markup.index(label) < markup.index("</h1>") + 200  # straight under the title
        assert markup.index(label) < markup.index('class="learn-body"')
    else:
        assert label not in markup


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("slug", PAGES)
def test_every_citation_and_in_page_link_resolves(client, slug, language):
    page = Parsed(get(client, URLS[slug], language).get_data(as_text=True))
    citations = [link for link in page.links if link.startswith("#source-")]
    if slug != "index" or citations:
        assert citations, "a page without a single citation"
    for link in (link for link in page.links if link.startswith("#")):
        assert link[1:] in page.ids, f"{link} points at nothing"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("slug", PAGES)
def test_every_page_is_written_in_its_language(slug, language):
    page = load_page(slug, language)
    assert not page.fallback and page.language == language


# --- facts: nothing from the article's outdated claims, the corrections present -----------

FORBIDDEN = [
    "66% remission", "remission rate", "66 % de remisión", "tasa de remisión",
    "35% to 55%", "35–55%", "35-55%", "35 to 55", "35 % y el 55 %", "35 al 55",
    "catalyz", "catalys", "catali",  # "MDMA catalyses therapy": the FDA found its part unclear
    "FDA has approved serotonin and norepinephrine", "serotonin and norepinephrine-based",
    "chemical imbalance", "burns through", "addiction is highly unlikely", "no lasting side",
    "administered in secret", "word-of-mouth", "legal risk", "party drug",
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("slug", PAGES)
def test_no_page_repeats_the_articles_outdated_claims(client, slug, language):
    text = Parsed(get(client, URLS[slug], language).get_data(as_text=True)).text.lower()
    for phrase in FORBIDDEN:
        assert phrase.lower() not in text, phrase


REQUIRED = {
    ("ptsd", "en"): ["DSM-5", "cluster B", "clusters C and D", "cluster E", "6 in 100", "13 million",
                     "treatable", "not a diagnosis"],
    ("ptsd", "es"): ["DSM-5", "grupo B", "grupos C y D", "grupo E", "6 de cada 100", "13 millones",
                     "se puede tratar", "no es un diagnóstico"],
    ("treatments", "en"): ["Cognitive Processing Therapy", "Prolonged Exposure", "EMDR",
                           "Written Exposure Therapy", "sertraline", "paroxetine", "venlafaxine",
                           "off-label", "16 in 100", "27%", "42%", "benzodiazepines"],
    ("treatments", "es"): ["procesamiento cognitivo", "Exposición prolongada", "EMDR",
                           "exposición escrita", "sertralina", "paroxetina", "venlafaxina",
                           "uso no aprobado (off-label)", "16 de cada 100", "27 %", "42 %", "benzodiacepinas"],
    ("mdma-assisted-therapy", "en"): [
        "retracted", "August 2024", "9 August 2024", "complete response letter", "9 to 2", "10 to 1",
        "67%", "32%", "24.4", "13.9", "23.7", "14.8", "not the same as remission", "Schedule I",
        "As of November 2026", "SSRIs", "MAOIs", "blood pressure", "street", "illegal",
        "Never stop or cut down a medicine on your own"],
    ("mdma-assisted-therapy", "es"): [
        "retiró", "agosto de 2024", "9 de agosto de 2024", "complete response letter", "9 a 2",
        "10 a 1", "67 %", "32 %", "24,4", "13,9", "23,7", "14,8", "no es lo mismo que la remisión",
        "Lista I", "A noviembre de 2026", "ISRS", "IMAO", "presión", "calle", "ilegal",
        "Nunca deje ni baje un medicamento por su cuenta"],
    ("find-help", "en"): ["primary care", "veteran", "Vet Centers", "Psychologist Locator",
                          "result code", "printed", "988", "911"],
    ("find-help", "es"): ["atención primaria", "veterano", "Vet Centers", "Psychologist Locator",
                          "código de resultado", "impresa", "988", "911"],
}


@pytest.mark.parametrize(("slug", "language"), sorted(REQUIRED))
def test_pages_state_the_current_facts(client, slug, language):
    text = Parsed(get(client, URLS[slug], language).get_data(as_text=True)).text
    for phrase in REQUIRED[(slug, language)]:
        assert phrase in text, phrase


def test_the_mdma_sources_mark_the_phase_2_papers_as_retracted():
    for language, word in (("en", "Retracted August 2024"), ("es", "Retractado en agosto de 2024")):
        sources = load_page("mdma-assisted-therapy", language).sources
        retracted = [s for s in sources if word in s.text]
        assert {("Mithoefer" in s.text or "Jerome" in s.text) for s in retracted} == {True}
        assert len(retracted) == 2  # the third retracted paper is not one this page cites


@pytest.mark.parametrize("language, three, date", [("en", "retracted three papers", "10 August 2024"),
                                                     ("es", "retiró tres artículos", "10 de agosto de 2024")])
def test_the_mdma_page_counts_three_retractions_with_their_date_and_source(client, language, three, date):
    """Issue 12, point 7: Psychopharmacology retracted three papers on 10 August 2024, not two."""
    text = Parsed(get(client, URLS["mdma-assisted-therapy"], language).get_data(as_text=True)).text
    assert three in text and date in text
    assert "retracted both" not in text and "retiró los dos" not in text
    sources = load_page("mdma-assisted-therapy", language).sources
    assert any("retracted three papers" in source.text for source in sources)


@pytest.mark.parametrize("language, phrases", [
    ("en", ["not this treatment", "ClinicalTrials.gov", "nine VA medical centers"]),
    ("es", ["no son este tratamiento", "ClinicalTrials.gov", "nueve centros médicos del VA"]),
])
def test_the_mdma_page_counters_underground_sessions_and_brings_the_va_up_to_date(client, language, phrases):
    text = Parsed(get(client, URLS["mdma-assisted-therapy"], language).get_data(as_text=True)).text
    for phrase in phrases:
        assert phrase in text, phrase
    for unsourced in ("few psychiatrists offer it", "pocos psiquiatras la ofrecen"):
        assert unsourced not in text


@pytest.mark.parametrize("language, phrases, gone", [
    ("en", ["2025", "brexpiprazole", "18 July 2025, 10 of the FDA's 11 outside advisers voted that it had not been "
            "shown to work", "20 September 2025", "only approved medicines"],
     ["weaker choice", "VA/DoD, APA", "weaker (APA)", "1 to 10"]),
    ("es", ["2025", "brexpiprazol", "18 de julio de 2025, 10 de los 11 asesores externos de la FDA votaron que no "
            "se había demostrado", "20 de septiembre de 2025", "únicos medicamentos aprobados",
            "Asociación Estadounidense de Psicología", "carta de respuesta completa"],
     ["opción más débil", "Asociación Americana", "VA/DoD, APA", "1 a 10"]),
])
def test_the_treatments_page_has_the_2025_apa_guideline_and_the_brexpiprazole_decision(client, language, phrases, gone):
    text = Parsed(get(client, URLS["treatments"], language).get_data(as_text=True)).text
    for phrase in phrases:
        assert phrase in text, phrase
    for phrase in gone:
        assert phrase not in text, phrase
    sources = " ".join(s.text for s in load_page("treatments", language).sources)
    assert "2025" in sources.split("Clinical Practice Guideline for the Treatment of Posttraumatic")[1][:80]
    assert "Otsuka" in sources


@pytest.mark.parametrize("language, phrases, gone", [
    ("en", ["DSM-IV", "intrusion", "blaming yourself or others", "CAPS-5"],
     ["not a sign of weakness", "set interview"]),
    ("es", ["DSM-IV", "intrusión", "culparse a sí mismo o a otros", "CAPS-5", "le angustian", "cada año"],
     ["debilidad", "le hacen daño", "evento", "hecho traumático"]),
])
def test_the_ptsd_page_names_dsm_iv_and_the_new_dsm5_symptoms(client, language, phrases, gone):
    text = Parsed(get(client, URLS["ptsd"], language).get_data(as_text=True)).text
    body = text[:text.index("Sources" if language == "en" else "Fuentes")]
    for phrase in phrases:
        assert phrase in body, phrase
    for phrase in gone:
        assert phrase not in body, phrase


def test_find_help_in_spanish_suggests_a_spanish_speaking_therapist(client):
    text = Parsed(get(client, URLS["find-help"], "es").get_data(as_text=True)).text
    assert "pida un terapeuta que hable español" in text and "remitirlo" in text


# Names with digits in them, not figures that need a source.
NOT_FIGURES = re.compile(r"phase \d|fase \d|MAPP\d|CAPS-5|DSM-5|PCL-5|PC-PTSD-5|Schedule I|Lista I",
                         re.IGNORECASE)
ARTICLE_FIGURE = re.compile(r"66\s?%")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("slug", ["treatments", "mdma-assisted-therapy"])
def test_every_figure_on_the_evidence_pages_carries_a_citation(slug, language):
    blocks = re.findall(r"<(p|li|tr)>(.*?)</\1>", load_page(slug, language).html, re.S)
    assert blocks
    for tag, block in blocks:
        if tag == "tr" and "<th>" in block:
            continue
        prose = NOT_FIGURES.sub("", re.sub(r"<[^>]+>", "", block))
        if ARTICLE_FIGURE.search(prose):
            # The article's "66%" is quoted only to be corrected, and the next paragraph cites
            # where it came from.
            assert re.search(r"misleading|confusión", prose), prose
            continue
        if re.search(r"\d", re.sub(r"\[\d+\]", "", prose)):
            assert 'class="cite"' in block, f"a figure without a source: {prose[:120]}"


# --- the loader: sanitising, validation, fallback, cache ------------------------------------

GOOD_HEADER = """title: A test page
summary: Only for tests.
reviewed: 2026-11-26
sources: One | https://example.org/1
    Two | https://example.org/2
    Three | https://example.org/3

"""


def write(root: Path, language: str, slug: str, text: str) -> Path:
    path = root / language / f"{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


HOSTILE_BODY = """## Safe heading
Text [1] and <script>alert("owned")</script> more.

<img src="x" onerror="alert(2)"><a href="javascript:alert(3)">click</a>
<p style="color:red" onclick="alert(4)">styled</p><iframe src="https://example.org"></iframe>
<a href="https://example.org/ok" class="evil" id="x">fine</a> <div class="table-scroll" tabindex="5">box</div>

| a | b |
|:--|--:|
| 1 [2] | 2 [3] |
"""


def test_sanitiser_strips_scripts_handlers_and_unsafe_links(tmp_path):
    page = parse_file(write(tmp_path, "en", "ptsd", GOOD_HEADER + HOSTILE_BODY))
    lowered = page.html.lower()
    for bad in ("<script", "alert(", "onerror", "onclick", "javascript:", "style=", "<iframe",
                "<img", 'class="evil"', 'tabindex="5"', 'id="x"'):
        assert bad not in lowered, bad
    assert '<h2 id="safe-heading">Safe heading</h2>' in page.html  # heading ids survive
    assert '<a class="cite" href="#source-1"' in page.html
    assert '<a href="https://example.org/ok"' in page.html
    assert '<div class="table-scroll" tabindex="0">\n<table>' in page.html  # wide tables scroll
    assert "styled" in page.html and "fine" in page.html  # text kept, markup dropped


def test_a_hostile_content_file_is_sanitised_on_the_page(client, tmp_path, monkeypatch):
    write(tmp_path, "en", "ptsd", GOOD_HEADER + HOSTILE_BODY)
    monkeypatch.setattr(content, "CONTENT_DIR", tmp_path)
    response = client.get("/learn/ptsd")
    assert response.status_code == 200
    markup = response.get_data(as_text=True)
    assert scripts_are_only_the_site_script(markup)
    assert "alert(" not in markup and "onerror" not in markup


BROKEN = {
    "no title": GOOD_HEADER.replace("title: A test page\n", ""),
    "no summary": GOOD_HEADER.replace("summary: Only for tests.\n", ""),
    "bad date": GOOD_HEADER.replace("2026-11-26", "26/11/2026"),
    "two sources": GOOD_HEADER.replace("    Three | https://example.org/3\n", ""),
    "source without a link": GOOD_HEADER.replace("Two | https://example.org/2", "Two, no link"),
    "plain http source": GOOD_HEADER.replace("https://example.org/2", "http://example.org/2"),
    "citation past the list": GOOD_HEADER + "Text [4].\n",
    "citation zero": GOOD_HEADER + "Text [0].\n",
    "h1 in the body": GOOD_HEADER + "# Second title\n",
    "anchor to a missing heading": GOOD_HEADER.replace(
        "reviewed:", "anchors: avoidance | Nowhere\nreviewed:") + "## Somewhere\n",
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_content_file_is_refused_with_its_reason(tmp_path, case):
    path = write(tmp_path, "en", "ptsd", BROKEN[case])
    with pytest.raises(ContentError, match=re.escape(str(path))):
        parse_file(path)


def test_a_broken_page_gets_the_error_page_and_other_pages_still_work(client, tmp_path, monkeypatch):
    for slug in PAGES:
        shutil.copy(content.content_path(slug, "en"), write(tmp_path, "en", slug, ""))
    write(tmp_path, "en", "treatments", BROKEN["citation past the list"])
    monkeypatch.setattr(content, "CONTENT_DIR", tmp_path)
    response = client.get("/learn/treatments")
    assert response.status_code == 500
    assert "Traceback" not in response.get_data(as_text=True)
    home = client.get("/")
    assert home.status_code == 200  # the home page's links skip the broken page
    assert 'href="/learn/ptsd"' in home.get_data(as_text=True)
    assert 'href="/learn/treatments"' not in home.get_data(as_text=True)


def test_a_missing_translation_falls_back_to_english_with_a_note(app, client, tmp_path, monkeypatch):
    for slug in PAGES:
        shutil.copy(content.content_path(slug, "en"), write(tmp_path, "en", slug, ""))
    monkeypatch.setattr(content, "CONTENT_DIR", tmp_path)
    page = load_page("find-help", "es")
    assert page.fallback and page.language == "en"
    markup = get(client, "/learn/find-help", "es").get_data(as_text=True)
    note = translated(app, "es", "This page is not yet available in your language, so it is shown in English.")
    assert note in markup
    assert '<h1 lang="en">Finding help</h1>' in markup
    assert '<div class="learn-body" lang="en">' in markup
    assert "not yet available" not in get(client, "/learn/find-help", "en").get_data(as_text=True)


def test_parsed_pages_are_cached_until_the_file_changes(tmp_path):
    path = write(tmp_path, "en", "ptsd", GOOD_HEADER + "Body.\n")
    first = load_page("ptsd", "en", root=tmp_path)
    assert load_page("ptsd", "en", root=tmp_path) is first  # no re-parse per request
    path.write_text(GOOD_HEADER.replace("A test page", "Edited title") + "Body.\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_page("ptsd", "en", root=tmp_path).title == "Edited title"


def test_unknown_pages_are_404(client):
    assert client.get("/learn/nope").status_code == 404
    assert client.get("/learn/index").status_code == 404
    with pytest.raises(KeyError):
        load_page("../secrets", "en")


def test_learn_check_command_passes_on_the_shipped_content(runner):
    result = runner.invoke(args=["learn", "check"])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_learn_check_command_fails_on_a_broken_page(runner, tmp_path, monkeypatch):
    for slug in PAGES:
        shutil.copy(content.content_path(slug, "en"), write(tmp_path, "en", slug, ""))
    write(tmp_path, "en", "ptsd", BROKEN["bad date"])
    monkeypatch.setattr(content, "CONTENT_DIR", tmp_path)
    result = runner.invoke(args=["learn", "check"])
    assert result.exit_code == 1
    assert "ptsd.md" in result.output and "reviewed" in result.output
    assert "missing; English is shown" in result.output  # es/ is absent: a note, not an error


# --- reachability ------------------------------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
def test_home_page_links_to_every_learn_page(client, language):
    links = Parsed(get(client, "/", language).get_data(as_text=True)).links
    for url in URLS.values():
        assert url in links, url


@pytest.mark.parametrize("url", ["/", "/screen/pcl5", "/learn/ptsd"])
def test_main_navigation_has_a_learn_link(client, url):
    markup = client.get(url).get_data(as_text=True)
    nav = section(markup, '<nav class="wrap site-nav"', "</nav>")
    assert 'href="/learn"' in nav


RESULT_LINKS = ('{% from "education/_result_links.html" import cluster_link, what_next %}'
                '{% for c in clusters %}<p>{{ cluster_link(c) }}</p>{% endfor %}{{ what_next() }}')


@pytest.mark.parametrize("language", LANGUAGES)
def test_result_page_links_lead_to_the_matching_learn_sections(app, client, language):
    """The macros the result page uses: each cluster to its /learn/ptsd section, what next to two pages."""
    with in_language(app, language, "/results/x"):
        rendered = render_template_string(RESULT_LINKS, clusters=PRODUCT_CLUSTERS)
    links = Parsed(rendered).links
    cluster_links = [link for link in links if link.startswith("/learn/ptsd#")]
    assert len(cluster_links) == len(PRODUCT_CLUSTERS) == len(set(cluster_links))
    ptsd_ids = Parsed(get(client, "/learn/ptsd", language).get_data(as_text=True)).ids
    for link in cluster_links:
        assert link.split("#", 1)[1] in ptsd_ids, link
    assert "/learn/treatments" in links and "/learn/find-help" in links
    headings = {h.id: h.name for h in load_page("ptsd", language).headings}
    for link in cluster_links:
        assert html.escape(headings[link.split("#", 1)[1]], quote=False) in rendered  # link text


def test_cluster_anchors_follow_each_languages_headings(app):
    anchors = {}
    for language in LANGUAGES:
        with in_language(app, language):
            anchors[language] = render_template_string(
                '{% from "education/_result_links.html" import cluster_link %}{{ cluster_link("avoidance") }}')
    assert 'href="/learn/ptsd#avoidance-and-numbing"' in anchors["en"]
    assert 'href="/learn/ptsd#evitacion-y-embotamiento"' in anchors["es"]


def test_cluster_link_survives_a_broken_ptsd_page(app, tmp_path, monkeypatch):
    write(tmp_path, "en", "ptsd", BROKEN["bad date"])
    monkeypatch.setattr(content, "CONTENT_DIR", tmp_path)
    with app.test_request_context():
        rendered = render_template_string(
            '{% from "education/_result_links.html" import cluster_link %}{{ cluster_link("arousal") }}')
    assert 'href="/learn/ptsd"' in rendered


# --- readability -------------------------------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("slug", PAGES)
def test_every_page_reads_at_grade_9_or_below(slug, language):
    text = plain_text(load_page(slug, language).body)
    assert len(text.split()) > 200  # a real page, not an empty body that scores well
    assert problems(scores(text, language), language) == []


def test_readability_formulas_tell_hard_text_from_easy():
    hard = ("Notwithstanding considerable methodological heterogeneity, contemporaneous "
            "investigations substantiate psychotherapeutic interventions' comparative effectiveness. ") * 5
    assert problems(scores(plain_text(hard), "en"), "en")
    easy = "You can get help. Talk to a doctor. It is OK to ask. " * 10
    assert not problems(scores(plain_text(easy), "en"), "en")


# --- the test package itself -------------------------------------------------------------

def test_tests_package_is_ours_not_textstats():
    """textstat 0.7.8's wheel installs a stray top-level `tests` package into site-packages."""
    import tests
    from tests import conftest

    here = Path(__file__).resolve().parent
    assert Path(tests.__file__).resolve().parent == here
    assert Path(conftest.__file__).resolve().parent == here


def test_result_page_links_each_cluster_and_what_next_to_the_learn_pages(client, db):
    """Issue 4, item 8: the result page itself carries the links, for a fresh and a stored result."""
    import re

    body = {"instrument": "pcl5", "answers": [2] * 20, "store": True}
    location = client.post("/api/v1/screenings", json=body).headers["Location"]
    html = client.get(location).get_data(as_text=True)
    for anchor in ("re-experiencing", "avoidance-and-numbing", "arousal-and-reactivity"):
        assert f'href="/learn/ptsd#{anchor}"' in html
    assert 'href="/learn/treatments"' in html and 'href="/learn/find-help"' in html
    ptsd = client.get("/learn/ptsd").get_data(as_text=True)
    for anchor in re.findall(r'href="/learn/ptsd#([^"]+)"', html):
        assert f'id="{anchor}"' in ptsd
