"""Who a rate limit counts: keyed hashes of a client's network or an account, never the value itself."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress

from flask import current_app, request

# One IPv6 subscriber or server gets a whole /64 (RFC 6177, RFC 7421), and picks any address in it at
# will: counting each address alone would give one client 2**64 budgets.
IPV6_CLIENT_PREFIX = 64


def pseudonym(value: str, purpose: str) -> str:
    """A keyed hash of an address or account name: counters (even in Redis) never hold the value."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def client_network(address: str | None) -> str:
    """What counts as one client: an IPv4 address, or the /64 an IPv6 address lies in (an IPv4 address
    mapped into IPv6 counts as that IPv4 address)."""
    try:
        parsed = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return address or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_CLIENT_PREFIX), strict=False))
    return str(parsed)


def client_key() -> str:
    """The rate-limit key for the client: its network, pseudonymised, used only for the window's length."""
    return pseudonym(client_network(request.remote_addr), "client")
