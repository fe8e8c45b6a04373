"""The store's tables (SQLAlchemy 2 declarative models).

Every table that data is imported into has a natural key, ``external_id`` (or
``event_id`` for events), so that re-importing the same file updates rows in
place instead of duplicating them. Money is stored as ``NUMERIC(12, 2)`` and read
back as ``float``; times are naive UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(12, 2, asdecimal=False)
# Sums of money in the daily aggregates: NUMERIC without a bound, so no sum can overflow.
Total = Numeric(asdecimal=False)
# BIGINT on PostgreSQL, INTEGER on SQLite (so it stays the rowid alias).
BigId = BigInteger().with_variant(Integer(), "sqlite")

# GA4 recommended e-commerce event names; other names are stored as they come.
GA4_EVENTS = (
    "page_view",
    "session_start",
    "view_item_list",
    "select_item",
    "view_item",
    "add_to_wishlist",
    "add_to_cart",
    "remove_from_cart",
    "view_cart",
    "begin_checkout",
    "add_shipping_info",
    "add_payment_info",
    "purchase",
    "refund",
    "search",
    "view_promotion",
    "select_promotion",
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(512))
    description: Mapped[str] = mapped_column(Text, default="")
    # The only stored field that may hold markup: HTML as the shop exported it, for round
    # trips; shopmind.safety.sanitize_html before any page shows it. Other text is plain.
    description_html: Mapped[str] = mapped_column(Text, default="")
    brand: Mapped[str | None] = mapped_column(String(255))
    category: Mapped[str | None] = mapped_column(String(512))  # "Women > Tops > Tees"
    product_type: Mapped[str | None] = mapped_column(String(255))
    price: Mapped[float | None] = mapped_column(Money)
    compare_at_price: Mapped[float | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    inventory: Mapped[int | None] = mapped_column(Integer)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    seo_title: Mapped[str | None] = mapped_column(String(512))
    seo_description: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(32), default="active")
    source: Mapped[str | None] = mapped_column(String(64))  # shopify, woocommerce, simulate…
    created_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)

    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="Variant.position"
    )


class Variant(Base):
    __tablename__ = "variants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=1)
    sku: Mapped[str | None] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(String(512), default="")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"Size": "M"}
    price: Mapped[float | None] = mapped_column(Money)
    compare_at_price: Mapped[float | None] = mapped_column(Money)
    inventory: Mapped[int | None] = mapped_column(Integer)
    barcode: Mapped[str | None] = mapped_column(String(64))
    weight_grams: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    image_url: Mapped[str | None] = mapped_column(String(2048))

    product: Mapped[Product] = relationship(back_populates="variants")

    __table_args__ = (Index("ix_variants_product_id", "product_id"),)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(255))
    accepts_marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime | None] = mapped_column(DateTime)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), unique=True)  # "#1001"
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    subtotal: Mapped[float | None] = mapped_column(Money)
    discount: Mapped[float] = mapped_column(Money, default=0.0)
    shipping: Mapped[float] = mapped_column(Money, default=0.0)
    tax: Mapped[float] = mapped_column(Money, default=0.0)
    total: Mapped[float] = mapped_column(Money)
    financial_status: Mapped[str | None] = mapped_column(String(32))
    fulfillment_status: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(255))
    medium: Mapped[str | None] = mapped_column(String(255))
    campaign: Mapped[str | None] = mapped_column(String(255))
    session_id: Mapped[str | None] = mapped_column(String(255))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.line_no"
    )


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id", ondelete="SET NULL"))
    sku: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(512), default="")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    price: Mapped[float] = mapped_column(Money)
    discount: Mapped[float] = mapped_column(Money, default=0.0)

    order: Mapped[Order] = relationship(back_populates="lines")

    __table_args__ = (UniqueConstraint("order_id", "line_no"),)


class Event(Base):
    """A behaviour event in GA4 shape; ``items`` holds GA4's item array as JSON."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(DateTime)
    user_id: Mapped[str] = mapped_column(String(255))
    session_id: Mapped[str | None] = mapped_column(String(255))
    customer_id: Mapped[str | None] = mapped_column(String(255))  # logged-in user_id
    item_id: Mapped[str | None] = mapped_column(String(255))  # first item, for quick joins
    items: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    value: Mapped[float | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    transaction_id: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(255))
    medium: Mapped[str | None] = mapped_column(String(255))
    campaign: Mapped[str | None] = mapped_column(String(255))
    device: Mapped[str | None] = mapped_column(String(32))
    page: Mapped[str | None] = mapped_column(String(2048))
    search_term: Mapped[str | None] = mapped_column(String(255))  # search, view_search_results

    __table_args__ = (
        Index("ix_events_ts", "ts"),
        Index("ix_events_user_id_ts", "user_id", "ts"),
        Index("ix_events_customer_id_ts", "customer_id", "ts"),
        Index("ix_events_name", "name"),
    )


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), unique=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    author: Mapped[str | None] = mapped_column(String(255))
    rating: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(512))
    body: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(16))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class Page(Base):
    """A help-centre or policy document, or one FAQ question/answer pair."""

    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(512), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="page")  # page | policy | faq
    title: Mapped[str] = mapped_column(String(512), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # plain text (answer for faq)
    question: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2048))
    language: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)


class ApiKey(Base):
    """An API key, stored as a SHA-256 hash; only its prefix is kept in clear."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class PublishableKey(Base):
    """A key for the storefront widgets: public by design (it sits in the shop's pages),
    so it is stored in clear; it opens only the public read-only routes, only from its
    ``allowed_origins`` (``https://shop.example.com``), under a per-client rate limit."""

    __tablename__ = "publishable_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    allowed_origins: Mapped[list[Any]] = mapped_column(default=list)
    # signs customer ids server-side (HMAC-SHA256), so the widget may personalise by them
    signing_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class ReviewSentiment(Base):
    """The current sentiment of one review, from the model that last scored it."""

    __tablename__ = "review_sentiments"

    review_id: Mapped[int] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(64))  # "lexicon", "linear", "transformer"…
    label: Mapped[str] = mapped_column(String(16))  # negative | neutral | positive
    score: Mapped[float] = mapped_column(Float)  # probability of the label
    probs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    language: Mapped[str | None] = mapped_column(String(16))
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    scored_at: Mapped[datetime] = mapped_column(DateTime)


class ReviewAspect(Base):
    """One aspect that one sentence of a review speaks of, with its polarity."""

    __tablename__ = "review_aspects"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    sentence_no: Mapped[int] = mapped_column(Integer)
    aspect: Mapped[str] = mapped_column(String(32))
    polarity: Mapped[str] = mapped_column(String(16))  # negative | neutral | positive
    score: Mapped[float] = mapped_column(Float)
    sentence: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("review_id", "sentence_no", "aspect"),)


class ProductReviewInsight(Base):
    """Per-product review insights (shares, trend, pros/cons, alerts) as written by analysis."""

    __tablename__ = "product_review_insights"

    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(64))
    reviews: Mapped[int] = mapped_column(Integer)
    negative_share: Mapped[float] = mapped_column(Float)
    alert: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    computed_at: Mapped[datetime] = mapped_column(DateTime)


# -- the dashboard: jobs, accounts, daily aggregates ------------------------------------


class Job(Base):
    """Long work run outside a request (import, training, scoring), with its progress.

    ``status``: queued → running → done | failed | interrupted. ``active_key`` holds the
    job's conflict key (``train:reviews/linear``) while it is queued or running and is
    NULL after: being unique, it lets the database refuse a second conflicting job.
    A running job writes ``heartbeat_at`` every few seconds; one whose heartbeat stops
    (its process died) is marked ``interrupted``, never left running.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True)
    active_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    progress_done: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_total: Mapped[int | None] = mapped_column(BigInteger)
    stage: Mapped[str] = mapped_column(String(255), default="")
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)


class User(Base):
    """A dashboard account: an e-mail, an Argon2 password hash and a role."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # admin | viewer
    locale: Mapped[str | None] = mapped_column(String(16))  # None: from the browser
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebSession(Base):
    """A logged-in browser: only the SHA-256 of its cookie token is stored."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class TrafficSession(Base):
    """One shopper session as the daily aggregates count it: when and where it began (its
    earliest event, ties broken by event id) and whether it converted. ``session_key``:
    the session id (or the day, for events without one), then a hash of it with the user id
    (GA4 session ids are unique per user only; see ``shopmind.store.daily.session_key``).
    Written by the events write path (:mod:`shopmind.store.daily`), never by hand."""

    __tablename__ = "traffic_sessions"

    session_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)  # ts of the earliest event
    first_event_id: Mapped[str] = mapped_column(String(64))  # its event_id (the tie-break)
    source: Mapped[str] = mapped_column(String(255), default="")
    medium: Mapped[str] = mapped_column(String(255), default="")
    device: Mapped[str] = mapped_column(String(32), default="")
    converted: Mapped[bool] = mapped_column(Boolean, default=False)


class DailyTraffic(Base):
    """Per day and traffic source/medium/device: sessions and converted sessions (by the
    session's first event), and event counts (by each event's own day, source, medium and
    device)."""

    __tablename__ = "daily_traffic"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(255), primary_key=True)
    medium: Mapped[str] = mapped_column(String(255), primary_key=True)
    device: Mapped[str] = mapped_column(String(32), primary_key=True)
    sessions: Mapped[int] = mapped_column(BigInteger, default=0)
    converted_sessions: Mapped[int] = mapped_column(BigInteger, default=0)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    views: Mapped[int] = mapped_column(BigInteger, default=0)  # view_item
    add_to_carts: Mapped[int] = mapped_column(BigInteger, default=0)
    checkouts: Mapped[int] = mapped_column(BigInteger, default=0)  # begin_checkout
    purchases: Mapped[int] = mapped_column(BigInteger, default=0)  # purchase events
    purchase_value: Mapped[float] = mapped_column(Total, default=0.0)


class DailySales(Base):
    """Orders and revenue per day and order source/medium, from the orders table
    (cancelled orders left out)."""

    __tablename__ = "daily_sales"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(255), primary_key=True)
    medium: Mapped[str] = mapped_column(String(255), primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[float] = mapped_column(Total, default=0.0)


class DailyProduct(Base):
    """Per product and day: views and carts from events, units and revenue from orders."""

    __tablename__ = "daily_products"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    add_to_carts: Mapped[int] = mapped_column(BigInteger, default=0)
    units: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[float] = mapped_column(Total, default=0.0)

    __table_args__ = (
        Index("ix_daily_products_product_id_day", "product_id", "day"),
        # The days' rows with sales, apart from the many with views only (top products).
        Index(
            "ix_daily_products_sales",
            "day",
            "product_id",
            "units",
            "revenue",
            sqlite_where=text("units != 0 OR revenue != 0"),
            postgresql_where=text("units != 0 OR revenue != 0"),
        ),
    )


class ImportRun(Base):
    """One import (from the dashboard, the CLI or the API): what, from where, the counts."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # products | orders | events | …
    file_name: Mapped[str] = mapped_column(String(512), default="")
    status: Mapped[str] = mapped_column(String(16))  # done | failed | validated
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rejects_path: Mapped[str | None] = mapped_column(String(1024))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class AdSpend(Base):
    """Advertising spend per day and traffic source/medium/campaign, imported by the
    merchant (``shopmind import ad-spend``), for cost per acquisition and ROAS.

    ``campaign`` is ``""`` when the file names none (never NULL), so that the unique key
    holds on SQLite and PostgreSQL alike: NULLs never collide in a unique constraint."""

    __tablename__ = "ad_spend"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(255))
    medium: Mapped[str] = mapped_column(String(255))
    campaign: Mapped[str] = mapped_column(String(255), default="")
    spend: Mapped[float] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))

    __table_args__ = (UniqueConstraint("day", "source", "medium", "campaign"),)


class ContentDraft(Base):
    """One generated text for one product and task (a variant that passed every guard),
    waiting for a person: ``status`` draft → approved | rejected.

    ``product_key`` names the product: its external id for a stored product (then
    ``product_id`` is set), or the id a products file gave. ``fields`` is the task's
    fields (``{"title", "meta_description"}`` for ``seo`` …), ``scores`` its checks. The
    model and the settings that wrote it are kept; ``settings_key`` (a hash of the task,
    language, model and settings) lets a bulk run skip products done the same way.
    ``edited``: a person changed the fields after generation.
    """

    __tablename__ = "content_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    product_key: Mapped[str] = mapped_column(String(255))
    task: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    rank: Mapped[int] = mapped_column(Integer, default=0)  # 0: the best variant of its run
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    model: Mapped[str] = mapped_column(String(255), default="")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    settings_key: Mapped[str] = mapped_column(String(64))
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    decided_by: Mapped[str] = mapped_column(String(320), default="")

    __table_args__ = (
        Index("ix_content_drafts_key", "product_key", "task", "language", "settings_key"),
        Index("ix_content_drafts_status", "status", "task"),
    )


class SupportConversation(Base):
    """One shopper's conversation with the support assistant (``session_key`` is what the
    client holds). ``order_id`` is the one order this session verified (order number and
    that order's e-mail): the only order its tools may read. ``status`` open → handover
    (waiting for a person, ``handover_reason`` says why) → closed."""

    __tablename__ = "support_conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_key: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16), default="api")  # api | cli | widget
    language: Mapped[str] = mapped_column(String(16), default="en")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    handover_reason: Mapped[str | None] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    failures: Mapped[int] = mapped_column(Integer, default=0)  # unhelped turns in a row
    turns: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    closed_by: Mapped[str] = mapped_column(String(320), default="")


class SupportMessage(Base):
    """One turn of a conversation, stored redacted (e-mail, phone and card numbers masked).

    ``role`` shopper | assistant | agent. On a shopper's turn ``intent``/``confidence`` are
    the classifier's; on the assistant's, ``outcome`` says what it did (answered, declined,
    handover, verified, order_status, queued, …) and ``citations`` the passages used."""

    __tablename__ = "support_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("support_conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str | None] = mapped_column(String(32), index=True)
    citations: Mapped[list[Any]] = mapped_column(default=list)
    author: Mapped[str] = mapped_column(String(320), default="")  # the agent, for role agent
    created_at: Mapped[datetime] = mapped_column(DateTime)


class SupportRequest(Base):
    """Something only a person may do (cancel an order, change its address, refund it),
    asked for in a conversation and queued: ``status`` queued → done | declined."""

    __tablename__ = "support_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("support_conversations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))  # cancel_order | change_address | refund
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    details: Mapped[str] = mapped_column(Text, default="")  # redacted
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[str] = mapped_column(String(320), default="")
    note: Mapped[str] = mapped_column(Text, default="")


COUNTED = {
    "products": Product,
    "variants": Variant,
    "customers": Customer,
    "orders": Order,
    "events": Event,
    "reviews": Review,
    "pages": Page,
}
