"""instant-message alerts: the alert outbox

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

import gateway.db.models

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('record_id', sa.String(length=32), nullable=True),
    sa.Column('channel', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', gateway.db.models.UtcDateTime(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', gateway.db.models.UtcDateTime(), nullable=False),
    sa.Column('sent_at', gateway.db.models.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'],
                            name=op.f('fk_alert_outbox_record_id_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_outbox'))
    )
    op.create_index('ix_alert_outbox_due', 'alert_outbox', ['status', 'next_attempt_at'],
                    unique=False)
    op.create_index('ix_alert_outbox_channel_sent', 'alert_outbox', ['channel', 'sent_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_alert_outbox_channel_sent', table_name='alert_outbox')
    op.drop_index('ix_alert_outbox_due', table_name='alert_outbox')
    op.drop_table('alert_outbox')
