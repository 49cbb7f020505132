"""Argon2id password hashing, and an equal-cost check for emails that match no account."""
from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
# Far above any real passphrase; stops a megabyte "password" from costing a hash of a megabyte.
MAX_LENGTH = 1024

# argon2-cffi's defaults are RFC 9106's low-memory profile (argon2id, t=3, m=64 MiB, p=4).
hasher = PasswordHasher()


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


def password_problem(password: str) -> str | None:
    """Why a new password is refused (in English, for the command line), or None."""
    if len(password) < MIN_LENGTH:
        return f"Passwords must be at least {MIN_LENGTH} characters long."
    if len(password) > MAX_LENGTH:
        return f"Passwords must be at most {MAX_LENGTH} characters long."
    return None
