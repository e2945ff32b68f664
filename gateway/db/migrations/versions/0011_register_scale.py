"""the register at a million records: stored next check times, listing and deadline indexes

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

import gateway.db.models

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

INDEXES = (
    ('ix_records_next_check_at', ['next_check_at']),
    ('ix_records_created_at_id', ['created_at', 'id']),
    ('ix_records_status_created_at', ['status', 'created_at']),
    ('ix_records_department_status_created_at', ['department', 'status', 'created_at']),
    ('ix_records_closed_at', ['closed_at']),
)
# Running deadlines only: `sla due` reads them off these in deadline order.
PARTIAL = (
    ('ix_records_status_due_at', ['status', 'due_at'], gateway.db.models.UNANSWERED),
    ('ix_records_status_resolve_due_at', ['status', 'resolve_due_at'],
     gateway.db.models.UNRESOLVED),
)


def upgrade() -> None:
    with op.batch_alter_table('records') as batch:
        batch.add_column(sa.Column('next_check_at', gateway.db.models.UtcDateTime(),
                                   nullable=True))
    # Every record still chased is looked at by the next due-check, which stores its real time.
    records = sa.table('records', sa.column('status', sa.String()),
                       sa.column('next_check_at', gateway.db.models.UtcDateTime()))
    op.execute(records.update().where(records.c.status.in_(('open', 'in_progress')))
               .values(next_check_at=gateway.db.models.CHECK_NOW))
    for name, columns in INDEXES:
        op.create_index(name, 'records', columns, unique=False)
    for name, columns, where in PARTIAL:
        op.create_index(name, 'records', columns, unique=False,
                        sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade() -> None:
    for name, *_ in (*INDEXES, *PARTIAL):
        op.drop_index(name, table_name='records')
    with op.batch_alter_table('records') as batch:
        batch.drop_column('next_check_at')
