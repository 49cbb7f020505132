"""Limits an attacker cannot sidestep: IPv6 clients counted by their /64, a per-account lock on the
two-factor step, a bound on concurrent password hashing, and each process's share while Redis is down."""
from __future__ import annotations

import pyotp
import pytest
import sqlalchemy as sa

from app.auth import passwords
from app.client_keys import client_network
from app.extensions import db
from app.models import AuditEvent, Clinician, utcnow
from app.ratelimits import per_process
from tests.apps import app_with_tables
from tests.clinician_support import PASSWORD, cheap_hashes  # noqa: F401  (autouse: quick hashes)
from tests.conftest import csrf_token_from

SECRET = pyotp.random_base32(32)


@pytest.mark.parametrize(("address", "counted_as"), [
    ("192.0.2.7", "192.0.2.7"),
    ("2001:db8:aa:bb::1", "2001:db8:aa:bb::/64"),
    ("2001:db8:aa:bb:ffff:1:2:3", "2001:db8:aa:bb::/64"),
    ("2001:db8:aa:bc::1", "2001:db8:aa:bc::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),  # IPv4 mapped into IPv6 is that IPv4 client
    ("fe80::1%eth0", "fe80::/64"),
    ("not an address", "not an address"),
    (None, "unknown"),
])
def test_ipv6_clients_are_counted_by_their_64(address, counted_as):
    assert client_network(address) == counted_as


@pytest.mark.parametrize(("limits", "processes", "share"), [
    ("20 per minute;300 per hour", 1, "20 per minute;300 per hour"),
    ("20 per minute;300 per hour", 2, "10 per minute;150 per hour"),
    ("5 per minute;20 per hour", 3, "2 per minute;7 per hour"),  # rounded up: never zero
    ("10 per 15 minutes", 4, "3 per 15 minutes"),
])
def test_each_process_allows_its_share_while_counting_alone(limits, processes, share):
    assert per_process(limits, processes) == share


LIMITS = {"RATELIMIT_ENABLED": True, "WTF_CSRF_ENABLED": False,
          "RATELIMIT_SIGN_IN_ACCOUNT": "5 per minute;20 per hour",
          "RATELIMIT_SIGN_IN_CLIENT": "20 per minute;100 per hour",
          "RATELIMIT_TWO_FACTOR_ACCOUNT": "10 per 15 minutes"}


@pytest.fixture
def limited(tmp_path):
    with app_with_tables("testing", tmp_path, **LIMITS) as app:
        with app.app_context():
            db.session.add(Clinician(email="doc@example.org", password_hash=passwords.hash_password(PASSWORD),
                                     role="clinician", totp_secret=SECRET, totp_confirmed_at=utcnow()))
            db.session.commit()
        yield app


def password_step(client, address):
    return client.post("/clinician/login", data={"email": "doc@example.org", "password": PASSWORD},
                       environ_overrides={"REMOTE_ADDR": address})


def guess(client, address, code="000000"):
    return client.post("/clinician/two-factor", data={"code": code}, environ_overrides={"REMOTE_ADDR": address})


def wrong_code() -> str:
    return f"{(int(pyotp.TOTP(SECRET).now()) + 500_000) % 1_000_000:06d}"


def lock_audits(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.detail).where(
            AuditEvent.action == "sign_in_limited", AuditEvent.detail.like("two-factor step locked%"))))


def test_a_thousand_code_guesses_from_one_64_and_from_many_get_429s(limited):
    attacker = limited.test_client()
    assert password_step(attacker, "2001:db8:aa:bb::1").status_code == 303  # the stolen password
    code = wrong_code()
    # Every guess from another address of one /64: that /64 is one client.
    statuses = [guess(attacker, f"2001:db8:aa:bb:{n:x}::{n + 1:x}", code).status_code for n in range(500)]
    assert statuses.count(400) == 5 and set(statuses) == {400, 429}  # RATELIMIT_SIGN_IN_ACCOUNT per client
    assert statuses.index(429) == 5
    # Every guess from another /64 (and so another client): the account's own lock holds.
    statuses = [guess(attacker, f"2001:db8:{n:x}::1", code).status_code for n in range(1, 501)]
    assert statuses.count(400) == 5 and statuses[5:] == [429] * 495  # ten wrong codes in all, then locked
    # Locked: even the right code is refused on this step for now, and the lock is audited once.
    assert guess(attacker, "2001:db8:ffff::1", pyotp.TOTP(SECRET).now()).status_code == 429
    assert len(lock_audits(limited)) == 1
    # The owner's password step on another device is not locked (the code step is, for the window).
    owner = limited.test_client()
    assert password_step(owner, "198.51.100.20").status_code == 303


def test_right_codes_do_not_count_toward_the_lock(limited, monkeypatch):
    from app.auth import two_factor

    for n in range(12):  # twelve sign-ins with the right code, each in a later 30-second step
        monkeypatch.setattr(two_factor.time, "time", lambda n=n: 1_800_000_000.0 + 30 * n)
        client = limited.test_client()
        assert password_step(client, f"192.0.2.{n + 1}").status_code == 303
        code = pyotp.TOTP(SECRET).at(1_800_000_000 + 30 * n)
        assert guess(client, f"192.0.2.{n + 1}", code).status_code == 303
    assert lock_audits(limited) == []


def test_a_sign_in_flood_gets_a_quick_503_when_every_hashing_slot_is_taken(limited):
    limited.config.update(PASSWORD_HASHING_CONCURRENCY=1, PASSWORD_HASHING_WAIT_SECONDS=0.05)
    slot = passwords._semaphore(1)
    assert slot.acquire(timeout=1)  # another request is hashing
    try:
        busy = password_step(limited.test_client(), "192.0.2.30")
    finally:
        slot.release()
    assert busy.status_code == 503 and int(busy.headers["Retry-After"]) >= passwords.BUSY_RETRY_AFTER_SECONDS
    assert "<h1>The service is busy or down</h1>" in busy.get_data(as_text=True)
    with limited.app_context():  # refused before the password was checked: no failed sign-in recorded
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0
    assert password_step(limited.test_client(), "192.0.2.30").status_code == 303


def test_limits_while_redis_is_unreachable_are_each_processs_share(tmp_path):
    settings = {**LIMITS, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0", "RATELIMIT_PROCESSES": 2,
                "RATELIMIT_SUBMISSIONS": "6 per minute"}
    with app_with_tables("testing", tmp_path, **settings) as app:
        client = app.test_client()
        pcl5 = {"instrument": "pcl5", "answers": [1] * 20, "store": True}
        statuses = [client.post("/api/v1/screenings", json=pcl5,
                                environ_overrides={"REMOTE_ADDR": "192.0.2.40"}).status_code for _ in range(4)]
        assert statuses == [201, 201, 201, 429]  # half of 6 in this process


def test_the_real_csrf_protected_code_step_is_limited_too(tmp_path):
    """The same lock with CSRF on, as in production: guesses carry a token from the page."""
    with app_with_tables("testing", tmp_path, **{**LIMITS, "WTF_CSRF_ENABLED": True}) as app:
        with app.app_context():
            db.session.add(Clinician(email="doc@example.org", password_hash=passwords.hash_password(PASSWORD),
                                     role="clinician", totp_secret=SECRET, totp_confirmed_at=utcnow()))
            db.session.commit()
        client = app.test_client()
        token = csrf_token_from(client.get("/clinician/login").get_data(as_text=True))
        client.post("/clinician/login", data={"email": "doc@example.org", "password": PASSWORD, "csrf_token": token})
        page = client.get("/clinician/two-factor").get_data(as_text=True)
        token = csrf_token_from(page)
        statuses = [client.post("/clinician/two-factor", data={"code": wrong_code(), "csrf_token": token},
                                environ_overrides={"REMOTE_ADDR": f"2001:db8:{n:x}::1"}).status_code
                    for n in range(1, 31)]
        assert statuses.count(400) == 10 and statuses[10:] == [429] * 20
