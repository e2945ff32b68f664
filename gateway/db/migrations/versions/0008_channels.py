"""传递方式 holds every way a record travelled (email+phone+meeting)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.alter_column('channel', existing_type=sa.String(length=16),
                              type_=sa.String(length=64), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.alter_column('channel', existing_type=sa.String(length=64),
                              type_=sa.String(length=16), existing_nullable=False)
