"""Retention: results older than RETENTION_DAYS are never read, and are deleted in small batches.

Two jobs delete them: the `purge` command (run daily by deploy/ptsd-screening-purge.timer) and, so a
plain gunicorn deployment keeps the promise too, a background purge inside each server process at
most once per RETENTION_PURGE_EVERY_MINUTES. Reads filter by age as well (`unexpired`), so a result
is gone for everyone at the moment it expires, whether or not a purge has run yet.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app

from . import audit
from .background_jobs import PeriodicJob
from .extensions import db
from .models import AuditEvent, Screening, utcnow

# Small enough that a purge never holds the (SQLite: only) write lock for long; a person's answers
# being stored wait for one batch at most.
BATCH_SIZE = 500
PAUSE_BETWEEN_BATCHES_SECONDS = 0.05


def expiry_cutoff(days: int | None = None) -> datetime:
    """Results taken before this moment have expired."""
    days = int(current_app.config["RETENTION_DAYS"]) if days is None else days
    return utcnow() - timedelta(days=days)


def unexpired() -> sa.ColumnElement[bool]:
    """A WHERE clause for results still within the retention period."""
    return Screening.taken_at >= expiry_cutoff()


def delete_in_batches(model, condition) -> int:
    """Delete the rows of `model` matching `condition`, BATCH_SIZE at a time with a commit and a pause
    between batches (no long lock on the table); the number deleted."""
    batch = sa.select(model.id).where(condition).order_by(model.id).limit(BATCH_SIZE)
    deleted = 0
    while True:
        # Ids first, then DELETE … WHERE id IN: portable (SQLite has no DELETE … LIMIT by default).
        ids = list(db.session.scalars(batch))
        if ids:
            db.session.execute(sa.delete(model).where(model.id.in_(ids)))
        db.session.commit()
        deleted += len(ids)
        if len(ids) < BATCH_SIZE:
            return deleted
        time.sleep(PAUSE_BETWEEN_BATCHES_SECONDS)


def purge_expired(days: int | None = None, automatic: bool = False) -> tuple[int, datetime]:
    """Delete every result taken before the cut-off, in batches of BATCH_SIZE, each batch committed.

    One audit row per run says how many and from when, and whether the server ran it on its own.
    Returns the count deleted and the cut-off. An automatic run that finds nothing writes no row (it
    runs hourly in each process and would fill the log); the command's runs are always recorded.
    """
    cutoff = expiry_cutoff(days)
    deleted = delete_in_batches(Screening, Screening.taken_at < cutoff)
    if deleted or not automatic:
        shown_days = int(current_app.config["RETENTION_DAYS"]) if days is None else days
        detail = f"{deleted} results taken before {cutoff:%Y-%m-%d %H:%M} UTC ({shown_days} days)"
        audit.record(audit.PURGE, detail=detail + (", deleted automatically by the server" if automatic else ""))
        db.session.commit()
    return deleted, cutoff


def purge_audit_log(days: int | None = None, automatic: bool = False) -> tuple[int, datetime]:
    """Delete audit rows older than AUDIT_RETENTION_DAYS (or `days`), in batches; the deletion is itself
    audited, as purge_expired's is (an automatic run that finds nothing writes no row)."""
    days = int(current_app.config["AUDIT_RETENTION_DAYS"]) if days is None else days
    cutoff = utcnow() - timedelta(days=days)
    deleted = delete_in_batches(AuditEvent, AuditEvent.at < cutoff)
    if deleted or not automatic:
        detail = f"{deleted} audit log entries before {cutoff:%Y-%m-%d %H:%M} UTC ({days} days)"
        audit.record(audit.AUDIT_PURGE, detail=detail + (", deleted automatically by the server" if automatic else ""))
        db.session.commit()
    return deleted, cutoff


def purge_everything_expired() -> None:
    """The automatic purge: expired results, then audit rows past their retention."""
    purge_expired(automatic=True)
    purge_audit_log(automatic=True)


def init_retention(app: Flask) -> None:
    """Start the in-app purge after responses, unless RETENTION_PURGE_EVERY_MINUTES is 0."""
    minutes = float(app.config.get("RETENTION_PURGE_EVERY_MINUTES") or 0)
    if minutes <= 0:
        return
    purge = app.extensions["retention_purge"] = PeriodicJob(
        app, minutes * 60, "retention-purge", purge_everything_expired, "the automatic retention purge failed")

    @app.after_request
    def start_background_purge(response):
        purge.maybe_start()
        return response
