"""Database tables, in SQLAlchemy 2's typed style."""
from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import Model, db
from .rollup_triggers import DROP_SERIES_TRIGGERS, DROP_TRIGGERS, SERIES_TRIGGERS, TRIGGERS

ROLE_CLINICIAN = "clinician"
ROLE_ADMIN = "admin"
ROLES = (ROLE_CLINICIAN, ROLE_ADMIN)
REVIEW_NOTE_MAX = 500
NOTE_MAX = 2000
CASE_REFERENCE_LENGTH = 7


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (a callable default, evaluated per row)."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass a timezone-aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Screening(Model):
    """One stored screening: raw answers beside the scores computed from them, and nothing identifying."""

    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    instrument: Mapped[str] = mapped_column(sa.String(16), index=True)
    instrument_version: Mapped[str] = mapped_column(sa.String(64))
    exposure: Mapped[bool | None]
    answers: Mapped[list] = mapped_column(sa.JSON)
    total: Mapped[int]
    # total / the instrument's maximum (0–1), stored so the triage queue can order PCL-5, PC-PTSD-5 and
    # any later instrument on one scale straight off an index (equal fractions are equal doubles).
    share: Mapped[float] = mapped_column(sa.Float, server_default="0")
    reexperiencing: Mapped[int]
    avoidance: Mapped[int]
    arousal: Mapped[int]
    dsm5_b: Mapped[int | None]
    dsm5_c: Mapped[int | None]
    dsm5_d: Mapped[int | None]
    dsm5_e: Mapped[int | None]
    dsm5_rule_met: Mapped[bool | None]
    # Null for the ITQ, which is scored by ICD-11 criteria: at_or_above_cutoff then means "the answers
    # meet the PTSD or complex PTSD criteria", so the queue and statistics treat it like a cut-off.
    cutoff: Mapped[int | None]
    at_or_above_cutoff: Mapped[bool]
    # ITQ only (null otherwise): the self-organisation total and cluster sums, both sets of criteria,
    # the screening pattern ("none", "ptsd", "cptsd") and the optional time since the event (unscored).
    dso_total: Mapped[int | None]
    affective_dysregulation: Mapped[int | None]
    negative_self_concept: Mapped[int | None]
    disturbed_relationships: Mapped[int | None]
    ptsd_criteria_met: Mapped[bool | None]
    dso_criteria_met: Mapped[bool | None]
    icd11_pattern: Mapped[str | None] = mapped_column(sa.String(8))
    event_when: Mapped[str | None] = mapped_column(sa.String(8))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The earlier result this one was compared with; the chain of these links is a series of retakes.
    # Deleting an earlier result must not delete the later ones, so the database unlinks them.
    previous_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("screenings.id", ondelete="SET NULL"), index=True
    )
    previous: Mapped[Screening | None] = relationship(remote_side=[id], lazy="select")
    # Clinician review. `reviewed` duplicates "reviewed_at is not null" on purpose: the triage queue
    # sorts on it first, and a plain boolean column can lead a portable index, an expression cannot.
    reviewed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("clinicians.id", ondelete="SET NULL"))
    review_note: Mapped[str | None] = mapped_column(sa.String(REVIEW_NOTE_MAX))

    reviewed_by: Mapped[Clinician | None] = relationship(foreign_keys=[reviewed_by_id])
    # Triage (app/screening/triage.py, set when the result is stored): the safety items endorsed as item
    # numbers ("16"; null: none), the tier (0 safety item … 3 below the cut-off) and the severity within it
    # (triage.RANK_STEP × the instrument's rank, 1 for the ITQ's complex PTSD, + the share of the maximum).
    safety_items: Mapped[str | None] = mapped_column(sa.String(32))
    triage_tier: Mapped[int] = mapped_column(sa.SmallInteger, default=3, server_default="3")
    severity: Mapped[float] = mapped_column(sa.Float, default=0, server_default="0")
    # What the workspace shows and links instead of the person's code (which opens the person's own
    # pages): random, 7 symbols of the code alphabet, so never a code; unique.
    case_reference: Mapped[str] = mapped_column(sa.String(CASE_REFERENCE_LENGTH), index=True, unique=True)
    # A series of retakes is one row in the queue: its first result's id, and whether this is its latest
    # result within the same clinic (a retake shared with another clinic starts that clinic's own row).
    series_start_id: Mapped[int | None] = mapped_column(index=True)
    latest_in_series: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # The clinician of the result's clinic it is given to (its series, through the latest result).
    assigned_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("clinicians.id", ondelete="SET NULL"))
    assigned_to: Mapped[Clinician | None] = relationship(foreign_keys=[assigned_to_id])
    # The clinic the person shared this result with (through its link, or a clinician who added it by
    # its whole code). Null: seen by no clinician but admins until someone adds it by code.
    clinic_id: Mapped[int | None] = mapped_column(sa.ForeignKey("clinics.id", ondelete="SET NULL"), index=True)
    clinic: Mapped[Clinic | None] = relationship(lazy="select")
    # A digest of the form's one-time value with the submission's content (app/screening/submissions.py):
    # the same filled-in form sent again (Back, Reload, a double click) finds this row instead of
    # storing another. Random and content-bound, it identifies no one; it goes with the row.
    submission_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True, index=True)

    __table_args__ = (
        # The filtered queue: one instrument over a date range.
        sa.Index("ix_screenings_instrument_taken_at", "instrument", "taken_at"),
        # The statistics' GROUP BY (instrument, total) reads only this index, never the wide rows
        # (answers, version); figures in bench/design-measurements.md.
        sa.Index("ix_screenings_stats", "instrument", "total", "at_or_above_cutoff", "reviewed",
                 "reexperiencing", "avoidance", "arousal", "taken_at"),
    )

    def __repr__(self) -> str:
        return f"<Screening {self.id} {self.instrument}>"


# The triage order (app/screening/triage.py: the latest result of each series, unreviewed first, by tier,
# the most severe first, oldest waiting first), so a queue's first page and its capped count are read
# straight off an index in order rather than sorting every match: for everyone's results (admins), one
# instrument's, one clinic's (a clinician) and one assignee's.
TRIAGE_COLUMNS = (Screening.latest_in_series, Screening.reviewed, Screening.triage_tier,
                  Screening.severity.desc(), Screening.taken_at, Screening.id)
sa.Index("ix_screenings_triage", *TRIAGE_COLUMNS)
sa.Index("ix_screenings_triage_instrument", Screening.instrument, *TRIAGE_COLUMNS)
# ?cutoff= alone: the cut-off side first, then the rest of the order (else every match is sorted).
sa.Index("ix_screenings_triage_cutoff", Screening.at_or_above_cutoff, *TRIAGE_COLUMNS)
sa.Index("ix_screenings_clinic_triage", Screening.clinic_id, *TRIAGE_COLUMNS)
sa.Index("ix_screenings_clinic_triage_instrument", Screening.clinic_id, Screening.instrument, *TRIAGE_COLUMNS)
# The statistics' count of flagged results: by tier, then clinic, covering the filters' columns so the
# count never reads a row (figures in bench/design-measurements.md).
sa.Index("ix_screenings_flagged", Screening.triage_tier, Screening.clinic_id, Screening.reviewed,
         Screening.instrument, Screening.at_or_above_cutoff, Screening.taken_at)
# ?instrument= with ?cutoff= (everyone's): the cut-off side is no longer next to `reviewed` in the order.
sa.Index("ix_screenings_triage_instrument_cutoff", Screening.instrument, Screening.at_or_above_cutoff, *TRIAGE_COLUMNS)
# ?assigned=me: one clinician's series.
sa.Index("ix_screenings_assigned_triage", Screening.assigned_to_id, *TRIAGE_COLUMNS)
# A clinic's statistics: one clinic's results aggregated from this index alone (the daily counts hold
# every clinic together; keyed by clinic they would have about as many rows as results, see docs/clinics.md).
sa.Index("ix_screenings_clinic_stats", Screening.clinic_id, Screening.instrument, Screening.total,
         Screening.at_or_above_cutoff, Screening.reviewed, Screening.reexperiencing, Screening.avoidance,
         Screening.arousal, Screening.taken_at)


class ScreeningDailyCount(Model):
    """How many results, and their cluster sums, per UTC day, instrument, total, cut-off side and review
    state: what the statistics page aggregates unless it searches by code. Written only by triggers on
    screenings (app/rollup_triggers.py), never by the app; `flask stats rebuild` recomputes it."""

    __tablename__ = "screening_daily_counts"

    day: Mapped[date] = mapped_column(primary_key=True)  # the UTC date of taken_at
    instrument: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    total: Mapped[int] = mapped_column(primary_key=True)
    at_or_above_cutoff: Mapped[bool] = mapped_column(primary_key=True)
    reviewed: Mapped[bool] = mapped_column(primary_key=True)
    results: Mapped[int]  # never 0: a group whose last result goes is deleted
    reexperiencing_sum: Mapped[int]
    avoidance_sum: Mapped[int]
    arousal_sum: Mapped[int]

    __table_args__ = (
        # The summaries' GROUP BY (instrument, total) read in index order, every column in the index:
        # without it SQLite sorts every row (figures in bench/design-measurements.md).
        sa.Index("ix_screening_daily_counts_totals", "instrument", "total", "at_or_above_cutoff", "reviewed",
                 "day", "results", "reexperiencing_sum", "avoidance_sum", "arousal_sum"),
        # Clustered on its key on SQLite: the triggers' upserts find their row in the table's own B-tree.
        {"sqlite_with_rowid": False},
    )

    def __repr__(self) -> str:
        return f"<ScreeningDailyCount {self.day} {self.instrument} {self.total} {self.results}>"


def _table_of(model: type[Model]) -> sa.Table:
    """A declarative model's table (typed as any FromClause, which a mapped class may have)."""
    table = model.__table__
    assert isinstance(table, sa.Table)  # each model here maps one Table
    return table


class ScreeningSeries(Model):
    """One row per series of two or more results of one instrument (a person's retakes, as far as
    anonymous results tell): its size, how many wait for review, its first and latest results' ids,
    times and totals and the first one's clinic. What everyone's outcomes and people counts aggregate
    (a row per series rather than every result in one). Written only by
    triggers on screenings (app/rollup_triggers.py), never by the app."""

    __tablename__ = "screening_series"

    series_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # coalesce(series_start_id, id)
    instrument: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    results: Mapped[int]  # never below 2: a series left with one result loses its row
    unreviewed: Mapped[int]
    first_id: Mapped[int]
    first_taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_month: Mapped[str] = mapped_column(sa.String(7))  # first_taken_at's UTC month, '2026-01'
    first_total: Mapped[int]
    first_clinic_id: Mapped[int | None]
    latest_id: Mapped[int]
    latest_taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    latest_total: Mapped[int]

    __table_args__ = (
        # People counts: one instrument's series by when they began, read from this index alone.
        sa.Index("ix_screening_series_first", "instrument", "first_taken_at", "latest_taken_at", "results",
                 "unreviewed"),
        # Everyone's outcomes: GROUP BY clinic, month, first and latest totals read in this index's order
        # (sorting every series cost SQLite more than reading them); both times in it, for the retention
        # bound and whether the latest came too soon after the first, so no row is looked up.
        sa.Index("ix_screening_series_outcomes", "instrument", "first_clinic_id", "first_month", "first_total",
                 "latest_total", "first_taken_at", "latest_taken_at"),
        {"sqlite_with_rowid": False},
    )

    def __repr__(self) -> str:
        return f"<ScreeningSeries {self.series_id} {self.instrument} {self.results}>"


def _attach_triggers(table: sa.Table, triggers: dict, drops: dict) -> None:
    """create_all (the tests) builds the same triggers as the migration. They sit on screenings, so that
    table must exist first: this one is created after it, and dropped before it with its triggers."""
    table.add_is_dependent_on(_table_of(Screening))
    for dialect, statements in triggers.items():
        for statement in statements:
            sa.event.listen(table, "after_create", sa.DDL(statement).execute_if(dialect=dialect))
        for statement in drops[dialect]:
            sa.event.listen(table, "before_drop", sa.DDL(statement).execute_if(dialect=dialect))


_attach_triggers(_table_of(ScreeningDailyCount), TRIGGERS, DROP_TRIGGERS)
_attach_triggers(_table_of(ScreeningSeries), SERIES_TRIGGERS, DROP_SERIES_TRIGGERS)


# Which clinics a clinician works for; a clinician may belong to several.
clinician_clinics = sa.Table(
    "clinician_clinics",
    db.metadata,
    sa.Column("clinician_id", sa.ForeignKey("clinicians.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("clinic_id", sa.ForeignKey("clinics.id", ondelete="CASCADE"), primary_key=True, index=True),
)


# A clinic's short code, typed from its poster: no 0/O, 1/I/L or U/V to mistake for each other, matched
# without case. 8 of 30 characters is about 39 bits; guesses share the code look-up rate limit.
SHORT_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
SHORT_CODE_LENGTH = 8


def random_short_code() -> str:
    import secrets

    return "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(SHORT_CODE_LENGTH))


class Clinic(Model):
    """A clinic that sends its patients a link and sees the results shared with it as its caseload."""

    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC", server_default="UTC")
    # The secret in the clinic's public link /c/<token>; rotating it makes the old link stop working.
    link_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The same link for typing: /c/<short_code>, at most 10 characters from an alphabet without
    # look-alikes, stored upper case and matched case-insensitively; rotated with link_token.
    short_code: Mapped[str] = mapped_column(sa.String(10), unique=True, default=random_short_code)
    # The questionnaires the clinic's link offers, in its order: instrument ids joined by commas.
    # Null: every questionnaire, in the site's order.
    instruments: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    clinicians: Mapped[list[Clinician]] = relationship(
        secondary=clinician_clinics, back_populates="clinics", lazy="select"
    )

    def __repr__(self) -> str:
        return f"<Clinic {self.id} {self.slug}>"


class Clinician(UserMixin, Model):
    """A clinician who signs in to review stored results; never deleted, only deactivated."""

    __tablename__ = "clinicians"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16), default=ROLE_CLINICIAN)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Copied into the signed session cookie at sign-in and compared on every request: bumping it (on
    # sign-out and deactivation) ends every session of the account on every instance, even a copied
    # cookie — a signed cookie alone cannot be revoked.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-factor (TOTP, RFC 6238). The base32 secret is stored as is: no maintained encryption library
    # is among the dependencies, and a key beside the database would protect little. It is set at the
    # start of set-up and counts only once confirmed (totp_confirmed_at); never logged, never shown again.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The time step of the last code accepted: that code, and any older one, is refused (no replay).
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    # "Email me when a result needs review" (off by default): when the last such email was sent, and
    # the moment up to which new results have been announced (app/clinician/alerts.py).
    notify_new_results: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    alert_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alerts_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language the account's e-mails are written in: chosen at invitation, then the language the
    # clinician last signed in with. Null: not known (the site's default language).
    language: Mapped[str | None] = mapped_column(sa.String(8))

    clinics: Mapped[list[Clinic]] = relationship(
        secondary=clinician_clinics, back_populates="clinicians", lazy="select", order_by="Clinic.name"
    )

    def end_sessions(self) -> None:
        """Invalidate every session of this account (an atomic increment, safe under concurrency)."""
        self.session_version = Clinician.session_version + 1

    @property
    def is_active(self) -> bool:
        """Flask-Login refuses to sign in, and the loader refuses to restore, an inactive account."""
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_secret is not None and self.totp_confirmed_at is not None

    def __repr__(self) -> str:
        return f"<Clinician {self.id} {self.role}>"


TOKEN_INVITE = "invite"
TOKEN_RESET = "reset"


class AccountToken(Model):
    """A one-time link that sets an account's password (an invitation or a reset); only its hash is kept."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(sa.ForeignKey("clinicians.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # SHA-256 of the link's token, hex
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    clinician: Mapped[Clinician] = relationship()

    def __repr__(self) -> str:
        return f"<AccountToken {self.id} {self.purpose}>"


class RecoveryCode(Model):
    """One of an account's one-time two-factor recovery codes; only its hash is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(sa.ForeignKey("clinicians.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))  # SHA-256, hex: the codes are random, not chosen
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<RecoveryCode {self.id}>"


class ResultNote(Model):
    """A clinician's note on a result: appended, never changed; deleted with the result."""

    __tablename__ = "result_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(sa.ForeignKey("screenings.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("clinicians.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(sa.String(NOTE_MAX))

    author: Mapped[Clinician | None] = relationship()

    def __repr__(self) -> str:
        return f"<ResultNote {self.id}>"


class AuditEvent(Model):
    """Who did what to which result, and when; never a password, an IP address or a user agent."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Null for a failed sign-in with an unknown email (the typed text is not kept) and for CLI jobs.
    clinician_id: Mapped[int | None] = mapped_column(sa.ForeignKey("clinicians.id", ondelete="SET NULL"),
                                                     index=True)
    action: Mapped[str] = mapped_column(sa.String(32), index=True)
    target: Mapped[str | None] = mapped_column(sa.String(64))  # a case reference or a clinic, never a code
    detail: Mapped[str | None] = mapped_column(sa.String(500))  # e.g. the filters of an export

    clinician: Mapped[Clinician | None] = relationship()

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action}>"
