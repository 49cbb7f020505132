"""Files and operations: a private SQLite database and WAL, UMask=0077 in every unit, the daily backup
with rotation, and the audit log's retention."""
from __future__ import annotations

import re
import stat
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import AuditEvent, utcnow
from app.retention import purge_audit_log
from tests.apps import app_with_tables
from tests.conftest import using_postgres

ROOT = Path(__file__).resolve().parents[1]
UNITS = sorted((ROOT / "deploy").glob("*.service"))


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(using_postgres(), reason="a SQLite file's mode")
def test_the_sqlite_database_and_its_wal_are_created_0600(tmp_path):
    database = tmp_path / "fresh.sqlite"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
    with app.app_context():
        db.create_all()
        db.session.execute(sa.text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
        db.session.execute(sa.text("INSERT INTO probe VALUES (1)"))
        db.session.commit()
        wal = Path(f"{database}-wal")
        shm = Path(f"{database}-shm")
        assert wal.exists() and shm.exists()  # WAL mode: both beside the database while connections are open
        assert {mode_of(path) for path in (database, wal, shm)} == {0o600}
        db.engine.dispose()


@pytest.mark.skipif(using_postgres(), reason="a SQLite file's mode")
def test_an_existing_database_keeps_the_mode_its_operator_gave_it(tmp_path):
    database = tmp_path / "existing.sqlite"
    database.touch(mode=0o640)
    database.chmod(0o640)
    create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
    assert mode_of(database) == 0o640


@pytest.mark.parametrize("unit", UNITS, ids=[unit.name for unit in UNITS])
def test_every_shipped_unit_makes_private_files(unit):
    assert re.search(r"^UMask=0077$", unit.read_text(), re.MULTILINE)


def test_a_timer_runs_the_backup_daily_with_rotation():
    service = (ROOT / "deploy" / "ptsd-screening-backup.service").read_text()
    timer = (ROOT / "deploy" / "ptsd-screening-backup.timer").read_text()
    assert re.search(r"^ExecStart=\S*flask --app wsgi backup \S+ --keep \d+$", service, re.MULTILINE)
    assert re.search(r"^OnCalendar=\*-\*-\* \d\d:\d\d:00$", timer, re.MULTILINE) and "Persistent=true" in timer
    assert "Unit=ptsd-screening-backup.service" in timer
    assert "StateDirectoryMode=0700" in service


def test_backup_keep_rotates_and_audits(tmp_path, monkeypatch):
    from app.commands import maintenance as maintenance_cli

    with app_with_tables("testing", tmp_path) as app:
        runner = app.test_cli_runner()
        folder = tmp_path / "backups"
        series = folder / "ptsd-screening.backup"
        moments = iter(range(6))

        class Clock:
            @staticmethod
            def now(zone):
                return utcnow().replace(tzinfo=zone) + timedelta(days=next(moments))

        monkeypatch.setattr(maintenance_cli, "datetime", Clock)
        for _ in range(5):
            result = runner.invoke(args=["backup", str(series), "--keep", "3"])
            assert result.exit_code == 0, result.output
        kept = sorted(path.name for path in folder.iterdir())
        assert len(kept) == 3 and all(re.fullmatch(r"ptsd-screening-\d{8}T\d{6}Z\.backup", name) for name in kept)
        assert all(mode_of(path) == 0o600 for path in folder.iterdir())
        unrelated = folder / "ptsd-screening-notes.backup"
        unrelated.write_text("mine")
        assert runner.invoke(args=["backup", str(series), "--keep", "1"]).exit_code == 0
        assert unrelated.exists() and len(list(folder.glob("ptsd-screening-2*.backup"))) == 1
        with app.app_context():
            details = list(db.session.scalars(sa.select(AuditEvent.detail).where(AuditEvent.action == "backup")
                                              .order_by(AuditEvent.id)))
        assert details[-1].endswith("; 3 older removed, newest 1 kept")


def test_audit_rows_older_than_the_retention_are_purged_and_that_is_audited(tmp_path):
    with app_with_tables("testing", tmp_path) as app:
        assert app.config["AUDIT_RETENTION_DAYS"] >= 6 * 365
        with app.app_context():
            days = app.config["AUDIT_RETENTION_DAYS"]
            db.session.add_all([
                AuditEvent(action="sign_in", at=utcnow() - timedelta(days=days + 1)),
                AuditEvent(action="sign_in", at=utcnow() - timedelta(days=days + 400)),
                AuditEvent(action="sign_in", at=utcnow() - timedelta(days=days - 1)),
            ])
            db.session.commit()
        result = app.test_cli_runner().invoke(args=["purge"])
        assert result.exit_code == 0, result.output
        assert "Deleted 2 audit log entries older than" in result.output
        with app.app_context():
            rows = db.session.execute(sa.select(AuditEvent.action, AuditEvent.detail).order_by(AuditEvent.id)).all()
            actions = [action for action, _detail in rows]
            assert actions.count("sign_in") == 1  # the younger one stays
            [detail] = [detail for action, detail in rows if action == "audit_purge"]
            assert detail.startswith("2 audit log entries before") and detail.endswith(f"({days} days)")
            # An automatic run that finds nothing writes no row.
            assert purge_audit_log(automatic=True)[0] == 0
            assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))
                                     .where(AuditEvent.action == "audit_purge")) == 1


def test_the_example_environment_and_docs_cover_a_first_production_install():
    example = (ROOT / "deploy" / "env.example").read_text()
    for name in ("SITE_OPERATOR_NAME", "SITE_OPERATOR_URL", "SITE_CONTACT", "MAIL_SERVER", "MAIL_PORT",
                 "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_USE_TLS", "MAIL_FROM", "AUDIT_RETENTION_DAYS"):
        assert f"FLASK_{name}=" in example, name
    from config import Config

    for line in example.splitlines():  # every setting it names is one the app has
        match = re.match(r"#? ?FLASK_([A-Z0-9_]+)=", line)
        if match:
            assert hasattr(Config, match.group(1)), match.group(1)
    deploying = (ROOT / "docs" / "deploying.md").read_text()
    for step in ("rm /etc/nginx/sites-enabled/default", "certbot certonly --webroot -w /var/www/letsencrypt",
                 "clinician create you@example.org --admin", "ptsd-screening-backup.timer", "--keep 14",
                 "AUDIT_RETENTION_DAYS", "SITE_OPERATOR_NAME", "MAIL_SERVER"):
        assert step in deploying, step
    site = (ROOT / "deploy" / "nginx-ptsd-screening.conf").read_text()
    assert "location ^~ /.well-known/acme-challenge/" in site and "root /var/www/letsencrypt;" in site
