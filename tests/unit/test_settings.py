"""The typed configuration: packaged defaults, every toggle, and errors that name file and key."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from postsales.core.errors import ConfigError
from postsales.core.settings import (
    PERMISSIONS,
    PostsalesSettings,
    Settings,
    effective_channel_settings,
    load_settings,
)

CHANNEL = """\
sales_channels:
  ST1:
    name: Test US
    market: US
    currency: USD
    sources: [SOU1]
    postsales:
{postsales}
sources:
  SOU1: {{name: Main warehouse, accepts_returns: true}}
"""


def write(folder: Path, text: str, name: str = "deploy.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def deployment(folder: Path, postsales: str = "{}") -> Path:
    """A valid one-channel deployment; `postsales` is the YAML under the channel's `postsales:`."""
    return write(folder, CHANNEL.format(postsales=textwrap.indent(postsales, " " * 6)))


def errors(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return info.value.lines


def one_error(path: Path, *fragments: str) -> str:
    """The single error line containing every fragment; it must also name the file."""
    matching = [ln for ln in errors(path) if all(f in ln for f in fragments)]
    assert len(matching) == 1, errors(path)
    assert matching[0].startswith(f"{path}: "), matching[0]
    return matching[0]


# --- the packaged defaults -----------------------------------------------------------------------


def test_packaged_defaults_load() -> None:
    settings = load_settings()
    assert set(settings.sales_channels) == {"ST1", "ST2"}
    assert set(settings.roles) == {"agent", "supervisor", "admin"}
    st1, st2 = settings.channel("ST1"), settings.channel("ST2")
    assert (st1.name, st1.currency, st1.timezone, st1.sources) == (
        "Luma US",
        "USD",
        "America/New_York",
        ("SOU1", "SOU2"),
    )
    assert (st2.currency, st2.language, st2.sources) == ("EUR", "de_DE", ("SOU3", "SOU1"))
    assert st1.postsales.appeasement_limits == {"agent": Decimal("50.00")}
    assert st2.postsales.shipping_refund_rule == "onLast"
    assert st2.postsales.return_service_line is True
    assert st2.postsales.return_window_days == 30
    assert settings.sources["SOU2"].accepts_returns is False
    assert settings.messages.type_prefix == ""
    assert settings.plugins == {}


def test_default_roles_follow_the_spec() -> None:
    roles = load_settings().roles
    assert set(roles["agent"].permissions) < set(roles["supervisor"].permissions)
    assert {"return.approve", "refund.approve", "order.takeover", "orders.export"} <= set(
        roles["supervisor"].permissions
    )
    assert "users.manage" not in roles["supervisor"].permissions
    assert set(roles["admin"].permissions) == set(PERMISSIONS)
    assert all(role.sales_channels == "*" and role.sees("ST2") for role in roles.values())


def test_effective_origins_tell_default_from_file() -> None:
    settings = load_settings()
    rows = effective_channel_settings(settings)["ST2"]
    effective = {key: (value, origin) for key, value, origin in rows}
    assert effective["auto_approve_return"] == (True, "default")
    value, origin = effective["shipping_refund_rule"]
    assert value == "onLast"
    assert origin.endswith("postsales.yaml")
    assert settings.origin["ST2"]["lock_minutes"] == "default"


def test_unknown_channel_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        load_settings().channel("NOPE")


def test_empty_config_variable_means_the_defaults() -> None:
    assert set(load_settings("").sales_channels) == {"ST1", "ST2"}


# --- a deployment --------------------------------------------------------------------------------


def test_every_toggle_is_parsed(tmp_path: Path) -> None:
    path = deployment(
        tmp_path,
        """\
        auto_approve_return: false
        auto_release_refund: false
        return_service_order: true
        return_service_line: true
        shipping_refund_rule: onFirst
        return_source_manual: true
        cancel_allowed_statuses: [NEW, ONHOLD]
        return_comment_max: 200
        appeasement_limits: {agent: "12.30", supervisor: 50.5, admin: 100}
        search_max_results: 20
        disabled_actions: [exchange, reshipment]
        return_window_days: 14
        return_window_exceeded: approval
        non_returnable_skus: [GIFT-CARD]
        non_returnable_product_types: [SERVICE, SHIPPING]
        lock_minutes: 5
        auto_review: true
        """,
    )
    settings = load_settings(path)
    assert settings.channel("ST1").postsales == PostsalesSettings(
        auto_approve_return=False,
        auto_release_refund=False,
        return_service_order=True,
        return_service_line=True,
        shipping_refund_rule="onFirst",
        return_source_manual=True,
        cancel_allowed_statuses=("NEW", "ONHOLD"),
        return_comment_max=200,
        appeasement_limits={
            "agent": Decimal("12.30"),
            "supervisor": Decimal("50.5"),  # from the YAML text, not from a float
            "admin": Decimal("100"),
        },
        search_max_results=20,
        disabled_actions=("exchange", "reshipment"),
        return_window_days=14,
        return_window_exceeded="approval",
        non_returnable_skus=("GIFT-CARD",),
        non_returnable_product_types=("SERVICE", "SHIPPING"),
        lock_minutes=5,
        auto_review=True,
    )
    assert set(settings.origin["ST1"].values()) == {str(path)}


def test_a_deployment_replaces_only_the_top_level_keys_it_gives(tmp_path: Path) -> None:
    settings = load_settings(deployment(tmp_path))
    assert set(settings.sales_channels) == {"ST1"}
    assert set(settings.sources) == {"SOU1"}
    assert set(settings.roles) == {"agent", "supervisor", "admin"}  # kept from the defaults
    channel = settings.channel("ST1")
    assert (channel.language, channel.timezone) == ("en_US", "UTC")
    assert channel.postsales == PostsalesSettings()
    assert set(settings.origin["ST1"].values()) == {"default"}


def test_plugins_and_roles(tmp_path: Path) -> None:
    path = deployment(tmp_path)
    path.write_text(
        path.read_text()
        + textwrap.dedent(
            """\
            roles:
              desk: {permissions: [orders.view, loyalty.grant], sales_channels: [ST1]}
            plugins:
              loyalty: {enabled: false, points_per_euro: 1.5, tiers: [gold]}
              audit: {}
            messages: {type_prefix: magento.}
            """
        )
    )
    settings = load_settings(path)
    assert settings.roles["desk"].sees("ST1") and not settings.roles["desk"].sees("ST2")
    assert not settings.plugin_enabled("loyalty")
    assert settings.plugin_enabled("audit") and settings.plugin_enabled("not_configured")
    assert dict(settings.plugin_options("loyalty")) == {"points_per_euro": 1.5, "tiers": ["gold"]}
    assert dict(settings.plugin_options("not_configured")) == {}
    assert settings.messages.type_prefix == "magento."


def test_yaml_booleans_are_only_true_and_false(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        sales_channels:
          NO: {name: Norway, market: NO, currency: NOK}
        """,
    )
    assert load_settings(path).channel("NO").market == "NO"


def test_folder_is_merged_in_name_order(tmp_path: Path) -> None:
    deployment(tmp_path, "{shipping_refund_rule: onFirst, lock_minutes: 5}").rename(
        tmp_path / "10-base.yaml"
    )
    write(tmp_path, "sales_channels: {ST1: {postsales: {lock_minutes: 10}}}", "20-site.yml")
    write(tmp_path, "not: yaml: at all", "notes.txt")
    settings = load_settings(tmp_path)
    postsales = settings.channel("ST1").postsales
    assert (postsales.shipping_refund_rule, postsales.lock_minutes) == ("onFirst", 10)
    assert settings.channel("ST1").currency == "USD"
    assert settings.origin["ST1"]["shipping_refund_rule"] == str(tmp_path / "10-base.yaml")
    assert settings.origin["ST1"]["lock_minutes"] == str(tmp_path / "20-site.yml")
    assert settings.origin["ST1"]["auto_approve_return"] == "default"


def test_folder_errors_name_the_file_that_set_the_key(tmp_path: Path) -> None:
    deployment(tmp_path).rename(tmp_path / "10-base.yaml")
    write(tmp_path, "sales_channels: {ST1: {postsales: {lock_minutes: 0}}}", "20-site.yaml")
    (line,) = errors(tmp_path)
    assert line == (
        f"{tmp_path / '20-site.yaml'}: must be at least 1, got 0"
        " @ $.sales_channels['ST1'].postsales.lock_minutes"
    )


# --- errors ---------------------------------------------------------------------------------------


def test_wrong_literal(tmp_path: Path) -> None:
    path = deployment(tmp_path, "shipping_refund_rule: sometimes")
    assert one_error(path, "shipping_refund_rule") == (
        f"{path}: must be one of onFirst, onLast, never, got 'sometimes'"
        " @ $.sales_channels['ST1'].postsales.shipping_refund_rule"
    )


def test_misspelt_key(tmp_path: Path) -> None:
    path = deployment(tmp_path, "auto_aprove_return: false")
    assert one_error(path, "auto_aprove_return") == (
        f"{path}: unknown key 'auto_aprove_return' @ $.sales_channels['ST1'].postsales"
    )


def test_missing_required_key(tmp_path: Path) -> None:
    path = deployment(tmp_path)
    path.write_text(path.read_text().replace("    currency: USD\n", ""))
    assert one_error(path, "currency") == (
        f"{path}: missing required key 'currency' @ $.sales_channels['ST1']"
    )


@pytest.mark.parametrize(
    ("postsales", "expected"),
    [
        ("auto_approve_return: yes please", "expected a boolean (true/false), got 'yes please'"),
        ("auto_release_refund: yes", "expected a boolean (true/false), got 'yes'"),
        ("return_service_order: 1", "expected a boolean (true/false), got 1"),
        ("lock_minutes: true", "expected a whole number, got true"),
        ("return_comment_max: '200'", "expected a whole number, got '200'"),
        ("return_comment_max: 0", "must be at least 1, got 0"),
        ("return_window_days: -1", "must be at least 0, got -1"),
        ("disabled_actions: exchange", "expected a list, got 'exchange'"),
        ("return_window_exceeded: ask", "must be one of refuse, approval, got 'ask'"),
    ],
)
def test_wrong_types_and_values(tmp_path: Path, postsales: str, expected: str) -> None:
    path = deployment(tmp_path, postsales)
    key = postsales.partition(":")[0]
    assert one_error(path, key) == f"{path}: {expected} @ $.sales_channels['ST1'].postsales.{key}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("'8'", None),
        ("19.5", None),
        ("abc", """expected an amount like "50.00", got 'abc'"""),
        ("'-1'", 'expected a percentage from 0 to under 100 like "8" or "19.5", got -1'),
        ("100", 'expected a percentage from 0 to under 100 like "8" or "19.5", got 100'),
    ],
)
def test_a_channel_tax_rate_is_a_percentage(
    tmp_path: Path, value: str, expected: str | None
) -> None:
    """The rate that taxes lines an agent adds (A-12) is checked when the file loads."""
    path = deployment(tmp_path)
    path.write_text(
        path.read_text().replace(
            "    currency: USD\n", f"    currency: USD\n    tax_rate: {value}\n"
        )
    )
    if expected is None:
        rate = load_settings(path).sales_channels["ST1"].tax_rate
        assert rate == Decimal(value.strip("'"))
    else:
        assert (
            one_error(path, "tax_rate") == f"{path}: {expected} @ $.sales_channels['ST1'].tax_rate"
        )


def test_bad_status_in_cancel_allowed_statuses(tmp_path: Path) -> None:
    path = deployment(tmp_path, "cancel_allowed_statuses: [NEW, SHIPED]")
    line = one_error(path, "SHIPED")
    assert "must be one of DRAFT, NEW," in line
    assert line.endswith("@ $.sales_channels['ST1'].postsales.cancel_allowed_statuses[1]")


def test_bad_product_type(tmp_path: Path) -> None:
    path = deployment(tmp_path, "non_returnable_product_types: [PHYSICAL, GIFT]")
    assert one_error(path, "GIFT").endswith(
        "must be one of PHYSICAL, SERVICE, SHIPPING, got 'GIFT'"
        " @ $.sales_channels['ST1'].postsales.non_returnable_product_types[1]"
    )


def test_negative_appeasement_limit(tmp_path: Path) -> None:
    path = deployment(tmp_path, "appeasement_limits: {agent: '-5.00'}")
    line = one_error(path, "appeasement_limits")
    assert "must not be negative, got -5.00 for 'agent'" in line


def test_appeasement_limit_that_is_not_an_amount(tmp_path: Path) -> None:
    path = deployment(tmp_path, "appeasement_limits: {agent: lots}")
    line = one_error(path, "appeasement_limits")
    assert line.endswith(
        """expected an amount like "50.00", got 'lots'"""
        " @ $.sales_channels['ST1'].postsales.appeasement_limits['agent']"
    )


def test_appeasement_limit_for_an_unknown_role(tmp_path: Path) -> None:
    path = deployment(tmp_path, "appeasement_limits: {boss: 10}")
    line = one_error(path, "boss")
    assert "unknown role 'boss'" in line
    assert line.endswith("@ $.sales_channels['ST1'].postsales.appeasement_limits['boss']")


def test_unknown_source_referenced_by_a_channel(tmp_path: Path) -> None:
    path = deployment(tmp_path)
    path.write_text(path.read_text().replace("sources: [SOU1]", "sources: [SOU1, SOU9]"))
    line = one_error(path, "SOU9")
    assert line == (
        f"{path}: unknown source 'SOU9' (defined: SOU1) @ $.sales_channels['ST1'].sources[1]"
    )


def test_unknown_channel_in_a_role(tmp_path: Path) -> None:
    path = deployment(tmp_path)
    path.write_text(
        path.read_text() + "roles:\n  agent: {permissions: [orders.view], sales_channels: [ST7]}\n"
    )
    line = one_error(path, "ST7")
    assert line.startswith(f"{path}: unknown sales channel 'ST7'")
    assert line.endswith("@ $.roles['agent'].sales_channels[0]")


def test_malformed_permission_and_scope(tmp_path: Path) -> None:
    path = deployment(tmp_path)
    path.write_text(
        path.read_text() + "roles:\n  agent: {permissions: [orders view], sales_channels: all}\n"
    )
    assert "'orders view' @ $.roles['agent'].permissions" in one_error(path, "orders view")
    assert one_error(path, "'all'").endswith(
        """expected "*" or a list of sales channels, got 'all' @ $.roles['agent'].sales_channels"""
    )


def test_plugin_settings_must_be_a_mapping(tmp_path: Path) -> None:
    path = deployment(tmp_path)
    path.write_text(path.read_text() + "plugins:\n  loyalty: false\n")
    assert one_error(path, "loyalty").endswith("got false @ $.plugins['loyalty']")


def test_every_problem_is_reported(tmp_path: Path) -> None:
    path = deployment(tmp_path, "{shipping_refund_rule: x, lock_minutes: 0, auto_approve: true}")
    assert len(errors(path)) == 3


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, "sales_channel: {}\norigin: {}\n")
    assert errors(path) == [
        f"{path}: unknown key 'sales_channel' @ $",
        f"{path}: unknown key 'origin' @ $",
    ]


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "sales_channels:\n  ST1:\n    name: [Luma\n    market: US\n")
    (line,) = errors(path)
    problem = "expected ',' or ']', but got ':'"
    assert line == f"{path}: YAML syntax error at line 4, column 11: {problem}"


def test_duplicate_key_is_a_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  SOU1: {name: A}\n  SOU1: {name: B}\n")
    assert errors(path) == [f"{path}: YAML syntax error at line 3, column 3: duplicate key 'SOU1'"]


@pytest.mark.parametrize(("text", "expected"), [("", "the file is empty"), ("- a\n", "got a list")])
def test_empty_or_not_a_mapping(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    (line,) = errors(path)
    assert line.startswith(f"{path}: expected a mapping of sales_channels")
    assert line.endswith(expected)


def test_missing_file(tmp_path: Path) -> None:
    assert errors(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: no such file or folder"]


def test_empty_folder(tmp_path: Path) -> None:
    assert errors(tmp_path) == [f"{tmp_path}: no *.yaml or *.yml file in this folder"]


def test_settings_classes_validate_when_built_in_code() -> None:
    with pytest.raises(ValueError, match="must be at least 1"):
        PostsalesSettings(lock_minutes=0)
    assert Settings(sales_channels={}, sources={}, roles={}).plugin_enabled("anything")
