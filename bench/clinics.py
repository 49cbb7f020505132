"""The clinic-scoped workspace at scale, in process: the triage queue (unfiltered, each filter, and
combinations), the statistics and the outcomes, for a clinician of one clinic and for an admin, timed through the
Flask test client (the whole view, template and SQL; no HTTP server or network).

    .venv/bin/python bench/clinics.py --database-url sqlite:////tmp/bench-clinics/1m.sqlite
    .ci/with-postgres .venv/bin/python bench/clinics.py        # PostgreSQL from TEST_DATABASE_URL
    .ci/with-postgres .venv/bin/python bench/clinics.py --copy-from sqlite:////tmp/bench-clinics/1m.sqlite

With --copy-from, an empty PostgreSQL database first gets the clinics and results of an already seeded
database by COPY (the same data on both, and minutes instead of hours on a busy machine). With --series, half of
each clinic's results are linked into series of three first (demo results are never retakes); --only
times just the pages whose name contains the given text.
The database is upgraded to head, topped up to --size results spread over --clinics demo clinics (a
tenth with no clinic) with `seed-demo`'s generator, and reused by later runs. Each page is requested
--repeat times after two warm-ups; the median is reported beside its target: 100 ms for the queue and
statistics, 200 ms for the outcomes page.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MS = 100
OUTCOMES_TARGET_MS = 200


def target_ms(page: str) -> int:
    return OUTCOMES_TARGET_MS if page.startswith("outcomes") else TARGET_MS
PASSWORD = "bench-password-" + "x" * 8
CLINICIAN, ADMIN = "clinic-bench@example.org", "admin-bench@example.org"


def scenarios(prefix: str, clinic: str) -> dict[str, str]:
    today = date.today()
    since = (today - timedelta(days=90)).isoformat()
    week = (today - timedelta(days=7)).isoformat()
    return {
        "queue": "/clinician/",
        "queue ?instrument=pcl5": "/clinician/?instrument=pcl5",
        "queue ?instrument=pcptsd5": "/clinician/?instrument=pcptsd5",
        "queue ?cutoff=yes": "/clinician/?cutoff=yes",
        "queue ?cutoff=no": "/clinician/?cutoff=no",
        "queue ?reviewed=no": "/clinician/?reviewed=no",
        "queue ?reviewed=yes": "/clinician/?reviewed=yes",
        "queue ?from=90 days ago": f"/clinician/?from={since}",
        "queue ?from=7 days ago": f"/clinician/?from={week}",
        "queue ?to=90 days ago": f"/clinician/?to={since}",
        "queue ?code=prefix": f"/clinician/?code={prefix}",
        "queue pcl5+cutoff=yes+reviewed=no+90 days": f"/clinician/?instrument=pcl5&cutoff=yes&reviewed=no&from={since}",
        "queue pcptsd5+cutoff=no+reviewed=yes": "/clinician/?instrument=pcptsd5&cutoff=no&reviewed=yes",
        "queue pcl5+last 7 days": f"/clinician/?instrument=pcl5&from={week}",
        "queue page 20": "/clinician/?page=20",
        "queue ?assigned=me": "/clinician/?assigned=me",
        "statistics": "/clinician/stats",
        "statistics pcl5+cutoff=yes+90 days": f"/clinician/stats?instrument=pcl5&cutoff=yes&from={since}",
        "outcomes": "/clinician/outcomes",
        "outcomes ?clinic=one of 50": f"/clinician/outcomes?clinic={clinic}",
    }


# Half of each clinic's results, per questionnaire, in series of three retakes (consecutive results linked as
# the service links them): the outcomes and people counts read series, which `seed-demo` never makes.
LINK_SERIES = """
WITH ordered AS (
    SELECT id, clinic_id, instrument,
           row_number() OVER (PARTITION BY clinic_id, instrument ORDER BY taken_at, id) - 1 AS n
    FROM screenings WHERE clinic_id IS NOT NULL),
linked AS (
    SELECT id, n % 3 AS pos, first_value(id) OVER w AS start, lag(id) OVER w AS prev,
           count(*) OVER (PARTITION BY clinic_id, instrument, n / 3) AS size
    FROM ordered WHERE (n / 3) % 2 = 0
    WINDOW w AS (PARTITION BY clinic_id, instrument, n / 3 ORDER BY n))
UPDATE screenings
SET series_start_id = CASE WHEN linked.pos > 0 THEN linked.start END, previous_id = linked.prev,
    latest_in_series = (linked.pos = linked.size - 1)
FROM linked WHERE screenings.id = linked.id AND linked.size > 1
"""


def copy_results(source_url: str, db, Clinic, Screening) -> int:
    """Copy clinics and results from another database into this (empty, PostgreSQL) one with COPY; the
    rollup's statement-level trigger counts them once."""
    import json

    import sqlalchemy as sa

    source = sa.create_engine(source_url)
    target = db.engine.raw_connection()
    copied = 0
    try:
        cursor = target.cursor()
        with source.connect() as connection:
            for table in (Clinic.__table__, Screening.__table__):
                names = [column.name for column in table.columns]
                rows = connection.execute(sa.select(table).execution_options(yield_per=20_000))
                with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                    for row in rows:
                        values = list(row)
                        if table is Screening.__table__:
                            values[names.index("answers")] = json.dumps(values[names.index("answers")])
                            copied += 1
                        copy.write_row(values)
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                               f"(SELECT max(id) FROM {table.name}))")
        target.commit()
    finally:
        target.close()
        source.dispose()
    return copied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--clinics", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--series", action="store_true",
                        help="first link half of each clinic's results into series of three (once)")
    parser.add_argument("--only", help="time only the pages whose name contains this text")
    parser.add_argument("--copy-from", help="a seeded database whose clinics and results an empty one copies first")
    args = parser.parse_args()
    if not args.database_url:
        raise SystemExit("give --database-url or TEST_DATABASE_URL")

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from app import create_app
    from app.auth.passwords import hash_password
    from app.clinician.demo import seed
    from app.commands.clinicians import demo_clinics
    from app.extensions import db
    from app.models import ROLE_ADMIN, ROLE_CLINICIAN, Clinic, Clinician, Screening

    app = create_app("development", {"SQLALCHEMY_DATABASE_URI": args.database_url, "RATELIMIT_ENABLED": False,
                                     "SESSION_COOKIE_SECURE": False, "PAGE_CACHE": True, "DEBUG": False})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        if args.copy_from and not db.session.scalar(sa.select(sa.func.count()).select_from(Screening)):
            start = time.perf_counter()
            copied = copy_results(args.copy_from, db, Clinic, Screening)
            print(f"copied {copied:,} results in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        clinic_ids = demo_clinics(args.clinics)
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(Screening))
        if stored < args.size:
            start = time.perf_counter()
            seed(args.size - stored, random_seed=args.size + stored, clinic_ids=clinic_ids)
            print(f"seeded {args.size - stored:,} results in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        if args.series and not db.session.scalar(sa.select(Screening.id).where(Screening.series_start_id > 0)
                                                 .limit(1)):
            start = time.perf_counter()
            linked = db.session.execute(sa.text(LINK_SERIES)).rowcount
            db.session.commit()
            print(f"linked {linked:,} results into series in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        # An index added to the models since this database was seeded (a benchmark database is kept).
        for index in Screening.__table__.indexes:
            index.create(db.engine, checkfirst=True)
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.execute(sa.text("VACUUM ANALYZE screenings"))
                    connection.execute(sa.text("VACUUM ANALYZE screening_daily_counts"))
        home = db.session.get(Clinic, clinic_ids[0])
        for email, role in ((CLINICIAN, ROLE_CLINICIAN), (ADMIN, ROLE_ADMIN)):
            if not db.session.scalar(sa.select(Clinician).where(Clinician.email == email)):
                db.session.add(Clinician(email=email, password_hash=hash_password(PASSWORD), role=role,
                                         clinics=[home] if role == ROLE_CLINICIAN else []))
        db.session.commit()
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(Screening))
        in_clinic = db.session.scalar(sa.select(sa.func.count()).where(Screening.clinic_id == home.id))
        prefix = db.session.scalar(sa.select(Screening.case_reference)
                                   .where(Screening.clinic_id == home.id).limit(1))[:2]
        slug = home.slug
        dialect = db.engine.dialect.name
        db.session.remove()

    rows = []
    for who, email in (("clinician of one clinic", CLINICIAN), ("admin", ADMIN)):
        client = app.test_client()
        page = client.get("/clinician/login").get_data(as_text=True)
        import re
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        signed = client.post("/clinician/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        if signed.status_code != 303:
            raise SystemExit(f"sign-in as {email} failed: {signed.status_code}")
        for name, url in scenarios(prefix, slug).items():
            if args.only and args.only not in name:
                continue
            times = []
            for attempt in range(args.repeat + 2):
                start = time.perf_counter()
                response = client.get(url)
                response.get_data()
                elapsed = (time.perf_counter() - start) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"{url} answered {response.status_code}")
                if attempt >= 2:
                    times.append(elapsed)
            median = statistics.median(times)
            rows.append((who, name, median, max(times)))
            print(f"{dialect} {who:24} {name:45} median {median:7.1f} ms  max {max(times):7.1f} ms", file=sys.stderr)
    load = os.getloadavg()
    print(f"\n### {dialect}: {stored:,} results, {args.clinics} clinics (the clinician's: {in_clinic:,})\n")
    print(f"In process (Flask test client), median of {args.repeat} requests after 2 warm-ups; "
          f"load average at the end {load[0]:.1f} on {os.cpu_count()} cores (the machine was shared).\n")
    print("| reader | page | median ms | max ms | target |")
    print("|---|---|---:|---:|---|")
    for who, name, median, worst in rows:
        verdict = "met" if median < target_ms(name) else "**missed**"
        print(f"| {who} | {name} | {median:.1f} | {worst:.1f} | {verdict} |")


if __name__ == "__main__":
    main()
