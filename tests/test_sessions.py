"""The session's serializer is built once per key, and a rotated key still takes effect at once."""
from __future__ import annotations

from flask import session

from app.sessions import CachedSerializerSessionInterface


def test_one_serializer_per_key_and_rotation_takes_effect(app):
    interface = app.session_interface
    assert isinstance(interface, CachedSerializerSessionInterface)
    assert interface.get_signing_serializer(app) is interface.get_signing_serializer(app)

    app.add_url_rule("/_set", "set_value", lambda: session.update(value="kept") or "ok")
    app.add_url_rule("/_get", "get_value", lambda: session.get("value", "none"))
    client = app.test_client()
    client.get("/_set")
    assert client.get("/_get").get_data(as_text=True) == "kept"

    old = app.secret_key
    app.secret_key = "a-new-secret-key-" + "x" * 32
    assert client.get("/_get").get_data(as_text=True) == "none"  # signed with the old key: refused
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert client.get("/_get").get_data(as_text=True) == "kept"  # the old key as a fallback: accepted
