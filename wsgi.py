"""WSGI entry point: `flask --app wsgi …` and `gunicorn wsgi:app`."""
import os
import sys

from gunicorn.errors import AppImportError

from app import create_app
from config import ConfigurationError


class StartRefused(AppImportError, RuntimeError):
    """gunicorn prints this message alone and stops: a worker that raises it halts the server ("App
    failed to load") instead of being restarted; with --preload the master prints it and exits."""


try:
    app = create_app()
except ConfigurationError as problem:
    # A missing setting is the operator's to fix: say which, in one line, without a traceback.
    if os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/"):
        raise StartRefused(f"Not started: {problem}") from None
    sys.exit(f"Error: {problem}")
