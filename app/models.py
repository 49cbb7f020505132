"""Database tables, in SQLAlchemy 2's typed style."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


ROLE_CLINICIAN = "clinician"
ROLE_ADMIN = "admin"
ROLES = (ROLE_CLINICIAN, ROLE_ADMIN)
REVIEW_NOTE_MAX = 500


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (a callable default, evaluated per row)."""
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass a timezone-aware UTC time")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Screening(db.Model):
    """One stored screening: raw answers beside the scores computed from them, and nothing identifying."""

    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    instrument: Mapped[str] = mapped_column(sa.String(16), index=True)
    instrument_version: Mapped[str] = mapped_column(sa.String(64))
    exposure: Mapped[bool | None]
    answers: Mapped[list] = mapped_column(sa.JSON)
    total: Mapped[int]
    reexperiencing: Mapped[int]
    avoidance: Mapped[int]
    arousal: Mapped[int]
    dsm5_b: Mapped[int | None]
    dsm5_c: Mapped[int | None]
    dsm5_d: Mapped[int | None]
    dsm5_e: Mapped[int | None]
    dsm5_rule_met: Mapped[bool | None]
    cutoff: Mapped[int]
    at_or_above_cutoff: Mapped[bool]
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

    reviewed_by: Mapped[Clinician | None] = relationship()

    __table_args__ = (
        # The filtered queue: one instrument over a date range.
        sa.Index("ix_screenings_instrument_taken_at", "instrument", "taken_at"),
        # The statistics' GROUP BY (instrument, total) reads only this index, never the wide rows
        # (answers, version): measured 700 ms → 50 ms for 100,000 results on SQLite.
        sa.Index("ix_screenings_stats", "instrument", "total", "at_or_above_cutoff", "reviewed",
                 "reexperiencing", "avoidance", "arousal", "taken_at"),
    )

    def __repr__(self) -> str:
        return f"<Screening {self.id} {self.instrument}>"


# The queue's order (unreviewed first, then highest total, then newest), so its first page is read
# straight off the index instead of sorting every row.
sa.Index("ix_screenings_queue", Screening.reviewed, Screening.total.desc(), Screening.taken_at.desc(),
         Screening.id.desc())
# The filtered queue (e.g. unreviewed PCL-5 results at or above the cut-off): its first page and its
# capped count read this index in queue order, not every match sorted (300 → 1 ms at 100,000 on SQLite).
sa.Index("ix_screenings_queue_filters", Screening.reviewed, Screening.instrument, Screening.at_or_above_cutoff,
         Screening.total.desc(), Screening.taken_at.desc(), Screening.id.desc())


class Clinician(UserMixin, db.Model):
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

    def __repr__(self) -> str:
        return f"<Clinician {self.id} {self.role}>"


class AuditEvent(db.Model):
    """Who did what to which result, and when; never a password, an IP address or a user agent."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Null for a failed sign-in with an unknown email (the typed text is not kept) and for CLI jobs.
    clinician_id: Mapped[int | None] = mapped_column(sa.ForeignKey("clinicians.id", ondelete="SET NULL"),
                                                     index=True)
    action: Mapped[str] = mapped_column(sa.String(32), index=True)
    target: Mapped[str | None] = mapped_column(sa.String(64))  # a result code, where there is one
    detail: Mapped[str | None] = mapped_column(sa.String(500))  # e.g. the filters of an export

    clinician: Mapped[Clinician | None] = relationship()

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action}>"
