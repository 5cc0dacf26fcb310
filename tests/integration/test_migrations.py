"""`postsales init` builds exactly the schema the code declares, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from postsales.core.bootstrap import Postsales
from postsales.core.persistence import tables as T
from postsales.core.persistence.migrate import current_revision, head_revision, upgrade


def test_migrations_match_the_declared_tables(app: Postsales) -> None:
    with app.engine.connect() as conn:
        # The hand-made search objects of 0003 (FTS5 tables, pg_trgm indexes) are skipped.
        context = MigrationContext.configure(conn, opts={"include_name": T.include_name})
        diff = compare_metadata(context, T.metadata)
    assert diff == []


def test_upgrade_is_idempotent(app: Postsales) -> None:
    before = current_revision(app.engine)
    assert upgrade(app.engine) == (before, before)


def test_search_indexes_of_0004_go_and_come_back(app: Postsales) -> None:
    """0004 only adds indexes: down to 0003 and up again leaves the declared schema, and on
    SQLite the search triggers of 0003 survive (no table was rebuilt)."""
    from alembic import command

    from postsales.core.persistence.migrate import alembic_config

    def indexes() -> set[str]:
        with app.engine.connect() as conn:
            names = set()
            for table in ("orders", "returns", "refunds"):
                names |= {i["name"] for i in inspect(conn).get_indexes(table)}
            return names

    added = {
        "ix_orders_status_created_at_sales_channel_seq",
        "ix_returns_created_at",
        "ix_refunds_created_at",
    }
    assert added <= indexes()
    cfg = alembic_config(app.engine)
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    assert not added & indexes()
    assert upgrade(app.engine)[1] == head_revision()
    assert added <= indexes()
    test_migrations_match_the_declared_tables(app)
    if app.engine.dialect.name == "sqlite":
        with app.engine.connect() as conn:
            triggers = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            ).scalars()
            assert {"orders_search_ai", "orders_search_ad", "orders_search_au"} <= set(triggers)


def test_text_walk_index_of_0005_on_postgresql_only(app: Postsales) -> None:
    """0005 adds the covering index of the PostgreSQL partial-text walk; down and up again
    removes and restores it; SQLite (FTS5) gets nothing."""
    from alembic import command

    from postsales.core.persistence.migrate import alembic_config

    def has_index() -> bool:
        with app.engine.connect() as conn:
            return "ix_orders_seq_text" in {i["name"] for i in inspect(conn).get_indexes("orders")}

    postgres = app.engine.dialect.name == "postgresql"
    assert has_index() is postgres
    cfg = alembic_config(app.engine)
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    assert not has_index()
    upgrade(app.engine)
    assert has_index() is postgres
    test_migrations_match_the_declared_tables(app)


def test_stock_reservations_of_0011_go_and_come_back_with_what_was_released(
    app: Postsales,
) -> None:
    """0011 adds `stock.reserved` and `order_lines.reserved_source_id`; down to 0005 removes
    them, and up again books the open lines of assigned shipments as reservations (a shipment
    released before 0011 holds its stock afterwards; a waiting or shipped one holds nothing)."""
    from alembic import command

    from postsales.core.persistence.migrate import alembic_config
    from postsales.core.services.actions import run_action
    from postsales.core.services.orders import show_order
    from postsales.core.services.users import get_user
    from tests.integration.stock_orders import feed, order_message, stock_message, stock_row

    def columns(table: str) -> set[str]:
        with app.engine.connect() as conn:
            return {c["name"] for c in inspect(conn).get_columns(table)}

    system = get_user(app, None)
    feed(app, stock_message("SOU1", "MJ01-M-RED", 2), order_message("A"), order_message("B"))
    feed(app, order_message("C"), order_message("D"), stock_message("SOU1", "WT09-S-BLK", 0))
    for order_id in ("A", "B", "C"):
        run_action(app, order_id, "release", {}, system)
    run_action(app, "B", "ship", {"shipment_id": "ST1-B-01", "carrier": "UPS",
                                  "tracking_number": "1Z"}, system)  # fmt: skip
    assert stock_row(app) == (1, 1)
    cfg = alembic_config(app.engine)
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    assert "reserved" not in columns("stock")
    assert "reserved_source_id" not in columns("order_lines")
    assert upgrade(app.engine)[1] == head_revision()
    test_migrations_match_the_declared_tables(app)
    # A is assigned and open: booked again. B shipped, C waits: nothing.
    assert stock_row(app) == (1, 1)
    held = {o: [ln["reserved_source_id"] for ln in show_order(app, o, system)["lines"]]
            for o in ("A", "B", "C", "D")}  # fmt: skip
    assert held == {"A": ["SOU1"], "B": [None], "C": [None], "D": [None]}


def test_the_start_up_check_and_config_check_read_the_revision_on_both_databases(
    app: Postsales,
) -> None:
    """`ensure_current` (every command) and `database_status` (`config check`) read
    `alembic_version` themselves, without Alembic: ready at head, refused behind it."""
    from sqlalchemy import text

    from postsales.core.errors import Unavailable
    from postsales.core.persistence.migrate import head_revision
    from postsales.core.services.schema import database_status, ensure_current

    url = app.engine.url.render_as_string(hide_password=False)
    ensure_current(app)
    assert database_status(url).state == "ready"
    with app.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0004'"))
    try:
        with pytest.raises(Unavailable, match=f"is at revision 0004, not {head_revision()}"):
            ensure_current(app)
        assert database_status(url).state == "behind"
    finally:
        with app.engine.begin() as conn:
            back = text("UPDATE alembic_version SET version_num = :v")
            conn.execute(back, {"v": head_revision()})


def test_0006_folds_the_search_forms_of_existing_orders_and_goes_back(app: Postsales) -> None:
    """0006 rewrites the search forms of the orders already stored (folded names and
    addresses, national phone numbers, SKUs in upper case) and the SQLite FTS5 table over
    them; down to 0005 gives 0005's forms back, and up again finds what agents type."""
    from alembic import command
    from sqlalchemy import text

    from postsales.core.domain.users import system_user
    from postsales.core.persistence.migrate import alembic_config
    from postsales.core.services.messages.inbound import import_lines
    from postsales.core.services.search import search_orders
    from tests.conftest import import_examples, message_line

    import_examples(app, "order-create.json")
    cfg = alembic_config(app.engine)
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    sqlite = app.engine.dialect.name == "sqlite"
    with app.engine.begin() as conn:
        row = conn.execute(text("SELECT * FROM orders")).mappings().one()
        assert row["name_norm"] == "veronica costello"  # 0005's form: lower case only
        assert "phone_national" not in row and "last_name_norm" not in row
        assert ", " in row["ship_address_norm"]
        line = conn.execute(text("SELECT * FROM order_lines LIMIT 1")).mappings().one()
        assert "sku_norm" not in line
        names = {i["name"] for i in inspect(conn).get_indexes("order_lines")}
        assert "ix_order_lines_sku_order_seq" in names
        assert "ix_order_lines_sku_norm_order_seq" not in names
        # An order as 0005 stored it: what agents could not find.
        conn.execute(
            text(
                "UPDATE orders SET customer_last_name = 'Müller', name_norm = 'veronica müller', "
                "customer_phone = '+1 555.837.9269', phone_digits = '15558379269'"
            )
        )
        conn.execute(text("UPDATE order_lines SET sku = lower(sku)"))
        if sqlite:  # 0005's FTS5 table follows the update (its trigger)
            hits = conn.execute(
                text("SELECT count(*) FROM orders_fts WHERE name_norm GLOB '*müller*'")
            )
            assert hits.scalar_one() == 1
    assert upgrade(app.engine)[1] == head_revision()
    test_migrations_match_the_declared_tables(app)
    if not sqlite:  # the trigram and walk indexes, set aside while the rows were rewritten
        with app.engine.connect() as conn:
            names = {i["name"] for i in inspect(conn).get_indexes("orders")}
        assert {"ix_orders_name_norm_trgm", "ix_orders_seq_text"} <= names
    with app.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM orders")).mappings().one()
        skus = set(conn.execute(text("SELECT sku_norm FROM order_lines")).scalars())
    assert (row["name_norm"], row["first_name_norm"], row["last_name_norm"]) == (
        "veronica muller",
        "veronica",
        "muller",
    )
    assert row["phone_national"] == "5558379269" and row["phone_digits"] == "15558379269"
    assert "," not in row["ship_address_norm"] and "honey bluff" in row["ship_address_norm"]
    assert "MJ01-M-RED" in skus and all(s == s.upper() for s in skus)
    user = system_user()

    def ids(**filters: str) -> list[str]:
        return [o["id"] for o in search_orders(app, user, filters).orders]

    for filters in (
        {"last_name": "MULLER"},
        {"name": "%müller"},
        {"telephone": "555-837-9269"},
        {"sku": "Mj01-m-red"},
        {"shipping_address": "honey bluff"},
        {"billing_address": "Honey Bluff"},  # 0003's billing triggers were left alone
    ):
        assert ids(**filters) == ["000000101"], filters
    # The triggers made again keep the FTS5 table and the billing tokens of a new order.
    second = message_line("order-create.json", id="msg-0006").replace("000000101", "000000102")
    assert not import_lines(app, [second]).refused
    assert ids(name="costello") == ["000000102"]
    assert ids(billing_address="Honey Bluff") == ["000000102", "000000101"]
    assert ids(name="%muller") == ["000000101"]


def test_0016_moves_a_return_dated_before_its_order_to_the_orders_time(app: Postsales) -> None:
    """A return recorded before this release by a host whose clock ran behind is dated at its
    order's time, so a range's count by the returns since its start finds it (issue 18)."""
    from alembic import command

    from postsales.core.persistence.migrate import alembic_config
    from postsales.core.services.actions import run_action
    from postsales.core.services.orders import show_order
    from postsales.core.services.users import get_user
    from tests.conftest import import_examples

    system = get_user(app, None)
    import_examples(app, "order-create.json", "shipment-shipped.json")
    run_action(app, "000000101", "return", {"lines": [2], "reason": "Too small", "comment": "x"},
               system)  # fmt: skip
    ordered = datetime.fromisoformat(show_order(app, "000000101", system)["created_at"])
    early = ordered - timedelta(minutes=5)
    cfg = alembic_config(app.engine)
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0015")
        conn.execute(T.returns.update().values(created_at=early))
    assert upgrade(app.engine)[1] == head_revision()
    returned = show_order(app, "000000101", system)["returns"][0]
    assert datetime.fromisoformat(returned["created_at"]) == ordered
