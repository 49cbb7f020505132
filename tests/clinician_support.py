"""Fixtures for the clinician workspace tests: accounts, signed-in clients, stored results and their daily counts.

A pytest plugin (tests/conftest.py lists it in pytest_plugins), so its fixtures reach every test module that
asks for them. A module of workspace tests opts into cheap hashes and long retention with WORKSPACE_FIXTURES:
    pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from app.auth import passwords
from app.auth.passwords import hash_password
from app.clinics import create_clinic
from app.extensions import db as _db
from app.models import ROLE_ADMIN, ROLE_CLINICIAN, Clinic, Clinician, Screening, ScreeningDailyCount
from app.screening import case_references
from app.screening.instruments import INSTRUMENTS
from app.screening.service import add_screening, score
from tests.conftest import csrf_token_from, in_app_context

PASSWORD = "correct horse battery staple"
# What every workspace test module runs with (see the docstring).
WORKSPACE_FIXTURES = ("cheap_hashes", "long_retention")


@pytest.fixture
def cheap_hashes(monkeypatch):
    """Argon2 with minimal cost: the tests check behaviour, not the production cost (which stays the default)."""
    monkeypatch.setattr(passwords, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def long_retention(app):
    """The workspace hides results older than RETENTION_DAYS; these tests store results on fixed dates
    (2024–2026), which must not expire as the calendar moves on. Retention tests set their own."""
    app.config["RETENTION_DAYS"] = 100 * 365


HOME_CLINIC = "Home Clinic"
HOME = object()  # store()'s default: the home clinic, which the `clinician` fixture belongs to


def loaded(row):
    """The row with its columns read back after a commit, so they stay readable once its context ends."""
    _db.session.refresh(row)
    return row


@in_app_context
def clinic_named(name: str = HOME_CLINIC, timezone: str = "UTC") -> Clinic:
    """The clinic of that name, created on first use."""
    clinic = _db.session.scalar(sa.select(Clinic).where(Clinic.name == name))
    if clinic is None:
        clinic = create_clinic(name, timezone)
        _db.session.commit()
        loaded(clinic)
    return clinic


@pytest.fixture
def make_clinician(app):
    @in_app_context
    def make(email="doc@example.org", role=ROLE_CLINICIAN, active=True, password=PASSWORD,
             clinics=(HOME_CLINIC,)) -> Clinician:
        clinician = Clinician(email=email, password_hash=hash_password(password), role=role, active=active)
        clinician.clinics = [clinic_named(name) for name in clinics]
        _db.session.add(clinician)
        _db.session.commit()
        return loaded(clinician)

    return make


def sign_in(client, email="doc@example.org", password=PASSWORD, next_url=None):
    """Sign in through the real form, CSRF token and all."""
    url = "/clinician/login" + (f"?next={next_url}" if next_url else "")
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def clinician(make_clinician):
    return make_clinician()


@pytest.fixture
def signed_in(client, clinician):
    """A client signed in as an ordinary clinician."""
    assert sign_in(client).status_code == 303
    return client


@pytest.fixture
def admin_client(app, make_clinician):
    make_clinician("admin@example.org", ROLE_ADMIN)
    client = app.test_client()
    assert sign_in(client, "admin@example.org").status_code == 303
    return client


@in_app_context
def store(instrument="pcl5", answers=None, exposure=None, taken_at=None, when=None, clinic=HOME, **columns):
    """Store a result through the screening service, shared with the home clinic unless another (or
    None: no clinic) is given; optionally back-date it or set review columns."""
    instrument_ = INSTRUMENTS[instrument]
    if answers is None:
        answers = {"pcl5": [2] * 20, "itq": [2] * 18}.get(instrument, [True, True, True, False, False])
    if instrument == "pcptsd5" and exposure is None:
        exposure = True
    if clinic is HOME:
        clinic = clinic_named()
    elif isinstance(clinic, str):
        clinic = clinic_named(clinic)
    # A retake (`previous_id`) is linked by the service, which also stores its series columns.
    previous = _db.session.get(Screening, columns.pop("previous_id")) if "previous_id" in columns else None
    code = add_screening(score(instrument_, answers, exposure, when=when), previous=previous, clinic=clinic)
    row = _db.session.scalar(sa.select(Screening).where(Screening.code == code))
    if taken_at is not None:
        row.taken_at = taken_at if taken_at.tzinfo else taken_at.replace(tzinfo=UTC)
    for name, value in columns.items():
        setattr(row, name, value)
    _db.session.commit()
    return loaded(row)


def csrf(client, url="/clinician/login") -> str:
    """A CSRF token valid for this client's session."""
    return csrf_token_from(client.get(url).get_data(as_text=True))


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@in_app_context
def counts_in_table() -> dict[tuple, tuple]:
    """screening_daily_counts as {(day, instrument, total, at or above, reviewed): (results, sums…)}."""
    _db.session.expire_all()
    return {(row.day, row.instrument, row.total, row.at_or_above_cutoff, row.reviewed):
            (row.results, row.reexperiencing_sum, row.avoidance_sum, row.arousal_sum)
            for row in _db.session.scalars(sa.select(ScreeningDailyCount))}


@in_app_context
def counts_from_results() -> dict[tuple, tuple]:
    """The same groups computed here, in Python, from every stored result."""
    groups: dict[tuple, list[int]] = {}
    for taken_at, *key, reexperiencing, avoidance, arousal in _db.session.execute(sa.select(
            Screening.taken_at, Screening.instrument, Screening.total, Screening.at_or_above_cutoff,
            Screening.reviewed, Screening.reexperiencing, Screening.avoidance, Screening.arousal)):
        sums = groups.setdefault((taken_at.astimezone(UTC).date(), *key), [0, 0, 0, 0])
        for index, value in enumerate((1, reexperiencing, avoidance, arousal)):
            sums[index] += value
    return {key: tuple(sums) for key, sums in groups.items()}


def ref(row) -> str:
    """A stored result's case reference as the workspace shows and links it."""
    return case_references.display(row.case_reference)


def reference_of_code(code: str, app=None) -> str:
    """The displayed case reference of the result with this person's code (any spelling), in the test
    app's context or the given app's."""
    from app.screening import codes

    @in_app_context
    def look_up() -> str | None:
        return _db.session.scalar(sa.select(Screening.case_reference).where(Screening.code == codes.normalise(code)))

    if app is not None:
        with app.app_context():
            reference = look_up()
    else:
        reference = look_up()
    assert reference is not None, code
    return case_references.display(reference)
