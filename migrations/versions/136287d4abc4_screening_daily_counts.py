"""screening_daily_counts: a rollup of screenings kept by triggers, for the statistics page

Revision ID: 136287d4abc4
Revises: 0c655936f98c
Create Date: 2026-11-26 15:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '136287d4abc4'
down_revision = '0c655936f98c'
branch_labels = None
depends_on = None

# A copy of app/rollup_triggers.py as it was for this revision: a migration must not change when the
# app's code does. tests/test_migrations.py checks that the triggers it makes equal create_all's.

# taken_at is stored as text in UTC on SQLite ('2026-01-05 23:59:59.000000'): date() gives its UTC day.
SQLITE_TRIGGERS = (
    """CREATE TRIGGER screening_daily_counts_insert AFTER INSERT ON screenings
BEGIN
  INSERT INTO screening_daily_counts (day, instrument, total, at_or_above_cutoff, reviewed, results, reexperiencing_sum, avoidance_sum, arousal_sum)
  VALUES (date(NEW.taken_at), NEW.instrument, NEW.total, NEW.at_or_above_cutoff, NEW.reviewed,
          1, NEW.reexperiencing, NEW.avoidance, NEW.arousal)
  ON CONFLICT (day, instrument, total, at_or_above_cutoff, reviewed) DO UPDATE SET results = results + 1,
    reexperiencing_sum = reexperiencing_sum + excluded.reexperiencing_sum,
    avoidance_sum = avoidance_sum + excluded.avoidance_sum,
    arousal_sum = arousal_sum + excluded.arousal_sum;
END""",
    """CREATE TRIGGER screening_daily_counts_delete AFTER DELETE ON screenings
BEGIN
  UPDATE screening_daily_counts SET results = results - 1,
    reexperiencing_sum = reexperiencing_sum - OLD.reexperiencing,
    avoidance_sum = avoidance_sum - OLD.avoidance,
    arousal_sum = arousal_sum - OLD.arousal
  WHERE day = date(OLD.taken_at) AND instrument = OLD.instrument AND total = OLD.total AND at_or_above_cutoff = OLD.at_or_above_cutoff AND reviewed = OLD.reviewed;
  DELETE FROM screening_daily_counts WHERE day = date(OLD.taken_at) AND instrument = OLD.instrument AND total = OLD.total AND at_or_above_cutoff = OLD.at_or_above_cutoff AND reviewed = OLD.reviewed AND results = 0;
END""",
    """CREATE TRIGGER screening_daily_counts_update AFTER UPDATE OF taken_at, instrument, total, at_or_above_cutoff, reviewed, reexperiencing, avoidance, arousal ON screenings
WHEN OLD.taken_at IS NOT NEW.taken_at OR OLD.instrument IS NOT NEW.instrument OR OLD.total IS NOT NEW.total OR OLD.at_or_above_cutoff IS NOT NEW.at_or_above_cutoff OR OLD.reviewed IS NOT NEW.reviewed OR OLD.reexperiencing IS NOT NEW.reexperiencing OR OLD.avoidance IS NOT NEW.avoidance OR OLD.arousal IS NOT NEW.arousal
BEGIN
  INSERT INTO screening_daily_counts (day, instrument, total, at_or_above_cutoff, reviewed, results, reexperiencing_sum, avoidance_sum, arousal_sum)
  VALUES (date(NEW.taken_at), NEW.instrument, NEW.total, NEW.at_or_above_cutoff, NEW.reviewed,
          1, NEW.reexperiencing, NEW.avoidance, NEW.arousal)
  ON CONFLICT (day, instrument, total, at_or_above_cutoff, reviewed) DO UPDATE SET results = results + 1,
    reexperiencing_sum = reexperiencing_sum + excluded.reexperiencing_sum,
    avoidance_sum = avoidance_sum + excluded.avoidance_sum,
    arousal_sum = arousal_sum + excluded.arousal_sum;
  UPDATE screening_daily_counts SET results = results - 1,
    reexperiencing_sum = reexperiencing_sum - OLD.reexperiencing,
    avoidance_sum = avoidance_sum - OLD.avoidance,
    arousal_sum = arousal_sum - OLD.arousal
  WHERE day = date(OLD.taken_at) AND instrument = OLD.instrument AND total = OLD.total AND at_or_above_cutoff = OLD.at_or_above_cutoff AND reviewed = OLD.reviewed;
  DELETE FROM screening_daily_counts WHERE day = date(OLD.taken_at) AND instrument = OLD.instrument AND total = OLD.total AND at_or_above_cutoff = OLD.at_or_above_cutoff AND reviewed = OLD.reviewed AND results = 0;
END""",
)

# Statement-level on INSERT and DELETE (one grouped upsert per bulk statement), row-level with a WHEN
# on UPDATE (updates that change no counted column, e.g. ON DELETE SET NULL, never call the function).
POSTGRESQL_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION screening_daily_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO screening_daily_counts AS c (day, instrument, total, at_or_above_cutoff, reviewed, results, reexperiencing_sum, avoidance_sum, arousal_sum)
    SELECT (taken_at AT TIME ZONE 'UTC')::date, instrument, total, at_or_above_cutoff, reviewed,
           count(*), sum(reexperiencing), sum(avoidance), sum(arousal)
    FROM new_rows GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (day, instrument, total, at_or_above_cutoff, reviewed) DO UPDATE SET results = c.results + excluded.results,
    reexperiencing_sum = c.reexperiencing_sum + excluded.reexperiencing_sum,
    avoidance_sum = c.avoidance_sum + excluded.avoidance_sum,
    arousal_sum = c.arousal_sum + excluded.arousal_sum;
  RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION screening_daily_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE screening_daily_counts AS c SET results = c.results - d.results,
    reexperiencing_sum = c.reexperiencing_sum - d.reexperiencing_sum,
    avoidance_sum = c.avoidance_sum - d.avoidance_sum,
    arousal_sum = c.arousal_sum - d.arousal_sum
  FROM (SELECT (taken_at AT TIME ZONE 'UTC')::date, instrument, total, at_or_above_cutoff, reviewed,
           count(*), sum(reexperiencing), sum(avoidance), sum(arousal)
    FROM old_rows GROUP BY 1, 2, 3, 4, 5) AS d (day, instrument, total, at_or_above_cutoff, reviewed, results, reexperiencing_sum, avoidance_sum, arousal_sum)
  WHERE c.day = d.day AND c.instrument = d.instrument AND c.total = d.total AND c.at_or_above_cutoff = d.at_or_above_cutoff AND c.reviewed = d.reviewed;
  DELETE FROM screening_daily_counts AS c
  USING (SELECT DISTINCT (taken_at AT TIME ZONE 'UTC')::date AS day, instrument, total, at_or_above_cutoff, reviewed FROM old_rows) AS d
  WHERE c.day = d.day AND c.instrument = d.instrument AND c.total = d.total AND c.at_or_above_cutoff = d.at_or_above_cutoff AND c.reviewed = d.reviewed AND c.results = 0;
  RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION screening_daily_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO screening_daily_counts AS c (day, instrument, total, at_or_above_cutoff, reviewed, results, reexperiencing_sum, avoidance_sum, arousal_sum)
  VALUES ((NEW.taken_at AT TIME ZONE 'UTC')::date, NEW.instrument, NEW.total, NEW.at_or_above_cutoff,
          NEW.reviewed, 1, NEW.reexperiencing, NEW.avoidance, NEW.arousal)
  ON CONFLICT (day, instrument, total, at_or_above_cutoff, reviewed) DO UPDATE SET results = c.results + 1,
    reexperiencing_sum = c.reexperiencing_sum + excluded.reexperiencing_sum,
    avoidance_sum = c.avoidance_sum + excluded.avoidance_sum,
    arousal_sum = c.arousal_sum + excluded.arousal_sum;
  UPDATE screening_daily_counts SET results = results - 1,
    reexperiencing_sum = reexperiencing_sum - OLD.reexperiencing,
    avoidance_sum = avoidance_sum - OLD.avoidance,
    arousal_sum = arousal_sum - OLD.arousal
  WHERE day = (OLD.taken_at AT TIME ZONE 'UTC')::date AND instrument = OLD.instrument AND total = OLD.total
    AND at_or_above_cutoff = OLD.at_or_above_cutoff AND reviewed = OLD.reviewed;
  DELETE FROM screening_daily_counts
  WHERE day = (OLD.taken_at AT TIME ZONE 'UTC')::date AND instrument = OLD.instrument AND total = OLD.total
    AND at_or_above_cutoff = OLD.at_or_above_cutoff AND reviewed = OLD.reviewed AND results = 0;
  RETURN NULL;
END $$""",
    """CREATE TRIGGER screening_daily_counts_insert AFTER INSERT ON screenings
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION screening_daily_counts_insert()""",
    """CREATE TRIGGER screening_daily_counts_delete AFTER DELETE ON screenings
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION screening_daily_counts_delete()""",
    """CREATE TRIGGER screening_daily_counts_update AFTER UPDATE OF taken_at, instrument, total, at_or_above_cutoff, reviewed, reexperiencing, avoidance, arousal ON screenings
FOR EACH ROW WHEN (OLD.taken_at IS DISTINCT FROM NEW.taken_at OR OLD.instrument IS DISTINCT FROM NEW.instrument OR OLD.total IS DISTINCT FROM NEW.total OR OLD.at_or_above_cutoff IS DISTINCT FROM NEW.at_or_above_cutoff OR OLD.reviewed IS DISTINCT FROM NEW.reviewed OR OLD.reexperiencing IS DISTINCT FROM NEW.reexperiencing OR OLD.avoidance IS DISTINCT FROM NEW.avoidance OR OLD.arousal IS DISTINCT FROM NEW.arousal)
EXECUTE FUNCTION screening_daily_counts_update()""",
)

DROP = {
    'sqlite': (
        'DROP TRIGGER IF EXISTS screening_daily_counts_update',
        'DROP TRIGGER IF EXISTS screening_daily_counts_delete',
        'DROP TRIGGER IF EXISTS screening_daily_counts_insert',
    ),
    'postgresql': (
        'DROP TRIGGER IF EXISTS screening_daily_counts_update ON screenings',
        'DROP TRIGGER IF EXISTS screening_daily_counts_delete ON screenings',
        'DROP TRIGGER IF EXISTS screening_daily_counts_insert ON screenings',
        'DROP FUNCTION IF EXISTS screening_daily_counts_update()',
        'DROP FUNCTION IF EXISTS screening_daily_counts_delete()',
        'DROP FUNCTION IF EXISTS screening_daily_counts_insert()',
    ),
}

BACKFILL = {
    'sqlite': """INSERT INTO screening_daily_counts (day, instrument, total, at_or_above_cutoff, reviewed, results, reexperiencing_sum, avoidance_sum, arousal_sum)
SELECT date(taken_at), instrument, total, at_or_above_cutoff, reviewed,
       count(*), sum(reexperiencing), sum(avoidance), sum(arousal)
FROM screenings GROUP BY 1, 2, 3, 4, 5""",
    'postgresql': """INSERT INTO screening_daily_counts (day, instrument, total, at_or_above_cutoff, reviewed, results, reexperiencing_sum, avoidance_sum, arousal_sum)
SELECT (taken_at AT TIME ZONE 'UTC')::date, instrument, total, at_or_above_cutoff, reviewed,
       count(*), sum(reexperiencing), sum(avoidance), sum(arousal)
FROM screenings GROUP BY 1, 2, 3, 4, 5""",
}


def upgrade():
    op.create_table('screening_daily_counts',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('instrument', sa.String(length=16), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('at_or_above_cutoff', sa.Boolean(), nullable=False),
    sa.Column('reviewed', sa.Boolean(), nullable=False),
    sa.Column('results', sa.Integer(), nullable=False),
    sa.Column('reexperiencing_sum', sa.Integer(), nullable=False),
    sa.Column('avoidance_sum', sa.Integer(), nullable=False),
    sa.Column('arousal_sum', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'instrument', 'total', 'at_or_above_cutoff', 'reviewed',
                            name=op.f('pk_screening_daily_counts')),
    sqlite_with_rowid=False,
    )
    op.create_index('ix_screening_daily_counts_totals', 'screening_daily_counts',
                    ['instrument', 'total', 'at_or_above_cutoff', 'reviewed', 'day', 'results',
                     'reexperiencing_sum', 'avoidance_sum', 'arousal_sum'], unique=False)
    dialect = op.get_bind().dialect.name
    # Triggers first, then the backfill: on PostgreSQL CREATE TRIGGER locks screenings against writes
    # until this migration commits, so no result can be missed or counted twice. SQLite runs DDL
    # outside a transaction: migrate it with the app stopped (or run `flask stats rebuild` after).
    for statement in {'sqlite': SQLITE_TRIGGERS, 'postgresql': POSTGRESQL_TRIGGERS}[dialect]:
        op.execute(statement)
    op.execute(BACKFILL[dialect])


def downgrade():
    for statement in DROP[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_index('ix_screening_daily_counts_totals', table_name='screening_daily_counts')
    op.drop_table('screening_daily_counts')
