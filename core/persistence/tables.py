"""SQLAlchemy Core tables: the schema the Alembic migrations create.

Money is stored as integer minor units (`*_minor`), times as naive UTC (see `UTCDateTime`).
The denormalised search columns on `orders` (normalised email, phone digits, names, zip) exist
so that the agent's searches of S-1 can be indexed on both SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
)

from .times import naive_utc, read_time


class UTCDateTime(TypeDecorator):
    """Stores naive UTC and hands back aware UTC datetimes, the same on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
        return naive_utc(value)

    def process_result_value(self, value, dialect):
        return read_time(value)


Money = BigInteger  # minor units

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

orders = Table(
    "orders",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("sales_channel", String(32), nullable=False),
    Column("market", String(16), nullable=False, default=""),
    Column("status", String(32), nullable=False),
    Column("status_reason", String(64)),
    Column("held_from", String(32)),
    Column("order_type", String(16), nullable=False, default="NORMAL"),
    Column("parent_order_id", String(64)),
    Column("related_order_ids", JSON, nullable=False, default=list),
    Column("client_order_reference", String(64)),
    Column("origin", String(16), nullable=False, default="WEB"),
    Column("origin_date", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("language", String(16), nullable=False, default="en_US"),
    Column("vat_country", String(8), nullable=False, default=""),
    Column("currency", String(3), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("customer_type", String(16), nullable=False),
    Column("customer_first_name", String(128), nullable=False, default=""),
    Column("customer_last_name", String(128), nullable=False, default=""),
    Column("customer_email", String(256), nullable=False, default=""),
    Column("customer_phone", String(64), nullable=False, default=""),
    # Search forms (S-1, core/domain/customers.py, core/phones.py): names and addresses as
    # folded words, the telephone as its raw digits and as its national significant number
    # read in the order's market (migration 0006).
    Column("email_norm", String(256), nullable=False, default=""),
    Column("phone_digits", String(32), nullable=False, default=""),
    Column("phone_national", String(32), nullable=False, default=""),
    Column("name_norm", String(256), nullable=False, default=""),
    Column("first_name_norm", String(128), nullable=False, default=""),
    Column("last_name_norm", String(128), nullable=False, default=""),
    Column("ship_zip", String(32), nullable=False, default=""),
    Column("ship_address_norm", String(512), nullable=False, default=""),
    # Plaintext billing address of rows written before migration 0003, which encrypted them
    # into `billing_address_enc`; always NULL since (S-6).
    Column("billing_address", JSON),
    Column("shipping_address", JSON),
    Column("shipping_method", String(64), nullable=False, default=""),
    Column("grand_total_minor", Money, nullable=False, default=0),
    Column("captured_minor", Money, nullable=False, default=0),
    # D-4 ledger: sum of non-cancelled refunds, moved only by guarded UPDATEs.
    Column("refunded_minor", Money, nullable=False, default=0),
    Column("lock_holder", String(64)),
    Column("lock_expires_at", UTCDateTime),
    Column("version", Integer, nullable=False, default=1),
    # S-6: the billing address encrypted (`b1.<key id>.<data>`, core/crypto.py), and its words
    # as keyed hashes (a JSON list) that triggers copy into `billing_tokens` for search.
    Column("billing_address_enc", Text),
    Column("billing_index", JSON),
    # The grid's "Bill to" and "Ship to" names (S-3), kept in clear like the customer's own
    # name so that a page or an export of a million rows decrypts nothing.
    Column("bill_to_name", String(256), nullable=False, default=""),
    Column("ship_to_name", String(256), nullable=False, default=""),
)
Index(None, orders.c.email_norm)
Index(None, orders.c.phone_digits)
Index(None, orders.c.phone_national)
Index(None, orders.c.ship_zip)
Index(None, orders.c.customer_last_name)
Index(None, orders.c.client_order_reference)
Index(None, orders.c.sales_channel, orders.c.seq)
Index(None, orders.c.status, orders.c.seq)
Index(None, orders.c.created_at)
Index(None, orders.c.parent_order_id)
Index(None, orders.c.customer_id)  # the customer page (0012)
# Search (issue 5): every single-value filter has an index ending in `seq`, so the grid's
# default order (newest first by arrival) reads the first page straight off the index.
Index(None, orders.c.market, orders.c.seq)
Index(None, orders.c.order_type, orders.c.seq)
Index(None, orders.c.customer_type, orders.c.seq)
Index(None, orders.c.lock_holder)
Index(None, orders.c.origin_date)
# Date range with status and store, counted and paged from the index alone.
Index(None, orders.c.created_at, orders.c.status, orders.c.sales_channel)
# Statuses within a date range (0004): only those statuses' part of the range is read.
Index(None, orders.c.status, orders.c.created_at, orders.c.sales_channel, orders.c.seq)
# An order type within a date range (0015), the same way.
Index(None, orders.c.order_type, orders.c.created_at, orders.c.sales_channel, orders.c.seq)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_seq", Integer, ForeignKey("orders.seq"), nullable=False),
    Column("line_number", Integer, nullable=False),
    Column("sku", String(64), nullable=False),
    Column("sku_norm", String(64), nullable=False, default=""),  # upper case, for search (0006)
    Column("parent_sku", String(64)),
    Column("name", String(256), nullable=False, default=""),
    Column("image_url", String(512), nullable=False, default=""),
    Column("product_type", String(16), nullable=False),
    Column("parent_line_number", Integer),
    Column("original_price_minor", Money, nullable=False),
    Column("discount_minor", Money, nullable=False),
    Column("net_minor", Money, nullable=False),
    Column("tax_minor", Money, nullable=False),
    Column("gross_minor", Money, nullable=False),
    Column("tax_rate", String(16), nullable=False, default="0"),
    Column("taxes", JSON, nullable=False, default=list),
    Column("promotions", JSON, nullable=False, default=list),
    Column("status", String(32), nullable=False),
    Column("status_reason", String(64)),
    Column("source_id", String(32)),
    # The source whose stock this line holds (0011): set with the guarded `stock.reserved` move
    # that reserved it, cleared when it is given back or shipped (docs/inventory.md).
    Column("reserved_source_id", String(32)),
    # D-1/D-2 ledgers, moved only by guarded UPDATEs (refunded <= gross, appeased <= net).
    Column("refunded_minor", Money, nullable=False, default=0),
    Column("appeased_minor", Money, nullable=False, default=0),
    PrimaryKeyConstraint("order_seq", "line_number"),
)
Index(None, order_lines.c.sku)
Index(None, order_lines.c.sku_norm, order_lines.c.order_seq)

payments = Table(
    "payments",
    metadata,
    Column("order_seq", Integer, ForeignKey("orders.seq"), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("method", String(32), nullable=False),
    Column("payment_id", String(128), nullable=False, default=""),
    Column("requested_minor", Money, nullable=False),
    Column("captured_minor", Money, nullable=False),
    PrimaryKeyConstraint("order_seq", "reference"),
)
Index(None, payments.c.payment_id)

payment_operations = Table(
    "payment_operations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_seq", Integer, ForeignKey("orders.seq"), nullable=False, index=True),
    Column("payment_reference", String(64), nullable=False),
    Column("event", String(16), nullable=False),
    Column("amount_minor", Money, nullable=False),
    Column("response", String(256), nullable=False, default=""),
    Column("at", UTCDateTime, nullable=False),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", String(96), primary_key=True),
    Column("order_seq", Integer, ForeignKey("orders.seq"), nullable=False, index=True),
    Column("source_id", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("carrier", String(64)),
    Column("tracking_number", String(128), index=True),
    Column("tracking_link", String(512)),
    Column("tracking_comment", String(512)),
    Column("box_number", String(32)),
    Column("created_at", UTCDateTime),
    Column("shipped_at", UTCDateTime),
)
Index(None, shipments.c.source_id, shipments.c.order_seq)
# The shipments waiting for a source's stock, oldest first (0011): what arriving stock assigns.
Index(None, shipments.c.status, shipments.c.source_id, shipments.c.created_at)

returns = Table(
    "returns",
    metadata,
    Column("id", String(96), primary_key=True),
    Column("order_seq", Integer, ForeignKey("orders.seq"), nullable=False, index=True),
    Column("status", String(32), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("reason", String(128), nullable=False, default=""),
    Column("comment", Text, nullable=False, default=""),
    Column("source_id", String(32)),
    Column("refunds", Boolean, nullable=False, default=True),
    Column("needs_approval_reason", String(256)),
    Column("related_order_id", String(64)),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
Index(None, returns.c.status)
Index(None, returns.c.status, returns.c.order_seq)
Index(None, returns.c.created_at)  # the dashboard's periods (0004)

refunds = Table(
    "refunds",
    metadata,
    Column("id", String(96), primary_key=True),
    Column("order_seq", Integer, ForeignKey("orders.seq"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("amount_minor", Money, nullable=False),
    Column("lines", JSON, nullable=False),  # [[line_number, amount_minor], ...]
    Column("return_id", String(96)),
    Column("payment_reference", String(64)),
    Column("credit_note", String(64)),
    Column("reason", String(128), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("gateway_response", String(256)),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime),
    Column("gateway_mismatch", Text),  # a refused confirmation's difference (0008)
)
Index(None, refunds.c.kind, refunds.c.status)
Index(None, refunds.c.kind, refunds.c.status, refunds.c.order_seq)
Index(None, refunds.c.status, refunds.c.order_seq)
Index(None, refunds.c.created_at)  # the dashboard's periods (0004)

history = Table(
    "history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_seq", Integer, ForeignKey("orders.seq"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(96), nullable=False),
    Column("kind", String(48), nullable=False),
    Column("summary", Text, nullable=False),
    Column("payload", JSON, nullable=False, default=dict),
    Column("request_id", String(64)),  # the web request or message that wrote it (0012)
)
Index(None, history.c.order_seq, history.c.id)

outbox = Table(
    "outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(96), nullable=False, unique=True),
    Column("type", String(128), nullable=False),
    Column("order_id", String(64)),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("request_id", String(64)),  # the web request or message that caused it (0012)
)
Index(None, outbox.c.sent_at, outbox.c.seq)

inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("message_id", String(191), primary_key=True),
    Column("type", String(128), nullable=False),
    Column("order_id", String(64)),
    Column("received_at", UTCDateTime, nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(191)),
    Column("type", String(128)),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("parent_sku", String(64), index=True),
    Column("name", String(256), nullable=False),
    Column("image_url", String(512), nullable=False, default=""),
    Column("product_type", String(16), nullable=False, default="PHYSICAL"),
    Column("prices", JSON, nullable=False, default=dict),  # {channel: "amount"}
    Column("updated_at", UTCDateTime, nullable=False),
)

stock = Table(
    "stock",
    metadata,
    Column("source_id", String(32), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),  # on hand, as the source reports it
    # Units held by released lines (0011), moved only by guarded UPDATEs
    # (`reserved + n <= quantity` to reserve); available = quantity - reserved.
    Column("reserved", Integer, nullable=False, default=0),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("source_id", "sku"),
)
Index(None, stock.c.sku)

customers = Table(
    "customers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("type", String(16), nullable=False),
    Column("first_name", String(128), nullable=False, default=""),
    Column("last_name", String(128), nullable=False, default=""),
    Column("email", String(256), nullable=False, default=""),
    Column("email_norm", String(256), nullable=False, default="", index=True),
    Column("phone", String(64), nullable=False, default=""),
    Column("addresses", JSON, nullable=False, default=list),
    Column("updated_at", UTCDateTime, nullable=False),
)

# A user's id, never reused (AUTOINCREMENT on SQLite too), is what sessions and tokens belong
# to: a user removed and made again under the same name gets none of the old ones.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("password_hash", String(256)),
    Column("roles", JSON, nullable=False),
    Column("timezone", String(64), nullable=False, default="UTC"),
    # What outbound messages name as the acting user (seed 002: `"user": "you@youremail.com"`).
    Column("email", String(254)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_sign_in_at", UTCDateTime),
    Column("disabled_at", UTCDateTime),  # NULL: may sign in and use tokens
    Column("disabled_by", String(64)),
    sqlite_autoincrement=True,
)

# API bearer tokens (issue 17 item 7): only the SHA-256 is kept. `scope` is NULL (the user's
# permissions), "read" or a list of permissions, always within the user's own.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("name", String(64), nullable=False),
    Column("scope", JSON),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("revoked_by", String(64)),
    Column("last_used_at", UTCDateTime),
    sqlite_autoincrement=True,
)

# Signed-in web sessions (issue 17 item 4): the cookie holds a random id, this table its
# SHA-256, so signing out, a password change or disabling the user ends it on every host.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False, index=True),
)

# Failed sign-ins of the last window, shared by every worker and host (issue 17 item 8): what
# the throttle of `core/services/sign_in.py` counts. `username` is the name as typed, folded.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("username", String(64), nullable=False),
    Column("address", String(64), nullable=False),
)
Index(None, sign_in_failures.c.username, sign_in_failures.c.at)
Index(None, sign_in_failures.c.address, sign_in_failures.c.at)

# Stripe-style idempotency for API action POSTs: the first response is kept and replayed.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_name", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer),  # written with the effect; NULL only in rows of old versions
    Column("response", JSON),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("user_name", "key"),
)
Index(None, idempotency_keys.c.created_at)

# Who did what that is not an order change: sign-in failures, access refusals, exports.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(96), nullable=False),
    Column("kind", String(48), nullable=False),
    Column("detail", JSON, nullable=False, default=dict),
)
Index(None, audit_log.c.kind, audit_log.c.at)
Index(None, audit_log.c.at)  # the log read newest first without a kind (0012)

# S-6 blind index: one row per distinct keyed hash of a billing-address word. Filled by
# triggers from `orders.billing_index` (migration 0003), so every writer stays as it is.
billing_tokens = Table(
    "billing_tokens",
    metadata,
    Column("token_hash", BigInteger, nullable=False),
    Column("order_seq", Integer, nullable=False),
    PrimaryKeyConstraint("token_hash", "order_seq"),
    sqlite_with_rowid=False,
)
Index(None, billing_tokens.c.order_seq)

# Per-user choices of the web app, such as the grid's columns (S-3).
user_preferences = Table(
    "user_preferences",
    metadata,
    Column("user_name", String(64), nullable=False),
    Column("key", String(64), nullable=False),
    Column("value", JSON, nullable=False),
    PrimaryKeyConstraint("user_name", "key"),
)

# Dialect-specific search objects made by hand in migration 0003: SQLite FTS5 tables (with
# their shadow tables) and PostgreSQL trigram and pattern indexes. SQLAlchemy cannot declare
# them, so Alembic's comparisons (env.py, tests) skip them by name.
HAND_MADE_PREFIXES = ("orders_fts", "comments_fts")
HAND_MADE_INDEXES = frozenset(
    {
        "ix_orders_name_norm_trgm",
        "ix_orders_ship_address_norm_trgm",
        "ix_history_comment_trgm",
        "ix_orders_id_pattern",
        "ix_orders_seq_text",
    }
)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic `include_name` hook: leave the hand-made search objects alone."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(HAND_MADE_PREFIXES)
    if type_ == "index":
        return name not in HAND_MADE_INDEXES
    return True
