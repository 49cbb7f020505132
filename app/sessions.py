"""The signed-cookie session, for the clinician workspace only: the person's pages never read or set one."""
from __future__ import annotations

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer

# The signed-in workspace (sign-in, sign-out and every staff page) lives under this path. Everything
# else is a person's page: screening, results, learn, about, errors, the language switch.
STAFF_PATH_PREFIX = "/clinician"
# The session key between the password and the two-factor code: {"id", "version", "at", "next"}; nothing
# else is signed in. Here, below the sign-in views, so the sign-in rate limits can read it too.
PENDING = "clinician_pending"


def is_staff_path(path: str) -> bool:
    """Whether a request path belongs to the clinician workspace, which keeps its session."""
    return path == STAFF_PATH_PREFIX or path.startswith(STAFF_PATH_PREFIX + "/")


class StaffOnlySessionInterface(SecureCookieSessionInterface):
    """Flask's own cookie session, opened and saved only on the workspace's paths.

    A person's page gets an empty session that is never saved, so no code path (a flashed message, a
    CSRF token, a library's bookkeeping) can ever send them a cookie; and a clinician's cookie is not
    even parsed on the public pages. (So a test reads or writes the workspace's session with
    `client.session_transaction("/clinician/")`: at the default "/" it is a person's page.) The serializer
    is built once per key rather than on every request (building it checks the JSON serializer and
    derives keys, a measurable share of a request)."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # Keyed by the keys themselves, so a rotated SECRET_KEY or new fallbacks take effect at once.
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(key)
        if serializer is None:
            serializer = self._serializers[key] = super().get_signing_serializer(app)
        return serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not is_staff_path(request.path):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        from flask import request

        if is_staff_path(request.path):
            super().save_session(app, session, response)

