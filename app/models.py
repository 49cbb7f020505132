"""Database tables, in SQLAlchemy 2's typed style."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


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

    def __repr__(self) -> str:
        return f"<Screening {self.id} {self.instrument}>"
