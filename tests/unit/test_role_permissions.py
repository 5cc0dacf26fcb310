"""Roles may name only permissions that exist (issue 16 item 4): those of SPEC §4 and those
the enabled plugins' actions declare; every error names the file that set the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest

from postsales.core import ActionSpec, hookimpl
from postsales.core.bootstrap import bootstrap
from postsales.core.errors import ConfigError


def write(folder: Path, text: str, name: str = "deploy.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


ROLES = """roles:
  agent:
    permissions: [orders.view, order.teleport, order.comment, ordres.view]
    sales_channels: "*"
"""


def problems(config: Path, **kwargs: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        bootstrap(str(config), "sqlite://", entry_points=True, **kwargs)
    return caught.value.lines


def test_an_unknown_permission_is_refused_with_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, ROLES)
    lines = problems(path)
    assert lines == [
        f"{path}: unknown permission 'order.teleport' (not in SPEC §4 nor declared by an "
        "enabled plugin's action) @ $.roles['agent'].permissions[1]",
        f"{path}: unknown permission 'ordres.view' (not in SPEC §4 nor declared by an "
        "enabled plugin's action); did you mean 'orders.view'? @ $.roles['agent'].permissions[3]",
    ]


def test_in_a_folder_the_file_that_set_the_role_is_named(tmp_path: Path) -> None:
    write(tmp_path, "plugins: {}\n", "00-plugins.yaml")
    roles = write(tmp_path, ROLES.replace(", ordres.view", ""), "10-roles.yaml")
    (line,) = problems(tmp_path)
    assert line.startswith(f"{roles}: unknown permission 'order.teleport'")


def test_a_disabled_action_that_does_not_exist_names_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """sales_channels:
  ST1:
    name: Luma US
    market: US
    currency: USD
    postsales: {disabled_actions: [teleport]}
""",
    )
    (line,) = problems(path)
    assert line == (
        f"{path}: unknown action 'teleport' @ $.sales_channels['ST1'].postsales.disabled_actions"
    )


@attrs.frozen
class GiftParams:
    amount: str = "0"


class GiftCard:
    """An outside plugin declaring its own permission."""

    @hookimpl
    def postsales_register_actions(self, settings: Any) -> list[ActionSpec]:
        return [
            ActionSpec(
                name="gift_card",
                label="Gift card",
                permission="gift_card.issue",
                params=GiftParams,
                run=lambda order, params, ctx: None,
            )
        ]


def test_a_plugin_declares_permissions_roles_may_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'roles:\n  agent: {permissions: [orders.view, gift_card.issue], sales_channels: "*"}\n',
    )
    (line,) = problems(path)  # without the plugin, nothing declares it
    assert "unknown permission 'gift_card.issue'" in line
    services = bootstrap(str(path), "sqlite://", extra_plugins=[("gift_card", GiftCard())])
    assert "gift_card.issue" in services.registry.permissions
    assert "orders.view" in services.registry.permissions
    services.engine.dispose()


def test_the_packaged_roles_name_only_known_permissions() -> None:
    services = bootstrap(None, "sqlite://")
    for role in services.settings.roles.values():
        assert set(role.permissions) <= services.registry.permissions
    services.engine.dispose()
