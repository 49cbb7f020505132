"""Operator commands: `backup PATH`, `restore PATH [--force]` and `assets write DIR`."""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from .. import audit
from ..assets import bundles
from ..extensions import db
from ..proxy_error_pages import write_pages

assets_cli = AppGroup("assets", help="The hashed style and script bundles, for a web server to serve.")


def _private_temp_file(destination: Path) -> Path:
    """An empty file only the owner can read, next to `destination` (so a rename replaces it atomically)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    os.close(handle)  # mkstemp creates it with mode 0600: a backup holds everyone's answers
    return Path(name)


def _sqlite_path(url: sa.engine.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise click.ClickException("The database is in memory: there is nothing on disk to back up or restore.")
    return Path(url.database)


def _libpq(url: sa.engine.URL) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore connection arguments, and an environment carrying the password (never argv,
    where `ps` would show it)."""
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return [f"--dbname={plain}"], environment


def _postgres_tool(name: str) -> str:
    """pg_dump or pg_restore of the server's major version when installed (Debian keeps each version in
    /usr/lib/postgresql/N/bin), else the one on PATH: an older pg_dump refuses a newer server."""
    major = db.session.scalar(sa.text("SHOW server_version_num")) or "0"
    db.session.rollback()
    versioned = Path(f"/usr/lib/postgresql/{int(major) // 10000}/bin/{name}")
    if versioned.exists():
        return str(versioned)
    found = shutil.which(name)
    if found is None:
        raise click.ClickException(f"{name} is not installed (apt-get install postgresql-client).")
    return found


def _run(command: list[str], environment: dict[str, str]) -> None:
    finished = subprocess.run(command, env=environment, capture_output=True, text=True)
    if finished.returncode != 0:
        message = finished.stderr.strip().splitlines()
        raise click.ClickException(f"{Path(command[0]).name} failed: {message[-1] if message else finished.returncode}")


def tables_with_rows() -> list[str]:
    """Tables of the app's database that hold at least one row (the migration stamp does not count)."""
    inspector = sa.inspect(db.engine)
    names = [name for name in inspector.get_table_names() if name != "alembic_version"]
    with db.engine.connect() as connection:
        return [name for name in names
                if connection.execute(sa.select(sa.literal(1)).select_from(sa.table(name)).limit(1)).first()]


def dated_path(series: Path, now: datetime) -> Path:
    """One backup of a rotated series: ptsd.db -> ptsd-20261204T031500Z.db, beside it."""
    return series.with_name(f"{series.stem}-{now:%Y%m%dT%H%M%SZ}{series.suffix}")


def older_backups(series: Path, keep: int) -> list[Path]:
    """The backups of a series beyond the newest `keep` (their names sort by time)."""
    pattern = re.compile(re.escape(series.stem) + r"-\d{8}T\d{6}Z" + re.escape(series.suffix) + "$")
    found = sorted(path for path in series.parent.glob(f"{series.stem}-*{series.suffix}") if pattern.match(path.name))
    return found[:-keep] if len(found) > keep else []


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--keep", type=click.IntRange(min=1), default=None, metavar="N",
              help="Rotate: write PATH's name with the time added (ptsd-20261204T031500Z.db) and delete all "
                   "but the newest N such backups.")
def backup(path: Path, keep: int | None) -> None:
    """Write a consistent copy of the database to PATH while the app keeps serving.

    SQLite: the online backup API (one snapshot; writers carry on). PostgreSQL: pg_dump in its custom
    format, for `restore` (or pg_restore). The file is readable by its owner only. With --keep N (the
    daily timer, deploy/ptsd-screening-backup.timer) each run writes a new dated file and removes the
    oldest beyond N.
    """
    series = path
    if keep is not None:
        path = dated_path(series, datetime.now(UTC))
    url = db.engine.url
    temporary = _private_temp_file(path)
    try:
        if url.get_backend_name() == "sqlite":
            source = sqlite3.connect(_sqlite_path(url))
            target = sqlite3.connect(temporary)
            try:
                source.backup(target)  # all pages in one step: a single read snapshot
                target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
            finally:
                target.close()
                source.close()
        elif url.get_backend_name() == "postgresql":
            arguments, environment = _libpq(url)
            _run([_postgres_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                  f"--file={temporary}", *arguments], environment)
        else:
            raise click.ClickException(f"No backup for {url.get_backend_name()} databases.")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    size = path.stat().st_size
    removed = older_backups(series, keep) if keep is not None else []
    for old in removed:
        old.unlink(missing_ok=True)
    # After the copy, so the backup never records itself; the file's name only, not the server's layout.
    rotation = f"; {len(removed)} older removed, newest {keep} kept" if keep is not None else ""
    audit.record(audit.BACKUP, detail=f"{path.name}, {size:,} bytes{rotation}")
    db.session.commit()
    click.echo(f"Backed up the database to {path} ({size:,} bytes).")
    for old in removed:
        click.echo(f"Removed the older backup {old}.")


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
def restore(path: Path, force: bool) -> None:
    """Replace the database with a backup made by `backup`. Stop the app first.

    Refuses a database that holds any data unless --force is given.
    """
    filled = tables_with_rows()
    if filled and not force:
        raise click.ClickException(
            f"The database is not empty ({', '.join(sorted(filled))} hold data); "
            "restore would replace it. Add --force to do so.")
    url = db.engine.url
    db.session.remove()
    db.engine.dispose()
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if source.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise click.ClickException(f"{path} is not an intact SQLite database.")
            target = sqlite3.connect(_sqlite_path(url))
            try:
                source.backup(target)
            finally:
                target.close()
        except sqlite3.DatabaseError as error:
            raise click.ClickException(f"{path} is not a SQLite backup ({error}).") from None
        finally:
            source.close()
    elif url.get_backend_name() == "postgresql":
        arguments, environment = _libpq(url)
        _run([_postgres_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
              "--single-transaction", "--exit-on-error", *arguments, str(path)], environment)
    else:
        raise click.ClickException(f"No restore for {url.get_backend_name()} databases.")
    try:
        audit.record(audit.RESTORE, detail=f"from {path.name}" + (", replacing data" if filled else ""))
        db.session.commit()
    except sa.exc.SQLAlchemyError:  # a backup from a release whose audit table differs: upgrade first
        db.session.rollback()
        click.echo("No audit row written: upgrade the database, as below.")
    click.echo(f"Restored the database from {path}. Run `flask --app wsgi db upgrade` if the backup "
               "is from an older release.")


@assets_cli.command("write")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def write_assets(directory: Path) -> None:
    """Write every bundle under its hashed name into DIRECTORY, for nginx to serve as /assets/<name>."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)  # public files, for nginx's user, whatever the service's UMask=0077 made it
    for bundle in bundles().values():
        temporary = directory / f".{bundle.filename}.tmp"
        temporary.write_bytes(bundle.body)
        temporary.chmod(0o644)
        os.replace(temporary, directory / bundle.filename)
        click.echo(bundle.filename)


@assets_cli.command("error-pages")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def write_error_pages(directory: Path) -> None:
    """Write the pages nginx serves itself (413, 429, 502, 503) into DIRECTORY (app/static/errors)."""


    for name in write_pages(current_app._get_current_object(), directory):  # type: ignore[attr-defined]
        click.echo(name)


def register(app: Flask) -> None:
    """Attach the commands to the app's `flask` command line."""
    app.cli.add_command(backup)
    app.cli.add_command(restore)
    app.cli.add_command(assets_cli)
