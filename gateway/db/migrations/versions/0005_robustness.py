"""auto replies per sender, for the mail-loop cap

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

import gateway.db.models

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auto_replies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('addr', sa.String(length=320), nullable=False),
    sa.Column('at', gateway.db.models.UtcDateTime(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auto_replies'))
    )
    op.create_index('ix_auto_replies_addr_at', 'auto_replies', ['addr', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_auto_replies_addr_at', table_name='auto_replies')
    op.drop_table('auto_replies')
