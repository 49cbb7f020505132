"""The browser fixtures' own rules: CI must not silently skip the browser tests."""
from __future__ import annotations

import pytest

from .conftest import CHROMIUM_ARGS, browser_unavailable


def test_missing_browser_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        browser_unavailable("/usr/bin/chromium not found")


def test_missing_browser_skips_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        browser_unavailable("/usr/bin/chromium not found")


def test_chromium_is_launched_offline_and_without_updates():
    for flag in ("--disable-background-networking", "--disable-component-update", "--disable-sync"):
        assert flag in CHROMIUM_ARGS
