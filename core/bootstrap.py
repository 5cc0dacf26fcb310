"""The composition root: settings + plugins + database -> one `Postsales` services object.

Every door (CLI, web, API, message consumer) calls `bootstrap()` once and hands the result to
the core services. There are no globals: tests build as many as they like.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .errors import ConfigError
from .observe import Metrics, NoMetrics
from .settings import PERMISSIONS, Settings, load_settings

if TYPE_CHECKING:  # loaded with the plugins (a read command loads neither) or the engine
    from sqlalchemy import Engine

    from .actions import ActionSpec
    from .gateways import PaymentGateway
    from .notifiers import Notifier
    from .persistence.replica import ReadReplica
    from .persistence.unit_of_work import UnitOfWork
    from .plugin_manager import PluginInfo
    from .rules import DecisionPoint, Rule

T = TypeVar("T")


@attrs.frozen
class Registry:
    """What the plugins contributed, validated and frozen at start-up."""

    actions: dict[str, ActionSpec]
    action_plugins: dict[str, str]
    rules: tuple[Rule, ...]
    rule_plugins: dict[str, str]
    gateways: tuple[PaymentGateway, ...]
    plugins: tuple[PluginInfo, ...]
    notifiers: tuple[Notifier, ...] = ()
    notifier_plugins: dict[str, str] = attrs.Factory(dict)
    # SPEC §4's permissions and those the actions declare: all a role or token may name.
    permissions: frozenset[str] = frozenset(PERMISSIONS)

    def rules_for(self, point: DecisionPoint | str) -> list[Rule]:
        """The rules answering a declared point; an unknown point is a ConfigError."""
        from .rules import decision_point

        name = decision_point(point).name
        return [rule for rule in self.rules if rule.point == name]

    def gateway_for(self, method: str) -> PaymentGateway | None:
        fallback = None
        for gateway in self.gateways:
            if method in gateway.methods:
                return gateway
            if "*" in gateway.methods:
                fallback = gateway
        return fallback

    def notifiers_delivering(self) -> list[Notifier]:
        """Notifiers that deliver outbox messages themselves (after commit, from the relay)."""
        return [n for n in self.notifiers if n.delivers]

    def deliverer_for(self, type_: str) -> Notifier | None:
        """The notifier delivering outbox messages of `type_` (without prefix), if any."""
        return next((n for n in self.notifiers if type_ in n.delivers), None)

    def check(self) -> None:
        """Run the checks plugins leave to first use (notifier templates compile), all at once:
        `config check` and the long-running doors call this at start-up."""
        problems: list[str] = []
        for notifier in self.notifiers:
            if notifier.check is None:
                continue
            try:
                notifier.check()
            except ConfigError as exc:
                problems.extend(exc.lines)
        if problems:
            raise ConfigError(problems)


def _collect(pm: Any, hook: str, settings: Settings) -> list[tuple[str, Any]]:
    """Call a register hook through pluggy, one plugin at a time, remembering which plugin gave
    what (a duplicate is reported with both names). Going through `pm` rather than calling the
    functions keeps pluggy's tracing (`POSTSALES_TRACE_PLUGINS=1`) and call monitoring."""
    impls = getattr(pm.hook, hook).get_hookimpls()
    plugins = [impl.plugin for impl in impls]
    out: list[tuple[str, Any]] = []
    for impl in impls:
        only = pm.subset_hook_caller(hook, [p for p in plugins if p is not impl.plugin])
        for result in only(settings=settings):
            for item in result or ():
                out.append((impl.plugin_name, item))
    return out


def build_registry(pm: Any, infos: list[PluginInfo], settings: Settings) -> Registry:
    from .actions import ActionSpec
    from .rules import Rule

    problems: list[str] = []
    actions: dict[str, ActionSpec] = {}
    action_plugins: dict[str, str] = {}
    for plugin, spec in _collect(pm, "postsales_register_actions", settings):
        if not isinstance(spec, ActionSpec):
            problems.append(f"plugin {plugin}: postsales_register_actions returned {spec!r}")
        elif spec.name in actions:
            problems.append(
                f"action {spec.name!r} is declared by both {action_plugins[spec.name]} and {plugin}"
            )
        else:
            actions[spec.name] = spec
            action_plugins[spec.name] = plugin
    rules: list[Rule] = []
    rule_plugins: dict[str, str] = {}
    for plugin, rule in _collect(pm, "postsales_register_rules", settings):
        if not isinstance(rule, Rule):
            problems.append(f"plugin {plugin}: postsales_register_rules returned {rule!r}")
        elif rule.name in rule_plugins:
            problems.append(
                f"rule {rule.name!r} is declared by both {rule_plugins[rule.name]} and {plugin}"
            )
        else:
            rules.append(rule)
            rule_plugins[rule.name] = plugin
    gateways: list[PaymentGateway] = []
    claimed: dict[str, str] = {}
    for plugin, gateway in _collect(pm, "postsales_register_gateways", settings):
        for method in gateway.methods:
            if method in claimed:
                problems.append(
                    f"payment method {method!r} is claimed by {claimed[method]} and {plugin}"
                )
            claimed[method] = plugin
        gateways.append(gateway)
    notifiers, notifier_plugins = _notifiers(pm, settings, problems)
    for channel_id, channel in settings.sales_channels.items():
        for name in channel.postsales.disabled_actions:
            if name not in actions:
                where = f"$.sales_channels['{channel_id}'].postsales.disabled_actions"
                file = settings.file_of(
                    "sales_channels", channel_id, "postsales", "disabled_actions"
                )
                problems.append(f"{file}: unknown action {name!r} @ {where}")
    permissions = frozenset(PERMISSIONS) | {spec.permission for spec in actions.values()}
    problems += _unknown_permissions(settings, permissions)
    if problems:
        raise ConfigError(problems)
    return Registry(
        actions=actions,
        action_plugins=action_plugins,
        rules=tuple(rules),
        rule_plugins=rule_plugins,
        gateways=tuple(gateways),
        plugins=tuple(infos),
        notifiers=tuple(notifiers),
        notifier_plugins=notifier_plugins,
        permissions=permissions,
    )


def _unknown_permissions(settings: Settings, known: frozenset[str]) -> list[str]:
    """Role permissions that neither SPEC §4 nor an enabled plugin's action declares: a typo
    (`order.teleport`) would otherwise grant nothing, silently."""
    lines = []
    for role_id, role in settings.roles.items():
        file = settings.file_of("roles", role_id, "permissions")
        for i, permission in enumerate(role.permissions):
            if permission in known:
                continue
            close = difflib.get_close_matches(permission, sorted(known), n=1, cutoff=0.88)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            lines.append(
                f"{file}: unknown permission {permission!r} (not in SPEC §4 nor declared by "
                f"an enabled plugin's action){hint} @ $.roles[{role_id!r}].permissions[{i}]"
            )
    return lines


def _notifiers(
    pm: Any, settings: Settings, problems: list[str]
) -> tuple[list[Notifier], dict[str, str]]:
    from .notifiers import Notifier

    notifiers: list[Notifier] = []
    by_name: dict[str, str] = {}
    delivered: dict[str, str] = {}
    for plugin, notifier in _collect(pm, "postsales_register_notifiers", settings):
        if not isinstance(notifier, Notifier):
            problems.append(f"plugin {plugin}: postsales_register_notifiers returned {notifier!r}")
            continue
        if notifier.name in by_name:
            problems.append(
                f"notifier {notifier.name!r} is declared by both {by_name[notifier.name]} "
                f"and {plugin}"
            )
            continue
        for type_ in notifier.delivers:
            if type_ in delivered:
                problems.append(
                    f"message type {type_!r} is delivered by both {delivered[type_]} and {plugin}"
                )
            delivered[type_] = plugin
        if notifier.delivers and notifier.deliver is None:
            problems.append(f"notifier {notifier.name!r} ({plugin}) lists types but no deliver")
        by_name[notifier.name] = plugin
        notifiers.append(notifier)
    return notifiers, by_name


@attrs.define
class Postsales:
    """The services object every door holds: settings, plugins, database, clock.

    Built with `lazy_plugins`, the plugins are loaded (and their options checked) when
    `registry` or `pm` is first read: a command that runs no plugin does not load them.
    """

    settings: Settings
    engine: Engine
    _pm: Any = None
    _registry: Registry | None = None
    clock: Callable[[], datetime] = attrs.field(default=lambda: datetime.now(UTC))
    _plugin_loader: Callable[[], tuple[Any, Registry]] | None = None
    # Collection points for monitoring (core/observe.py); a door may put a real one here.
    metrics: Metrics = attrs.field(factory=NoMetrics)
    # POSTSALES_READ_DATABASE_URL (core/persistence/replica.py); None: every read on `engine`.
    replica: ReadReplica | None = None

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            if self._plugin_loader is None:
                raise RuntimeError("Postsales was built without plugins")
            self._pm, self._registry = self._plugin_loader()
        return self._registry

    @property
    def pm(self) -> Any:
        _ = self.registry  # loads the manager with it
        return self._pm

    def uow(self, *, read_only: bool = False, lock_wait: float | None = None) -> UnitOfWork:
        """One transaction. `lock_wait` bounds, on SQLite, how long a write waits for another
        writer's lock (default: the busy timeout) — for best-effort writes a reader makes."""
        from .persistence.unit_of_work import UnitOfWork

        return UnitOfWork(
            self.engine,
            read_only=read_only,
            type_prefix=self.settings.messages.type_prefix,
            lock_wait=lock_wait,
        )

    @contextmanager
    def read_uow(self) -> Iterator[UnitOfWork]:
        """A read-only unit of work for reads that may lag a little (searches, totals, exports,
        the dashboard, the work queue): on the read replica when it is up and within its lag
        bound, else on the primary. `read_state()` says which served the last one."""
        from sqlalchemy.exc import DBAPIError

        from .persistence.unit_of_work import UnitOfWork

        replica = self.replica
        if replica is not None and replica.state().use_replica:
            uow = UnitOfWork(
                replica.engine, read_only=True, type_prefix=self.settings.messages.type_prefix
            )
            try:
                entered = uow.__enter__()
            except Exception as exc:  # down since the last check: the primary serves this one
                replica.mark_down(exc)
            else:
                try:
                    yield entered
                finally:
                    # Rolls back (read-only) and closes; a replica that died under the read
                    # may refuse even that, and there is nothing to undo.
                    with suppress(DBAPIError):
                        uow.__exit__(None, None, None)
                return
        with self.uow(read_only=True) as uow:
            yield uow

    def read(self, work: Callable[[UnitOfWork], T]) -> tuple[T, UnitOfWork]:
        """`work(uow)` on a read unit of work (`read_uow`), and the unit of work that gave it.
        When the replica dies under it (between the connection's ping and the read), the
        replica is marked down and `work` runs again on the primary: a read changes nothing,
        so running it twice is safe, and the agent gets an answer instead of a 503."""
        from sqlalchemy.exc import DBAPIError, OperationalError

        with self.read_uow() as uow:
            replica = self.replica
            on_replica = replica is not None and uow.engine is replica.engine
            try:
                return work(uow), uow
            except DBAPIError as exc:
                if not on_replica or not (
                    isinstance(exc, OperationalError) or exc.connection_invalidated
                ):
                    raise
                assert replica is not None
                replica.mark_down(exc)
        with self.uow(read_only=True) as uow:
            return work(uow), uow

    def read_state(self) -> tuple[str, float | None]:
        """("replica", lag seconds) when reads go to the replica, else ("primary", None)."""
        if self.replica is None:
            return "primary", None
        state = self.replica.state()
        return ("replica", state.lag_seconds) if state.use_replica else ("primary", None)

    def now(self) -> datetime:
        return self.clock()


def load_plugins(
    settings: Settings,
    *,
    entry_points: bool = True,
    extra: Iterable[tuple[str, Any]] = (),
    only_builtins: bool = False,
) -> tuple[Any, Registry]:
    """The plugin manager and what its plugins registered; a plugin's complaint about its
    options names the config file that set them."""
    from .plugin_manager import make_plugin_manager

    try:
        pm, infos = make_plugin_manager(
            settings, entry_points_enabled=entry_points, extra=extra, only_builtins=only_builtins
        )
        return pm, build_registry(pm, infos, settings)
    except ConfigError as exc:
        raise ConfigError([_in_file(line, settings) for line in exc.lines]) from exc.__cause__


_PLUGIN_PATH = re.compile(r"@ \$\.plugins\.(\w+)")


def _in_file(line: str, settings: Settings) -> str:
    found = _PLUGIN_PATH.search(line)
    file = settings.plugin_files.get(found[1]) if found else None
    if file is None or line.startswith(f"{file}:"):
        return line
    return f"{file}: {line}"


def bootstrap(
    config: str | None = None,
    db_url: str | None = None,
    *,
    entry_points: bool = True,
    extra_plugins: Iterable[tuple[str, Any]] = (),
    settings: Settings | None = None,
    engine: Engine | None = None,
    lazy_plugins: bool = False,
    read_replica: bool = True,
) -> Postsales:
    """Load config (POSTSALES_CONFIG when `config` is None), plugins and the database engine.

    `lazy_plugins` defers loading the plugins to the first use of `registry` (the CLI: a
    read command loads none); otherwise a plugin problem stops start-up here."""
    import os

    settings = settings or load_settings(config or os.environ.get("POSTSALES_CONFIG"))
    extra = tuple(extra_plugins)

    def plugins() -> tuple[Any, Registry]:
        return load_plugins(settings, entry_points=entry_points, extra=extra)

    pm, registry = (None, None) if lazy_plugins else plugins()
    if engine is None:
        from .persistence.database import make_engine

        engine = make_engine(db_url)
    from .persistence.replica import replica_from_env

    replica = replica_from_env(engine, os.environ) if read_replica else None
    return Postsales(settings, engine, pm, registry, plugin_loader=plugins, replica=replica)
