"""`postsales config check` (SPEC §5): a config file checked on its own, before it is deployed.

The YAML, the plugins it names and their options, and every notification template are checked
without a database; `ConfigError` lists what is wrong (file, key path, what was expected). The
configured database is then looked at, not required: its state is reported beside the result.
"""

from __future__ import annotations

import os
from typing import Any

import attrs

from ..bootstrap import Registry, load_plugins
from ..settings import Settings, effective_channel_settings, load_settings
from .schema import DatabaseStatus, database_status


@attrs.frozen
class ConfigReport:
    """A valid config: what it sets per channel, its plugins, and where its database stands."""

    source: str  # the deployment's file or folder, or "packaged defaults"
    settings: Settings
    registry: Registry
    database: DatabaseStatus

    def effective(self) -> dict[str, list[tuple[str, object, str]]]:
        return effective_channel_settings(self.settings)

    def to_dict(self) -> dict[str, Any]:
        effective = self.effective()
        return {
            "valid": True,
            "source": self.source,
            "sales_channels": {
                cid: {
                    "name": ch.name,
                    "market": ch.market,
                    "currency": ch.currency,
                    "sources": list(ch.sources),
                    "postsales": {
                        key: {"value": plain(value), "origin": origin}
                        for key, value, origin in effective[cid]
                    },
                }
                for cid, ch in self.settings.sales_channels.items()
            },
            "plugins": {p.name: p.enabled for p in self.registry.plugins},
            "database": self.database.to_dict(),
        }


def check_config(config: str | None = None, db_url: str | None = None) -> ConfigReport:
    """Check the config at `config` (or POSTSALES_CONFIG, or the packaged defaults); raises
    `ConfigError` naming every problem. Creates nothing, needs no database."""
    path = config or os.environ.get("POSTSALES_CONFIG") or None
    settings = load_settings(path)
    _pm, registry = load_plugins(settings)
    registry.check()  # every template compiles
    return ConfigReport(
        source=str(path) if path else "packaged defaults",
        settings=settings,
        registry=registry,
        database=database_status(db_url),
    )


def plain(value: object) -> object:
    """A setting's value as JSON has it (tuples as lists, Decimal and others as text)."""
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


@attrs.frozen
class PluginListing:
    """One installed plugin as the CLI's `plugins` and the web's plugins page show it."""

    name: str
    distribution: str
    version: str
    module: str
    enabled: bool
    hooks: tuple[str, ...]
    provides: tuple[tuple[str, str], ...]  # (kind, name): ("action", "cancel"), ("rule", …)
    gateway: bool  # registers payment gateways (listed on their own, by method)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "enabled": self.enabled,
            "hooks": list(self.hooks),
            "provides": [f"{kind}:{name}" for kind, name in self.provides],
        }


def plugin_listing(registry: Registry) -> list[PluginListing]:
    """Every installed plugin, the enabled first, with the actions, rules and notifiers it
    gives."""
    provides: dict[str, list[tuple[str, str]]] = {}
    for kind, owners in (
        ("action", registry.action_plugins),
        ("rule", registry.rule_plugins),
        ("notifier", registry.notifier_plugins),
    ):
        for name, plugin in owners.items():
            provides.setdefault(plugin, []).append((kind, name))
    return [
        PluginListing(
            name=info.name,
            distribution=info.distribution,
            version=info.version,
            module=info.module,
            enabled=info.enabled,
            hooks=tuple(info.hooks),
            provides=tuple(sorted(provides.get(info.name, []))),
            gateway=info.enabled and "postsales_register_gateways" in info.hooks,
        )
        for info in sorted(registry.plugins, key=lambda p: (not p.enabled, p.name))
    ]
