"""series links between screenings: previous_id, unlinked (not deleted) when the earlier result goes

Revision ID: dd0f28868805
Revises: bb686d3a3ecb
Create Date: 2026-11-26 12:58:36.807804

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'dd0f28868805'
down_revision = 'bb686d3a3ecb'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_screenings_previous_id'), ['previous_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_screenings_previous_id_screenings'), 'screenings',
                                    ['previous_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_screenings_previous_id_screenings'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_screenings_previous_id'))
        batch_op.drop_column('previous_id')
