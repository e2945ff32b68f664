"""outbound: messages the enterprise starts, their approvals and transmissions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

import gateway.db.models

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=16),
                              type_=sa.String(length=24), existing_nullable=False)
        batch_op.add_column(sa.Column('outbound', sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column('transmitted_at', gateway.db.models.UtcDateTime(), nullable=True))
    # Mail from outside was stored as "external"; the direction is now named inbound.
    op.execute("UPDATE records SET direction = 'inbound' WHERE direction = 'external'")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refused', sa.JSON(), nullable=True))
    op.create_table('approvals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('record_id', sa.String(length=32), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('approver_addr', sa.String(length=320), nullable=False),
    sa.Column('approver_name', sa.Text(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('requested_at', gateway.db.models.UtcDateTime(), nullable=False),
    sa.Column('due_at', gateway.db.models.UtcDateTime(), nullable=True),
    sa.Column('decided_at', gateway.db.models.UtcDateTime(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('request_message_id', sa.String(length=998), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'],
                            name=op.f('fk_approvals_record_id_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approvals'))
    )
    op.create_index(op.f('ix_approvals_record_id'), 'approvals', ['record_id'], unique=False)
    op.create_table('transmissions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('record_id', sa.String(length=32), nullable=False),
    sa.Column('mail_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_id', sa.String(length=998), nullable=False),
    sa.Column('addr', sa.String(length=320), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('dsn_action', sa.String(length=16), nullable=True),
    sa.Column('dsn_status', sa.String(length=16), nullable=True),
    sa.Column('dsn_diagnostic', sa.Text(), nullable=True),
    sa.Column('dsn_at', gateway.db.models.UtcDateTime(), nullable=True),
    sa.Column('mdn_disposition', sa.String(length=64), nullable=True),
    sa.Column('mdn_at', gateway.db.models.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['mail_id'], ['mails.id'], name=op.f('fk_transmissions_mail_id_mails')),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'],
                            name=op.f('fk_transmissions_record_id_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transmissions'))
    )
    op.create_index(op.f('ix_transmissions_message_id'), 'transmissions', ['message_id'],
                    unique=False)
    op.create_index(op.f('ix_transmissions_record_id'), 'transmissions', ['record_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_transmissions_record_id'), table_name='transmissions')
    op.drop_index(op.f('ix_transmissions_message_id'), table_name='transmissions')
    op.drop_table('transmissions')
    op.drop_index(op.f('ix_approvals_record_id'), table_name='approvals')
    op.drop_table('approvals')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('refused')
    op.execute("UPDATE records SET direction = 'external' WHERE direction = 'inbound'")
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_column('transmitted_at')
        batch_op.drop_column('outbound')
        batch_op.alter_column('status', existing_type=sa.String(length=24),
                              type_=sa.String(length=16), existing_nullable=False)
