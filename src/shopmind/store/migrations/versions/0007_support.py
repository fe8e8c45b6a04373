"""support assistant: conversations, their messages and the requests queued for a person

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "support_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_key", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("handover_reason", sa.String(length=32), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("closed_by", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="SET NULL",
                                name=op.f("fk_support_conversations_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_conversations")),
        sa.UniqueConstraint("session_key", name=op.f("uq_support_conversations_session_key")),
    )  # fmt: skip
    op.create_index(op.f("ix_support_conversations_status"), "support_conversations", ["status"])
    op.create_index(
        op.f("ix_support_conversations_updated_at"), "support_conversations", ["updated_at"]
    )
    op.create_table(
        "support_messages",
        sa.Column("id", BigId, nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["support_conversations.id"],
                                ondelete="CASCADE",
                                name=op.f("fk_support_messages_conversation_id_support_conversations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_messages")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_support_messages_conversation_id"), "support_messages", ["conversation_id"]
    )
    op.create_index(op.f("ix_support_messages_outcome"), "support_messages", ["outcome"])
    op.create_table(
        "support_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=320), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["support_conversations.id"],
                                ondelete="CASCADE",
                                name=op.f("fk_support_requests_conversation_id_support_conversations")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="SET NULL",
                                name=op.f("fk_support_requests_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_requests")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_support_requests_conversation_id"), "support_requests", ["conversation_id"]
    )
    op.create_index(op.f("ix_support_requests_status"), "support_requests", ["status"])


def downgrade() -> None:
    op.drop_table("support_requests")
    op.drop_table("support_messages")
    op.drop_table("support_conversations")
