"""triage: an ITQ complex-PTSD result ranks above every other result of its tier (severity = 2 x rank + share)

Revision ID: t24b7e2c4a9f1
Revises: i25a7c3e9d01f
Create Date: 2026-12-05 00:30:00

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 't24b7e2c4a9f1'
down_revision = 'i25a7c3e9d01f'
branch_labels = None
depends_on = None

# Frozen here (a migration must not change when the app does): app/screening/triage.RANK_STEP and the
# ITQ's rules as app/screening/instruments/itq.py has them (Cloitre et al. 2018): a symptom or impairment
# item counts at 2 ("Moderately") or more; PTSD needs one item of each pair and one impairment item, the
# disturbances in self-organisation the same over theirs; complex PTSD is both. The severity share is the
# PTSD symptom items (1-6) and the self-organisation symptom items (10-15) over their maximum, 48.
RANK_STEP = 2
ENDORSED_AT = 2
PTSD_PAIRS, PTSD_IMPAIRMENT = ((1, 2), (3, 4), (5, 6)), (7, 8, 9)
DSO_PAIRS, DSO_IMPAIRMENT = ((10, 11), (12, 13), (14, 15)), (16, 17, 18)
SHARE_ITEMS, SHARE_MAX = (1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15), 48
BATCH = 5000


def _met(answers, pairs, impairment) -> bool:
    def endorsed(number):
        return int(answers[number - 1]) >= ENDORSED_AT

    return all(endorsed(a) or endorsed(b) for a, b in pairs) and any(endorsed(n) for n in impairment)


def _severity(answers, ranked: bool) -> float:
    share = sum(int(answers[number - 1]) for number in SHARE_ITEMS) / SHARE_MAX
    complex_ptsd = len(answers) >= 18 and _met(answers, PTSD_PAIRS, PTSD_IMPAIRMENT) \
        and _met(answers, DSO_PAIRS, DSO_IMPAIRMENT)
    return RANK_STEP * complex_ptsd + share if ranked else share


def _recompute(ranked: bool) -> None:
    """Every stored ITQ result's severity, in batches by id, written only where it changes (the complex-PTSD
    rows, as the others already hold their share); other instruments' rows are unchanged."""
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(sa.text(
            "SELECT id, answers, severity FROM screenings WHERE instrument = 'itq' AND id > :last"
            " ORDER BY id LIMIT :n"),
            {'last': last, 'n': BATCH}).all()
        if not rows:
            return
        updates = []
        for row in rows:
            answers = row.answers if isinstance(row.answers, list) else json.loads(row.answers)
            if len(answers) >= max(SHARE_ITEMS):
                severity = _severity(answers, ranked)
                if abs(severity - (row.severity or 0)) > 1e-9:
                    updates.append({'i': row.id, 's': severity})
        if updates:
            bind.execute(sa.text("UPDATE screenings SET severity = :s WHERE id = :i"), updates)
        last = rows[-1].id


def upgrade():
    _recompute(ranked=True)


def downgrade():
    _recompute(ranked=False)
