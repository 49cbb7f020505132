"""Security headers on every response: a strict CSP, no framing, no referrer, no caching of answers."""
from __future__ import annotations

import io
import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.sansio.utils import get_current_url

from .assets import FILE_ENDPOINTS
from .errors import error_response

CROSS_SITE_MESSAGE = _l("This form was sent from another website, so nothing was done. If you were filling it in on "
                        "this site, go back to it and send it again.")

# Only this origin, nothing inline. img-src allows data: for the empty favicon in base.html
# (which stops browsers asking for /favicon.ico); form-action and base-uri close the two gaps
# that default-src does not cover.
CSP_DIRECTIVES = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}

# Every powerful feature off: a screening page needs none of them.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer", "autoplay", "browsing-topics", "camera", "display-capture",
        "encrypted-media", "fullscreen", "geolocation", "gyroscope", "hid", "identity-credentials-get",
        "magnetometer", "microphone", "midi", "payment", "picture-in-picture",
        "publickey-credentials-create", "publickey-credentials-get", "screen-wake-lock", "serial",
        "sync-xhr", "usb", "xr-spatial-tracking",
    )
)

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def csp_nonce() -> str:
    """A nonce for this response, for the rare element that must be inline; added to the CSP when used."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy() -> str:
    """The policy for this response; a nonce appears only if a template asked for one."""
    directives = dict(CSP_DIRECTIVES)
    nonce = g.get("csp_nonce")
    if nonce:
        for name in ("script-src", "style-src"):
            directives[name] += f" 'nonce-{nonce}'"
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def add_security_headers(response):
    """after_request: runs for pages, JSON, static files and error responses alike."""
    response.headers["Content-Security-Policy"] = content_security_policy()
    for name, value in STATIC_HEADERS.items():
        response.headers[name] = value
    if current_app.config["HSTS_ENABLED"]:
        response.headers["Strict-Transport-Security"] = (
            f"max-age={int(current_app.config['HSTS_MAX_AGE'])}; includeSubDomains"
        )
    if request.endpoint not in FILE_ENDPOINTS or is_redirect_or_error(response.status_code):
        # Results, forms with answers and API replies must never sit in a shared or browser cache; nor
        # may a redirect or an error, even for a static file (a cached 308 would outlive its reason).
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    return response


def is_redirect_or_error(status: int) -> bool:
    """Every 3xx but 304 (which revalidates a cached file), and every 4xx and 5xx."""
    return status >= 300 and status != 304


def https_url() -> str:
    """This request's URL on HTTPS: at PUBLIC_BASE_URL when configured, else at the request's host
    (checked against TRUSTED_HOSTS when that is set)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        parts = urlsplit(base)
        return get_current_url("https", parts.netloc, parts.path.rstrip("/") + request.root_path, request.path,
                               request.query_string)
    return get_current_url("https", request.host, request.root_path, request.path, request.query_string)


def redirect_to_https():
    """before_request with HTTPS_REDIRECT: plain HTTP goes to the same URL on HTTPS, so HSTS can take hold."""
    if not request.is_secure:
        return redirect(https_url(), 308)
    return None


def relative_redirects(response):
    """after_request: a redirect Werkzeug made absolute from the Host header (a trailing-slash 308, for
    one) points at the path alone, so the browser stays on the host it asked for, whatever Host said."""
    location = response.headers.get("Location")
    if location and 300 <= response.status_code < 400:
        parts = urlsplit(location)
        if parts.netloc and parts.netloc == request.host and parts.scheme == request.scheme:
            response.headers["Location"] = parts._replace(scheme="", netloc="").geturl() or "/"
    return response


def refuse_untrusted_host():
    """before_request, first: a Host not in TRUSTED_HOSTS is a 400 before anything else runs (Flask finds
    it while routing, but would raise it only at dispatch, after the other before_request functions)."""
    if isinstance(request.routing_exception, SecurityError):
        # The error page links within the site: let it build them as if the site's own host was asked.
        base = current_app.config.get("PUBLIC_BASE_URL")
        own_host = urlsplit(base).netloc if base else current_app.config["TRUSTED_HOSTS"][0].lstrip(".")
        request.host = own_host
        request_ctx.url_adapter = current_app.url_map.bind(own_host, script_name=request.root_path or "/")
        raise request.routing_exception


def trusted_hosts(value) -> list[str] | None:
    """TRUSTED_HOSTS as a list: FLASK_TRUSTED_HOSTS may be JSON (a list) or a comma-separated string."""
    if value is None or value == "":
        return None
    names = value.split(",") if isinstance(value, str) else list(value)
    return [name.strip() for name in names if name.strip()] or None


# Views that take an uploaded file: none. A form field sent as a file (multipart with a filename) would
# reach a form's string field as a file object; it is refused before any view runs.
FILE_UPLOAD_ENDPOINTS: frozenset[str] = frozenset()


def refuse_unusable_form_fields():
    """before_request: every form field must be text that can be stored, so a multipart body carrying a
    file (unless the endpoint takes files) or a field holding a NUL character (PostgreSQL refuses it in
    text, which made a review note a 500) is a 400. A too-large body is a 413 here, as anywhere."""
    if request.mimetype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return
    if request.mimetype == "multipart/form-data" and request.endpoint not in FILE_UPLOAD_ENDPOINTS and request.files:
        abort(400)
    if any("\x00" in key or "\x00" in value for key, value in request.form.items(multi=True)):
        abort(400)


def refuse_nul_in_path():
    """before_request: no route takes a NUL character in its path, and PostgreSQL refuses one in a text
    parameter with an error (a clinic's link or slug holding one was a 500): such a path is not found."""
    if request.view_args and any(isinstance(value, str) and "\x00" in value for value in request.view_args.values()):
        abort(404)


class BoundedUnsizedBody:
    """WSGI middleware: a body sent without Content-Length (Transfer-Encoding: chunked) is read up to
    MAX_CONTENT_LENGTH + 1 bytes; more is a 413, as for a declared length. (Werkzeug would stop reading at
    the limit and hand the view a silently cut body.) A body within the limit is passed on with its
    length, so every reader downstream sees exactly what was sent."""

    ENVIRON_KEY = "ptsd.body_too_large"

    def __init__(self, wsgi_app, limit: int):
        self.wsgi_app = wsgi_app
        self.limit = limit

    def __call__(self, environ, start_response):
        if environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH"):
            stream, body = environ["wsgi.input"], bytearray()
            while len(body) <= self.limit:
                chunk = stream.read(self.limit + 1 - len(body))
                if not chunk:
                    break
                body += chunk
            if len(body) > self.limit:
                environ[self.ENVIRON_KEY] = True
                body = bytearray()
            environ["wsgi.input"] = io.BytesIO(bytes(body))
            environ["CONTENT_LENGTH"] = str(len(body))
            # Now a body of known length: Werkzeug ignores Content-Length while it still says chunked.
            environ.pop("wsgi.input_terminated")
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.wsgi_app(environ, start_response)


def refuse_oversized_unsized_body():
    """before_request: the 413 BoundedUnsizedBody found, answered as any other (page or JSON)."""
    if request.environ.get(BoundedUnsizedBody.ENVIRON_KEY):
        abort(413)


FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data", ""}


def pages_take_only_forms():
    """before_request: a page's POST must be a form. Flask-WTF would otherwise read a JSON body as the
    form, and a JSON list, number or deeply nested value there raises instead of failing validation."""
    if request.method == "POST" and not request.path.startswith("/api/") and request.mimetype not in FORM_TYPES:
        abort(415)


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# A browser's own label for where a request came from: our own pages say same-origin; a typed address
# or a bookmark says none. A sibling subdomain (same-site) or another site (cross-site) never posts here.
TRUSTED_FETCH_SITES = ("same-origin", "none")
DEFAULT_PORTS = {"http": "80", "https": "443"}


def _origin(url: str) -> str:
    """scheme://host[:port] in lower case, the default port left out, as browsers write Origin."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    port = str(parts.port) if parts.port else ""
    if port and port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def this_site_origin() -> str:
    """The configured PUBLIC_BASE_URL's origin; without one (local development), the request's own."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    return _origin(base or request.host_url)


def is_cross_site_request() -> bool:
    """OWASP's Fetch Metadata check, then Origin verification where a browser sends no Fetch Metadata.
    A request with neither header (a script, an old browser, curl) is not a browser form from
    another site: it is served."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site.strip().lower() not in TRUSTED_FETCH_SITES
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    try:
        return origin.strip().lower() == "null" or _origin(origin) != this_site_origin()
    except ValueError:  # an unparseable Origin (bad port) is not this site
        return True


def refuse_cross_site_requests():
    """before_request: a form posted (or any state-changing request sent) from another site is
    refused before any view, rate limit or database work runs. This is what protects the person's
    forms, which carry no CSRF token because the person gets no session cookie to bind one to; the
    signed-in workspace has both. The JSON API is left to CORS: a browser cannot send it JSON from
    another site without a preflight this app never grants."""
    if request.method in SAFE_METHODS or request.path.startswith("/api/"):
        return None
    if is_cross_site_request():
        return error_response(403, message=str(CROSS_SITE_MESSAGE))
    return None


def init_security(app: Flask) -> None:
    """Trust the configured number of proxies, then add the headers to every response."""
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        # Behind a proxy the socket address is the proxy's: without this every client would share
        # one rate-limit bucket, and HTTPS would be invisible to url_for(_external=True).
        # Flask's documented way to wrap the WSGI app; its stubs declare wsgi_app a method.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config.get("TRUSTED_HOSTS"))
    app.before_request(refuse_untrusted_host)
    if app.config.get("MAX_CONTENT_LENGTH"):
        app.wsgi_app = BoundedUnsizedBody(  # type: ignore[method-assign]  # as above
            app.wsgi_app, int(app.config["MAX_CONTENT_LENGTH"]))
    app.before_request(refuse_oversized_unsized_body)
    if app.config["HTTPS_REDIRECT"]:
        app.before_request(redirect_to_https)
    app.before_request(refuse_cross_site_requests)
    app.before_request(pages_take_only_forms)
    app.before_request(refuse_unusable_form_fields)
    app.before_request(refuse_nul_in_path)
    app.after_request(add_security_headers)
    app.after_request(relative_redirects)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
