"""clinics: a short code to type and the questionnaires their link offers; clinicians: e-mail language

Revision ID: i25a7c3e9d01f
Revises: i24a1c9e5f7b3
Create Date: 2026-12-04 21:10:00

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'i25a7c3e9d01f'
down_revision = 'i24a1c9e5f7b3'
branch_labels = None
depends_on = None

# As app/models.SHORT_CODE_ALPHABET (copied: a migration must not change when the app does).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def upgrade():
    with op.batch_alter_table('clinics', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_code', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('instruments', sa.String(length=200), nullable=True))
    clinics = sa.table('clinics', sa.column('id', sa.Integer), sa.column('short_code', sa.String))
    bind = op.get_bind()
    taken: set[str] = set()
    for clinic_id in bind.execute(sa.select(clinics.c.id)).scalars().all():
        code = ''.join(secrets.choice(ALPHABET) for _ in range(8))
        while code in taken:
            code = ''.join(secrets.choice(ALPHABET) for _ in range(8))
        taken.add(code)
        bind.execute(clinics.update().where(clinics.c.id == clinic_id).values(short_code=code))
    with op.batch_alter_table('clinics', schema=None) as batch_op:
        batch_op.alter_column('short_code', existing_type=sa.String(length=10), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_clinics_short_code'), ['short_code'])
    with op.batch_alter_table('clinicians', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('clinicians', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('clinics', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_clinics_short_code'), type_='unique')
        batch_op.drop_column('instruments')
        batch_op.drop_column('short_code')
