"""Production without a SECRET_KEY: the flask command and gunicorn say what to set, in one line, no traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def production_without_a_key() -> dict:
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("SECRET_KEY", "FLASK_SECRET_KEY", "APP_ENV")}
    return {**environment, "APP_ENV": "production"}


def test_the_flask_command_names_the_setting_in_one_line(tmp_path):
    finished = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "clinician", "list"], cwd=ROOT,
                              env=production_without_a_key(), capture_output=True, text=True, timeout=120)
    assert finished.returncode == 1
    assert "Traceback" not in finished.stderr
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("Error: SECRET_KEY must be set") and "APP_ENV=development" in lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("workers, preload", [(1, False), (1, True), (2, False)])
def test_gunicorn_stops_with_the_reason_and_no_traceback(workers, preload):
    """Two workers failing together once made gunicorn's arbiter print a traceback: the master checks first.
    (Limits in Redis, as documented, or gunicorn.conf.py refuses several workers for that reason first.)"""
    command = [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", str(workers), "wsgi:app"]
    if preload:
        command.insert(-1, "--preload")
    environment = {**production_without_a_key(), "FLASK_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:9/0"}
    finished = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    output = finished.stdout + finished.stderr
    assert finished.returncode != 0
    assert "Traceback" not in output
    reasons = [line for line in output.splitlines() if "SECRET_KEY must be set" in line]
    assert reasons and all(len(line) < 400 for line in reasons)
