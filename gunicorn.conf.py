"""Gunicorn settings: an access log without client addresses, result codes, queries or user agents.

Used automatically when gunicorn starts in this directory (`gunicorn wsgi:app`); the bind address
and worker count stay on the command line or in GUNICORN_CMD_ARGS / WEB_CONCURRENCY.
"""
import logging
import re

from gunicorn.glogging import Logger

# A result code in a path: after /results/ (any spelling), or any segment shaped like one.
RESULT_PATH = re.compile(r"(/results/)[^/?#]*", re.IGNORECASE)
CODE_SEGMENT = re.compile(r"(?<=/)[0-9A-Za-z]{4}(?:-|%20|\+|\s)?[0-9A-Za-z]{4}(?:-|%20|\+|\s)?[0-9A-Za-z]{4}(?=/|$)")
# The only request facts logged: when, method, redacted path, protocol, status, size, duration, worker.
KEPT_ATOMS = ("t", "m", "H", "s", "B", "b", "T", "D", "M", "L", "p")


def redact_path(path: str) -> str:
    """The path with any result code replaced, so the log cannot be used to open someone's result."""
    return CODE_SEGMENT.sub("[code]", RESULT_PATH.sub(r"\1[code]", path or "-"))


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


# Load balancers probe every few seconds: a successful probe is noise, a failing one stays in the log.
HEALTH_PATHS = ("/healthz", "/readyz")


def quiet_health_checks(record: logging.LogRecord) -> bool:
    """Access-log filter: False (drop) for a health probe answered 200."""
    atoms = record.args if isinstance(record.args, dict) else {}
    return not (atoms.get("U") in HEALTH_PATHS and str(atoms.get("s")) == "200")


logging.getLogger("gunicorn.access").addFilter(quiet_health_checks)


# A setting the app cannot start without (SECRET_KEY in production) is found once, in the master,
# before any worker: gunicorn prints "Error: <what to set>" and exits 1. Left to the workers, two
# failing together make gunicorn's arbiter print a traceback of its own. Chains any earlier hook.
_on_starting_before = globals().get("on_starting")


def check_the_apps_settings(server) -> None:
    """on_starting: build the app once (and discard it) when the app served is this one."""
    if _on_starting_before is not None:
        _on_starting_before(server)
    if getattr(server.app, "app_uri", None) == "wsgi:app":
        from app import create_app
        from config import ConfigurationError

        try:
            create_app()
        except ConfigurationError:  # a RuntimeError: gunicorn prints "Error: <message>" and exits 1
            if server.pidfile is not None:
                server.pidfile.unlink()
            raise


on_starting = check_the_apps_settings
