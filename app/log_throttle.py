"""Log lines that repeat during an outage, written once per kind and minute with a count of the rest."""
from __future__ import annotations

import logging
import threading
import time

WINDOW_SECONDS = 60

_lock = threading.Lock()
_last: dict[str, tuple[float, int]] = {}


def due(kind: str, now: float | None = None) -> int | None:
    """None while a line of this kind was written less than a minute ago (that one is counted);
    otherwise how many were held back since the last one, and the caller writes its line now."""
    now = time.monotonic() if now is None else now
    with _lock:
        last, held = _last.get(kind, (float("-inf"), 0))
        if now - last < WINDOW_SECONDS:
            _last[kind] = (last, held + 1)
            return None
        _last[kind] = (now, 0)
        return held


def forget() -> None:
    """Start afresh (tests)."""
    with _lock:
        _last.clear()


class OutageLines(logging.Filter):
    """A logging filter for errors that repeat during an outage (SQLAlchemy's pool failing to reset a
    dead connection, one per request): one line per logger and failure class a minute, its traceback
    left out (the class names the failure; the text could quote a statement), then a count."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        failure = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else "no exception"
        held = due(f"{record.name}:{record.getMessage()}:{failure}")
        if held is None:
            return False
        record.msg = "%s (%s; %d more like it in the last minute)"
        record.args = (record.getMessage(), failure, held)
        record.exc_info = None
        record.exc_text = None
        return True


POOL_LOGGERS = tuple(f"sqlalchemy.pool.impl.{name}" for name in
                     ("QueuePool", "NullPool", "StaticPool", "SingletonThreadPool", "AsyncAdaptedQueuePool"))


def quiet_pool_outages() -> None:
    """Attach OutageLines to SQLAlchemy's pool loggers (once per process)."""
    for name in POOL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, OutageLines) for existing in logger.filters):
            logger.addFilter(OutageLines())
