"""linked records and the requested department

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('records') as batch:
        batch.add_column(sa.Column('related_to', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('requested_department', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('records') as batch:
        batch.drop_column('requested_department')
        batch.drop_column('related_to')
