"""A job a process runs in a background thread after responses, at most once per interval (or at once when due)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import Flask

from .extensions import db


class PeriodicJob:
    """Starts `job` in its own thread and session after a response, at most every `every_seconds` in this
    process unless asked at once; a request never waits for it, and its failure never reaches anyone.

    Checked with a monotonic clock (a comparison, no lock, almost always); one run at a time per process.
    """

    def __init__(self, app: Flask, every_seconds: float, name: str, job: Callable[[], object], failure: str):
        self.app, self.every, self.name, self.job, self.failure = app, every_seconds, name, job, failure
        self.next_run = 0.0  # the first request of a new process starts one
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def maybe_start(self, now_due: bool = False) -> None:
        """Start a run if the interval has passed (or `now_due`) and no other thread is starting one."""
        if (not now_due and time.monotonic() < self.next_run) or not self.lock.acquire(blocking=False):
            return
        try:
            if not now_due and time.monotonic() < self.next_run:  # another thread started one meanwhile
                return
            self.next_run = time.monotonic() + self.every
            self.thread = threading.Thread(target=self.run, name=self.name, daemon=True)
            self.thread.start()
        finally:
            self.lock.release()

    def run(self) -> None:
        with self.app.app_context():
            try:
                self.job()
            except Exception:  # the next interval tries again
                db.session.rollback()
                self.app.logger.exception(self.failure)
            finally:
                db.session.remove()
