"""Security headers on every response: a strict CSP, no framing, no referrer, no caching of answers."""
from __future__ import annotations

import secrets

from flask import Flask, abort, current_app, g, redirect, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .assets import FILE_ENDPOINTS

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


def refuse_cross_site_form_posts():
    """before_request: a browser marks a form posted from another site `Sec-Fetch-Site: cross-site`
    (whatever the referrer policy); refuse it before any view runs. Clients that send no such header
    (older browsers, scripts) still need the CSRF token."""
    if (request.method not in ("GET", "HEAD", "OPTIONS") and not request.path.startswith("/api/")
            and request.headers.get("Sec-Fetch-Site") == "cross-site"):
        abort(403)


def init_security(app: Flask) -> None:
    """Trust the configured number of proxies, then add the headers to every response."""
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        # Behind a proxy the socket address is the proxy's: without this every client would share
        # one rate-limit bucket, and HTTPS would be invisible to url_for(_external=True).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    if app.config["HTTPS_REDIRECT"]:
        app.before_request(redirect_to_https)
    app.before_request(refuse_cross_site_form_posts)
    app.before_request(pages_take_only_forms)
    app.after_request(add_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
