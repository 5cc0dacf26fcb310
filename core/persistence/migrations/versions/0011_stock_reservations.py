"""Stock that is really reserved (issue 16 item 1)

- `stock.reserved`: the units released lines hold at a source; available = quantity - reserved.
  It moves only by guarded UPDATEs (`… WHERE quantity - reserved >= n`), like the refund
  ledgers (D-1…D-4), so two releases of the last unit cannot both get it.
- `order_lines.reserved_source_id`: the source whose stock a line holds, so that cancelling or
  shipping it gives back or consumes exactly that reservation without another read.
- `shipments (status, source_id, created_at)`: the shipments waiting for a source's stock,
  oldest first, which arriving stock assigns.

Shipments released before this revision were INVENTORY_ASSIGNED without holding anything; the
upgrade books their open product lines as reservations (a stock row at zero is made where there
was none), so every assigned shipment holds its stock afterwards, whatever it was released with.

Revision ID: 0011
Revises: 0005
Create Date: 2026-11-24 02:00:00.000000
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEX = "ix_shipments_status_source_id_created_at"
HOLDING = ("INVENTORY_ASSIGNED", "RELEASED", "PACKING")  # shipments whose stock is assigned
OPEN_LINES = ("ALLOCATED", "PICKING")  # released, not yet shipped or cancelled


def upgrade() -> None:
    op.add_column("stock", sa.Column("reserved", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("order_lines", sa.Column("reserved_source_id", sa.String(length=32)))
    op.create_index(INDEX, "shipments", ["status", "source_id", "created_at"])
    _book_existing_reservations(op.get_bind())


def downgrade() -> None:
    op.drop_index(INDEX, table_name="shipments")
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): no table rebuild, nothing else touched.
    op.execute("ALTER TABLE order_lines DROP COLUMN reserved_source_id")
    op.execute("ALTER TABLE stock DROP COLUMN reserved")


def _book_existing_reservations(conn: Any) -> None:
    meta = sa.MetaData()
    shipments = sa.Table(
        "shipments",
        meta,
        sa.Column("order_seq", sa.Integer),
        sa.Column("source_id", sa.String),
        sa.Column("status", sa.String),
        sa.Column("lines", sa.JSON),
    )
    lines = sa.Table(
        "order_lines",
        meta,
        sa.Column("order_seq", sa.Integer),
        sa.Column("line_number", sa.Integer),
        sa.Column("sku", sa.String),
        sa.Column("product_type", sa.String),
        sa.Column("status", sa.String),
        sa.Column("reserved_source_id", sa.String),
    )
    stock = sa.Table(
        "stock",
        meta,
        sa.Column("source_id", sa.String),
        sa.Column("sku", sa.String),
        sa.Column("quantity", sa.Integer),
        sa.Column("reserved", sa.Integer),
        sa.Column("updated_at", sa.DateTime),
    )
    open_lines = {
        (r.order_seq, r.line_number): r.sku
        for r in conn.execute(
            sa.select(lines.c.order_seq, lines.c.line_number, lines.c.sku).where(
                lines.c.status.in_(OPEN_LINES), lines.c.product_type == "PHYSICAL"
            )
        )
    }
    if not open_lines:
        return
    held: Counter[tuple[str, str]] = Counter()
    booked: list[dict[str, Any]] = []
    seqs = sorted({seq for seq, _ in open_lines})
    for start in range(0, len(seqs), 500):
        query = sa.select(shipments).where(
            shipments.c.status.in_(HOLDING), shipments.c.order_seq.in_(seqs[start : start + 500])
        )
        for s in conn.execute(query):
            numbers = s.lines if isinstance(s.lines, list) else []
            for n in numbers:
                sku = open_lines.pop((s.order_seq, n), None)
                if sku is not None:
                    held[(s.source_id, sku)] += 1
                    booked.append({"seq": s.order_seq, "n": n, "src": s.source_id})
    if booked:
        conn.execute(
            lines.update()
            .where(
                lines.c.order_seq == sa.bindparam("seq"),
                lines.c.line_number == sa.bindparam("n"),
            )
            .values(reserved_source_id=sa.bindparam("src")),
            booked,
        )
    now = datetime.now(UTC).replace(tzinfo=None)
    known = {(r.source_id, r.sku) for r in conn.execute(sa.select(stock.c.source_id, stock.c.sku))}
    missing = [
        {"source_id": src, "sku": sku, "quantity": 0, "reserved": 0, "updated_at": now}
        for src, sku in sorted(held)
        if (src, sku) not in known
    ]
    if missing:
        conn.execute(stock.insert(), missing)
    for (src, sku), n in sorted(held.items()):
        conn.execute(
            stock.update()
            .where(stock.c.source_id == src, stock.c.sku == sku)
            .values(reserved=stock.c.reserved + n)
        )
