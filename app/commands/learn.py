"""`flask learn check`: every learn page's header, sources and citations, before a deploy."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from ..education.content import PAGES, check_all

learn_cli = AppGroup("learn")


@learn_cli.command("check")
def check_command():
    """Check every learn page's header, sources and citations (run it after editing a page)."""
    errors, notes = check_all(tuple(current_app.config["LANGUAGES"]))
    for note in notes:
        click.echo(f"note: {note}")
    for error in errors:
        click.echo(f"error: {error}", err=True)
    if errors:
        raise SystemExit(1)
    click.echo(f"{len(PAGES)} pages in {', '.join(current_app.config['LANGUAGES'])}: ok")


def register(app: Flask) -> None:
    app.cli.add_command(learn_cli)
