"""Log lines that repeat during an outage, written once per kind and minute with a count of the rest."""
from __future__ import annotations

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
