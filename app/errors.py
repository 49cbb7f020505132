"""Error pages in the site's layout, JSON under /api/, and never a traceback."""
from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Iterator

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from . import log_throttle
from .extensions import db

MESSAGES = {
    400: (_l("Something in the request was not right"),
          _l("Please go back and try again.")),
    403: (_l("Not allowed"), _l("You do not have permission to see this page.")),
    404: (_l("Page not found"),
          _l("We could not find that page. If you typed a result code, check it and try again.")),
    405: (_l("Not allowed"), _l("That page cannot be used this way.")),
    413: (_l("Too much data"), _l("What was sent is larger than any screening needs.")),
    415: (_l("This page only takes its own form"),
          _l("Please fill in the questionnaire on the page and submit it from there.")),
    409: (_l("Changed at the same moment"),
          _l("Someone else changed this at the same moment, so nothing was changed. Please reload the page "
             "and try again.")),
    429: (_l("Too many requests"),
          _l("You have sent a lot of requests in a short time. Please wait a minute and try again.")),
    500: (_l("Something went wrong on our side"),
          _l("Your answers were not saved. Please try again in a moment.")),
    503: (_l("The service is busy or down"),
          _l("Please try again in a moment.")),
}
NOT_SAVED = _l("Your answers were not saved — please try again.")
# How long a client should wait before retrying when the database is unreachable.
RETRY_AFTER_UNAVAILABLE = 30

# The database cannot be reached (down, restarting, refusing connections, pool exhausted): a 503 that
# says the answers were not saved. Other database errors are bugs and stay 500s.
DATABASE_UNAVAILABLE = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)

PLAIN_ERROR_PAGE = (
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}</title>'
    "<h1>{title}</h1><p>{message}</p><p><a href=\"/\">Home</a></p></html>"
)


def in_workspace() -> bool:
    """Staff pages (the workspace and its sign-in) show errors in the staff layout."""
    return request.path == "/clinician" or request.path.startswith("/clinician/")


def wants_json() -> bool:
    """API clients get JSON errors; people get pages."""
    return request.path.startswith("/api/")


def error_response(status: int, detail: str | None = None, message: str | None = None):
    """One error, as JSON under /api/ or as a page in the site's layout."""
    title, default_message = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    message = message or default_message
    if wants_json():
        return jsonify(errors=[str(detail or title)]), status
    try:
        template = "clinician/error.html" if in_workspace() else "errors/error.html"
        return render_template(template, status=status, title=title, message=message), status
    except Exception:  # the layout itself failed: a plain page still beats a traceback
        current_app.logger.exception("error page could not be rendered")
        return PLAIN_ERROR_PAGE.format(title=escape(str(title)), message=escape(str(message))), status


def unknown_link():
    """The calm 404 for an unknown or rotated clinic link, kept out of caches like the landing page."""
    body, status = error_response(404, message=_(
        "This clinic link does not work any more, or it was mistyped. You can still take a check on "
        "its own: nothing is shared with anyone unless you choose to."))
    response = current_app.make_response((body, status))
    response.headers["Cache-Control"] = "no-store"
    return response


def is_submission() -> bool:
    """A POST that carries someone's answers, by form or by API."""
    return request.method == "POST" and request.endpoint in {"screening.screen", "api.create_screening"}


NOT_SAVED_DETAIL = _l("Your answers are still filled in below. Nothing was stored; submit again in a moment.")


# A submission's form shown again with the person's answers kept, by endpoint: page(notice, status, detail),
# None when it cannot. The blueprint that owns the form adds it (see REFUSED_FORM_PAGES).
UNSAVED_FORM_PAGES: dict[str, Callable[..., tuple[str, int] | None]] = {}


def unsaved_form_response(notice=NOT_SAVED, status: int = 503, detail=NOT_SAVED_DETAIL):
    """The questionnaire again with the person's answers kept and a notice that nothing was saved."""
    page = UNSAVED_FORM_PAGES.get(request.endpoint or "")
    return page(notice, status, detail) if page else None


RATE_LIMITED = _l("You have sent this form many times in a short time, so it was not sent this time.")
RATE_LIMITED_DETAIL = _l("Your answers are still filled in below. Nothing was stored; please wait a minute, "
                         "then press “See my result” again.")


# Other forms a rate limit refuses, by endpoint, and the page that shows them again filled in: each
# blueprint adds its own (every blueprint imports this module, so it imports none of them).
REFUSED_FORM_PAGES: dict[str, Callable[[], tuple[str, int]]] = {}


def rate_limited_form_response():
    """A form refused by a rate limit comes back filled in with a plain message (None: not such a form)."""
    if wants_json() or request.method != "POST":
        return None
    if is_submission():
        return unsaved_form_response(RATE_LIMITED, 429, RATE_LIMITED_DETAIL)
    page = REFUSED_FORM_PAGES.get(request.endpoint or "")
    return page() if page else None


# PostgreSQL's deadlock_detected and serialization_failure: another request changed the same rows at
# the same moment and this one was rolled back. Nothing is wrong with the database: a 409, try again.
CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})


def database_conflict(error: Exception):
    """409 for a transaction the database rolled back in favour of a concurrent one."""
    current_app.logger.warning("concurrent change on %s %s: %s", request.method, request.url_rule,
                               type(getattr(error, "orig", error)).__name__)
    with contextlib.suppress(Exception):
        db.session.rollback()
    return current_app.make_response(error_response(409))


def database_unavailable(error: Exception):
    """503 while the database cannot be reached; a form keeps the answers, the API says nothing was saved."""
    if getattr(getattr(error, "orig", None), "pgcode", None) in CONFLICT_SQLSTATES:
        return database_conflict(error)

    # The exception text would carry the statement; its class is enough. One line per class a minute
    # while the outage lasts, with a count of the requests it stands for.
    held = log_throttle.due(f"database-unavailable:{type(error).__name__}")
    if held is not None:
        current_app.logger.error("database unavailable on %s %s: %s (%d more in the last minute)", request.method,
                                 request.url_rule, type(error).__name__, held)
    with contextlib.suppress(Exception):  # the connection is gone; the session is discarded at teardown anyway
        db.session.rollback()
    response = None
    if is_submission() and not wants_json():
        try:
            response = unsaved_form_response()
        except Exception:
            current_app.logger.exception("form could not be re-rendered")
    if response is None:
        message = NOT_SAVED if is_submission() else None
        response = error_response(503, detail=str(message) if message else None, message=message)
    body, status = response
    response = current_app.make_response((body, status))
    response.headers["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
    return response


class StreamInterrupted(Exception):
    """A streamed response failed after its headers were sent: the server closes the connection, so the
    client sees an incomplete download rather than a short one that looks whole. Carries no message."""


def without_error_messages(chunks: Iterator):
    """A streamed body whose failure is logged with its class and place only, as unexpected_error logs:
    the server's own log line for the interrupted response then names StreamInterrupted and nothing sent
    or stored (an exception's message may quote a row)."""
    try:
        yield from chunks
    except Exception as error:
        current_app.logger.error("streamed response interrupted by %s on %s %s\n%s", type(error).__name__,
                                 request.method, request.url_rule, places(error))
        raise StreamInterrupted() from None


def places(error: BaseException) -> str:
    """Where an exception passed, one `file:line in function` a line, without source text or message."""
    return "\n".join(f"  {frame.filename}:{frame.lineno} in {frame.name}"
                     for frame in traceback.extract_tb(error.__traceback__))


def register_error_handlers(app: Flask) -> None:
    """Handlers for every HTTP error, an unreachable database, and anything unexpected."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return error_response(400, str(_l("The form expired. Please go back, reload and submit again.")))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        page = None
        if error.code == 429:
            try:
                page = rate_limited_form_response()
            except Exception:
                current_app.logger.exception("limited form could not be re-rendered")
        response = current_app.make_response(page or error_response(error.code or 500))
        if isinstance(error, MethodNotAllowed) and error.valid_methods:  # 405
            response.headers["Allow"] = ", ".join(error.valid_methods)
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:  # a busy 503 says when to come back
            response.headers["Retry-After"] = str(retry_after)
        return response

    for exception in DATABASE_UNAVAILABLE:
        app.register_error_handler(exception, database_unavailable)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        # Where it happened, but not the exception's message, which may quote what was sent.
        app.logger.error("unhandled %s on %s %s\n%s", type(error).__name__, request.method, request.url_rule,
                         "".join(traceback.format_tb(error.__traceback__)))
        return error_response(InternalServerError.code)
