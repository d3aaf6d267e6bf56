"""console users: a leader's password sign-in where a computer has no WeChat; the console's
audit trail of changes; answers and study entered on a member's behalf (entered_by)

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
    op.create_table(
        'console_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('by', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('subject', sa.String(length=100), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['branch_id'], ['branches.id']),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_console_changes_branch_id', 'console_changes', ['branch_id'])
    op.create_index('ix_console_changes_created_at', 'console_changes', ['created_at'])
    with op.batch_alter_table('meeting_attendance') as batch:
        batch.add_column(sa.Column('entered_by', sa.String(length=100), nullable=True))
    with op.batch_alter_table('study_checkins') as batch:
        batch.add_column(sa.Column('entered_by', sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table('study_checkins') as batch:
        batch.drop_column('entered_by')
    with op.batch_alter_table('meeting_attendance') as batch:
        batch.drop_column('entered_by')
    op.drop_index('ix_console_changes_created_at', table_name='console_changes')
    op.drop_index('ix_console_changes_branch_id', table_name='console_changes')
    op.drop_table('console_changes')
    op.drop_table('console_users')
