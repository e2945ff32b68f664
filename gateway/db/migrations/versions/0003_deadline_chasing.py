"""deadline chasing: sent notices, per-rule deadline overrides

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

import gateway.db.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("record_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_at", gateway.db.models.UtcDateTime(), nullable=False),
        sa.Column("created_at", gateway.db.models.UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mail_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["mail_id"], ["mails.id"], name=op.f("fk_notices_mail_id_mails")),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"],
                                name=op.f("fk_notices_record_id_records")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("record_id", "key", name=op.f("uq_notices_record_id")),
    )
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("deadline_overrides", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.drop_column("deadline_overrides")
    op.drop_table("notices")
