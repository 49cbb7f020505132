"""The `flask --app wsgi …` commands, every group in one place: accounts, purge, demo data, statistics
and alerts (clinicians.py), clinics (clinics.py), backup, restore and assets (maintenance.py), learn
pages (learn.py)."""
from __future__ import annotations

from flask import Flask

from . import clinicians, learn, maintenance


def register(app: Flask) -> None:
    """Attach every command to the app's `flask` command line."""
    clinicians.register(app)
    maintenance.register(app)
    learn.register(app)
