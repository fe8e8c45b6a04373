"""growth insights: site-search terms on events, advertising spend per day and channel

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column: ALTER TABLE … ADD COLUMN on both databases, no table rewrite.
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_term", sa.String(length=255), nullable=True))
    op.create_table(
        "ad_spend",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("medium", sa.String(length=255), nullable=False),
        sa.Column("campaign", sa.String(length=255), nullable=False),
        sa.Column("spend", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_spend")),
        sa.UniqueConstraint("day", "source", "medium", "campaign",
                            name=op.f("uq_ad_spend_day_source_medium_campaign")),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("ad_spend")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("search_term")
