"""docs/architecture.md names every module under app/, so the map a newcomer reads matches the code."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def modules() -> list[Path]:
    """Every module of the app, a package by its folder's name."""
    found = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        found.append(path.parent if path.name == "__init__.py" else path)
    return found


def test_the_architecture_page_names_every_module_under_app():
    text = ARCHITECTURE.read_text()
    missing = [str(path.relative_to(ROOT)) for path in modules()
               if path != ROOT / "app" and path.stem not in text]
    assert len(modules()) > 60
    assert not missing, f"docs/architecture.md does not name: {missing}"


def test_the_check_finds_a_module_the_page_does_not_name(tmp_path, monkeypatch):
    page = tmp_path / "architecture.md"
    page.write_text(ARCHITECTURE.read_text().replace("crisis_lines.py", "the crisis lines module"))
    monkeypatch.setattr(sys.modules[__name__], "ARCHITECTURE", page)
    try:
        test_the_architecture_page_names_every_module_under_app()
    except AssertionError as error:
        assert "app/crisis_lines.py" in str(error)
    else:
        raise AssertionError("a module missing from the page was not found")
