"""The dashboard and the admin pages through Flask's test client (issue 6 item 5): charts drawn
as SVG on the server, counts scoped to the user's stores, `config.view` for config, plugins and
state machines (SPEC §4, §10 W)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from postsales.adapters.web import create_app
from postsales.adapters.web.charts import column_chart, hbar_chart, nice_max, transition_chart
from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.errors import BadInput, Forbidden
from postsales.core.machines import ORDER as ORDER_MACHINE
from postsales.core.machines import REFUND
from postsales.core.services.actions import run_action
from postsales.core.services.dashboard import dashboard
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.users import add_user, get_user
from tests.conftest import ROOT, example, import_examples

ORDER = "000000101"  # ST1, USD, shipped by the example messages
ORDER_DE = "000000202"  # a copy in ST2, EUR, still NEW
PASSWORD = "password-123"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def sign_in(client: FlaskClient, name: str) -> None:
    client.get("/login")
    with client.session_transaction() as sess:
        token = sess["csrf"]
    form = {"username": name, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=form).status_code == 302


def import_de_order(services: Postsales) -> None:
    """The example order again, as another order of the German store."""
    message = example("order-create.json")
    message["id"] = "msg-de-copy"
    order = message["payload"]["order"]
    order.update(id=ORDER_DE, sales_channel_id="ST2", currency="EUR")
    report = import_lines(services, [json.dumps(message)])
    assert not report.refused, report.refused


def write_config(tmp_path: Path) -> str:
    """The packaged config plus a German-store agent and a German-store admin."""
    config = yaml.safe_load((ROOT / "config" / "postsales.yaml").read_text())
    config["roles"]["de_agent"] = {"permissions": ["orders.view"], "sales_channels": ["ST2"]}
    config["roles"]["de_admin"] = {
        "permissions": ["orders.view", "config.view"],
        "sales_channels": ["ST2"],
    }
    config["roles"]["commenter"] = {"permissions": ["order.comment"], "sales_channels": "*"}
    path = tmp_path / "postsales.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture
def services(sqlite_app: Postsales, tmp_path: Path) -> Postsales:
    """Two orders (ST1 shipped, with a return and an appeasement; ST2 new) and five users."""
    services = bootstrap(write_config(tmp_path), str(sqlite_app.engine.url))
    services.clock = lambda: NOW
    import_examples(services, "order-create.json", "shipment-shipped.json")
    import_de_order(services)
    system = get_user(services, None)
    params = {"lines": [2], "reason": "Changed mind", "comment": "Too tight"}
    run_action(services, ORDER, "return", params, system)
    params = {"line": 1, "amount": "10.00", "reason": "Late delivery", "comment": "sorry"}
    run_action(services, ORDER, "appeasement", params, system)
    for name, role in [
        ("anna", "agent"),
        ("ada", "admin"),
        ("dieter", "de_agent"),
        ("dora", "de_admin"),
        ("carl", "commenter"),
    ]:
        add_user(services, name, [role], PASSWORD)
    yield services
    services.engine.dispose()


@pytest.fixture
def web(services: Postsales) -> Flask:
    app = create_app(services, secret_key="test-secret-key")
    app.config["TESTING"] = True
    return app


def client_for(web: Flask, name: str) -> FlaskClient:
    client = web.test_client()
    sign_in(client, name)
    return client


def no_inline_styles_or_scripts(html: str) -> None:
    """The CSP (`style-src 'self'`, no script source) would block both in a browser."""
    assert not re.search(r"\sstyle=", html)
    assert "<script" not in html


# -- the dashboard --------------------------------------------------------------------------


def test_dashboard_draws_three_accessible_charts(web: Flask) -> None:
    response = client_for(web, "anna").get("/dashboard")
    assert response.status_code == 200
    html = response.text
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    no_inline_styles_or_scripts(html)
    for chart in ("chart-refunds", "chart-reasons", "chart-status"):
        svg = html.split(f'id="{chart}"', 1)[1].split("</svg>", 1)[0]
        assert 'role="img"' in svg and f'aria-labelledby="{chart}-title {chart}-desc"' in svg
        assert f'<title id="{chart}-title">' in svg and f'<desc id="{chart}-desc">' in svg
    assert html.count('<details class="numbers">') == 3  # the numbers behind every chart
    assert '<th scope="row">Changed mind</th><td class="num">1</td>' in html
    assert '<th scope="row">SHIPPED</th><td class="num">1</td>' in html
    assert '<th scope="row">NEW</th><td class="num">1</td>' in html
    # The return's refund and the appeasement, both today, in USD.
    assert '<th scope="row">Fri 2026-11-20</th>' in html
    assert "Return refunds" in html and "Appeasements" in html
    assert 'href="/dashboard"' in html  # the nav links to it


def test_dashboard_counts_only_the_users_stores(web: Flask, services: Postsales) -> None:
    everyone = dashboard(services, get_user(services, "anna"))
    assert everyone.orders_by_status == [("NEW", 1), ("SHIPPED", 1)]
    assert everyone.returns_by_reason == [("Changed mind", 1)]
    assert everyone.refunds_total == 2 and everyone.currencies == ("USD",)
    assert everyone.refunds_by_kind == {"RETURN": 1, "APPEASEMENT": 1}

    german = dashboard(services, get_user(services, "dieter"))
    assert german.channels == ("ST2",)
    assert german.orders_by_status == [("NEW", 1)]
    assert german.returns_by_reason == [] and german.refunds_total == 0
    assert german.currencies == () and german.refund_amounts == {}

    html = client_for(web, "dieter").get("/dashboard").text
    assert "Your stores: Luma DE (ST2)" in html
    assert '<th scope="row">SHIPPED</th>' not in html and "Changed mind" not in html
    assert "USD" not in html
    assert "<div><span>Orders</span><strong>1</strong></div>" in html


def test_dashboard_queries_run_on_both_databases(app: Postsales, shipped_order: str) -> None:
    app.clock = lambda: NOW
    system = get_user(app, None)
    params = {"lines": [1, 2], "reason": "Damaged", "comment": "torn"}
    run_action(app, shipped_order, "return", params, system)
    data = dashboard(app, system, days=7)
    assert data.orders_by_status == [("SHIPPED", 1)]
    assert data.returns_by_reason == [("Damaged", 1)]
    assert data.refunds_per_day[-1].day == NOW.date() and data.refunds_total == 1
    assert data.refund_amounts["USD"] > 0


def test_dashboard_days_follow_the_users_time_zone(services: Postsales) -> None:
    user = get_user(services, "anna")
    late = datetime(2026, 11, 19, 23, 30, tzinfo=UTC)  # Nov 20 in Berlin, Nov 19 in New York
    services.clock = lambda: late
    run_action(services, ORDER, "appeasement", {"line": 1, "amount": "1.00", "reason": "x"}, user)
    services.clock = lambda: NOW
    by_zone = {}
    for zone in ("Europe/Berlin", "America/New_York"):
        zoned = type(user)(user.name, user.roles, user.permissions, user.channels, zone)
        data = dashboard(services, zoned, days=7)
        by_zone[zone] = {d.day: d.count for d in data.refunds_per_day if d.count}
        assert len(data.refunds_per_day) == 7 and data.timezone == zone
    assert by_zone["Europe/Berlin"] == {date(2026, 11, 20): 3}
    assert by_zone["America/New_York"] == {date(2026, 11, 19): 1, date(2026, 11, 20): 2}


def test_dashboard_amounts_per_currency(services: Postsales) -> None:
    data = dashboard(services, get_user(services, "ada"), days=90)
    assert data.days == 90 and len(data.refunds_per_day) == 90
    assert data.refund_amounts == {"USD": data.refunds_per_day[-1].amounts["USD"]}
    assert data.refunds_per_day[-1].amounts["USD"] > 10  # the return's refund and 10.00


def test_dashboard_refuses_bad_periods_and_missing_permission(
    web: Flask, services: Postsales
) -> None:
    client = client_for(web, "anna")
    for query in ("days=5", "days=abc", "days=-1"):
        response = client.get(f"/dashboard?{query}")
        assert response.status_code == 400 and "days: expected" in response.text
    assert client.get("/dashboard?days=7").status_code == 200
    with pytest.raises(BadInput):
        dashboard(services, get_user(services, "anna"), days=31)

    carl = client_for(web, "carl")  # may comment, may not view orders
    response = carl.get("/dashboard")
    assert response.status_code == 403 and "orders.view" in response.text
    assert 'href="/dashboard"' not in response.text
    with pytest.raises(Forbidden):
        dashboard(services, get_user(services, "carl"))


def test_dashboard_needs_a_session(web: Flask) -> None:
    response = web.test_client().get("/dashboard")
    assert response.status_code == 302 and "/login?next=/dashboard" in response.headers["Location"]


# -- admin pages ----------------------------------------------------------------------------

ADMIN_PAGES = ("/admin", "/admin/config", "/admin/plugins", "/admin/machines")


@pytest.mark.parametrize("name", ["anna", "dieter", "carl"])
def test_admin_pages_need_config_view(web: Flask, name: str) -> None:
    client = client_for(web, name)
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "config.view" in response.text and "Not allowed" in response.text
    assert client.get("/admin/nothing-here").status_code == 404
    assert 'href="/admin/config"' not in client.get("/orders").text


def test_admin_pages_render_for_admins(web: Flask) -> None:
    client = client_for(web, "ada")
    assert client.get("/admin").headers["Location"] == "/admin/config"
    for url in ADMIN_PAGES[1:]:
        response = client.get(url)
        assert response.status_code == 200, url
        no_inline_styles_or_scripts(response.text)
        assert 'aria-current="page">' in response.text
    assert 'href="/admin/config"' in client.get("/orders").text


def test_config_shows_effective_settings_with_their_origin(web: Flask) -> None:
    html = client_for(web, "ada").get("/admin/config").text
    st2 = html.split('id="channel-ST2"', 1)[1].split("</section>", 1)[0]
    assert "Luma DE" in st2 and "Europe/Berlin" in st2 and "Berlin warehouse" in st2
    row = st2.split('<th scope="row" class="mono">shipping_refund_rule</th>', 1)[1]
    row = row.split("</tr>", 1)[0]
    assert "onLast" in row and "postsales.yaml" in row  # set by the file
    row = st2.split('<th scope="row" class="mono">lock_minutes</th>', 1)[1].split("</tr>", 1)[0]
    assert "30" in row and ">default<" in row  # nobody set it
    roles = html.split('id="h-roles"', 1)[1]
    assert "de_agent" in roles and "config.view" in roles


def test_config_shows_only_the_users_stores(web: Flask) -> None:
    html = client_for(web, "dora").get("/admin/config").text
    assert 'id="channel-ST2"' in html and 'id="channel-ST1"' not in html
    assert "Luma US" not in html


def test_plugins_lists_what_each_plugin_provides(web: Flask, services: Postsales) -> None:
    html = client_for(web, "ada").get("/admin/plugins").text
    for info in services.registry.plugins:
        assert f'id="plugin-{info.name}"' in html
    cancel = html.split('id="plugin-cancel"', 1)[1].split("</tr>", 1)[0]
    assert "postsales" in cancel and "postsales.plugins.actions.cancel" in cancel
    assert '<span class="tag">action</span> <span class="mono">cancel</span>' in cancel
    rules = html.split('id="h-rules"', 1)[1]
    assert "shipping_refund_rule" in rules and "refund_caps" in rules
    assert 'id="h-gateways"' in html


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/dashboard", "Dashboard"),
        ("/admin/config", "Configuration"),
        ("/admin/plugins", "Plugins"),
        ("/admin/machines", "State machines"),
    ],
)
def test_admin_pages_have_a_plain_tab_title(web: Flask, path: str, title: str) -> None:
    """The browser tab shows the page's name, never markup pasted into the title block."""
    html = client_for(web, "ada").get(path).text
    (tab,) = re.findall(r"<title>(.*?)</title>", html.split("</head>", 1)[0], flags=re.S)
    assert tab.strip() == f"{title} · Postsales"


def test_machines_are_drawn_tabled_and_given_as_mermaid(web: Flask) -> None:
    html = client_for(web, "ada").get("/admin/machines").text
    for name in ("order", "line", "shipment", "return", "refund"):
        section = html.split(f'id="machine-{name}"', 1)[1].split("</section>", 1)[0]
        assert f'<title id="svg-{name}-title">' in section and 'role="img"' in section
        assert '<pre class="mermaid-src mono">stateDiagram-v2' in section
    order = html.split('id="machine-order"', 1)[1].split("</section>", 1)[0]
    assert "ONHOLD --&gt; NEW : release_hold [held from NEW]" in order
    assert (
        '<tr><td class="mono">ONHOLD</td><td class="mono">release_hold</td>'
        '<td class="mono">NEW</td><td class="small">held from NEW</td></tr>'
    ) in order


# -- chart geometry -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (250, 500), (1000, 1000)]
)
def test_axis_tops_are_round(value: int, top: int) -> None:
    assert nice_max(value) == top


def test_bars_scale_to_the_largest_value() -> None:
    chart = hbar_chart([("NEW", 5), ("SHIPPED", 10), ("CLOSED", 0)], plot_width=400)
    assert [b.width for b in chart.bars] == [200.0, 400.0, 0.0]
    assert chart.total == 15 and chart.bars[0].key == "new"


def test_columns_stack_and_label_the_newest_day() -> None:
    days: list[tuple[date, dict[str, Any]]] = [
        (date(2026, 11, d), {"RETURN": d % 3, "APPEASEMENT": 1}) for d in range(1, 31)
    ]
    chart = column_chart(days, ("RETURN", "APPEASEMENT"), plot_height=100)
    last = chart.columns[-1]
    assert last.label == "Nov 30" and last.total == 1  # 30 % 3 == 0: only the appeasement
    assert [s.name for s in chart.columns[1].segments] == ["RETURN", "APPEASEMENT"]
    assert chart.columns[1].segments[0].height == pytest.approx(100 * 2 / 5, abs=0.1)
    assert chart.ticks[0].value == 0 and chart.ticks[-1].value == 5
    assert sum(1 for c in chart.columns if c.label) <= 12


def test_transition_chart_has_a_lane_per_transition() -> None:
    chart = transition_chart(ORDER_MACHINE)
    assert [s.name for s in chart.states] == list(ORDER_MACHINE.states)
    assert len(chart.lanes) == len(ORDER_MACHINE.transitions)
    release_hold = chart.lanes[3]
    assert release_hold.trigger == "release_hold" and release_hold.arrow_left
    assert not release_hold.arrow_right  # ONHOLD stands right of NEW: a step back
    ship_partially = next(lane for lane in chart.lanes if lane.trigger == "ship_partially")
    assert ship_partially.self_loop and len(ship_partially.sources) == 3
    fail = next(lane for lane in transition_chart(REFUND).lanes if lane.trigger == "fail")
    assert fail.arrow_left and not fail.self_loop
    assert {s.name for s in chart.states if s.final} == {"CLOSED", "CANCELLED"}


def test_config_tells_packaged_defaults_from_the_deployments_file(sqlite_app: Postsales) -> None:
    add_user(sqlite_app, "ada", ["admin"], PASSWORD)
    app = create_app(sqlite_app, secret_key="test-secret-key")
    app.config["TESTING"] = True
    html = client_for(app, "ada").get("/admin/config").text
    st2 = html.split('id="channel-ST2"', 1)[1].split("</section>", 1)[0]
    row = st2.split('<th scope="row" class="mono">shipping_refund_rule</th>', 1)[1]
    assert "packaged defaults" in row.split("</tr>", 1)[0]
    assert 'class="from-file"' not in html
