"""Security headers on every response: a strict CSP, no framing, no referrer, no caching of answers."""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request
from werkzeug.middleware.proxy_fix import ProxyFix

from flask_babel import lazy_gettext as _l

from .assets import FILE_ENDPOINTS

CROSS_SITE_MESSAGE = _l("This form was sent from another website, so nothing was done. If you were filling it in on this site, go back to it and send it again.")

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
    if request.endpoint not in FILE_ENDPOINTS:
        # Results, forms with answers and API replies must never sit in a shared or browser cache.
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    return response


def redirect_to_https():
    """before_request with HTTPS_REDIRECT: plain HTTP goes to the same URL on HTTPS, so HSTS can take hold."""
    if not request.is_secure:
        return redirect(request.url.replace("http://", "https://", 1), 308)
    return None


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
        from .errors import error_response

        return error_response(403, message=str(CROSS_SITE_MESSAGE))
    return None


def init_security(app: Flask) -> None:
    """Trust the configured number of proxies, then add the headers to every response."""
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        # Behind a proxy the socket address is the proxy's: without this every client would share
        # one rate-limit bucket, and HTTPS would be invisible to url_for(_external=True).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    if app.config["HTTPS_REDIRECT"]:
        app.before_request(redirect_to_https)
    app.before_request(refuse_cross_site_requests)
    app.before_request(pages_take_only_forms)
    app.after_request(add_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
