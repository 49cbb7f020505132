"""clinicians, audit events and result review

Revision ID: ed1d473cba43
Revises: dd0f28868805
Create Date: 2026-11-26 13:00:05.364055

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ed1d473cba43'
down_revision = 'dd0f28868805'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clinicians',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinicians')),
    sa.UniqueConstraint('email', name=op.f('uq_clinicians_email'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('clinician_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['clinician_id'], ['clinicians.id'], name=op.f('fk_audit_events_clinician_id_clinicians'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_clinician_id'), ['clinician_id'], unique=False)

    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('review_note', sa.String(length=500), nullable=True))
        batch_op.create_index('ix_screenings_instrument_taken_at', ['instrument', 'taken_at'], unique=False)
        batch_op.create_index('ix_screenings_stats', ['instrument', 'total', 'at_or_above_cutoff', 'reviewed',
                                                      'reexperiencing', 'avoidance', 'arousal', 'taken_at'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_screenings_reviewed_by_id_clinicians'), 'clinicians', ['reviewed_by_id'], ['id'], ondelete='SET NULL')

    # The queue's own order, so its first page comes straight off the index (outside the batch:
    # SQLite's table copy cannot carry sort directions).
    op.create_index('ix_screenings_queue', 'screenings',
                    ['reviewed', sa.text('total DESC'), sa.text('taken_at DESC'), sa.text('id DESC')], unique=False)



def downgrade():
    op.drop_index('ix_screenings_queue', table_name='screenings')
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_screenings_reviewed_by_id_clinicians'), type_='foreignkey')
        batch_op.drop_index('ix_screenings_stats')
        batch_op.drop_index('ix_screenings_instrument_taken_at')
        batch_op.drop_column('review_note')
        batch_op.drop_column('reviewed_by_id')
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('reviewed')

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_clinician_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    op.drop_table('clinicians')
