"""The customer page (003: the customer's account and order history): `/customers/<id>`."""

from __future__ import annotations

from flask import Blueprint, render_template

from postsales.core.services.customers import show_customer

from .context import require, services, user

bp = Blueprint("customers", __name__)


@bp.route("/customers/<customer_id>")
def show(customer_id: str) -> str:
    """Contact, addresses and every order of the customer in the user's stores.

    A customer known only through another store's orders is "not found" (404), as an unknown
    one is (the core raises NotFound for both)."""
    require("orders.view")
    customer = show_customer(services(), user(), customer_id)
    channels = services().settings.sales_channels
    store_names = {cid: ch.name for cid, ch in channels.items()}
    return render_template("customer.html", customer=customer, store_names=store_names)
