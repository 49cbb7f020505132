"""Learn pages from Markdown files: header, sanitised HTML, numbered sources, cached per file version."""
from __future__ import annotations

import dataclasses
import html
import os
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import markdown
import nh3
from markdown.extensions import Extension
from markdown.extensions.toc import slugify
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor

CONTENT_DIR = Path(__file__).parent / "content"
DEFAULT_LANGUAGE = "en"
PAGES = ("index", "ptsd", "treatments", "mdma-assisted-therapy", "find-help")
REQUIRED_KEYS = ("title", "summary", "reviewed", "sources")
MIN_SOURCES = 3  # every learn page cites at least three sources (docs/content.md)

# What the rendered body may contain. Anything else is dropped; <script>/<style> lose their
# content too. Heading ids come from the toc extension and are what section links point at.
ALLOWED_TAGS = {
    "h2", "h3", "h4", "p", "ul", "ol", "li", "strong", "em", "a", "blockquote", "code", "pre",
    "br", "hr", "table", "thead", "tbody", "tr", "th", "td", "div", "abbr",
}
ALLOWED_ATTRIBUTES = {"h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "a": {"href"}, "abbr": {"title"},
                      "ol": {"start"}}
# Attributes allowed only with these exact values (the table wrapper and citation links we add).
ALLOWED_VALUES = {"a": {"class": {"cite"}}, "div": {"class": {"table-scroll"}, "tabindex": {"0"}}}
ALLOWED_SCHEMES = {"https", "mailto", "tel"}

CITATION = r"\[(\d{1,3})\]"


class ContentError(ValueError):
    """A content file that cannot be shown as it is; the message names the file and the problem."""


@dataclass(frozen=True)
class Source:
    number: int
    text: str
    url: str

    @property
    def id(self) -> str:
        return f"source-{self.number}"


@dataclass(frozen=True)
class Heading:
    id: str
    name: str
    level: int


@dataclass(frozen=True)
class Page:
    """One parsed page. `language` is the file's; `fallback` is set when another was asked for."""

    slug: str
    language: str
    title: str
    summary: str
    reviewed: date
    sources: tuple[Source, ...]
    html: str
    headings: tuple[Heading, ...]
    anchors: tuple[tuple[str, str], ...]  # (key, heading id) from the optional `anchors` header
    body: str  # the Markdown body, for the readability check
    fallback: bool = False

    def anchor(self, key: str) -> str | None:
        """The heading id that the header's `anchors: key | Heading text` line points at."""
        return dict(self.anchors).get(key)


class CitationProcessor(InlineProcessor):
    """`[n]` becomes a link to the numbered source list; runs before reference links would."""

    def __init__(self, pattern: str, md: markdown.Markdown, cited: set[int]):
        super().__init__(pattern, md)
        self.cited = cited

    def handleMatch(self, m, data):  # noqa: N802 - Markdown's API name
        number = int(m.group(1))
        self.cited.add(number)
        link = etree.Element("a", {"href": f"#source-{number}", "class": "cite"})
        link.text = f"[{number}]"
        return link, m.start(0), m.end(0)


class TableScrollProcessor(Treeprocessor):
    """Wrap each table in a focusable scrolling box so a wide table never widens a 320px page."""

    def run(self, root):
        for parent in list(root.iter()):
            for index, child in enumerate(list(parent)):
                if child.tag == "table":
                    wrapper = etree.Element("div", {"class": "table-scroll", "tabindex": "0"})
                    wrapper.tail, child.tail = child.tail, None
                    parent.remove(child)
                    wrapper.append(child)
                    parent.insert(index, wrapper)


class LearnExtension(Extension):
    """Citations and table wrappers; `cited` collects the numbers the body uses."""

    def __init__(self, cited: set[int], **kwargs):
        super().__init__(**kwargs)
        self.cited = cited

    def extendMarkdown(self, md):  # noqa: N802 - Markdown's API name
        md.inlinePatterns.register(CitationProcessor(CITATION, md, self.cited), "citation", 175)
        md.treeprocessors.register(TableScrollProcessor(md), "table_scroll", 15)


def sanitise(fragment: str) -> str:
    """The allow-listed subset of an HTML fragment."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        tag_attribute_values=ALLOWED_VALUES,
        url_schemes=ALLOWED_SCHEMES,
        # No rel on every link: no link opens a new window (so no opener to cut), and base.html's
        # <meta name="referrer" content="no-referrer"> already withholds the referrer site-wide.
        # Fifty-odd citations times 27 bytes kept the longest learn page over its 30 KB budget.
        link_rel=None,
    )


def _flat_headings(tokens: list[dict]) -> list[Heading]:
    found = []
    for token in tokens:
        found.append(Heading(id=token["id"], name=html.unescape(token["name"]), level=token["level"]))
        found.extend(_flat_headings(token.get("children", [])))
    return found


def _split_pairs(path: Path, key: str, lines: list[str]) -> list[tuple[str, str]]:
    """Header lines of the form `left | right` (sources and anchors)."""
    pairs = []
    for line in lines:
        left, bar, right = line.rpartition(" | ")
        if not bar or not left.strip() or not right.strip():
            raise ContentError(f"{path}: {key} line is not 'text | value': {line!r}")
        pairs.append((left.strip(), right.strip()))
    return pairs


def _header_value(path: Path, meta: dict[str, list[str]], key: str) -> str:
    value = " ".join(meta.get(key) or []).strip()
    if not value:
        raise ContentError(f"{path}: the header has no '{key}:' line")
    return value


SLUG_WORDS = 3


def short_slug(value: str, separator: str) -> str:
    """A heading's id from its first three words ("Las sesiones clandestinas o…" → las-sesiones-clandestinas):
    each id is written twice, in the heading and in "On this page", and long ones cost page weight."""
    return separator.join(slugify(value, separator).split(separator)[:SLUG_WORDS])


def parse_file(path: Path) -> Page:
    """Parse and render one content file, raising ContentError for anything a reader would miss."""
    try:
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    except (OSError, UnicodeDecodeError) as error:
        raise ContentError(f"{path}: cannot be read ({error})") from error
    cited: set[int] = set()
    md = markdown.Markdown(
        extensions=["meta", "tables", "toc", "sane_lists", LearnExtension(cited)],
        extension_configs={"toc": {"slugify": short_slug}},
        output_format="html",
    )
    rendered = md.convert(text)
    meta: dict[str, list[str]] = md.Meta
    title, summary = _header_value(path, meta, "title"), _header_value(path, meta, "summary")
    try:
        reviewed = date.fromisoformat(_header_value(path, meta, "reviewed"))
    except ValueError as error:
        raise ContentError(f"{path}: 'reviewed' must be a date like 2026-11-26 ({error})") from error

    sources = tuple(Source(number, text, url) for number, (text, url)
                    in enumerate(_split_pairs(path, "sources", meta.get("sources", [])), start=1))
    if len(sources) < MIN_SOURCES:
        raise ContentError(f"{path}: {len(sources)} sources; every page needs at least {MIN_SOURCES}")
    for source in sources:
        if not source.url.startswith("https://"):
            raise ContentError(f"{path}: source {source.number} needs an https:// link")
    unknown = sorted(n for n in cited if not 1 <= n <= len(sources))
    if unknown:
        raise ContentError(f"{path}: citations {unknown} have no source (there are {len(sources)})")

    body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
    if re.search(r"^#\s", body, re.MULTILINE):
        raise ContentError(f"{path}: headings in the body start at '##' (the page title is the h1)")
    headings = tuple(_flat_headings(md.toc_tokens))
    ids_by_name = {heading.name: heading.id for heading in headings}
    anchors = []
    for key, name in _split_pairs(path, "anchors", meta.get("anchors", [])):
        if name not in ids_by_name:
            raise ContentError(f"{path}: anchor '{key}' names a heading that is not there: {name!r}")
        anchors.append((key, ids_by_name[name]))

    return Page(slug=path.stem, language=path.parent.name, title=title, summary=summary,
                reviewed=reviewed, sources=sources, html=sanitise(rendered), headings=headings,
                anchors=tuple(anchors), body=body)


@lru_cache(maxsize=128)
def _cached_parse(path: Path, mtime_ns: int, size: int) -> Page:
    # The files only change on deploy or a clinician's edit; the key includes the file's
    # modification time and size, so an edited file is parsed afresh without a restart.
    return parse_file(path)


def content_path(slug: str, language: str, root: Path | None = None) -> Path:
    return _joined(root or CONTENT_DIR, language, slug)


@lru_cache(maxsize=256)
def _joined(root: Path, language: str, slug: str) -> Path:
    # One Path per file, kept: a result page looks four of them up, and joining paths costs more than the
    # stat that follows (0.1 ms a page).
    return root / language / f"{slug}.md"


def content_version(root: Path | None = None) -> tuple:
    """Which content files exist and when each last changed: any edit gives a different value."""
    root = root or CONTENT_DIR
    files = []
    with os.scandir(root) as languages:
        for language in languages:
            if language.is_dir():
                with os.scandir(language.path) as entries:  # DirEntry.stat() is one call, then cached
                    files += [(entry.path, entry.stat().st_mtime_ns, entry.stat().st_size)
                              for entry in entries if entry.name.endswith(".md")]
    return (str(root), *sorted(files))


def load_page(slug: str, language: str, root: Path | None = None) -> Page:
    """A page in `language`, or the English one marked as a fallback when that file is missing."""
    if slug not in PAGES:
        raise KeyError(slug)
    for candidate in dict.fromkeys((language, DEFAULT_LANGUAGE)):
        path = content_path(slug, candidate, root)
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        page = _cached_parse(path, stat.st_mtime_ns, stat.st_size)
        return dataclasses.replace(page, fallback=True) if candidate != language else page
    raise ContentError(f"{content_path(slug, DEFAULT_LANGUAGE, root)}: missing")


def check_all(languages: tuple[str, ...], root: Path | None = None) -> tuple[list[str], list[str]]:
    """Every page in every language: (errors, notes). Missing translations are notes, not errors."""
    errors: list[str] = []
    notes: list[str] = []
    for language in languages:
        for slug in PAGES:
            path = content_path(slug, language, root)
            if not path.exists():
                (errors if language == DEFAULT_LANGUAGE else notes).append(
                    f"{path}: missing" + ("" if language == DEFAULT_LANGUAGE else "; English is shown"))
                continue
            try:
                parse_file(path)
            except ContentError as error:
                errors.append(str(error))
    return errors, notes
