"""triage tiers and safety items, case references, series rows, assignment, notes and alert settings

Revision ID: i24a1c9e5f7b3
Revises: i23a7c4e9d1f0
Create Date: 2026-12-04 21:10:00.000000

"""
import json
import re
import secrets
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa

from app.models import UTCDateTime
from app.screening.instruments import INSTRUMENTS
from app.screening.triage import triage_of


# revision identifiers, used by Alembic.
revision = 'i24a1c9e5f7b3'
down_revision = 'i23a7c4e9d1f0'
branch_labels = None
depends_on = None

OLD_TRIAGE = ['reviewed', sa.text('at_or_above_cutoff DESC'), sa.text('share DESC'), 'taken_at', 'id']
TRIAGE = ['latest_in_series', 'reviewed', 'triage_tier', sa.text('severity DESC'), 'taken_at', 'id']
NEW_INDEXES = (
    ('ix_screenings_triage', TRIAGE),
    ('ix_screenings_triage_instrument', ['instrument', *TRIAGE]),
    ('ix_screenings_triage_cutoff', ['at_or_above_cutoff', *TRIAGE]),
    ('ix_screenings_clinic_triage', ['clinic_id', *TRIAGE]),
    ('ix_screenings_clinic_triage_instrument', ['clinic_id', 'instrument', *TRIAGE]),
    ('ix_screenings_assigned_triage', ['assigned_to_id', *TRIAGE]),
    ('ix_screenings_flagged', ['triage_tier', 'clinic_id', 'reviewed', 'instrument', 'at_or_above_cutoff',
                               'taken_at']),
    ('ix_screenings_triage_instrument_cutoff', ['instrument', 'at_or_above_cutoff', *TRIAGE]),
)
OLD_INDEXES = (
    ('ix_screenings_triage', OLD_TRIAGE),
    ('ix_screenings_triage_instrument', ['instrument', *OLD_TRIAGE]),
    ('ix_screenings_triage_cutoff', ['at_or_above_cutoff', 'reviewed', sa.text('share DESC'), 'taken_at', 'id']),
    ('ix_screenings_clinic_triage', ['clinic_id', *OLD_TRIAGE, 'code']),
    ('ix_screenings_clinic_triage_instrument', ['clinic_id', 'instrument', *OLD_TRIAGE]),
)
# Frozen here: the alphabet and length of references when this revision was written.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 7
DISPLAYED_CODE = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")


@contextmanager
def rollup_triggers_kept():
    """On SQLite a batch alter rebuilds screenings, which drops the statistics rollup's triggers with
    the old table: put the same triggers back on the new one (as in 3e1f7c2a9b64)."""
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        yield
        return
    triggers = bind.execute(sa.text(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'screenings' ORDER BY name"
    )).scalars().all()
    yield
    for statement in triggers:
        op.execute(statement)


def _backfill(bind) -> None:
    """Each stored result's triage (from its stored answers, by the instruments' own safety items and
    cut-off side), a fresh case reference, its series and whether it is its series' latest; audit
    targets that held a result's code now hold its reference (an unknown code's target is cleared)."""
    rows = bind.execute(sa.text(
        "SELECT id, instrument, answers, total, at_or_above_cutoff, dso_total, previous_id, clinic_id, code"
        " FROM screenings ORDER BY id")).all()
    by_id = {row.id: row for row in rows}
    superseded = {row.previous_id for row in rows
                  if row.previous_id in by_id and by_id[row.previous_id].clinic_id == row.clinic_id}
    used: set[str] = set()
    references: dict[str, str] = {}
    updates = []
    for row in rows:
        answers = row.answers if isinstance(row.answers, list) else json.loads(row.answers)
        instrument = INSTRUMENTS.get(row.instrument)
        if instrument is None:
            continue
        triage = triage_of(instrument, answers, row.total, bool(row.at_or_above_cutoff))
        start, seen = row.id, 0
        while by_id.get(start) is not None and by_id[start].previous_id in by_id and seen < 100:
            start, seen = by_id[start].previous_id, seen + 1
        reference = ''
        while not reference or reference in used:
            reference = ''.join(secrets.choice(ALPHABET) for _ in range(REFERENCE_LENGTH))
        used.add(reference)
        references[f"{row.code[:4]}-{row.code[4:8]}-{row.code[8:]}"] = f"R-{reference[:3]}-{reference[3:]}"
        updates.append({'i': row.id, 't': triage.tier, 's': triage.severity, 'f': triage.safety_text,
                        'r': reference, 'st': start if start != row.id else None,
                        'l': row.id not in superseded})
    if updates:
        bind.execute(sa.text(
            "UPDATE screenings SET triage_tier = :t, severity = :s, safety_items = :f, case_reference = :r,"
            " series_start_id = :st, latest_in_series = :l WHERE id = :i"), updates)
    targets = bind.execute(sa.text("SELECT id, target FROM audit_events WHERE target IS NOT NULL")).all()
    changed = [{'i': event.id, 't': references.get(event.target)} for event in targets
               if DISPLAYED_CODE.fullmatch(event.target)]
    if changed:
        bind.execute(sa.text("UPDATE audit_events SET target = :t WHERE id = :i"), changed)
    # Review notes become the first note of each result's list, by the reviewer, at the review's time.
    bind.execute(sa.text(
        "INSERT INTO result_notes (screening_id, author_id, at, text)"
        " SELECT id, reviewed_by_id, COALESCE(reviewed_at, taken_at), review_note FROM screenings"
        " WHERE review_note IS NOT NULL"))
    bind.execute(sa.text("UPDATE screenings SET review_note = NULL WHERE review_note IS NOT NULL"))


def upgrade():
    op.create_table(
        'result_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('screening_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('text', sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['clinicians.id'], name=op.f('fk_result_notes_author_id_clinicians'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['screening_id'], ['screenings.id'],
                                name=op.f('fk_result_notes_screening_id_screenings'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_result_notes')),
    )
    op.create_index(op.f('ix_result_notes_screening_id'), 'result_notes', ['screening_id'], unique=False)
    for name, _columns in OLD_INDEXES:
        op.drop_index(name, table_name='screenings')
    with rollup_triggers_kept():
        with op.batch_alter_table('screenings', schema=None) as batch_op:
            batch_op.add_column(sa.Column('safety_items', sa.String(length=32), nullable=True))
            batch_op.add_column(sa.Column('triage_tier', sa.SmallInteger(), server_default='3', nullable=False))
            batch_op.add_column(sa.Column('severity', sa.Float(), server_default='0', nullable=False))
            batch_op.add_column(sa.Column('case_reference', sa.String(length=7), nullable=True))
            batch_op.add_column(sa.Column('series_start_id', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('latest_in_series', sa.Boolean(), server_default=sa.true(),
                                          nullable=False))
            batch_op.add_column(sa.Column('assigned_to_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(batch_op.f('fk_screenings_assigned_to_id_clinicians'), 'clinicians',
                                        ['assigned_to_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('clinicians', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_new_results', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('alert_sent_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('alerts_since', UTCDateTime(), nullable=True))
    _backfill(op.get_bind())
    with rollup_triggers_kept():
        with op.batch_alter_table('screenings', schema=None) as batch_op:
            batch_op.alter_column('case_reference', existing_type=sa.String(length=7), nullable=False)
    op.create_index(op.f('ix_screenings_case_reference'), 'screenings', ['case_reference'], unique=True)
    op.create_index(op.f('ix_screenings_series_start_id'), 'screenings', ['series_start_id'], unique=False)
    # Outside a batch: SQLite's table copy cannot carry sort directions.
    for name, columns in NEW_INDEXES:
        op.create_index(name, 'screenings', columns, unique=False)


def downgrade():
    for name, _columns in NEW_INDEXES:
        op.drop_index(name, table_name='screenings')
    op.drop_index(op.f('ix_screenings_series_start_id'), table_name='screenings')
    op.drop_index(op.f('ix_screenings_case_reference'), table_name='screenings')
    with op.batch_alter_table('clinicians', schema=None) as batch_op:
        batch_op.drop_column('alerts_since')
        batch_op.drop_column('alert_sent_at')
        batch_op.drop_column('notify_new_results')
    with rollup_triggers_kept():
        with op.batch_alter_table('screenings', schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f('fk_screenings_assigned_to_id_clinicians'), type_='foreignkey')
            for name in ('assigned_to_id', 'latest_in_series', 'series_start_id', 'case_reference', 'severity',
                         'triage_tier', 'safety_items'):
                batch_op.drop_column(name)
    for name, columns in OLD_INDEXES:
        op.create_index(name, 'screenings', columns, unique=False)
    op.drop_index(op.f('ix_result_notes_screening_id'), table_name='result_notes')
    op.drop_table('result_notes')
