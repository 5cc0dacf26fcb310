"""The one factory that builds a plugin manager (STYLE: pytest's and datasette's way).

Built-ins and outside plugins arrive through the same `postsales` entry-point group; the YAML
`plugins:` section blocks the disabled ones before they register; `check_pending()` makes a
misspelt hook implementation fail start-up instead of being ignored.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .errors import ConfigError

OWN_DISTRIBUTION = "postsales"


@attrs.frozen
class PluginInfo:
    """What `postsales plugins` shows: the name used in YAML, where it comes from, on or off."""

    name: str
    distribution: str
    version: str
    module: str
    enabled: bool
    hooks: tuple[str, ...] = ()


def _sorted_entry_points() -> list[tuple[Any, str, str]]:
    """(entry point, distribution, version) of the `postsales` group, in registration order."""
    about: dict[int, tuple[str, str]] = {}

    def dist_of(ep: Any) -> tuple[str, str]:
        # `Distribution.name` and `.version` parse METADATA on every read: once per
        # distribution instead of three times per entry point (issue 18 item 1).
        if ep.dist is None:
            return ("?", "?")
        if id(ep.dist) not in about:
            meta = ep.dist.metadata
            about[id(ep.dist)] = (meta["Name"] or "?", meta["Version"] or "?")
        return about[id(ep.dist)]

    found = [(ep, *dist_of(ep)) for ep in entry_points(group="postsales")]

    # Order between plugins is not an API (STYLE pitfall 9): own built-ins first, then others by
    # (distribution, name), so registration order never depends on sys.path.
    def key(item: tuple[Any, str, str]) -> tuple[int, str, str]:
        ep, dist, _version = item
        return (0 if dist == OWN_DISTRIBUTION else 1, dist, ep.name)

    return sorted(found, key=key)


def make_plugin_manager(
    settings: Any,
    *,
    entry_points_enabled: bool = True,
    extra: Iterable[tuple[str, Any]] = (),
    only_builtins: bool = False,
) -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """Build the plugin manager: built-ins and installed plugins from entry points, then
    `extra` (name, module-or-object) pairs (for tests), minus what the YAML disables.
    `only_builtins` (or POSTSALES_DISABLE_PLUGIN_AUTOLOAD=1) skips other distributions."""
    pm = pluggy.PluginManager("postsales")
    pm.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []
    disabled = {name for name, cfg in settings.plugins.items() if not cfg.enabled}
    for name in sorted(disabled):
        pm.set_blocked(name)

    only_builtins = only_builtins or os.environ.get("POSTSALES_DISABLE_PLUGIN_AUTOLOAD") == "1"
    loaded = []
    if entry_points_enabled:
        eps = _sorted_entry_points()
        if not any(dist == OWN_DISTRIBUTION for _ep, dist, _version in eps):
            raise ConfigError(
                [
                    "postsales: the built-in plugins are not registered (no entry points of "
                    "distribution 'postsales'); install the package with `pip install -e .`"
                ]
            )
        for ep, dist, version in eps:
            if only_builtins and dist != OWN_DISTRIBUTION:
                continue
            enabled = ep.name not in disabled
            if enabled:
                try:
                    plugin = ep.load()
                except Exception as exc:  # a broken plugin must name itself (pitfall 14)
                    raise ConfigError(
                        [
                            f"plugin {ep.name!r} from distribution {dist} failed to import: "
                            f"{exc.__class__.__name__}: {exc}"
                        ]
                    ) from exc
                if pm.is_registered(plugin) or pm.get_plugin(ep.name) is not None:
                    raise ConfigError([f"plugin name {ep.name!r} is registered twice ({dist})"])
                pm.register(plugin, name=ep.name)
                loaded.append(plugin)
            infos.append(PluginInfo(ep.name, dist, version, ep.value, enabled))
    for name, plugin in extra:
        enabled = name not in disabled
        if enabled:
            pm.register(plugin, name=name)
        infos.append(
            PluginInfo(
                name,
                "(registered directly)",
                "",
                getattr(plugin, "__name__", repr(plugin)),
                enabled,
            )
        )
    unknown = sorted(set(settings.plugins) - {i.name for i in infos})
    if unknown:
        files = getattr(settings, "plugin_files", {})
        installed = ", ".join(sorted(i.name for i in infos))
        raise ConfigError(
            [
                f"{files.get(name, 'config')}: unknown plugin {name!r} @ $.plugins.{name} "
                f"(installed: {installed})"
                for name in unknown
            ]
        )
    pm.check_pending()
    with_hooks = []
    for info in infos:
        plugin = pm.get_plugin(info.name)
        hooks = tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or ())) if plugin else ()
        with_hooks.append(attrs.evolve(info, hooks=hooks))
    if os.environ.get("POSTSALES_TRACE_PLUGINS") == "1":
        pm.trace.root.setwriter(print)
        pm.enable_tracing()
    return pm, with_hooks
