"""`backup` while answers are being stored, `restore` into a fresh database: nothing acknowledged is lost."""
from __future__ import annotations

import os
import secrets
import stat
import threading
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import AuditEvent, Screening
from app.screening import codes
from tests.apps import app_with_tables
from tests.conftest import run_outside_contexts, using_postgres
from tests.results_helpers import pcl5_answers


@contextmanager
def fresh_database(tmp_path):
    """The URL of a second, empty database: a new SQLite file, or a new database on the test server."""
    if not using_postgres():
        yield f"sqlite:///{tmp_path / 'restored.sqlite'}"
        return
    admin_url = sa.make_url(os.environ["TEST_DATABASE_URL"])
    name = f"ptsd_restore_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class Storing(threading.Thread):
    """Stores PCL-5 results through the API until stopped; `acknowledged` lists each code once its 201 arrived."""

    def __init__(self, app):
        super().__init__(daemon=True)
        self.client = app.test_client()
        self.acknowledged: list[str] = []
        self.stop = threading.Event()
        self.failures: list[int] = []

    def run(self):
        total = 0
        while not self.stop.is_set():
            response = self.client.post("/api/v1/screenings",
                                        json={"instrument": "pcl5", "answers": pcl5_answers(total % 81), "store": True})
            if response.status_code != 201:
                self.failures.append(response.status_code)
                continue
            self.acknowledged.append(codes.normalise(response.get_json()["code"]))
            total += 1


def stored_codes(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(Screening.code)))


@pytest.mark.slow
def test_backup_while_storing_then_restore_keeps_every_acknowledged_result(tmp_path):
    backup_file = tmp_path / "backups" / "ptsd.backup"
    with app_with_tables("testing", tmp_path) as app:
        storing = Storing(app)
        storing.start()
        try:
            while len(storing.acknowledged) < 30 and storing.is_alive():
                threading.Event().wait(0.01)
            before = set(storing.acknowledged)  # acknowledged before the backup started
            result = app.test_cli_runner().invoke(args=["backup", str(backup_file)])
            during = len(storing.acknowledged) - len(before)
        finally:
            storing.stop.set()
            storing.join(30)
        assert result.exit_code == 0, result.output
        assert storing.failures == []
        assert len(before) >= 30 and during > 0, "the backup should have run while results were stored"
        assert stat.S_IMODE(backup_file.stat().st_mode) == 0o600  # everyone's answers: owner only
        assert not [p for p in backup_file.parent.iterdir() if p != backup_file]  # no temporary left

        with fresh_database(tmp_path) as url:
            restored = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
            runner = restored.test_cli_runner()
            result = runner.invoke(args=["restore", str(backup_file)])
            assert result.exit_code == 0, result.output
            codes_restored = stored_codes(restored)
            assert before <= codes_restored
            assert codes_restored <= stored_codes(app)  # nothing invented either
            some_code = codes.display(sorted(before)[0])
            assert restored.test_client().get(f"/results/{some_code}").status_code == 200

            # A database with data is not overwritten by accident...
            refused = runner.invoke(args=["restore", str(backup_file)])
            assert refused.exit_code == 1
            assert "not empty" in refused.output and "--force" in refused.output
            assert stored_codes(restored) == codes_restored
            # ...only when asked to.
            with restored.app_context():
                db.session.execute(sa.delete(Screening).where(Screening.code == sorted(before)[0]))
                db.session.commit()
            forced = runner.invoke(args=["restore", "--force", str(backup_file)])
            assert forced.exit_code == 0, forced.output
            assert stored_codes(restored) == codes_restored
            with restored.app_context():
                db.session.remove()
                db.engine.dispose()


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello " * 1000)
    with fresh_database(tmp_path) as url:
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
        result = app.test_cli_runner().invoke(args=["restore", str(not_a_backup)])
        assert result.exit_code == 1, result.output
        assert ("is not" in result.output or "pg_restore failed" in result.output)
        assert "Traceback" not in result.output
        with app.app_context():
            db.engine.dispose()


def test_backup_of_an_in_memory_database_says_why_not(app, runner, tmp_path):
    if using_postgres():
        pytest.skip("SQLite only")
    result = runner.invoke(args=["backup", str(tmp_path / "x.backup")])
    assert result.exit_code == 1 and "in memory" in result.output
    assert not list(tmp_path.iterdir())


def test_backup_and_restore_are_audited_and_a_backup_never_holds_its_own_row(tmp_path):
    backup_file = tmp_path / "nightly.backup"
    with app_with_tables("testing", tmp_path) as app:
        stored = app.test_client().post("/api/v1/screenings",
                                        json={"instrument": "pcl5", "answers": pcl5_answers(40), "store": True})
        assert stored.status_code == 201
        result = app.test_cli_runner().invoke(args=["backup", str(backup_file)])
        assert result.exit_code == 0, result.output
        with app.app_context():
            [event] = db.session.scalars(sa.select(AuditEvent))
            assert event.action == "backup" and event.clinician_id is None
            assert event.detail == f"nightly.backup, {backup_file.stat().st_size:,} bytes"  # not the server's paths

        with fresh_database(tmp_path) as url:
            restored = run_outside_contexts(create_app("testing", {"SQLALCHEMY_DATABASE_URI": url}))
            result = restored.test_cli_runner().invoke(args=["restore", str(backup_file)])
            assert result.exit_code == 0, result.output
            with restored.app_context():
                events = list(db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)))
                assert [(e.action, e.detail) for e in events] == [("restore", "from nightly.backup")]
                assert db.session.scalar(sa.select(sa.func.count()).select_from(Screening)) == 1
                db.session.remove()
                db.engine.dispose()
