"""Rate limits: who is counted (a keyed hash, never a stored address) and which endpoints are limited."""
from __future__ import annotations

import hashlib
import hmac
from typing import Callable

from flask import Flask, current_app, request

from .extensions import limiter

# Endpoint → (setting holding the limit, methods counted, shared scope). Submissions by form and by
# API share one budget; every view that takes a result code shares another, so codes cannot be
# enumerated by spreading guesses over several routes. A new view that accepts a code or answers
# adds one line here.
LIMITED_ENDPOINTS: dict[str, tuple[str, tuple[str, ...] | None, str]] = {
    "screening.screen": ("RATELIMIT_SUBMISSIONS", ("POST",), "submissions"),
    "api.create_screening": ("RATELIMIT_SUBMISSIONS", ("POST",), "submissions"),
    "screening.result": ("RATELIMIT_CODE_LOOKUPS", None, "code-lookups"),
}


def pseudonym(value: str, purpose: str) -> str:
    """A keyed hash of an address or account name: counters (even in Redis) never hold the value."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def client_key() -> str:
    """The rate-limit key for the client: its address, pseudonymised, used only for the window's length."""
    return pseudonym(request.remote_addr or "unknown", "client")


def setting(name: str) -> Callable[[], str]:
    """A limit read from the configuration on each request, so tests and deployments can tune it."""

    def limit_value() -> str:
        return current_app.config[name]

    limit_value.__name__ = f"setting_{name}"
    return limit_value


# One provider object per setting: Flask-Limiter deduplicates equal limits, so applying them again for
# every app the factory builds (the test suite builds hundreds) does not stack them.
_PROVIDERS: dict[str, Callable[[], str]] = {}


def _provider(name: str) -> Callable[[], str]:
    return _PROVIDERS.setdefault(name, setting(name))


def apply_rate_limits(app: Flask) -> None:
    """Wrap each endpoint in LIMITED_ENDPOINTS with its shared limit; call after the blueprints."""
    for endpoint, (setting_name, methods, scope) in LIMITED_ENDPOINTS.items():
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        decorator = limiter.shared_limit(
            _provider(setting_name), scope=scope, key_func=client_key,
            methods=list(methods) if methods else None,
        )
        app.view_functions[endpoint] = decorator(view)


def sign_in_key(account_field: str = "email") -> Callable[[], str]:
    """A key function for the account being signed in to, from the posted form (case-insensitive)."""

    def account_key() -> str:
        account = (request.form.get(account_field) or "").strip().casefold()
        return pseudonym(account, "account")

    return account_key


def limit_sign_in(account_field: str = "email"):
    """Decorator for a sign-in view: POSTs limited per account (RATELIMIT_SIGN_IN_ACCOUNT) and per
    client (RATELIMIT_SIGN_IN_CLIENT), so neither one account nor one address can be hammered."""
    per_account = limiter.shared_limit(
        _provider("RATELIMIT_SIGN_IN_ACCOUNT"), scope="sign-in-account",
        key_func=sign_in_key(account_field), methods=["POST"],
    )
    per_client = limiter.shared_limit(
        _provider("RATELIMIT_SIGN_IN_CLIENT"), scope="sign-in-client", key_func=client_key, methods=["POST"],
    )

    def decorate(view):
        return per_client(per_account(view))

    return decorate


@limiter.request_filter
def _limits_off_for_this_app() -> bool:
    """RATELIMIT_ENABLED per app: the limiter object is shared by every app the factory builds."""
    return not current_app.config.get("RATELIMIT_ENABLED", True)
