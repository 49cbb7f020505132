"""The marks the docs promise (docs/architecture.md, "Tests"): `-m "not browser"` leaves out every test
that drives Chromium, and `-m "not slow"` every module that starts nginx or gunicorn for all its tests."""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# Modules whose every test starts real servers (other slow tests are marked one by one).
SLOW_MODULES = ("test_deploy_nginx.py", "test_hardening_server.py")
# The browser folder's own rules check the fixtures, not a page: they need no browser.
WITHOUT_A_BROWSER = ("test_setup.py",)


def module_marks(path: Path) -> set[str]:
    """The marks in the module's `pytestmark`, e.g. {"slow", "skipif"}."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark"
                                                for t in node.targets):
            return {sub.attr for sub in ast.walk(node.value)
                    if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Attribute)
                    and sub.value.attr == "mark"}
    return set()


def test_every_browser_test_module_is_marked_browser():
    modules = [path for path in sorted((TESTS / "browser").glob("test_*.py")) if path.name not in WITHOUT_A_BROWSER]
    assert any(path.name == "test_journey.py" for path in modules)
    unmarked = [path.name for path in modules if "browser" not in module_marks(path)]
    assert not unmarked, f"not marked browser: {unmarked}"


def test_the_modules_that_start_servers_for_every_test_are_marked_slow():
    unmarked = [name for name in SLOW_MODULES if "slow" not in module_marks(TESTS / name)]
    assert not unmarked, f"not marked slow: {unmarked}"


def test_the_check_reads_a_list_of_marks_and_a_missing_one(tmp_path):
    marked = tmp_path / "test_a.py"
    marked.write_text("import pytest\npytestmark = [pytest.mark.slow, pytest.mark.skipif(True, reason='x')]\n")
    assert module_marks(marked) == {"slow", "skipif"}
    plain = tmp_path / "test_b.py"
    plain.write_text("import pytest\n\n@pytest.mark.slow\ndef test_x():\n    pass\n")
    assert module_marks(plain) == set()
