"""The SQL, per database, by which screening_daily_counts stays an exact aggregate of screenings."""
from __future__ import annotations

# Triggers rather than application code: every write to screenings — the form, the API, deleting by
# code, reviews, purge's bulk DELETE, seed-demo's bulk INSERT, ON DELETE SET NULL of previous_id —
# goes through the database, so none can leave the counts wrong. A key whose count drops to 0 is
# deleted, so the table holds only (day, instrument, total, cut-off, reviewed) groups that exist.
#
# The migration that created these (136287d4abc4) keeps its own copy; a change here needs a new
# revision, and tests/test_migrations.py compares a migrated database's triggers with these.

KEY = "day, instrument, total, at_or_above_cutoff, reviewed"
SUMS = "results, reexperiencing_sum, avoidance_sum, arousal_sum"
# The columns whose change moves a result to another group or changes a group's sums.
COUNTED = ("taken_at", "instrument", "total", "at_or_above_cutoff", "reviewed",
           "reexperiencing", "avoidance", "arousal")


def _sqlite_add(row: str) -> str:
    return f"""
  INSERT INTO screening_daily_counts ({KEY}, {SUMS})
  VALUES (date({row}.taken_at), {row}.instrument, {row}.total, {row}.at_or_above_cutoff, {row}.reviewed,
          1, {row}.reexperiencing, {row}.avoidance, {row}.arousal)
  ON CONFLICT ({KEY}) DO UPDATE SET results = results + 1,
    reexperiencing_sum = reexperiencing_sum + excluded.reexperiencing_sum,
    avoidance_sum = avoidance_sum + excluded.avoidance_sum,
    arousal_sum = arousal_sum + excluded.arousal_sum;"""


def _sqlite_subtract(row: str) -> str:
    where = (f"day = date({row}.taken_at) AND instrument = {row}.instrument AND total = {row}.total"
             f" AND at_or_above_cutoff = {row}.at_or_above_cutoff AND reviewed = {row}.reviewed")
    return f"""
  UPDATE screening_daily_counts SET results = results - 1,
    reexperiencing_sum = reexperiencing_sum - {row}.reexperiencing,
    avoidance_sum = avoidance_sum - {row}.avoidance,
    arousal_sum = arousal_sum - {row}.arousal
  WHERE {where};
  DELETE FROM screening_daily_counts WHERE {where} AND results = 0;"""


# taken_at is stored as text in UTC ('2026-01-05 23:59:59.000000'); date() gives its UTC day.
SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER screening_daily_counts_insert AFTER INSERT ON screenings
BEGIN{_sqlite_add("NEW")}
END""",
    f"""CREATE TRIGGER screening_daily_counts_delete AFTER DELETE ON screenings
BEGIN{_sqlite_subtract("OLD")}
END""",
    # Added before subtracted: when the group stays the same its count never passes through 0.
    f"""CREATE TRIGGER screening_daily_counts_update AFTER UPDATE OF {", ".join(COUNTED)} ON screenings
WHEN {" OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in COUNTED)}
BEGIN{_sqlite_add("NEW")}{_sqlite_subtract("OLD")}
END""",
)
SQLITE_DROP = tuple(f"DROP TRIGGER IF EXISTS screening_daily_counts_{op}" for op in ("update", "delete", "insert"))

# Statement-level on INSERT and DELETE with transition tables: seed-demo's 5,000-row INSERTs and
# purge's DELETE make one grouped upsert each rather than one per row. Row-level on UPDATE, with a
# WHEN so that the updates that change no counted column (a review note, ON DELETE SET NULL of
# previous_id, run once per deleted result) never call the function.
_PG_DAY = "(taken_at AT TIME ZONE 'UTC')::date"
_PG_GROUPED = f"""SELECT {_PG_DAY}, instrument, total, at_or_above_cutoff, reviewed,
           count(*), sum(reexperiencing), sum(avoidance), sum(arousal)
    FROM {{rows}} GROUP BY 1, 2, 3, 4, 5"""
_PG_KEY_MATCH = ("c.day = d.day AND c.instrument = d.instrument AND c.total = d.total"
                 " AND c.at_or_above_cutoff = d.at_or_above_cutoff AND c.reviewed = d.reviewed")
POSTGRESQL_TRIGGERS = (
    f"""CREATE OR REPLACE FUNCTION screening_daily_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO screening_daily_counts AS c ({KEY}, {SUMS})
    {_PG_GROUPED.format(rows="new_rows")}
  ON CONFLICT ({KEY}) DO UPDATE SET results = c.results + excluded.results,
    reexperiencing_sum = c.reexperiencing_sum + excluded.reexperiencing_sum,
    avoidance_sum = c.avoidance_sum + excluded.avoidance_sum,
    arousal_sum = c.arousal_sum + excluded.arousal_sum;
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION screening_daily_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE screening_daily_counts AS c SET results = c.results - d.results,
    reexperiencing_sum = c.reexperiencing_sum - d.reexperiencing_sum,
    avoidance_sum = c.avoidance_sum - d.avoidance_sum,
    arousal_sum = c.arousal_sum - d.arousal_sum
  FROM ({_PG_GROUPED.format(rows="old_rows")}) AS d ({KEY}, {SUMS})
  WHERE {_PG_KEY_MATCH};
  DELETE FROM screening_daily_counts AS c
  USING (SELECT DISTINCT {_PG_DAY} AS day, instrument, total, at_or_above_cutoff, reviewed FROM old_rows) AS d
  WHERE {_PG_KEY_MATCH} AND c.results = 0;
  RETURN NULL;
END $$""",
    # Added before subtracted: when the group stays the same its count never passes through 0.
    f"""CREATE OR REPLACE FUNCTION screening_daily_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO screening_daily_counts AS c ({KEY}, {SUMS})
  VALUES ((NEW.taken_at AT TIME ZONE 'UTC')::date, NEW.instrument, NEW.total, NEW.at_or_above_cutoff,
          NEW.reviewed, 1, NEW.reexperiencing, NEW.avoidance, NEW.arousal)
  ON CONFLICT ({KEY}) DO UPDATE SET results = c.results + 1,
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
    f"""CREATE TRIGGER screening_daily_counts_update AFTER UPDATE OF {", ".join(COUNTED)} ON screenings
FOR EACH ROW WHEN ({" OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in COUNTED)})
EXECUTE FUNCTION screening_daily_counts_update()""",
)
POSTGRESQL_DROP = (
    *(f"DROP TRIGGER IF EXISTS screening_daily_counts_{op} ON screenings" for op in ("update", "delete", "insert")),
    *(f"DROP FUNCTION IF EXISTS screening_daily_counts_{op}()" for op in ("update", "delete", "insert")),
)

TRIGGERS = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}
DROP_TRIGGERS = {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}

# The whole table recomputed from screenings (after the DELETE of every row), for `stats rebuild`.
_SELECT_GROUPS = """SELECT {day}, instrument, total, at_or_above_cutoff, reviewed,
       count(*), sum(reexperiencing), sum(avoidance), sum(arousal)
FROM screenings GROUP BY 1, 2, 3, 4, 5"""
REBUILD = {
    "sqlite": f"INSERT INTO screening_daily_counts ({KEY}, {SUMS})\n"
              + _SELECT_GROUPS.format(day="date(taken_at)"),
    "postgresql": f"INSERT INTO screening_daily_counts ({KEY}, {SUMS})\n"
                  + _SELECT_GROUPS.format(day=_PG_DAY),
}
