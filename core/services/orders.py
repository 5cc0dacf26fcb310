"""Reading orders, always within the user's stores (SPEC §4)."""

from __future__ import annotations

from typing import Any

from ..bootstrap import Postsales
from ..documents import order_document
from ..domain.orders import Order
from ..domain.users import User
from ..errors import Forbidden, NotFound


def load_visible(uow: Any, order_id: str, user: User, *, history: bool = False) -> Order:
    """Load an order the user may see; one outside their stores is simply "not found"."""
    if not user.can("orders.view"):
        raise Forbidden("you lack the permission orders.view")
    order = uow.get_order(order_id, history=history)
    if not user.sees(order.sales_channel):
        raise NotFound(f"order {order_id} not found")
    return order


def show_order(app: Postsales, order_id: str, user: User) -> dict[str, Any]:
    with app.uow(read_only=True) as uow:
        order = load_visible(uow, order_id, user, history=True)
    return order_document(order)
