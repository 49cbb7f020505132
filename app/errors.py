"""Error pages in the site's layout, JSON under /api/, and never a traceback."""
from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from markupsafe import escape
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

MESSAGES = {
    400: (_l("Something in the request was not right"),
          _l("Please go back and try again.")),
    403: (_l("Not allowed"), _l("You do not have permission to see this page.")),
    404: (_l("Page not found"),
          _l("We could not find that page. If you typed a result code, check it and try again.")),
    405: (_l("Not allowed"), _l("That page cannot be used this way.")),
    413: (_l("Too much data"), _l("What was sent is larger than any screening needs.")),
    429: (_l("Too many requests"), _l("Please wait a minute and try again.")),
    500: (_l("Something went wrong on our side"),
          _l("Your answers were not saved. Please try again in a moment.")),
    503: (_l("The service is busy or down"),
          _l("Your answers were not saved — please try again.")),
}

PLAIN_ERROR_PAGE = (
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}</title>'
    "<h1>{title}</h1><p>{message}</p><p><a href=\"/\">Home</a></p></html>"
)


def wants_json() -> bool:
    """API clients get JSON errors; people get pages."""
    return request.path.startswith("/api/")


def error_response(status: int, detail: str | None = None):
    """One error, as JSON under /api/ or as a page in the site's layout."""
    title, message = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    if wants_json():
        return jsonify(errors=[str(detail or title)]), status
    try:
        return render_template("errors/error.html", status=status, title=title, message=message), status
    except Exception:  # the layout itself failed: a plain page still beats a traceback
        current_app.logger.exception("error page could not be rendered")
        return PLAIN_ERROR_PAGE.format(title=escape(str(title)), message=escape(str(message))), status


def register_error_handlers(app: Flask) -> None:
    """Handlers for every HTTP error and for anything unexpected."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return error_response(400, str(_l("The form expired. Please go back, reload and submit again.")))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return error_response(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.url_rule)
        return error_response(InternalServerError.code)
