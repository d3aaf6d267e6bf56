"""a branch's start date, a member's joining date, meetings entered afterwards (补录), and
floating periods from the roster (where and why not known yet), the texts a study record
was made of (a repeat is the same text again)

Existing branches start on the Beijing date of their first roster import (their earliest
member's creation): meetings before it were planned by mistake and no longer count.

Revision ID: 7b2e4c9a1d05
Revises: 3f6a9d2c1b7e
Create Date: 2026-11-30 22:00:00

"""
from datetime import timedelta

import sqlalchemy as sa
from alembic import op


revision = '7b2e4c9a1d05'
down_revision = '3f6a9d2c1b7e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('branches') as batch:
        batch.add_column(sa.Column('started_on', sa.Date(), nullable=True))
    with op.batch_alter_table('members') as batch:
        batch.add_column(sa.Column('joined_on', sa.Date(), nullable=True))
    with op.batch_alter_table('meetings') as batch:
        batch.add_column(sa.Column('backfilled', sa.Boolean(), server_default=sa.false(),
                                   nullable=False))
    with op.batch_alter_table('study_checkins') as batch:
        batch.add_column(sa.Column('digests', sa.JSON(), nullable=True))
    with op.batch_alter_table('floating_periods') as batch:
        batch.alter_column('reason', existing_type=sa.String(50), nullable=True)
        batch.alter_column('destination', existing_type=sa.String(100), nullable=True)
        batch.add_column(sa.Column('source', sa.String(8), server_default='chat',
                                   nullable=False))
        batch.add_column(sa.Column('asked_at', sa.DateTime(), nullable=True))
    bind = op.get_bind()
    firsts = bind.execute(sa.text(
        "SELECT branch_id, MIN(created_at) FROM members GROUP BY branch_id")).all()
    for branch_id, first in firsts:
        if first is None:
            continue
        if isinstance(first, str):  # SQLite hands back text
            from datetime import datetime
            first = datetime.fromisoformat(first)
        beijing = (first + timedelta(hours=8)).date()  # stored as naive UTC
        bind.execute(sa.text("UPDATE branches SET started_on = :day WHERE id = :id"),
                     {"day": beijing, "id": branch_id})


def downgrade():
    with op.batch_alter_table('study_checkins') as batch:
        batch.drop_column('digests')
    with op.batch_alter_table('floating_periods') as batch:
        batch.drop_column('asked_at')
        batch.drop_column('source')
    with op.batch_alter_table('meetings') as batch:
        batch.drop_column('backfilled')
    with op.batch_alter_table('members') as batch:
        batch.drop_column('joined_on')
    with op.batch_alter_table('branches') as batch:
        batch.drop_column('started_on')
