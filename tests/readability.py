"""Readability of the learn pages: plain text from the Markdown body, scored with textstat.

Run `python -m tests.readability` for a table of every page's scores (the test suite asserts the
same targets). textstat is pinned to 0.7.8: from 0.7.9 it downloads NLTK data at run time, which
fails offline; 0.7.8 bundles its dictionaries.
"""
from __future__ import annotations

import re
import sys

import textstat

EN_MAX_GRADE = 9.0  # Flesch-Kincaid US school grade
ES_MIN_EASE = 60.0  # Fernández-Huerta and Szigriszt-Pazos: 60+ is "normal" or easier
ES_MAX_GRADE = 9.0  # Crawford: Spanish school years


def _end(line: str) -> str:
    line = line.strip()
    return line + "." if line and line[-1] not in ".!?:;" else line


def plain_text(body: str) -> str:
    """Markdown body -> prose for the formulas.

    Headings, list items and table rows count as sentences of their own (a full stop is added
    when they have none), so they do not run into the next line; a table row is one sentence,
    the stricter choice. Citations, link targets and emphasis marks are dropped.
    """
    out = []
    for raw in body.split("\n"):
        line = raw.strip()
        if re.fullmatch(r"\|?[\s:|-]+\|?", line) and "-" in line:
            continue  # a table's separator row
        if line.startswith("|"):
            cells = [cell.strip().rstrip(".") for cell in line.strip("|").split("|")]
            line = _end(", ".join(cell for cell in cells if cell))
        elif line.startswith("#"):
            line = _end(line.lstrip("#"))
        elif re.match(r"^([-*+]|\d+\.)\s+", line):
            line = _end(re.sub(r"^([-*+]|\d+\.)\s+", "", line))
        out.append(line)
    text = "\n".join(out)
    text = re.sub(r"\[(\d+)\]", "", text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*_`]", "", text)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    paragraphs = [" ".join(p.split("\n")).strip() for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


def scores(text: str, language: str) -> dict[str, float]:
    """The formulas for the language: FK grade (English) or three Spanish measures."""
    textstat.set_lang(language)
    if language == "en":
        return {"fk_grade": textstat.flesch_kincaid_grade(text),
                "reading_ease": textstat.flesch_reading_ease(text)}
    return {"fernandez_huerta": textstat.fernandez_huerta(text),
            "szigriszt_pazos": textstat.szigriszt_pazos(text),
            "crawford": textstat.crawford(text)}


def problems(measured: dict[str, float], language: str) -> list[str]:
    """Which targets the scores miss (empty when the page reads easily enough)."""
    if language == "en":
        return [f"FK grade {measured['fk_grade']:.1f} > {EN_MAX_GRADE}"] if measured["fk_grade"] > EN_MAX_GRADE else []
    missed = [f"{name} {measured[name]:.1f} < {ES_MIN_EASE}"
              for name in ("fernandez_huerta", "szigriszt_pazos") if measured[name] < ES_MIN_EASE]
    if measured["crawford"] > ES_MAX_GRADE:
        missed.append(f"crawford {measured['crawford']:.1f} > {ES_MAX_GRADE}")
    return missed


def main() -> int:
    from app.education.content import PAGES, load_page

    failed = False
    for language in ("en", "es"):
        for slug in PAGES:
            page = load_page(slug, language)
            if page.fallback:
                print(f"{language} {slug:24} missing (English shown)")
                continue
            text = plain_text(page.body)
            measured = scores(text, language)
            missed = problems(measured, language)
            failed |= bool(missed)
            figures = "  ".join(f"{name} {value:.1f}" for name, value in measured.items())
            print(f"{language} {slug:24} {textstat.lexicon_count(text):5d} words  {figures}  "
                  f"{'; '.join(missed) or 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
