"""Rate limits: who is counted (a keyed hash, never a stored address) and which endpoints are limited."""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app, request, session
from flask_login import current_user

from . import audit
from .client_keys import client_key, client_network, pseudonym
from .extensions import db, limiter
from .models import Clinician
from .sessions import PENDING


@dataclass(frozen=True)
class Limited:
    """One shared budget on an endpoint: the setting holding the limit, its scope (endpoints with the
    same scope draw on one counter), the methods counted, and `exempt_when` for requests it skips."""

    setting: str
    scope: str
    methods: tuple[str, ...] | None = None
    exempt_when: Callable[[], bool] | None = None


def _code_lookup_data_too_large() -> bool:
    length = request.content_length
    return length is not None and length > (current_app.config.get("MAX_CONTENT_LENGTH") or length)


def no_code_in_form() -> bool:
    """A screening page (GET or POST) resolves an earlier result only when `previous` is given, in the
    link or the form; otherwise it is no code look-up. (Oversized bodies get their 413 from the view.)"""
    if request.args.get("previous", "").strip():
        return False
    if request.method != "POST" or _code_lookup_data_too_large():
        return True
    try:
        return not (request.form.get("previous") or "").strip()
    except Exception:  # a malformed body is the view's 400/413 to give; it looks nothing up
        return True


def no_code_looked_up_by_form() -> bool:
    """The look-up limit never blocks storing a result: a submission that keeps its result is counted
    against the submissions' limit alone, even when it compares with an earlier code."""
    if no_code_in_form():
        return True
    try:
        return request.method == "POST" and request.form.get("store") == "yes"
    except Exception:  # a malformed body is the view's 400/413 to give
        return True


def no_code_in_api_body() -> bool:
    """An API submission resolves an earlier result only when its JSON body names one in `previous`."""
    if not request.is_json or _code_lookup_data_too_large():
        return True
    try:
        payload = json.loads(request.get_data(cache=True))  # cached: the view reads the same bytes
    except Exception:  # not JSON, too deep or too large: the view answers 400/413 and looks nothing up
        return True
    previous = payload.get("previous") if isinstance(payload, dict) else None
    return not (isinstance(previous, str) and previous.strip())


SUBMISSIONS = Limited("RATELIMIT_SUBMISSIONS", "submissions", ("POST",))
CODE_LOOKUPS = Limited("RATELIMIT_CODE_LOOKUPS", "code-lookups")

# Endpoint → its shared budgets. Submissions by form and by API share one; every view that takes a
# result code from an anonymous person shares another, so codes cannot be enumerated by spreading
# guesses over several routes — including the "compare with an earlier code" field of the form and
# the API's `previous`, which say whether a code exists. A new view that accepts a code or answers
# adds one line here. (The clinician workspace is signed in and audited, so it is not limited this way.)
LIMITED_ENDPOINTS: dict[str, tuple[Limited, ...]] = {
    "screening.screen": (SUBMISSIONS,
                         Limited("RATELIMIT_CODE_LOOKUPS", "code-lookups", None, no_code_looked_up_by_form)),
    "screening.start_compare": (CODE_LOOKUPS,),  # "retake and compare": the earlier code in the body
    "api.create_screening": (SUBMISSIONS,
                             Limited("RATELIMIT_CODE_LOOKUPS", "code-lookups", ("POST",), no_code_in_api_body)),
    "screening.result": (CODE_LOOKUPS,),
    "screening.find_result": (CODE_LOOKUPS,),  # the home page's "Already have a result code?" box
    "screening.result_fhir": (CODE_LOOKUPS,),
    "screening.delete_result": (CODE_LOOKUPS,),  # GET (the confirmation) and POST (the deletion)
    "screening.download_result": (CODE_LOOKUPS,),
    "screening.delete_by_code": (CODE_LOOKUPS,),
    "api.delete_screening_by_code": (CODE_LOOKUPS,),
    "clinic_link.landing": (CODE_LOOKUPS,),  # a clinic's link or short code: guessed like a result code
}
# Sign-in views → how the account they try is named: the posted email (password step), the account
# waiting for its code (two-factor step), the signed-in account (changing one's password).
# "Forgot your password?" draws on the same budgets, so it cannot flood a clinician's inbox.
SIGN_IN_ENDPOINTS = {"auth.login": "email", "auth.two_factor": "pending", "auth.account": "signed-in",
                     "auth.forgot": "email"}


def per_process(limits: str, processes: int) -> str:
    """Each count of a limit ("20 per minute;300 per hour") divided among the server's processes,
    rounded up: what one process may allow while it counts alone."""
    if processes <= 1:
        return limits
    return ";".join(re.sub(r"^\s*(\d+)", lambda count: str(math.ceil(int(count.group(1)) / processes)), part)
                    for part in limits.split(";"))


def setting(name: str) -> Callable[[], str]:
    """A limit read from the configuration on each request, so tests and deployments can tune it. While
    the shared storage (Redis) is unreachable each process counts in its own memory: it then allows its
    share, the limit divided by RATELIMIT_PROCESSES (the server's worker count), so all of them together
    still allow about the limit."""

    def limit_value() -> str:
        if limiter._storage_dead:
            return per_process(current_app.config[name], int(current_app.config.get("RATELIMIT_PROCESSES") or 1))
        return current_app.config[name]

    limit_value.__name__ = f"setting_{name}"
    return limit_value


# One provider object per setting: Flask-Limiter deduplicates equal limits, so applying them again for
# every app the factory builds (the test suite builds hundreds) does not stack them.
_PROVIDERS: dict[str, Callable[[], str]] = {}


def _provider(name: str) -> Callable[[], str]:
    return _PROVIDERS.setdefault(name, setting(name))


def apply_rate_limits(app: Flask) -> None:
    """Wrap each endpoint in LIMITED_ENDPOINTS with its shared limit; call after the blueprints."""
    for endpoint, limits in LIMITED_ENDPOINTS.items():
        view: Callable | None = app.view_functions.get(endpoint)
        if view is None:
            continue
        for limit in limits:
            view = limiter.shared_limit(
                _provider(limit.setting), scope=limit.scope, key_func=client_key,
                methods=list(limit.methods) if limit.methods else None, exempt_when=limit.exempt_when,
            )(view)
        app.view_functions[endpoint] = view
    for endpoint, account_field in SIGN_IN_ENDPOINTS.items():
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = limit_sign_in(account_field, endpoint)(app.view_functions[endpoint])


_SIGN_IN_KEYS: dict[str, Callable[[], str]] = {}


def posted_account(account_field: str = "email") -> str:
    """The account a sign-in names, as the sign-in compares it (trimmed, lower case)."""
    try:
        return (request.form.get(account_field) or "").strip().lower()
    except Exception:  # a malformed body: the view answers 400; count it under the empty account
        return ""


def attempted_account(source: str = "email") -> str:
    """The account an attempt is against: a posted field, or `pending` (the account between its password
    and its two-factor code) or `signed-in` (the current session's account)."""
    if source == "pending":
        pending = session.get(PENDING)
        return f"id:{pending.get('id')}" if isinstance(pending, dict) else ""
    if source == "signed-in":
        return f"id:{current_user.id}" if current_user.is_authenticated else ""
    return posted_account(source)


def sign_in_key(source: str = "email") -> Callable[[], str]:
    """A key function for the account being signed in to *from this client*: guesses against one account
    are throttled per client, and nobody elsewhere can spend a clinician's budget and lock them out.
    One function per source, so limits built again for another app are equal and not stacked."""

    def account_and_client_key() -> str:
        return pseudonym(f"{attempted_account(source)}|{client_network(request.remote_addr)}", "account-client")

    return _SIGN_IN_KEYS.setdefault(source, account_and_client_key)


def _limited_account():
    """The account a refused attempt named, if it exists (never the typed text)."""
    source = _BREACH_SOURCES.get(request.endpoint or "", "email")
    named = attempted_account(source)
    if named.startswith("id:"):
        identifier = named[3:]
        return db.session.get(Clinician, int(identifier)) if identifier.isdigit() else None
    return db.session.scalar(sa.select(Clinician).where(Clinician.email == named)) if named else None


_BREACH_SOURCES: dict[str, str] = {}


def first_refusal_in_window(request_limit, account, kind: str = "sign-in-limited-audit") -> bool:
    """Whether this is the first refusal of its kind for the account (or for all unknown emails together)
    in the breached limit's window: counted in the limiter's storage, so it holds across instances too."""
    breached = request_limit.limit
    once = type(breached)(1, breached.multiples, namespace="AUDIT")
    subject = f"id:{account.id}" if account is not None else "unknown"
    return limiter.limiter.hit(once, kind, pseudonym(subject, "audit"))


def audit_limited_sign_in(request_limit) -> None:
    """on_breach: a refused sign-in attempt goes in the audit log (never the password or the typed text),
    against the account it named if there is one, saying which limit refused it — at most once per
    account and window, so a flood of refused attempts cannot flood the log."""
    locked = TWO_FACTOR_LOCK_SCOPE in request_limit.key
    which = "per account" if "-account" in request_limit.key else "per client"
    try:
        account = _limited_account()
        kind = "two-factor-locked-audit" if locked else "sign-in-limited-audit"
        if not first_refusal_in_window(request_limit, account, kind):
            return None
        detail = ("two-factor step locked: too many wrong codes for the account" if locked
                  else f"too many attempts ({which})")
        audit.record(audit.SIGN_IN_LIMITED, account, detail=detail)
        db.session.commit()
    except Exception:  # an unreachable database must not turn the 429 into a 500
        db.session.rollback()
        current_app.logger.warning("a limited sign-in could not be audited")
    return None


def limit_sign_in(account_field: str = "email", endpoint: str | None = None):
    """Decorator for a sign-in view: POSTs limited per account and client (RATELIMIT_SIGN_IN_ACCOUNT) and
    per client across accounts (RATELIMIT_SIGN_IN_CLIENT, one budget for every sign-in step)."""
    if endpoint:
        _BREACH_SOURCES[endpoint] = account_field
    per_account = limiter.shared_limit(
        _provider("RATELIMIT_SIGN_IN_ACCOUNT"), scope=f"sign-in-account-{account_field}",
        key_func=sign_in_key(account_field), methods=["POST"], on_breach=audit_limited_sign_in,
    )
    per_client = limiter.shared_limit(
        _provider("RATELIMIT_SIGN_IN_CLIENT"), scope="sign-in-client", key_func=client_key, methods=["POST"],
        on_breach=audit_limited_sign_in,
    )

    if account_field != "pending":

        def decorate(view):
            return per_client(per_account(view))

        return decorate
    # The code step also counts wrong codes against the account alone, from wherever they come: a
    # client with many addresses (or networks) cannot spread its guesses. Right codes cost nothing, and
    # the lock covers only this step, for at most the window.
    account_lock = limiter.shared_limit(
        _provider("RATELIMIT_TWO_FACTOR_ACCOUNT"), scope=TWO_FACTOR_LOCK_SCOPE, key_func=two_factor_account_key,
        methods=["POST"], on_breach=audit_limited_sign_in, deduct_when=wrong_code_answer,
    )

    def decorate_code_step(view):
        return per_client(per_account(account_lock(view)))

    return decorate_code_step


TWO_FACTOR_LOCK_SCOPE = "two-factor-lock"


def two_factor_account_key() -> str:
    """The account waiting for its code, whoever sends it (none waiting: the view only redirects)."""
    return pseudonym(attempted_account("pending") or "no-account", "two-factor-account")


def wrong_code_answer(response) -> bool:
    """The code step answered "that code is not right" (400): the only answers that count toward the lock."""
    return response.status_code == 400


@limiter.request_filter
def _limits_off_for_this_app() -> bool:
    """RATELIMIT_ENABLED per app: the limiter object is shared by every app the factory builds."""
    return not current_app.config.get("RATELIMIT_ENABLED", True)
