"""clinics: a clinic per caseload, clinicians' membership, and the clinic a result was shared with

Revision ID: 5a9adbbf2ffc
Revises: 136287d4abc4
Create Date: 2026-11-28 08:11:00.284913

"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a9adbbf2ffc'
down_revision = '136287d4abc4'
branch_labels = None
depends_on = None


@contextmanager
def rollup_triggers_kept():
    """On SQLite a batch alter rebuilds screenings (copy and move), which drops the statistics rollup's
    triggers with the old table: put the same triggers back on the new one."""
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


def upgrade():
    op.create_table('clinics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False),
    sa.Column('link_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinics')),
    sa.UniqueConstraint('link_token', name=op.f('uq_clinics_link_token')),
    sa.UniqueConstraint('slug', name=op.f('uq_clinics_slug'))
    )
    op.create_table('clinician_clinics',
    sa.Column('clinician_id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_clinician_clinics_clinic_id_clinics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['clinician_id'], ['clinicians.id'], name=op.f('fk_clinician_clinics_clinician_id_clinicians'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('clinician_id', 'clinic_id', name=op.f('pk_clinician_clinics'))
    )
    op.create_index(op.f('ix_clinician_clinics_clinic_id'), 'clinician_clinics', ['clinic_id'], unique=False)

    with rollup_triggers_kept():
        with op.batch_alter_table('screenings', schema=None) as batch_op:
            batch_op.add_column(sa.Column('clinic_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(batch_op.f('fk_screenings_clinic_id_clinics'), 'clinics',
                                        ['clinic_id'], ['id'], ondelete='SET NULL')
    op.create_index(op.f('ix_screenings_clinic_id'), 'screenings', ['clinic_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_screenings_clinic_id'), table_name='screenings')
    with rollup_triggers_kept():
        with op.batch_alter_table('screenings', schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f('fk_screenings_clinic_id_clinics'), type_='foreignkey')
            batch_op.drop_column('clinic_id')
    op.drop_index(op.f('ix_clinician_clinics_clinic_id'), table_name='clinician_clinics')
    op.drop_table('clinician_clinics')
    op.drop_table('clinics')
