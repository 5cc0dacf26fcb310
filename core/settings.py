"""The typed configuration (SPEC §5): YAML structured into frozen attrs classes by cattrs.

`load_settings()` reads the packaged defaults, lays a deployment's file or folder over them and
reports every problem as one `ConfigError` line: "<file>: <what was expected> @ <key path>".
"""

from __future__ import annotations

import os
import re
import zoneinfo
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, mapping_structure_factory
from cattrs.errors import ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, override

from .config_files import Invalid as _Invalid
from .config_files import Origins, locate, packaged_defaults, read_layers
from .config_files import show as _show
from .errors import ConfigError

# fmt: off
PERMISSIONS = (
    "orders.view", "orders.export", "orders.create", "order.edit", "order.cancel", "order.hold",
    "order.takeover", "order.comment", "order.reorder", "order.delete", "payment.add",
    "shipment.manage", "return.create", "return.approve", "return.cancel", "refund.approve",
    "refund.cancel", "appeasement.create", "exchange.create", "reshipment.create", "config.view",
    "users.manage", "order.review",
)
OrderStatus = Literal[
    "DRAFT", "NEW", "RECEIVED", "ONHOLD", "LOGISTICS", "PARTIALLY_SHIPPED", "SHIPPED", "CLOSED",
    "CANCELLED",
]
# fmt: on
ProductType = Literal["PHYSICAL", "SERVICE", "SHIPPING"]
ChannelScope = tuple[str, ...] | Literal["*"]  # a list of channel ids, or "*" for all
TOP_LEVEL_KEYS = ("sales_channels", "sources", "roles", "plugins", "messages")


# Validators take (instance, attribute, value); structuring calls them with instance=None so each
# failure is reported at its own key path instead of at the enclosing object.
def _at_least(low: int) -> Callable[[Any, Any, Any], None]:
    def check(_inst: Any, _attr: Any, value: int | None) -> None:
        if value is not None and value < low:
            raise _Invalid(f"must be at least {low}, got {value}")

    return check


def _currency(_inst: Any, _attr: Any, value: str) -> None:
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise _Invalid(f"expected a currency code of 3 upper-case letters, got {value!r}")


def _timezone(_inst: Any, _attr: Any, value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise _Invalid(f"expected a time zone name like Europe/Berlin, got {value!r}") from None


def _status_reasons(_inst: Any, _attr: Any, value: tuple[str, ...]) -> None:
    # A reason becomes the order's status reason, a column of 64 characters.
    long = [r for r in value if len(r) > 64 or not r.strip()]
    if long:
        raise _Invalid(f"each reason needs 1 to 64 characters, got {long[0]!r}")


def _permissions(_inst: Any, _attr: Any, value: tuple[str, ...]) -> None:
    # Plugins declare theirs later (SPEC §4): only the `area.verb` shape can be checked here.
    bad = [p for p in value if p not in PERMISSIONS and not re.fullmatch(r"\w+(\.\w+)+", p)]
    if bad:
        raise _Invalid(f"expected permissions like orders.view, got {', '.join(map(repr, bad))}")


def _percentage(_inst: Any, _attr: Any, value: Decimal) -> None:
    if not Decimal(0) <= value < Decimal(100) or value.as_tuple().exponent < -4:  # type: ignore[operator]
        raise _Invalid(f'expected a percentage from 0 to under 100 like "8" or "19.5", got {value}')


def _amounts(_inst: Any, _attr: Any, value: dict[str, Decimal] | None) -> None:
    negative = [f"{amount} for {role!r}" for role, amount in (value or {}).items() if amount < 0]
    if negative:
        raise _Invalid(f"amounts must not be negative, got {', '.join(negative)}")


@attrs.frozen
class PostsalesSettings:
    """One sales channel's post-sales behaviour (`postsales:`, SPEC §5)."""

    auto_approve_return: bool = True
    auto_release_refund: bool = True
    return_service_order: bool = False
    return_service_line: bool = False
    shipping_refund_rule: Literal["onFirst", "onLast", "never"] = "never"
    return_source_manual: bool = False
    cancel_allowed_statuses: tuple[OrderStatus, ...] = ("NEW", "RECEIVED", "ONHOLD")
    return_comment_max: int = attrs.field(default=1000, validator=_at_least(1))
    appeasement_limits: dict[str, Decimal] | None = attrs.field(default=None, validator=_amounts)
    search_max_results: int | None = attrs.field(default=None, validator=_at_least(1))
    disabled_actions: tuple[str, ...] = ()
    return_window_days: int | None = attrs.field(default=None, validator=_at_least(0))
    return_window_exceeded: Literal["refuse", "approval"] = "refuse"
    non_returnable_skus: tuple[str, ...] = ()
    non_returnable_product_types: tuple[ProductType, ...] = ()
    lock_minutes: int = attrs.field(default=30, validator=_at_least(1))
    auto_review: bool = False  # `postsales lifecycle` passes order review of NEW orders itself


@attrs.frozen
class SalesChannel:
    """A store; its id is its key under `sales_channels:`."""

    name: str
    market: str
    currency: str = attrs.field(validator=_currency)
    language: str = "en_US"
    timezone: str = attrs.field(default="UTC", validator=_timezone)
    sources: tuple[str, ...] = ()
    return_reasons: tuple[str, ...] = ("Damaged", "Wrong item", "Too small", "Changed mind")
    review_reasons: tuple[str, ...] = attrs.field(
        default=("Fraud check passed", "Payment verified", "Address verified"),
        validator=_status_reasons,
    )
    payment_methods: tuple[str, ...] = ("card", "paypal", "cash", "cheque")
    shipping_methods: tuple[str, ...] = ("flatrate Fixed", "express")
    # Lines an agent adds (a new order, an edit) are taxed as the store's imported lines are:
    # net is the price, tax is `tax_rate` percent of it, gross = net + tax (seed 004, A-12).
    tax_rate: Decimal = attrs.field(default=Decimal(0), validator=_percentage)
    tax_type: str = "SALES"
    postsales: PostsalesSettings = PostsalesSettings()


@attrs.frozen
class Source:
    """A warehouse or store that ships; only some take returns back."""

    name: str
    accepts_returns: bool = False


@attrs.frozen
class Role:
    """Permissions, and the sales channels they apply to ("*": all of them)."""

    permissions: tuple[str, ...] = attrs.field(validator=_permissions)
    sales_channels: ChannelScope

    def sees(self, channel_id: str) -> bool:
        return self.sales_channels == "*" or channel_id in self.sales_channels


@attrs.frozen
class PluginConfig:
    """A plugin's switch and its own settings (every key but `enabled`)."""

    enabled: bool = True
    options: Mapping[str, Any] = attrs.field(factory=dict, converter=MappingProxyType)


@attrs.frozen
class MessagesSettings:
    """Message bus settings; `type_prefix` (e.g. "magento.") is stripped from incoming types."""

    type_prefix: str = ""


@attrs.frozen
class Settings:
    """The whole configuration; `origin[channel][postsales key]` is "default" or a file path."""

    sales_channels: dict[str, SalesChannel]
    sources: dict[str, Source]
    roles: dict[str, Role]
    plugins: dict[str, PluginConfig] = attrs.Factory(dict)
    messages: MessagesSettings = MessagesSettings()
    origin: dict[str, dict[str, str]] = attrs.Factory(dict)
    # Which file set each key path (a tuple of keys); () is the file or folder given.
    files: Mapping[tuple[str, ...], str] = attrs.field(factory=dict, converter=MappingProxyType)
    # The file each `plugins:` entry came from, so plugin errors can name it.
    plugin_files: dict[str, str] = attrs.Factory(dict)

    def file_of(self, *path: str) -> str:
        """The file that set `path` (or the nearest key above it that a file set), for error
        lines about the config that only the plugins can check (`bootstrap.build_registry`)."""
        for n in range(len(path), 0, -1):
            if path[:n] in self.files:
                return self.files[path[:n]]
        return self.files.get((), "config")

    def channel(self, channel_id: str) -> SalesChannel:
        try:
            return self.sales_channels[channel_id]
        except KeyError:
            raise KeyError(f"unknown sales channel {channel_id!r}") from None

    def plugin_enabled(self, name: str) -> bool:
        return name not in self.plugins or self.plugins[name].enabled

    def plugin_options(self, name: str) -> Mapping[str, Any]:
        return self.plugins[name].options if name in self.plugins else MappingProxyType({})


Hook = Callable[[Any, Any], Any]  # a cattrs structure hook: (value, type) -> value


def _only(kind: type | tuple[type, ...], what: str, structure: Hook = lambda v, _t: v) -> Hook:
    # cattrs converts what it is given (bool("no") is True, "abc" is a list of three letters):
    # a YAML value must already have the expected shape.
    def hook(value: Any, type_: Any) -> Any:
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise _Invalid(f"expected {what}, got {_show(value)}")
        return structure(value, type_)

    return hook


def _decimal(value: Any, _type: Any) -> Decimal:
    text = getattr(value, "text", value)  # a YAML float keeps its text: 50.5 -> Decimal("50.5")
    if isinstance(value, bool) or not isinstance(text, str | int):
        raise _Invalid(f'expected an amount like "50.00", got {_show(value)}')
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        raise _Invalid(f'expected an amount like "50.00", got {_show(value)}')
    return amount


def _literal(type_: Any) -> Hook:
    choices = get_args(type_)

    def hook(value: Any, _type: Any) -> Any:
        if value not in choices:
            raise _Invalid(f"must be one of {', '.join(map(str, choices))}, got {_show(value)}")
        return value

    return hook


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(bool, _only(bool, "a boolean (true/false)"))
    conv.register_structure_hook(int, _only(int, "a whole number"))
    conv.register_structure_hook(str, _only(str, "a string (quote it)"))
    conv.register_structure_hook(Decimal, _decimal)
    conv.register_structure_hook_factory(lambda t: get_origin(t) is Literal, _literal)
    conv.register_structure_hook_factory(
        lambda t: get_origin(t) is tuple and get_args(t)[1:] == (...,),
        lambda t: _only((list, tuple), "a list", homogenous_tuple_structure_factory(t, conv)),
    )
    conv.register_structure_hook_factory(
        lambda t: get_origin(t) is dict,
        lambda t: _only(dict, "a mapping", mapping_structure_factory(t, conv)),
    )

    def classes(cls: type) -> Hook:
        attrs.resolve_types(cls)
        checked = {
            a.name: override(struct_hook=_checked(conv, a))
            for a in attrs.fields(cls)
            if a.validator
        }
        # mypy matches `**checked` against the named flags too; cattrs takes overrides there.
        return _only(dict, "a mapping", make_dict_structure_fn(cls, conv, **checked))  # type: ignore[arg-type]

    conv.register_structure_hook_factory(attrs.has, classes)
    names = conv.get_structure_hook(tuple[str, ...])

    def scope(value: Any, type_: Any) -> tuple[str, ...] | str:
        if isinstance(value, str) and value != "*":
            raise _Invalid(f'expected "*" or a list of sales channels, got {value!r}')
        return "*" if value == "*" else names(value, tuple[str, ...])

    conv.register_structure_hook(ChannelScope, scope)
    plugin = make_dict_structure_fn(PluginConfig, conv)

    def plugins(value: dict, cls: Any) -> PluginConfig:
        options = dict(value)
        return plugin({"enabled": options.pop("enabled", True), "options": options}, cls)

    conv.register_structure_hook(
        PluginConfig, _only(dict, "a mapping like {enabled: false}", plugins)
    )
    return conv


def _checked(conv: cattrs.Converter, field: attrs.Attribute) -> Hook:
    structure = conv.get_structure_hook(field.type)
    validator = field.validator
    assert validator is not None  # only fields with a validator are checked

    def hook(value: Any, type_: Any) -> Any:
        result = structure(value, type_)
        validator(None, field, result)
        return result

    return hook


def _format(exc: BaseException, type_: Any) -> str:
    # cattrs's own formatter says "invalid value" for validator messages and "unknown error" for
    # Literals; our hooks raise `_Invalid` with the full text instead.
    if isinstance(exc, _Invalid):
        return str(exc)
    if isinstance(exc, KeyError):
        return f"missing required key {exc.args[0]!r}"
    if isinstance(exc, ForbiddenExtraKeysError):
        return ", ".join(f"unknown key {k!r}" for k in sorted(exc.extra_fields))
    return cattrs.v.format_exception(exc, type_)


_CONVERTER = _make_converter()


def _cross_check(s: Settings) -> list[str]:
    def unknown(what: str, name: str, known: Mapping) -> str:
        return f"unknown {what} {name!r} (defined: {', '.join(known) or 'none'})"

    lines = []
    for cid, channel in s.sales_channels.items():
        at = f"$.sales_channels[{cid!r}]"
        lines += [
            f"{unknown('source', src, s.sources)} @ {at}.sources[{i}]"
            for i, src in enumerate(channel.sources)
            if src not in s.sources
        ]
        lines += [
            f"{unknown('role', role, s.roles)} @ {at}.postsales.appeasement_limits[{role!r}]"
            for role in channel.postsales.appeasement_limits or {}
            if role not in s.roles
        ]
    for rid, role in s.roles.items():
        at = f"$.roles[{rid!r}].sales_channels"
        lines += [
            f"{unknown('sales channel', cid, s.sales_channels)} @ {at}[{i}]"
            for i, cid in enumerate(() if role.sales_channels == "*" else role.sales_channels)
            if cid not in s.sales_channels
        ]
    return lines


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load the packaged defaults, laid under `path` (a YAML file or a folder of them), if given.

    Each top-level key of the deployment replaces the default one; raises `ConfigError` listing
    every problem found.
    """
    problems: list[str] = []
    defaults = packaged_defaults()
    fallback = str(defaults)
    data, origins = read_layers([defaults], problems, TOP_LEVEL_KEYS)
    if path is not None and os.fspath(path) != "":  # an empty POSTSALES_CONFIG means "unset"
        fallback, files = os.fspath(path), [Path(path)]
        if files[0].is_dir():
            files = sorted(f for f in files[0].iterdir() if f.suffix in (".yaml", ".yml"))
            if not files:
                problems.append(f"{fallback}: no *.yaml or *.yml file in this folder")
        deployment, given = read_layers(files, problems, TOP_LEVEL_KEYS)
        data.update(deployment)
        origins = {p: f for p, f in origins.items() if p[0] not in deployment} | given
    if problems:
        raise ConfigError(problems)
    try:
        settings = _CONVERTER.structure(data, Settings)
    except Exception as exc:  # cattrs groups every failure; transform_error flattens them
        lines = cattrs.transform_error(exc, format_exception=_format)
        # cattrs puts a missing key in the path; we name the mapping that lacks it instead.
        lines = [re.sub(r"^(missing required key '(\w+)' @ .*)\.\2$", r"\1", ln) for ln in lines]
        raise ConfigError([locate(ln, origins, fallback) for ln in lines]) from None
    problems = [locate(ln, origins, fallback) for ln in _cross_check(settings)]
    if problems:
        raise ConfigError(problems)
    keys = [f.name for f in attrs.fields(PostsalesSettings)]
    origin = {
        cid: {k: origins.get(("sales_channels", cid, "postsales", k), "default") for k in keys}
        for cid in settings.sales_channels
    }
    plugin_files = {
        name: origins.get(("plugins", name), origins.get(("plugins",), fallback))
        for name in settings.plugins
    }
    file_of: Origins = {**origins, (): fallback}
    # mypy's attrs plugin cannot type the generic MappingProxyType converter of `files`.
    return attrs.evolve(
        settings,
        origin=origin,
        files=file_of,  # type: ignore[arg-type]
        plugin_files=plugin_files,
    )


def effective_channel_settings(settings: Settings) -> dict[str, list[tuple[str, object, str]]]:
    """Per channel, each `postsales` key with its effective value and where it came from."""
    keys = [f.name for f in attrs.fields(PostsalesSettings)]
    return {
        cid: [
            (k, getattr(ch.postsales, k), settings.origin.get(cid, {}).get(k, "default"))
            for k in keys
        ]
        for cid, ch in settings.sales_channels.items()
    }
