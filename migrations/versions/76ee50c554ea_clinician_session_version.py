"""clinician session version: sign-out and deactivation end the account's sessions on every instance

Revision ID: 76ee50c554ea
Revises: ed1d473cba43
Create Date: 2026-11-26 13:51:31.692332

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '76ee50c554ea'
down_revision = 'ed1d473cba43'
branch_labels = None
depends_on = None


def upgrade():
    # Existing sessions carry no version and end once, at their next request.
    with op.batch_alter_table('clinicians', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('clinicians', schema=None) as batch_op:
        batch_op.drop_column('session_version')
