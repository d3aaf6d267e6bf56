"""a member transferred out of the branch (转出): the day (left_on) and where to (left_to);
their history before it is kept

Revision ID: 4c8d2e6f1a93
Revises: 9e3f1a7c2b48
Create Date: 2026-12-01 10:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '4c8d2e6f1a93'
down_revision = '9e3f1a7c2b48'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('members') as batch:
        batch.add_column(sa.Column('left_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('left_to', sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table('members') as batch:
        batch.drop_column('left_to')
        batch.drop_column('left_on')
