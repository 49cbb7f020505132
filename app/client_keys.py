"""Who a rate limit counts: keyed hashes of a client's address or an account, never the value itself."""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app, request


def pseudonym(value: str, purpose: str) -> str:
    """A keyed hash of an address or account name: counters (even in Redis) never hold the value."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def client_key() -> str:
    """The rate-limit key for the client: its address, pseudonymised, used only for the window's length."""
    return pseudonym(request.remote_addr or "unknown", "client")
