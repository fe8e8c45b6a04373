"""content drafts: generated copy waiting for approval

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("product_key", sa.String(length=255), nullable=False),
        sa.Column("task", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("settings_key", sa.String(length=64), nullable=False),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_content_drafts_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_content_drafts_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_drafts")),
    )
    with op.batch_alter_table("content_drafts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_content_drafts_key",
            ["product_key", "task", "language", "settings_key"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_content_drafts_product_id"), ["product_id"], unique=False
        )
        batch_op.create_index("ix_content_drafts_status", ["status", "task"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("content_drafts", schema=None) as batch_op:
        batch_op.drop_index("ix_content_drafts_status")
        batch_op.drop_index(batch_op.f("ix_content_drafts_product_id"))
        batch_op.drop_index("ix_content_drafts_key")
    op.drop_table("content_drafts")
