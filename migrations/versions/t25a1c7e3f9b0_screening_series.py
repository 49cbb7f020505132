"""screening_series: one row per series of retakes, kept by triggers, for everyone's outcomes and people counts

Revision ID: t25a1c7e3f9b0
Revises: t26t4c11d0a1
Create Date: 2026-12-05 00:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 't25a1c7e3f9b0'
down_revision = 't26t4c11d0a1'
branch_labels = None
depends_on = None

# A copy of app/rollup_triggers.py's series triggers as they were for this revision: a migration must not
# change when the app's code does. tests/test_migrations.py checks that the triggers it makes equal
# create_all's.

SQLITE_TRIGGERS = (
    """CREATE TRIGGER screening_series_insert AFTER INSERT ON screenings
WHEN NEW.series_start_id IS NOT NULL
BEGIN
  DELETE FROM screening_series WHERE series_id = NEW.series_start_id AND instrument = NEW.instrument;
  INSERT INTO screening_series (series_id, instrument, results, unreviewed, first_id, first_taken_at, first_month, first_total, first_clinic_id, latest_id, latest_taken_at, latest_total)
  SELECT NEW.series_start_id, NEW.instrument, a.n, a.u, f.id, f.taken_at, substr(f.taken_at, 1, 7),
         f.total, f.clinic_id, l.id, l.taken_at, l.total
  FROM (SELECT count(*) AS n, sum(CASE WHEN reviewed THEN 0 ELSE 1 END) AS u FROM screenings WHERE (id = NEW.series_start_id OR series_start_id = NEW.series_start_id) AND +instrument = NEW.instrument) AS a,
       (SELECT id, taken_at, total, clinic_id FROM screenings WHERE (id = NEW.series_start_id OR series_start_id = NEW.series_start_id) AND +instrument = NEW.instrument ORDER BY taken_at, id LIMIT 1) AS f,
       (SELECT id, taken_at, total FROM screenings WHERE (id = NEW.series_start_id OR series_start_id = NEW.series_start_id) AND +instrument = NEW.instrument ORDER BY taken_at DESC, id DESC LIMIT 1) AS l
  WHERE a.n >= 2;
END""",
    """CREATE TRIGGER screening_series_delete AFTER DELETE ON screenings
WHEN OLD.series_start_id IS NOT NULL OR EXISTS (SELECT 1 FROM screening_series WHERE series_id = OLD.id)
BEGIN
  DELETE FROM screening_series WHERE series_id = coalesce(OLD.series_start_id, OLD.id) AND instrument = OLD.instrument;
  INSERT INTO screening_series (series_id, instrument, results, unreviewed, first_id, first_taken_at, first_month, first_total, first_clinic_id, latest_id, latest_taken_at, latest_total)
  SELECT coalesce(OLD.series_start_id, OLD.id), OLD.instrument, a.n, a.u, f.id, f.taken_at, substr(f.taken_at, 1, 7),
         f.total, f.clinic_id, l.id, l.taken_at, l.total
  FROM (SELECT count(*) AS n, sum(CASE WHEN reviewed THEN 0 ELSE 1 END) AS u FROM screenings WHERE (id = coalesce(OLD.series_start_id, OLD.id) OR series_start_id = coalesce(OLD.series_start_id, OLD.id)) AND +instrument = OLD.instrument) AS a,
       (SELECT id, taken_at, total, clinic_id FROM screenings WHERE (id = coalesce(OLD.series_start_id, OLD.id) OR series_start_id = coalesce(OLD.series_start_id, OLD.id)) AND +instrument = OLD.instrument ORDER BY taken_at, id LIMIT 1) AS f,
       (SELECT id, taken_at, total FROM screenings WHERE (id = coalesce(OLD.series_start_id, OLD.id) OR series_start_id = coalesce(OLD.series_start_id, OLD.id)) AND +instrument = OLD.instrument ORDER BY taken_at DESC, id DESC LIMIT 1) AS l
  WHERE a.n >= 2;
END""",
    """CREATE TRIGGER screening_series_update AFTER UPDATE OF taken_at, instrument, total, clinic_id, reviewed, series_start_id ON screenings
WHEN (OLD.taken_at IS NOT NEW.taken_at OR OLD.instrument IS NOT NEW.instrument OR OLD.total IS NOT NEW.total OR OLD.clinic_id IS NOT NEW.clinic_id OR OLD.reviewed IS NOT NEW.reviewed OR OLD.series_start_id IS NOT NEW.series_start_id)
  AND (OLD.series_start_id IS NOT NULL OR EXISTS (SELECT 1 FROM screening_series WHERE series_id = OLD.id) OR NEW.series_start_id IS NOT NULL)
BEGIN
  DELETE FROM screening_series WHERE series_id = coalesce(OLD.series_start_id, OLD.id) AND instrument = OLD.instrument;
  INSERT INTO screening_series (series_id, instrument, results, unreviewed, first_id, first_taken_at, first_month, first_total, first_clinic_id, latest_id, latest_taken_at, latest_total)
  SELECT coalesce(OLD.series_start_id, OLD.id), OLD.instrument, a.n, a.u, f.id, f.taken_at, substr(f.taken_at, 1, 7),
         f.total, f.clinic_id, l.id, l.taken_at, l.total
  FROM (SELECT count(*) AS n, sum(CASE WHEN reviewed THEN 0 ELSE 1 END) AS u FROM screenings WHERE (id = coalesce(OLD.series_start_id, OLD.id) OR series_start_id = coalesce(OLD.series_start_id, OLD.id)) AND +instrument = OLD.instrument) AS a,
       (SELECT id, taken_at, total, clinic_id FROM screenings WHERE (id = coalesce(OLD.series_start_id, OLD.id) OR series_start_id = coalesce(OLD.series_start_id, OLD.id)) AND +instrument = OLD.instrument ORDER BY taken_at, id LIMIT 1) AS f,
       (SELECT id, taken_at, total FROM screenings WHERE (id = coalesce(OLD.series_start_id, OLD.id) OR series_start_id = coalesce(OLD.series_start_id, OLD.id)) AND +instrument = OLD.instrument ORDER BY taken_at DESC, id DESC LIMIT 1) AS l
  WHERE a.n >= 2;
  DELETE FROM screening_series WHERE series_id = coalesce(NEW.series_start_id, NEW.id) AND instrument = NEW.instrument;
  INSERT INTO screening_series (series_id, instrument, results, unreviewed, first_id, first_taken_at, first_month, first_total, first_clinic_id, latest_id, latest_taken_at, latest_total)
  SELECT coalesce(NEW.series_start_id, NEW.id), NEW.instrument, a.n, a.u, f.id, f.taken_at, substr(f.taken_at, 1, 7),
         f.total, f.clinic_id, l.id, l.taken_at, l.total
  FROM (SELECT count(*) AS n, sum(CASE WHEN reviewed THEN 0 ELSE 1 END) AS u FROM screenings WHERE (id = coalesce(NEW.series_start_id, NEW.id) OR series_start_id = coalesce(NEW.series_start_id, NEW.id)) AND +instrument = NEW.instrument) AS a,
       (SELECT id, taken_at, total, clinic_id FROM screenings WHERE (id = coalesce(NEW.series_start_id, NEW.id) OR series_start_id = coalesce(NEW.series_start_id, NEW.id)) AND +instrument = NEW.instrument ORDER BY taken_at, id LIMIT 1) AS f,
       (SELECT id, taken_at, total FROM screenings WHERE (id = coalesce(NEW.series_start_id, NEW.id) OR series_start_id = coalesce(NEW.series_start_id, NEW.id)) AND +instrument = NEW.instrument ORDER BY taken_at DESC, id DESC LIMIT 1) AS l
  WHERE a.n >= 2;
END""",
)

POSTGRESQL_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION screening_series_refresh(p_series integer, p_instrument varchar)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM screening_series WHERE series_id = p_series AND instrument = p_instrument;
  INSERT INTO screening_series (series_id, instrument, results, unreviewed, first_id, first_taken_at, first_month, first_total, first_clinic_id, latest_id, latest_taken_at, latest_total)
  SELECT p_series, p_instrument, a.n, a.u, f.id, f.taken_at, to_char(f.taken_at AT TIME ZONE 'UTC', 'YYYY-MM'),
         f.total, f.clinic_id, l.id, l.taken_at, l.total
  FROM (SELECT count(*) AS n, sum(CASE WHEN reviewed THEN 0 ELSE 1 END) AS u FROM screenings WHERE (id = p_series OR series_start_id = p_series) AND instrument = p_instrument) AS a,
       (SELECT id, taken_at, total, clinic_id FROM screenings WHERE (id = p_series OR series_start_id = p_series) AND instrument = p_instrument ORDER BY taken_at, id LIMIT 1) AS f,
       (SELECT id, taken_at, total FROM screenings WHERE (id = p_series OR series_start_id = p_series) AND instrument = p_instrument ORDER BY taken_at DESC, id DESC LIMIT 1) AS l
  WHERE a.n >= 2;
END $$""",
    """CREATE OR REPLACE FUNCTION screening_series_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM screening_series_refresh(k.series_id, k.instrument)
  FROM (SELECT DISTINCT series_start_id AS series_id, instrument FROM new_rows
        WHERE series_start_id IS NOT NULL) AS k;
  RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION screening_series_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM screening_series_refresh(k.series_id, k.instrument)
  FROM (SELECT DISTINCT coalesce(series_start_id, id) AS series_id, instrument FROM old_rows) AS k
  WHERE EXISTS (SELECT 1 FROM screening_series AS s
                WHERE s.series_id = k.series_id AND s.instrument = k.instrument);
  RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION screening_series_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.series_start_id IS NULL AND NEW.series_start_id IS NULL
     AND NOT EXISTS (SELECT 1 FROM screening_series WHERE series_id = OLD.id) THEN
    RETURN NULL;
  END IF;
  PERFORM screening_series_refresh(coalesce(OLD.series_start_id, OLD.id), OLD.instrument);
  PERFORM screening_series_refresh(coalesce(NEW.series_start_id, NEW.id), NEW.instrument);
  RETURN NULL;
END $$""",
    """CREATE TRIGGER screening_series_insert AFTER INSERT ON screenings
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION screening_series_insert()""",
    """CREATE TRIGGER screening_series_delete AFTER DELETE ON screenings
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION screening_series_delete()""",
    """CREATE TRIGGER screening_series_update AFTER UPDATE OF taken_at, instrument, total, clinic_id, reviewed, series_start_id ON screenings
FOR EACH ROW WHEN (OLD.taken_at IS DISTINCT FROM NEW.taken_at OR OLD.instrument IS DISTINCT FROM NEW.instrument OR OLD.total IS DISTINCT FROM NEW.total OR OLD.clinic_id IS DISTINCT FROM NEW.clinic_id OR OLD.reviewed IS DISTINCT FROM NEW.reviewed OR OLD.series_start_id IS DISTINCT FROM NEW.series_start_id)
EXECUTE FUNCTION screening_series_update()""",
)

DROP = {
    'sqlite': (
    'DROP TRIGGER IF EXISTS screening_series_update',
    'DROP TRIGGER IF EXISTS screening_series_delete',
    'DROP TRIGGER IF EXISTS screening_series_insert',
),
    'postgresql': (
    'DROP TRIGGER IF EXISTS screening_series_update ON screenings',
    'DROP TRIGGER IF EXISTS screening_series_delete ON screenings',
    'DROP TRIGGER IF EXISTS screening_series_insert ON screenings',
    'DROP FUNCTION IF EXISTS screening_series_update()',
    'DROP FUNCTION IF EXISTS screening_series_delete()',
    'DROP FUNCTION IF EXISTS screening_series_insert()',
    'DROP FUNCTION IF EXISTS screening_series_refresh(integer, varchar)',
),
}

# Every series' row from the stored results in one pass (the same SQL on both databases but the month).
BACKFILL = {
    'sqlite': """INSERT INTO screening_series (series_id, instrument, results, unreviewed, first_id, first_taken_at, first_month, first_total, first_clinic_id, latest_id, latest_taken_at, latest_total)
SELECT series_id, instrument, count(*), sum(CASE WHEN reviewed THEN 0 ELSE 1 END),
       max(CASE WHEN from_start = 1 THEN id END), max(CASE WHEN from_start = 1 THEN taken_at END),
       substr(max(CASE WHEN from_start = 1 THEN taken_at END), 1, 7), max(CASE WHEN from_start = 1 THEN total END), max(CASE WHEN from_start = 1 THEN clinic_id END),
       max(CASE WHEN from_end = 1 THEN id END), max(CASE WHEN from_end = 1 THEN taken_at END),
       max(CASE WHEN from_end = 1 THEN total END)
FROM (SELECT coalesce(series_start_id, id) AS series_id, instrument, id, taken_at, total, clinic_id, reviewed,
             row_number() OVER (PARTITION BY coalesce(series_start_id, id), instrument
                                ORDER BY taken_at, id) AS from_start,
             row_number() OVER (PARTITION BY coalesce(series_start_id, id), instrument
                                ORDER BY taken_at DESC, id DESC) AS from_end
      FROM (SELECT id, series_start_id, instrument, taken_at, total, clinic_id, reviewed
            FROM screenings WHERE series_start_id IS NOT NULL
            UNION
            SELECT id, series_start_id, instrument, taken_at, total, clinic_id, reviewed
            FROM screenings
            WHERE id IN (SELECT series_start_id FROM screenings WHERE series_start_id IS NOT NULL)) AS in_series
     ) AS members
GROUP BY series_id, instrument HAVING count(*) >= 2""",
    'postgresql': """INSERT INTO screening_series (series_id, instrument, results, unreviewed, first_id, first_taken_at, first_month, first_total, first_clinic_id, latest_id, latest_taken_at, latest_total)
SELECT series_id, instrument, count(*), sum(CASE WHEN reviewed THEN 0 ELSE 1 END),
       max(CASE WHEN from_start = 1 THEN id END), max(CASE WHEN from_start = 1 THEN taken_at END),
       to_char(max(CASE WHEN from_start = 1 THEN taken_at END) AT TIME ZONE 'UTC', 'YYYY-MM'), max(CASE WHEN from_start = 1 THEN total END), max(CASE WHEN from_start = 1 THEN clinic_id END),
       max(CASE WHEN from_end = 1 THEN id END), max(CASE WHEN from_end = 1 THEN taken_at END),
       max(CASE WHEN from_end = 1 THEN total END)
FROM (SELECT coalesce(series_start_id, id) AS series_id, instrument, id, taken_at, total, clinic_id, reviewed,
             row_number() OVER (PARTITION BY coalesce(series_start_id, id), instrument
                                ORDER BY taken_at, id) AS from_start,
             row_number() OVER (PARTITION BY coalesce(series_start_id, id), instrument
                                ORDER BY taken_at DESC, id DESC) AS from_end
      FROM (SELECT id, series_start_id, instrument, taken_at, total, clinic_id, reviewed
            FROM screenings WHERE series_start_id IS NOT NULL
            UNION
            SELECT id, series_start_id, instrument, taken_at, total, clinic_id, reviewed
            FROM screenings
            WHERE id IN (SELECT series_start_id FROM screenings WHERE series_start_id IS NOT NULL)) AS in_series
     ) AS members
GROUP BY series_id, instrument HAVING count(*) >= 2""",
}

def upgrade():
    op.create_table('screening_series',
    sa.Column('series_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('instrument', sa.String(length=16), nullable=False),
    sa.Column('results', sa.Integer(), nullable=False),
    sa.Column('unreviewed', sa.Integer(), nullable=False),
    sa.Column('first_id', sa.Integer(), nullable=False),
    sa.Column('first_taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_month', sa.String(length=7), nullable=False),
    sa.Column('first_total', sa.Integer(), nullable=False),
    sa.Column('first_clinic_id', sa.Integer(), nullable=True),
    sa.Column('latest_id', sa.Integer(), nullable=False),
    sa.Column('latest_taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('latest_total', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('series_id', 'instrument', name=op.f('pk_screening_series')),
    sqlite_with_rowid=False,
    )
    op.create_index('ix_screening_series_first', 'screening_series',
                    ['instrument', 'first_taken_at', 'latest_taken_at', 'results', 'unreviewed'], unique=False)
    op.create_index('ix_screening_series_outcomes', 'screening_series',
                    ['instrument', 'first_clinic_id', 'first_month', 'first_total', 'latest_total',
                     'first_taken_at', 'latest_taken_at'], unique=False)
    dialect = op.get_bind().dialect.name
    # Triggers first, then the backfill: on PostgreSQL CREATE TRIGGER locks screenings against writes
    # until this migration commits, so no result can be missed or counted twice. SQLite runs DDL
    # outside a transaction: migrate it with the app stopped.
    for statement in {'sqlite': SQLITE_TRIGGERS, 'postgresql': POSTGRESQL_TRIGGERS}[dialect]:
        op.execute(statement)
    op.execute(BACKFILL[dialect])


def downgrade():
    for statement in DROP[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_index('ix_screening_series_outcomes', table_name='screening_series')
    op.drop_index('ix_screening_series_first', table_name='screening_series')
    op.drop_table('screening_series')
