"""daily_products: an index of the days' rows with sales (top products by revenue)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 04:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SALES = sa.text("units != 0 OR revenue != 0")


def upgrade() -> None:
    op.create_index(
        "ix_daily_products_sales",
        "daily_products",
        ["day", "product_id", "units", "revenue"],
        sqlite_where=SALES,
        postgresql_where=SALES,
    )


def downgrade() -> None:
    op.drop_index("ix_daily_products_sales", table_name="daily_products")
