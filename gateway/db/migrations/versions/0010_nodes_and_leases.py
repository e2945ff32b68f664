"""nodes, leases and job runs: two or more daemons on one PostgreSQL database

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

import gateway.db.models

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('nodes',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', gateway.db.models.UtcDateTime(), nullable=False),
    sa.Column('seen_at', gateway.db.models.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nodes'))
    )
    op.create_table('leases',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=True),
    sa.Column('since', gateway.db.models.UtcDateTime(), nullable=False),
    sa.Column('renewed_at', gateway.db.models.UtcDateTime(), nullable=False),
    sa.Column('expires_at', gateway.db.models.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_leases'))
    )
    op.create_table('job_runs',
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('node', sa.String(length=128), nullable=False),
    sa.Column('ran_at', gateway.db.models.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('job', name=op.f('pk_job_runs'))
    )


def downgrade() -> None:
    op.drop_table('job_runs')
    op.drop_table('leases')
    op.drop_table('nodes')
