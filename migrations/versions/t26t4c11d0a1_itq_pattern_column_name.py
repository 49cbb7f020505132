"""screenings: the ITQ's `diagnosis` column is renamed `icd11_pattern` (a screening suggests a pattern, it
does not diagnose); the API's `diagnosis` field and the FHIR item keep their names

Revision ID: t26t4c11d0a1
Revises: t24b7e2c4a9f1
Create Date: 2026-12-05 00:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 't26t4c11d0a1'
down_revision = 't24b7e2c4a9f1'
branch_labels = None
depends_on = None


# RENAME COLUMN, on both databases (SQLite 3.25 and later): no table copy, so the rollup triggers on
# screenings and every index stay as they are.
def upgrade():
    op.execute('ALTER TABLE screenings RENAME COLUMN diagnosis TO icd11_pattern')


def downgrade():
    op.execute('ALTER TABLE screenings RENAME COLUMN icd11_pattern TO diagnosis')
