"""What an action changed in an order aggregate, as statements for the flush's batch.

An order is saved by diffing its rows against a snapshot taken when it was loaded (or last
flushed). The snapshot of the `orders` row leaves out the columns derived from the customer and
the addresses (search keys, and the billing address's AES-GCM encryption, S-6): they cost more
than the rest of the snapshot together and almost never change, so they are recomputed only
when one of their sources did.

Refund ledgers are never diffed: they move by guarded UPDATEs (`… WHERE refunded + x <= cap`,
row count checked), so a cap holds even if two writers both believed there was room (D-4). The
ledger move of a line carries that line's other changes, and the order's ledger move carries
the order's changes and its version bump: one statement per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from ..crypto import BillingCipher
from ..domain.orders import Order
from ..money import to_minor
from ..observe import current_request_id
from . import mapping as M
from . import rows as R
from . import tables as T
from .writes import Batch, Guard

Snapshot = dict[str, dict[Any, Any]]


# The columns of each child that only a guarded UPDATE moves, or that identify its row.
_FIXED = {c.name: frozenset(("order_seq", *c.keys)) | c.ledger_columns for c in M.CHILDREN}
_ORDER_LEDGER = frozenset({"refunded_minor"})  # the order's refund ledger (D-4)
_REFUND_STATUS = M.REFUNDS.watched.index("status")  # see _ledger_deltas
_BILLING = "_billing"  # the billing Address (frozen) in the snapshot, instead of its ciphertext


def snapshot_of(order: Order) -> Snapshot:
    seq = order.seq
    assert seq is not None
    head = R.order_state_row(order)
    head[_BILLING] = order.billing_address
    snapshot: Snapshot = {"orders": {seq: head}}
    for child in M.CHILDREN:
        key, state = child.key, child.state
        snapshot[child.name] = {key(item): state(item) for item in child.items(order)}
    return snapshot


def write_changes(
    batch: Batch,
    order: Order,
    old: Snapshot,
    history_loaded: int,
    ops_loaded: dict[str, int],
    *,
    billing: Callable[[], BillingCipher],
) -> Snapshot:
    """Queue the statements that bring the rows from `old` to `order`; the new snapshot.
    `billing` gives the database's billing cipher, asked if the billing address changed."""
    seq = order.seq
    assert seq is not None
    cur = order.currency
    line_delta = _ledger_deltas(order, old["refunds"])
    head = R.order_state_row(order)
    head[_BILLING] = order.billing_address
    new: Snapshot = {"orders": {seq: head}}
    changed = False
    line_changes: dict[int, dict[str, Any]] = {}
    for child in M.CHILDREN:
        before = old[child.name]
        after = new[child.name] = {}
        added = []
        fixed, key_of = _FIXED[child.name], child.key
        for item in child.items(order):
            key = key_of(item)
            state = after[key] = child.state(item)
            if key not in before:
                added.append(child.row(seq, item, cur))
            elif before[key] != state:
                changed = True
                row = child.row(seq, item, cur)
                values = {k: v for k, v in row.items() if k not in fixed}
                if child.table is T.order_lines and key in line_delta:
                    line_changes[key] = values  # sent with the line's ledger move
                    continue
                batch.update(
                    child.table, {"order_seq": seq, **{k: row[k] for k in child.keys}}, values
                )
        if child.table is T.order_lines:  # before any insert: a line added here has no row yet
            _move_line_ledgers(batch, seq, line_delta, line_changes)
        batch.insert(child.table, added)
        changed = changed or bool(added)
    new_ops = [
        R.operation_row(seq, p.reference, op, cur)
        for p in order.payments
        for op in p.operations[ops_loaded.get(p.reference, 0) :]
    ]
    batch.insert(T.payment_operations, new_ops)
    new_history = order.history[history_loaded:]
    rid = current_request_id()  # the door's request id (core/observe.py), kept with the row
    batch.insert(
        T.history, [{**M.HISTORY.row(seq, e, cur), "request_id": rid} for e in new_history]
    )
    order_diff = _order_diff(old["orders"][seq], new["orders"][seq], order, billing)
    bump = bool(order_diff or changed or new_ops or new_history)
    if bump and new_history:
        order_diff["updated_at"] = new_history[-1].at
    if line_delta:
        total = sum(d[0] for d in line_delta.values())
        guard = Guard(
            "order-ledger",
            _ORDER_SETS,
            _ORDER_WHERE,
            (total,),
            (total,),
            "the refund would exceed what is left of the captured amount (D-4)",
        )
        batch.update(T.orders, {"seq": seq}, order_diff, bump_version=bump, guard=guard)
    elif bump:
        batch.update(T.orders, {"seq": seq}, order_diff, bump_version=True)
    return new


def _move_line_ledgers(
    batch: Batch,
    seq: int,
    line_delta: dict[int, list[int]],
    line_changes: dict[int, dict[str, Any]],
) -> None:
    for number, (refunded, appeased) in sorted(line_delta.items()):
        guard = Guard(
            "line-ledger",
            _LINE_SETS,
            _LINE_WHERE,
            (refunded, appeased),
            (refunded, appeased, refunded),
            f"line {number}: the refund would exceed what is left to refund",
        )
        batch.update(
            T.order_lines,
            {"order_seq": seq, "line_number": number},
            line_changes.get(number, {}),
            guard=guard,
        )


def _ledger_deltas(order: Order, old_refunds: dict[str, tuple[Any, ...]]) -> dict[int, list[int]]:
    """Per line, the [refunded, appeased] minor units that refunds made or undid here."""
    cur = order.currency
    line_delta: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for refund in order.refunds:
        before = old_refunds.get(refund.id)
        was_active = before is not None and before[_REFUND_STATUS] != "CANCELLED"
        sign = (1 if refund.active else 0) - (1 if was_active else 0)
        if not sign:
            continue
        for rl in refund.lines:
            minor = sign * to_minor(rl.amount, cur)
            line_delta[rl.line_number][0] += minor
            if refund.kind == "APPEASEMENT":
                line_delta[rl.line_number][1] += minor
    return dict(line_delta)


# The guarded ledger moves (D-1, D-2, D-4): the cap is checked by the database, in the UPDATE.
_LINE_SETS = "refunded_minor = refunded_minor + {m}, appeased_minor = appeased_minor + {m}"
_LINE_WHERE = (
    "refunded_minor + {m} <= gross_minor AND appeased_minor + {m} <= net_minor "
    "AND refunded_minor + {m} >= 0"
)
_ORDER_SETS = "refunded_minor = refunded_minor + {m}"
_ORDER_WHERE = "refunded_minor + {m} <= captured_minor"


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any] | None:
    changed = {k: v for k, v in after.items() if k not in _ORDER_LEDGER and before.get(k) != v}
    return changed or None


def _order_diff(
    before: dict[str, Any],
    after: dict[str, Any],
    order: Order,
    billing: Callable[[], BillingCipher],
) -> dict[str, Any]:
    diff = _diff(before, after) or {}
    billing_changed = diff.pop(_BILLING, _SAME) is not _SAME
    if billing_changed or not R.DERIVED_SOURCES.isdisjoint(diff):
        diff.update(R.order_derived_row(order, billing))
    return diff


_SAME = object()
