"""Reading orders, always within the user's stores (SPEC §4)."""

from __future__ import annotations

from typing import Any

from ..bootstrap import Postsales
from ..documents import order_document
from ..domain.orders import Order
from ..domain.users import User
from ..errors import Forbidden
from . import inventory


def load_visible(uow: Any, order_id: str, user: User, *, history: bool = False) -> Order:
    """Load an order the user may see; one outside their stores is simply "not found".

    The unit of work checks the store on the order row before it reads or locks anything else:
    an order in another store then costs what an unknown one costs, so neither the answer nor
    its timing tells the two apart."""
    if not user.can("orders.view"):
        raise Forbidden("you lack the permission orders.view")
    return uow.get_order(order_id, history=history, channels=user.channels)


def show_order(app: Postsales, order_id: str, user: User) -> dict[str, Any]:
    """The order document, with `stock`: on hand, reserved and available of its SKUs."""
    with app.uow(read_only=True) as uow:
        order = load_visible(uow, order_id, user, history=True)
        return with_stock(app, uow, order)


def with_stock(app: Postsales, uow: Any, order: Order) -> dict[str, Any]:
    """The order document and, under `stock`, its product SKUs at the channel's sources and
    those its lines ship from (one indexed read)."""
    channel = app.settings.sales_channels.get(order.sales_channel)
    document = order_document(order)
    document["stock"] = inventory.order_stock(uow, order, channel.sources if channel else ())
    return document
