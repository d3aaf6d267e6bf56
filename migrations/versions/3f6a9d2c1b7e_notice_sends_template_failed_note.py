"""a template reported undelivered is marked on the notice's send; members by name; roles

通知情况 counts a notice's recipients without joining every outbound message; the names it
shows are checked for namesakes in the branch by an index; the 书记 or 组织委员 a reply names
is found by role through an index.

Revision ID: 3f6a9d2c1b7e
Revises: fb0bcca2b4cd
Create Date: 2026-11-30 18:40:00

"""
from alembic import op


revision = '3f6a9d2c1b7e'
down_revision = 'fb0bcca2b4cd'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE notice_sends SET note = 'template_failed' WHERE outbound_id IN "
               "(SELECT id FROM outbound_messages WHERE delivery_status LIKE 'failed%')")
    op.create_index('ix_members_branch_name', 'members', ['branch_id', 'name'], unique=False)
    op.create_index('ix_member_roles_role', 'member_roles', ['role'], unique=False)


def downgrade():
    op.drop_index('ix_member_roles_role', table_name='member_roles')
    op.drop_index('ix_members_branch_name', table_name='members')
    op.execute("UPDATE notice_sends SET note = NULL WHERE note = 'template_failed'")
