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


def _sqlite_drop(rollup: str) -> tuple[str, ...]:
    return tuple(f"DROP TRIGGER IF EXISTS {rollup}_{op}" for op in ("update", "delete", "insert"))


def _postgresql_calls(rollup: str, counted: tuple[str, ...]) -> tuple[str, ...]:
    """The triggers that call a rollup's functions: per statement on INSERT and DELETE, with their
    transition tables; per row on an UPDATE that changes a counted column."""
    changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in counted)
    return (
        f"""CREATE TRIGGER {rollup}_insert AFTER INSERT ON screenings
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {rollup}_insert()""",
        f"""CREATE TRIGGER {rollup}_delete AFTER DELETE ON screenings
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {rollup}_delete()""",
        f"""CREATE TRIGGER {rollup}_update AFTER UPDATE OF {", ".join(counted)} ON screenings
FOR EACH ROW WHEN ({changed})
EXECUTE FUNCTION {rollup}_update()""",
    )


def _postgresql_drop(rollup: str) -> tuple[str, ...]:
    return (*(f"DROP TRIGGER IF EXISTS {rollup}_{op} ON screenings" for op in ("update", "delete", "insert")),
            *(f"DROP FUNCTION IF EXISTS {rollup}_{op}()" for op in ("update", "delete", "insert")))


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
SQLITE_DROP = _sqlite_drop("screening_daily_counts")

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
    *_postgresql_calls("screening_daily_counts", COUNTED),
)
POSTGRESQL_DROP = _postgresql_drop("screening_daily_counts")

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


# --- screening_series: one row per series of two or more results of one instrument -------------------
#
# A series is the results sharing a key, coalesce(series_start_id, id): its first result's id as stored
# when each retake was taken (a deleted first result leaves its id as the key). A row holds the series'
# size, how many wait for review, and its first and latest results (by taken_at, then id): their ids,
# times, totals and the first one's clinic. Scores only — whether a change is reliable is the
# instrument's change_rule's to say, at read time. Every write to a member recomputes its series' row
# from the member rows (a handful, through the primary-key and series_start_id indexes); a series that
# drops to one result loses its row. The migration that created these (t25a1c7e3f9b0) keeps its own copy.

SERIES_COLUMNS = ("series_id, instrument, results, unreviewed, first_id, first_taken_at, first_month, first_total,"
                  " first_clinic_id, latest_id, latest_taken_at, latest_total")
# The UTC month of the first result's time ('2026-01'), stored so the outcomes' GROUP BY reads an index in
# order instead of sorting every series. SQLite stores times as UTC text ('2026-01-05 23:59:59.000000').
_SQLITE_MONTH = "substr({}, 1, 7)"
_PG_MONTH = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM')"
# The columns whose change can change a series' row; previous_id (unlinked by ON DELETE SET NULL) cannot.
SERIES_COUNTED = ("taken_at", "instrument", "total", "clinic_id", "reviewed", "series_start_id")


def _series_refresh(key: str, instrument: str, sqlite: bool = True) -> str:
    """The statements that recompute the row of the series `key` (an SQL expression) for `instrument`.
    Its results are found by id and series_start_id; on SQLite `+instrument` keeps the instrument's
    indexes out (it took one and read every result of the instrument for each changed row)."""
    members = (f"FROM screenings WHERE (id = {key} OR series_start_id = {key})"
               f" AND {'+' if sqlite else ''}instrument = {instrument}")
    month = (_SQLITE_MONTH if sqlite else _PG_MONTH).format("f.taken_at")
    return f"""
  DELETE FROM screening_series WHERE series_id = {key} AND instrument = {instrument};
  INSERT INTO screening_series ({SERIES_COLUMNS})
  SELECT {key}, {instrument}, a.n, a.u, f.id, f.taken_at, {month},
         f.total, f.clinic_id, l.id, l.taken_at, l.total
  FROM (SELECT count(*) AS n, sum(CASE WHEN reviewed THEN 0 ELSE 1 END) AS u {members}) AS a,
       (SELECT id, taken_at, total, clinic_id {members} ORDER BY taken_at, id LIMIT 1) AS f,
       (SELECT id, taken_at, total {members} ORDER BY taken_at DESC, id DESC LIMIT 1) AS l
  WHERE a.n >= 2;"""


def _in_a_series(row: str) -> str:
    """Whether a row belonged (OLD) or belongs (NEW) to a series with a row here: a retake, or a first
    result with retakes. A result never retaken has none, so storing, reviewing or deleting it costs one
    index look-up. (A new result's id cannot be a stored series_start_id: retakes have higher ids than
    their first result, so SQLite never reuses such an id.)"""
    return (f"{row}.series_start_id IS NOT NULL"
            f" OR EXISTS (SELECT 1 FROM screening_series WHERE series_id = {row}.id)")


SQLITE_SERIES_TRIGGERS = (
    f"""CREATE TRIGGER screening_series_insert AFTER INSERT ON screenings
WHEN NEW.series_start_id IS NOT NULL
BEGIN{_series_refresh("NEW.series_start_id", "NEW.instrument")}
END""",
    f"""CREATE TRIGGER screening_series_delete AFTER DELETE ON screenings
WHEN {_in_a_series("OLD")}
BEGIN{_series_refresh("coalesce(OLD.series_start_id, OLD.id)", "OLD.instrument")}
END""",
    f"""CREATE TRIGGER screening_series_update AFTER UPDATE OF {", ".join(SERIES_COUNTED)} ON screenings
WHEN ({" OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in SERIES_COUNTED)})
  AND ({_in_a_series("OLD")} OR NEW.series_start_id IS NOT NULL)
BEGIN{_series_refresh("coalesce(OLD.series_start_id, OLD.id)", "OLD.instrument")}\
{_series_refresh("coalesce(NEW.series_start_id, NEW.id)", "NEW.instrument")}
END""",
)
SQLITE_SERIES_DROP = _sqlite_drop("screening_series")

# One function recomputes one series; statement-level INSERT and DELETE triggers call it once per
# series their rows touch (seed-demo's bulk INSERTs, purge's DELETE), the row-level UPDATE trigger for
# the series a changed row left and joined. PostgreSQL allows no subquery in a trigger's WHEN, so the
# function itself skips results in no series.
POSTGRESQL_SERIES_TRIGGERS = (
    f"""CREATE OR REPLACE FUNCTION screening_series_refresh(p_series integer, p_instrument varchar)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN{_series_refresh("p_series", "p_instrument", sqlite=False)}
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
    *_postgresql_calls("screening_series", SERIES_COUNTED),
)
POSTGRESQL_SERIES_DROP = (
    *_postgresql_drop("screening_series"),
    "DROP FUNCTION IF EXISTS screening_series_refresh(integer, varchar)",
)

SERIES_TRIGGERS = {"sqlite": SQLITE_SERIES_TRIGGERS, "postgresql": POSTGRESQL_SERIES_TRIGGERS}
DROP_SERIES_TRIGGERS = {"sqlite": SQLITE_SERIES_DROP, "postgresql": POSTGRESQL_SERIES_DROP}

# Every series' row computed from screenings in one pass (the same SQL on both databases but the month): the
# migration's backfill and the tests' from-scratch comparison. The retakes and the first results they name
# are two sets joined by UNION: written as `... OR id IN (...)`, PostgreSQL could not hash the list and
# ran the subquery for every result.
_SERIES_FROM_RESULTS = """SELECT series_id, instrument, count(*), sum(CASE WHEN reviewed THEN 0 ELSE 1 END),
       max(CASE WHEN from_start = 1 THEN id END), max(CASE WHEN from_start = 1 THEN taken_at END),
       {month}, max(CASE WHEN from_start = 1 THEN total END), max(CASE WHEN from_start = 1 THEN clinic_id END),
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
GROUP BY series_id, instrument HAVING count(*) >= 2"""
_FIRST_TAKEN_AT = "max(CASE WHEN from_start = 1 THEN taken_at END)"
SERIES_FROM_RESULTS = {
    "sqlite": _SERIES_FROM_RESULTS.format(month=_SQLITE_MONTH.format(_FIRST_TAKEN_AT)),
    "postgresql": _SERIES_FROM_RESULTS.format(month=_PG_MONTH.format(_FIRST_TAKEN_AT)),
}
SERIES_REBUILD = {dialect: f"INSERT INTO screening_series ({SERIES_COLUMNS})\n{select}"
                  for dialect, select in SERIES_FROM_RESULTS.items()}
