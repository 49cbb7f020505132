"""triage: each result's share of its instrument's maximum, and the indexes of the clinic-scoped queue

Revision ID: c3e1a7d42b90
Revises: c3e1a7d90b42
Create Date: 2026-11-28 08:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3e1a7d42b90'
down_revision = 'c3e1a7d90b42'
branch_labels = None
depends_on = None

# The instruments' maximum totals when this revision was written (a later instrument's rows are
# written with their share by the app). Frozen here: a migration must not change with the app.
MAX_TOTALS = {'pcl5': 80, 'pcptsd5': 5, 'itq': 24}  # the ITQ's total is P1–P6
TRIAGE = ['reviewed', sa.text('at_or_above_cutoff DESC'), sa.text('share DESC'), 'taken_at', 'id']


def upgrade():
    # A plain ADD COLUMN (no batch): SQLite keeps the table, its indexes and the rollup's triggers.
    op.add_column('screenings', sa.Column('share', sa.Float(), server_default='0', nullable=False))
    whens = ' '.join(f"WHEN '{instrument}' THEN total * 1.0 / {maximum}" for instrument, maximum in MAX_TOTALS.items())
    op.execute(f"UPDATE screenings SET share = CASE instrument {whens} ELSE 0 END")
    op.drop_index('ix_screenings_queue_filters', table_name='screenings')
    op.drop_index('ix_screenings_queue', table_name='screenings')
    # Outside a batch: SQLite's table copy cannot carry sort directions.
    op.create_index('ix_screenings_triage', 'screenings', TRIAGE, unique=False)
    op.create_index('ix_screenings_triage_instrument', 'screenings', ['instrument', *TRIAGE], unique=False)
    op.create_index('ix_screenings_triage_cutoff', 'screenings',
                    ['at_or_above_cutoff', 'reviewed', sa.text('share DESC'), 'taken_at', 'id'], unique=False)
    op.create_index('ix_screenings_clinic_triage', 'screenings', ['clinic_id', *TRIAGE, 'code'], unique=False)
    op.create_index('ix_screenings_clinic_triage_instrument', 'screenings', ['clinic_id', 'instrument', *TRIAGE],
                    unique=False)
    op.create_index('ix_screenings_clinic_stats', 'screenings',
                    ['clinic_id', 'instrument', 'total', 'at_or_above_cutoff', 'reviewed', 'reexperiencing',
                     'avoidance', 'arousal', 'taken_at'], unique=False)


def downgrade():
    op.drop_index('ix_screenings_clinic_stats', table_name='screenings')
    op.drop_index('ix_screenings_clinic_triage_instrument', table_name='screenings')
    op.drop_index('ix_screenings_clinic_triage', table_name='screenings')
    op.drop_index('ix_screenings_triage_cutoff', table_name='screenings')
    op.drop_index('ix_screenings_triage_instrument', table_name='screenings')
    op.drop_index('ix_screenings_triage', table_name='screenings')
    op.create_index('ix_screenings_queue', 'screenings',
                    ['reviewed', sa.text('total DESC'), sa.text('taken_at DESC'), sa.text('id DESC')], unique=False)
    op.create_index('ix_screenings_queue_filters', 'screenings',
                    ['reviewed', 'instrument', 'at_or_above_cutoff',
                     sa.text('total DESC'), sa.text('taken_at DESC'), sa.text('id DESC')], unique=False)
    # A plain DROP COLUMN (SQLite 3.35+), not a batch copy, which would lose the rollup's triggers.
    op.drop_column('screenings', 'share')
