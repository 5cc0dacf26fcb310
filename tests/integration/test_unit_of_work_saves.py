"""How the unit of work saves an order (issue 3 item 9): what changed is written, in one batch,
and a guarded ledger move that finds no room refuses the whole flush (D-1…D-4).

The example order 000000101 (shipped): line 2 is 54.00 gross, the order 118.80 captured.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest
from sqlalchemy import func, select, text

from postsales.core.bootstrap import Postsales
from postsales.core.context import ActionContext
from postsales.core.domain.orders import RefundLine
from postsales.core.domain.users import User
from postsales.core.errors import NotFound, Refused
from postsales.core.persistence import database
from postsales.core.persistence import tables as T
from postsales.core.persistence.keys import cipher_for
from postsales.core.services.actions import run_action
from postsales.core.services.refunds import create_refund
from postsales.core.services.users import get_user

D = Decimal


def order_row(app: Postsales, order_id: str) -> Any:
    with app.engine.connect() as conn:
        return conn.execute(select(T.orders).where(T.orders.c.id == order_id)).one()


def counts(app: Postsales) -> tuple[int, int, int]:
    with app.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (T.refunds, T.history, T.outbox)
        )


def line_ledger(app: Postsales, seq: int, number: int) -> int:
    with app.engine.connect() as conn:
        query = select(T.order_lines.c.refunded_minor).where(
            T.order_lines.c.order_seq == seq, T.order_lines.c.line_number == number
        )
        return conn.execute(query).scalar_one()


def ctx_for(app: Postsales, uow: Any) -> ActionContext:
    system = User("system", (), frozenset(), None, is_system=True)
    return ActionContext(app=app, uow=uow, user=system, now=app.now())


def test_billing_is_encrypted_again_only_when_it_changed(
    app: Postsales, shipped_order: str
) -> None:
    before = order_row(app, shipped_order)
    user = get_user(app, None)
    run_action(
        app, shipped_order, "return", {"lines": [2], "reason": "Damaged", "comment": "x"}, user
    )
    after_return = order_row(app, shipped_order)
    assert after_return.version > before.version  # the order was saved…
    assert after_return.billing_address_enc == before.billing_address_enc  # …not re-encrypted

    with app.uow() as uow:
        order = uow.get_order(shipped_order)
        order.billing_address = attrs.evolve(
            order.billing_address, first_name="Zoé", last_name="Martin", city="Lyon"
        )
        order.customer.email = "  Zoe.Martin@Example.COM "
        uow.commit()
    row = order_row(app, shipped_order)
    cipher = cipher_for(app.engine)
    billing = cipher.decrypt(shipped_order, row.billing_address_enc, remember=False)
    assert billing["city"] == "Lyon" and billing["first_name"] == "Zoé"
    assert row.billing_index == cipher.address_tokens(billing) != before.billing_index
    assert row.bill_to_name == "Zoé Martin"
    assert row.email_norm == "zoe.martin@example.com"
    assert row.customer_email == "  Zoe.Martin@Example.COM "
    assert row.version == after_return.version + 1


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        (
            "UPDATE order_lines SET refunded_minor = gross_minor "
            "WHERE order_seq = :s AND line_number = 2",
            "line 2: the refund would exceed what is left to refund",
        ),
        (
            "UPDATE orders SET refunded_minor = captured_minor WHERE seq = :s",
            r"the refund would exceed what is left of the captured amount \(D-4\)",
        ),
    ],
    ids=["line", "order"],
)
def test_a_guard_without_room_refuses_the_whole_flush(
    app: Postsales, shipped_order: str, sql: str, reason: str
) -> None:
    """Another writer took the room after this one read the order (here: in the same
    transaction, so that it cannot wait on the lock); the database's guard must refuse."""
    before = order_row(app, shipped_order)
    before_counts = counts(app)
    with app.uow() as uow:
        order = uow.get_order(shipped_order)
        uow.conn.execute(text(sql), {"s": order.seq})
        ctx = ctx_for(app, uow)
        create_refund(ctx, order, "RETURN", [RefundLine(2, D("10.00"))], auto_release=False)
        ctx.emit("sales.order_management.updated", {"order": order.id}, order=order)
        with pytest.raises(Refused, match=reason):
            uow.commit()
    assert counts(app) == before_counts  # no refund, history or message was kept
    assert order_row(app, shipped_order).version == before.version
    assert order_row(app, shipped_order).refunded_minor == before.refunded_minor
    assert line_ledger(app, before.seq, 2) == 0


def test_a_line_change_and_its_ledger_move_are_saved_together(
    app: Postsales, shipped_order: str
) -> None:
    seq = order_row(app, shipped_order).seq
    with app.uow() as uow:
        order = uow.get_order(shipped_order)
        ctx = ctx_for(app, uow)
        order.line(2).status_reason = "CHECKED"
        create_refund(ctx, order, "APPEASEMENT", [RefundLine(2, D("5.00"))], auto_release=False)
        uow.flush()
        uow.commit()  # nothing left to write: the flush saved it all
    with app.engine.connect() as conn:
        line = conn.execute(
            select(T.order_lines).where(
                T.order_lines.c.order_seq == seq, T.order_lines.c.line_number == 2
            )
        ).one()
    assert (line.status_reason, line.refunded_minor, line.appeased_minor) == ("CHECKED", 500, 500)
    assert order_row(app, shipped_order).refunded_minor == 500


def test_an_order_outside_the_given_stores_is_not_found_and_not_locked(
    app: Postsales, shipped_order: str
) -> None:
    with app.uow() as uow:
        with pytest.raises(NotFound, match=f"order {shipped_order} not found"):
            uow.get_order(shipped_order, channels=frozenset({"ST9"}))
        # Not locked on PostgreSQL: another writer takes the row at once.
        if app.engine.dialect.name == "postgresql":
            with app.engine.connect() as other:
                other.execute(text("SET lock_timeout = '2s'"))
                row = other.execute(
                    text("SELECT seq FROM orders WHERE id = :i FOR UPDATE"), {"i": shipped_order}
                ).first()
                assert row is not None
                other.rollback()
        assert uow.get_order(shipped_order, channels=frozenset({"ST1"})).id == shipped_order
        # Already loaded in this unit of work: still not found for other stores.
        with pytest.raises(NotFound):
            uow.get_order(shipped_order, channels=frozenset({"ST9"}))


@pytest.mark.postgres
def test_a_pooled_connection_dropped_while_idle_is_replaced_before_use(
    pg_app: Postsales, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ping on every checkout (a round trip per unit of work), but a connection that sat
    idle is checked first: one the server dropped meanwhile is replaced, not handed out."""
    app = pg_app
    with app.engine.connect() as admin:  # a second pooled connection, to drop the first
        with app.engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        admin.commit()
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    for _ in range(2):  # whichever of the two pooled connections comes out first
        with app.engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid


def test_rows_added_to_a_unit_of_work_are_kept_only_with_its_changes(
    app: Postsales, shipped_order: str
) -> None:
    def inbound(id_: str) -> dict[str, Any]:
        return {"message_id": id_, "type": "payment.refund.confirmed",
                "order_id": shipped_order, "received_at": app.now()}  # fmt: skip

    def stored() -> list[str]:
        with app.engine.connect() as conn:
            return list(conn.execute(select(T.inbound_messages.c.message_id)).scalars())

    before = stored()
    with app.uow() as uow:  # refused by a guard: the row goes with the rest
        order = uow.get_order(shipped_order)
        uow.conn.execute(
            text("UPDATE orders SET refunded_minor = captured_minor WHERE seq = :s"),
            {"s": order.seq},
        )
        create_refund(ctx_for(app, uow), order, "RETURN", [RefundLine(2, D("10.00"))])
        uow.add_rows(T.inbound_messages, [inbound("m-refused")])
        with pytest.raises(Refused):
            uow.commit()
    with app.uow() as uow:
        order = uow.get_order(shipped_order)
        create_refund(ctx_for(app, uow), order, "RETURN", [RefundLine(2, D("10.00"))])
        uow.add_rows(T.inbound_messages, [inbound("m-kept")])
        uow.commit()
    assert sorted(stored()) == sorted([*before, "m-kept"])


def test_saves_write_the_search_forms_agents_find(app: Postsales, shipped_order: str) -> None:
    """Issue 12 item 5: an order an action creates, and an order whose customer changes, are
    found by folded names and addresses, national phone numbers and SKUs in any case."""
    from postsales.core.domain.users import system_user
    from postsales.core.services.search import search_orders

    user = get_user(app, None)

    def ids(**filters: str) -> list[str]:
        return [o["id"] for o in search_orders(app, system_user(), filters).orders]

    address = {"first_name": "Zoë", "last_name": "Núñez", "address1": "12 Grünerløkka Straße"}
    out = run_action(
        app,
        shipped_order,
        "reshipment",
        {"lines": [2], "reason": "Lost", "shipping_address": address},
        user,
    )
    [child] = out.result["orders"]
    assert ids(shipping_address="grunerløkka strasse") == [child]
    assert ids(shipping_address="nunez") == [child]
    assert ids(sku="wt09-s-blk") == [child, shipped_order]

    with app.uow() as uow:
        order = uow.get_order(shipped_order)
        order.customer.last_name = "Müller-Lüdenscheidt"
        order.customer.phone = "+1 555.837.9269"
        order.lines.append(attrs.evolve(order.lines[0], line_number=99, sku="wj06-l-blk"))
        uow.commit()
    row = order_row(app, shipped_order)
    assert (row.last_name_norm, row.phone_national) == ("muller ludenscheidt", "5558379269")
    assert ids(last_name="MULLER LUDENSCHEIDT") == [shipped_order]
    assert ids(name="veronica muller") == [shipped_order]
    assert ids(telephone="(555) 837-9269") == [shipped_order]
    assert ids(sku="WJ06-L-BLK") == [shipped_order]
