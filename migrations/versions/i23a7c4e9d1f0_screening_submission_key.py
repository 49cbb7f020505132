"""screenings: the submission key that makes sending the same form twice store one result

Revision ID: i23a7c4e9d1f0
Revises: c3e1a7d42b90
Create Date: 2026-12-04 21:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'i23a7c4e9d1f0'
down_revision = 'c3e1a7d42b90'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN and a separate unique index: SQLite keeps the table and the rollup's triggers.
    op.add_column('screenings', sa.Column('submission_key', sa.String(length=64), nullable=True))
    op.create_index('ix_screenings_submission_key', 'screenings', ['submission_key'], unique=True)


def downgrade():
    op.drop_index('ix_screenings_submission_key', table_name='screenings')
    with op.batch_alter_table('screenings') as batch_op:
        batch_op.drop_column('submission_key')
