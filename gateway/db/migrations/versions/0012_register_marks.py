"""register marks: what the stored next check times were computed under

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

import gateway.db.models

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'register_marks',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('updated_at', gateway.db.models.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_register_marks')),
    )


def downgrade() -> None:
    op.drop_table('register_marks')
