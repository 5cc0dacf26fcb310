"""How selective a search is, from the fields it names: hints for the planner of
`query.make_plan` (which index leads, whether the store is read from the row), never needed
for a result to be right."""

from __future__ import annotations

from typing import Any

# Fields that usually match many orders; any other field makes a search "selective". Dates
# count as selective: an agent's date range is days or weeks, and reading it off the time
# index beats walking a status through every order of the store (measured: 400 ms → 5 ms).
BROAD = frozenset(
    {"sales_channel", "market", "status", "order_type", "requested_to", "customer_type"}
)


DATES = frozenset({"from_date", "to_date", "created_at"})
# `purchased_*` are not in DATES: the `(status, created_at, …)` index does not serve them.


def is_selective(filters: Any, expression: Any, also_broad: frozenset[str] = frozenset()) -> bool:
    """Whether a search names a field that usually matches few orders (a planner hint only)."""
    broad = BROAD | also_broad
    if any(v and name not in broad for name, v in (filters or {}).items()):
        return True
    return any(name not in broad for name in _expression_fields(expression))


# Fields that are `orders.seq IN (…)` over a child table or an index of their own.
BY_SEQ = frozenset(
    {
        "appeasement_status",
        "return_status",
        "sku",
        "tracking_number",
        "payment_reference",
        "return_id",
        "billing_address",
        "q",
    }
)


TEXT_FIELDS = frozenset({"name", "shipping_address", "first_name", "last_name"})


def text_search(filters: Any) -> bool:
    """Whether the filters hold a partial name or address (a trigram search)."""
    return any(v and name in TEXT_FIELDS for name, v in (filters or {}).items())


def by_seq(filters: Any, expression: Any) -> bool:
    """Whether the selective part of a search is only `seq IN (…)` lists (return status, SKU…).
    Their total is counted through `(sales_channel, seq)`, store and `seq` from the index, with
    no order row read (3x cheaper); their page keeps the store demoted, so that the list is
    read in `seq` order and stops after a page."""
    return is_selective(filters, expression) and not is_selective(filters, expression, BY_SEQ)


def by_time(filters: Any, expression: Any) -> bool:
    """Whether a time range is the only selective part of a search (with broad fields such as
    status and store): then the `(status, created_at, …)` index serves it, and the status must
    stay visible to SQLite's planner."""
    return is_selective(filters, expression) and not is_selective(filters, expression, DATES)


def _expression_fields(node: Any, depth: int = 0) -> list[str]:
    if depth > 20 or not isinstance(node, dict):
        return []
    args = node.get("args")
    if not isinstance(args, list):
        return []
    if node.get("exp") == "not":
        return []  # "not this email" is not selective
    if node.get("exp") == "field":
        first = args[0] if args else None
        name = first.get("value") if isinstance(first, dict) else first
        return [name] if isinstance(name, str) else []
    return [n for a in args for n in _expression_fields(a, depth + 1)]
