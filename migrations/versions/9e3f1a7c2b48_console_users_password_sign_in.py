"""console users: a leader's password sign-in where a computer has no WeChat

Revision ID: 9e3f1a7c2b48
Revises: 7b2e4c9a1d05
Create Date: 2026-11-30 22:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '9e3f1a7c2b48'
down_revision = '7b2e4c9a1d05'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'console_users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('signed_in_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('member_id'))


def downgrade():
    op.drop_table('console_users')
