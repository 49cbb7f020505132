"""Gunicorn settings: an access log without client addresses, result codes, queries or user agents.

Used automatically when gunicorn starts in this directory (`gunicorn wsgi:app`); the bind address
and worker count stay on the command line or in GUNICORN_CMD_ARGS / WEB_CONCURRENCY.
"""
import re

from gunicorn.glogging import Logger

# A result code in a path: after /results/ (any spelling), or any segment shaped like one.
RESULT_PATH = re.compile(r"(/results/)[^/?#]*", re.IGNORECASE)
CODE_SEGMENT = re.compile(r"(?<=/)[0-9A-Za-z]{4}(?:-|%20|\+|\s)?[0-9A-Za-z]{4}(?:-|%20|\+|\s)?[0-9A-Za-z]{4}(?=/|$)")
# The secret of a one-time account link (an invitation or a password reset).
ACCOUNT_LINK_PATH = re.compile(r"(/clinician/(?:invite|reset)/)[^/?#]*", re.IGNORECASE)
# The only request facts logged: when, method, redacted path, protocol, status, size, duration, worker.
KEPT_ATOMS = ("t", "m", "H", "s", "B", "b", "T", "D", "M", "L", "p")


def redact_path(path: str) -> str:
    """The path with any result code replaced, so the log cannot be used to open someone's result."""
    path = ACCOUNT_LINK_PATH.sub(r"\1[token]", path or "-")
    return CODE_SEGMENT.sub("[code]", RESULT_PATH.sub(r"\1[code]", path))


class PrivateAccessLogger(Logger):
    """Gunicorn's logger, with atoms limited to KEPT_ATOMS and the path redacted.

    No client address (%(h)s), query string, referrer, user agent, request headers or environ is
    available to the format, whatever access_log_format says.
    """

    def atoms(self, resp, req, environ, request_time):
        everything = super().atoms(resp, req, environ, request_time)
        atoms = {name: everything[name] for name in KEPT_ATOMS}
        atoms["U"] = redact_path(everything["U"])
        atoms["r"] = f"{everything['m']} {atoms['U']} {everything['H']}"
        return atoms


logger_class = PrivateAccessLogger
accesslog = "-"
errorlog = "-"
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
# Not used here, and two instances on one host would contend for the one default socket path.
control_socket_disable = True
