"""Gunicorn settings: threaded workers, limits that hold across workers, an access log without client
addresses, result codes, queries or user agents.

Used automatically when gunicorn starts in this directory (`gunicorn wsgi:app`); the bind address
and worker count stay on the command line or in GUNICORN_CMD_ARGS / WEB_CONCURRENCY. Every check
below sees the final settings, wherever they came from.
"""
import logging
import re

from gunicorn.glogging import Logger

from app.access_log import code_routes, redact_path
from config import config_name_from_env, per_process_rate_limits_problem, settings_from_environment

# The only request facts logged: when, method, redacted path, protocol, status, size, duration, worker.
KEPT_ATOMS = ("t", "m", "H", "s", "B", "b", "T", "D", "M", "L", "p")


# Control characters, the backslash and the double quote: a CR/LF in a path (%0d%0a) must not start a
# forged line, nor a quote end the quoted request early. Written as \xNN, as nginx does in its logs.
UNSAFE_IN_LOG = re.compile(r'[\x00-\x1f\x7f-\x9f\\"]')


def escaped(value: str) -> str:
    """A request value as one safe stretch of a log line."""
    return UNSAFE_IN_LOG.sub(lambda match: f"\\x{ord(match.group()):02x}", value)


class PrivateAccessLogger(Logger):
    """Gunicorn's logger, with atoms limited to KEPT_ATOMS and the path redacted.

    No client address (%(h)s), query string, referrer, user agent, request headers or environ is
    available to the format, whatever access_log_format says. `code_routes` is filled in each worker
    from the app's URL map (post_worker_init), so a route added later is redacted too.
    """

    code_routes = None

    def atoms(self, resp, req, environ, request_time):
        everything = super().atoms(resp, req, environ, request_time)
        atoms = {name: everything[name] for name in KEPT_ATOMS}
        atoms["U"] = redact_path(everything["U"], self.code_routes)
        atoms["r"] = f"{everything['m']} {atoms['U']} {everything['H']}"
        return {name: escaped(value) if isinstance(value, str) else value for name, value in atoms.items()}

    # Gunicorn's own error-log lines about a request name the client's address and quote the request
    # line or URI (a result code, a query): keep only what kind of problem it was.
    def warning(self, msg, *args, **kwargs):
        if isinstance(msg, str) and msg.startswith("Invalid request from"):
            detail = msg.split(": ", 1)[1] if ": " in msg else ""
            msg, args = "Invalid request: %s", (detail.split(":", 1)[0].split("'", 1)[0].strip(),)
        super().warning(msg, *args, **kwargs)

    def exception(self, msg, *args, **kwargs):
        if isinstance(msg, str) and msg.startswith("Error handling request"):
            msg, args = "Error handling request", ()
        super().exception(msg, *args, **kwargs)


logger_class = PrivateAccessLogger
accesslog = "-"
errorlog = "-"
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
# Not used here, and two instances on one host would contend for the one default socket path.
control_socket_disable = True

# A sync worker serves one connection at a time, so two clients that send half a request and wait stall
# a two-worker server (12 s and more, measured). A threaded worker parks idle connections in its poller
# and gives each request its own thread: a slow client holds one thread, not the worker. Set up with
# the reverse proxy of the deployment docs, which buffers whole requests, slow clients never get here.
worker_class = "gthread"
threads = 8


def refuse_per_process_rate_limits(server) -> None:
    """Before any socket is bound: refuse a set-up in which rate limits would not mean what they say."""
    config_name = config_name_from_env()
    if config_name != "production":
        return
    problem = per_process_rate_limits_problem(settings_from_environment(config_name), server.cfg.workers)
    if problem:
        if server.pidfile is not None:
            server.pidfile.unlink()
        raise RuntimeError(problem)  # gunicorn prints "Error: <reason>" and exits 1, no traceback


def post_worker_init(worker):
    """Each worker learns the app's routes that take a result code, for the access log."""
    config = getattr(worker.wsgi, "config", None)
    if config is not None:  # each worker's share of a limit while Redis is unreachable (app/ratelimits.py)
        config["RATELIMIT_PROCESSES"] = worker.cfg.workers
    url_map = getattr(worker.wsgi, "url_map", None)
    if url_map is not None:
        worker.log.code_routes = code_routes(rule.rule for rule in url_map.iter_rules())

# Load balancers probe every few seconds: a successful probe is noise, a failing one stays in the log.
HEALTH_PATHS = ("/healthz", "/readyz")


def quiet_health_checks(record: logging.LogRecord) -> bool:
    """Access-log filter: False (drop) for a health probe answered 200."""
    atoms = record.args if isinstance(record.args, dict) else {}
    return not (atoms.get("U") in HEALTH_PATHS and str(atoms.get("s")) == "200")


logging.getLogger("gunicorn.access").addFilter(quiet_health_checks)


# A setting the app cannot start without (SECRET_KEY in production) is found once, in the master,
# before any worker: gunicorn prints "Error: <what to set>" and exits 1. Left to the workers, two
# failing together make gunicorn's arbiter print a traceback of its own.
def check_the_apps_settings(server) -> None:
    """Build the app once (and discard it) when the app served is this one."""
    if getattr(server.app, "app_uri", None) == "wsgi:app":
        from app import create_app
        from config import ConfigurationError

        try:
            create_app()
        except ConfigurationError:  # a RuntimeError: gunicorn prints "Error: <message>" and exits 1
            if server.pidfile is not None:
                server.pidfile.unlink()
            raise


def on_starting(server) -> None:
    """gunicorn's hook, in the master before any socket is bound: the rate-limit check, then the app's settings."""
    refuse_per_process_rate_limits(server)
    check_the_apps_settings(server)
