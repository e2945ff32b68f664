"""archive: class, archived and purged times on records

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

import gateway.db.models

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archive_class', sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column('archived_at', gateway.db.models.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('purged_at', gateway.db.models.UtcDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_records_archived_at'), ['archived_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_records_archived_at'))
        batch_op.drop_column('purged_at')
        batch_op.drop_column('archived_at')
        batch_op.drop_column('archive_class')
