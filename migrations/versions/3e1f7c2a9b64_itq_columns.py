"""itq: the ITQ's own columns on screenings, and a cut-off that may be null (the ITQ has none)

Revision ID: 3e1f7c2a9b64
Revises: 5a9adbbf2ffc
Create Date: 2026-11-28 08:30:00.000000

"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3e1f7c2a9b64'
down_revision = '5a9adbbf2ffc'
branch_labels = None
depends_on = None

ITQ_COLUMNS = (
    ('dso_total', sa.Integer()),
    ('affective_dysregulation', sa.Integer()),
    ('negative_self_concept', sa.Integer()),
    ('disturbed_relationships', sa.Integer()),
    ('ptsd_criteria_met', sa.Boolean()),
    ('dso_criteria_met', sa.Boolean()),
    ('diagnosis', sa.String(length=8)),
    ('event_when', sa.String(length=8)),
)


@contextmanager
def rollup_triggers_kept():
    """On SQLite a batch alter rebuilds screenings (copy and move), which drops the statistics rollup's
    triggers with the old table: put the same triggers back on the new one (as in 5a9adbbf2ffc)."""
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
    with rollup_triggers_kept():
        with op.batch_alter_table('screenings', schema=None) as batch_op:
            for name, type_ in ITQ_COLUMNS:
                batch_op.add_column(sa.Column(name, type_, nullable=True))
            batch_op.alter_column('cutoff', existing_type=sa.Integer(), nullable=True)


def downgrade():
    # An ITQ result has no place in the older schema (no cut-off, no DSO columns): remove them first.
    op.execute("DELETE FROM screenings WHERE instrument = 'itq'")
    with rollup_triggers_kept():
        with op.batch_alter_table('screenings', schema=None) as batch_op:
            batch_op.alter_column('cutoff', existing_type=sa.Integer(), nullable=False)
            for name, _type in reversed(ITQ_COLUMNS):
                batch_op.drop_column(name)
