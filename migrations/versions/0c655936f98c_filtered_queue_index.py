"""filtered queue index: (reviewed, instrument, at_or_above_cutoff) then the queue's order

Revision ID: 0c655936f98c
Revises: 76ee50c554ea
Create Date: 2026-11-26 14:26:28.131978

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0c655936f98c'
down_revision = '76ee50c554ea'
branch_labels = None
depends_on = None


def upgrade():
    # Outside a batch, like ix_screenings_queue: SQLite's table copy cannot carry sort directions.
    op.create_index('ix_screenings_queue_filters', 'screenings',
                    ['reviewed', 'instrument', 'at_or_above_cutoff',
                     sa.text('total DESC'), sa.text('taken_at DESC'), sa.text('id DESC')], unique=False)


def downgrade():
    op.drop_index('ix_screenings_queue_filters', table_name='screenings')
