"""Argon2id password hashing, and an equal-cost check for emails that match no account."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_request_context
from flask_babel import gettext
from werkzeug.exceptions import ServiceUnavailable

from .. import log_throttle

MIN_LENGTH = 12
# Far above any real passphrase; stops a megabyte "password" from costing a hash of a megabyte.
MAX_LENGTH = 1024

# argon2-cffi's defaults are RFC 9106's low-memory profile (argon2id, t=3, m=64 MiB, p=4).
hasher = PasswordHasher()


class HashingBusy(ServiceUnavailable):
    """Every hashing slot of this process stayed taken: a quick 503 (with Retry-After), not a queue."""


BUSY_RETRY_AFTER_SECONDS = 5
_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def _semaphore(size: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        return _slots.setdefault(size, threading.BoundedSemaphore(size))


@contextmanager
def hashing_slot() -> Iterator[None]:
    """Hold one of the process's PASSWORD_HASHING_CONCURRENCY slots while hashing; waiting at most
    PASSWORD_HASHING_WAIT_SECONDS for one, then HashingBusy. A flood of sign-ins is refused quickly
    instead of queueing for the CPU in front of people's pages."""
    semaphore = _semaphore(max(1, int(current_app.config.get("PASSWORD_HASHING_CONCURRENCY") or 1)))
    if not semaphore.acquire(timeout=float(current_app.config.get("PASSWORD_HASHING_WAIT_SECONDS") or 0)):
        held = log_throttle.due("password-hashing-busy")
        if held is not None:
            current_app.logger.warning("password hashing busy: sign-ins refused with 503 (%d more in the last "
                                       "minute)", held)
        raise HashingBusy(retry_after=BUSY_RETRY_AFTER_SECONDS)
    try:
        yield
    finally:
        semaphore.release()


def hash_password(password: str) -> str:
    """A fresh salted argon2id hash."""
    return hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches; a damaged hash counts as no match rather than an error."""
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than the current ones."""
    return hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=4)
def _dummy_hash(parameters: tuple) -> str:
    return hasher.hash("no account has this password")


def verify_nothing(password: str) -> bool:
    """Spend the time a real check takes, so a response time does not reveal that an email is unknown."""
    verify_password(_dummy_hash((hasher.time_cost, hasher.memory_cost, hasher.parallelism)), password)
    return False


# zxcvbn's estimate (0-4) below which a password is refused: 3 means "safely unguessable" against an
# online attack and a slow hash (Wheeler 2016, USENIX Security). Its bundled lists (30,000 common
# passwords, English words, names) are what "common" means here.
MIN_STRENGTH = 3
# zxcvbn's running time grows with the length; beyond this the rest adds only strength.
STRENGTH_CHECKED_LENGTH = 100


def _common_form(password: str) -> str:
    """The password as a list would hold it: lower case, trailing digits and punctuation removed."""
    return password.lower().rstrip("0123456789!@#$%^&*()_-+=.,;:?~ ")


def is_common(password: str, personal: tuple[str, ...] = ()) -> bool:
    """Whether the password is in the bundled list of common passwords (as typed, or with digits or
    punctuation added to the end), or zxcvbn finds it guessable from its lists, patterns and `personal`."""
    from zxcvbn import zxcvbn

    common = _common_passwords()
    if password.lower() in common or _common_form(password) in common:
        return True
    return zxcvbn(password[:STRENGTH_CHECKED_LENGTH], user_inputs=list(personal))["score"] < MIN_STRENGTH


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _(message: str, **params: object) -> str:
    """gettext in a request; the English text on the command line, which has no reader's language."""
    if has_request_context():
        return gettext(message, **params)
    return message % params if params else message


def password_problem(password: str, email: str | None = None, current_hash: str | None = None) -> str | None:
    """Why a new password is refused, in the reader's language (English on the command line), or None:
    too short or long, common, the account's email (or its name part), or the current password."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(min)s characters.", min=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Use at most %(max)s characters.", max=MAX_LENGTH)
    personal = tuple(part for part in ((email or "").lower(), (email or "").lower().split("@")[0]) if part)
    if personal and password.strip().lower() in personal:
        return _("Your password cannot be your email address.")
    if is_common(password, personal):
        return _("That password is too common or too easy to guess. A few unrelated words make a good one.")
    if current_hash and current_hash.startswith("$argon2") and verify_password(current_hash, password):
        return _("Choose a password different from your current one.")
    return None
