"""Configuration: environment settings, production's secret-key guard, FLASK_ overrides."""
from __future__ import annotations

import pytest

from app import create_app


@pytest.mark.parametrize("key", [None, "", "dev", "changeme", "short-but-not-32-chars"])
def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch, key):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    overrides = {} if key is None else {"SECRET_KEY": key}
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", overrides)


def test_production_starts_with_a_real_key_and_secure_cookies():
    app = create_app("production", {"SECRET_KEY": "x" * 64, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.debug is False and app.testing is False


def test_production_is_the_default_environment(monkeypatch):
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError):
        create_app()


def test_database_url_and_prefixed_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite")
    monkeypatch.setenv("FLASK_PCL5_CUTOFF", "31")
    monkeypatch.setenv("FLASK_PCPTSD5_CUTOFF", "4")
    monkeypatch.setenv("FLASK_RETENTION_DAYS", "90")
    app = create_app("development")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/x.sqlite"
    assert (app.config["PCL5_CUTOFF"], app.config["PCPTSD5_CUTOFF"], app.config["RETENTION_DAYS"]) == (31, 4, 90)


def test_development_gets_a_stable_random_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app("development", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    second = create_app("development", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
