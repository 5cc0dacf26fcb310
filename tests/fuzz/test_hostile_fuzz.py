"""Hostile input through every door, generated (SPEC §12, issue 12 item 2).

Every filter value, S-2 expression, action parameter (core `run_action`, the CLI through click's
CliRunner, the API through Flask's test client), inbound message field and config value, drawn
from calendar-edge dates, odd numbers (1e309, NaN, Infinity, -0, 1e-30, 400 digits), text with
NUL and lone surrogates, 1 MB strings and nesting 10,000 deep. Each must be taken or refused with
a user error: never another exception, a CLI exit 1 or an HTTP 5xx; a refused action leaves the
order as it was. Example counts come from the Hypothesis profile (tests/fuzz/conftest.py):
10,000 per entry point in CI.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import assume, given
from hypothesis import strategies as st

from postsales.adapters.cli import commands  # noqa: F401  (registers subcommands)
from postsales.adapters.cli.main import cli
from postsales.core.bootstrap import Postsales
from postsales.core.errors import PostsalesError
from postsales.core.search.fields import FIELDS
from postsales.core.services.actions import list_actions, run_action
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.orders import show_order
from postsales.core.services.search import search_orders
from postsales.core.services.users import get_user
from postsales.core.settings import load_settings
from tests.adapters.test_api import make_api
from tests.conftest import ROOT, example
from tests.fuzz.conftest import FUZZ

pytestmark = pytest.mark.fuzz

ORDER = "000000101"
DATES = [
    "0001-01-01", "0001-01-02", "9999-12-31", "9999-12-30", "1970-01-01", "2024-02-29",
    "2023-02-29", "0000-00-00", "2026-13-01", "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999Z", "2026-11-02T25:00:00+00:00",
    "2026-11-02T09:30:00", "-2026-01-01", "+12026-01-01",
]  # fmt: skip
NUMBERS = [
    "1e309", "-1e309", "NaN", "nan", "Infinity", "-Infinity", "-0", "0", "1e-30", "9" * 400,
    "-" + "9" * 400, "9223372036854775808", "-9223372036854775809", "1e20", "0.000001",
    "1.005", "0x10", "1_000", "١٢٣",
]  # fmt: skip
TEXTS = ["", " ", "a\x00b", "\x00", "a\ud800b", "\udfff", "x" * 1_000_000, "%", "_", "*", "a,b"]
DEEP_TEXT = "[" * 10_000 + "]" * 10_000


DEEP = "<nested 10,000 deep>"  # drawn as this marker (Hypothesis cannot print the real thing)


def _deep(depth: int = 10_000) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def _real(value: Any) -> Any:
    """The drawn value with each marker replaced by a list nested 10,000 deep."""
    if value == DEEP:
        return _deep()
    if isinstance(value, dict):
        return {k: _real(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_real(v) for v in value]
    return value


def _dumps(value: Any, **kw: Any) -> str:
    """JSON text of a drawn value, each marker become 10,000 levels of brackets."""
    return json.dumps(value, default=str, **kw).replace(json.dumps(DEEP), DEEP_TEXT)


hostile_text = st.one_of(
    st.sampled_from(DATES + NUMBERS + TEXTS + [DEEP_TEXT]),
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from("\x00\ud800\udfffa%_*,é\u202e 0-9:T+Z"), max_size=30),
)
scalar = st.one_of(
    hostile_text,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([2**63, -(2**63) - 1, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
json_value = st.one_of(
    st.recursive(
        scalar,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3)
        ),
        max_leaves=6,
    ),
    st.just(DEEP),
)


def _document(app: Postsales) -> dict[str, Any]:
    return show_order(app, ORDER, get_user(app, None))


# -- S-1 filters and S-2 expressions --------------------------------------------------------


@FUZZ
@given(
    filters=st.dictionaries(st.sampled_from(sorted(FIELDS)), hostile_text, min_size=1, max_size=3)
)
def test_filters(fuzz_app: Postsales, filters: dict[str, str]) -> None:
    with contextlib.suppress(PostsalesError):
        search_orders(fuzz_app, get_user(fuzz_app, None), filters)


def _comparison() -> st.SearchStrategy[dict[str, Any]]:
    value = st.fixed_dictionaries(
        {"value": json_value},
        optional={
            "type": st.sampled_from(["string", "datetime", "date", "number", "integer", "x"])
        },
    )
    return st.builds(
        lambda op, field, values: {
            "exp": op,
            "args": [{"exp": "field", "args": [{"value": field}]}, *values],
        },
        st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le", "like", "in"]),
        st.sampled_from(sorted(FIELDS)),
        st.lists(value, min_size=1, max_size=2),
    )


expressions = (
    st.recursive(
        _comparison(),
        lambda inner: st.builds(
            lambda op, args: {"exp": op, "args": args},
            st.sampled_from(["and", "or", "not"]),
            st.lists(inner, min_size=1, max_size=3),
        ),
        max_leaves=4,
    )
    | json_value
)


@FUZZ
@given(expression=expressions)
def test_expressions(fuzz_app: Postsales, expression: Any) -> None:
    with contextlib.suppress(PostsalesError):
        search_orders(fuzz_app, get_user(fuzz_app, None), expression=_real(expression))


# -- action parameters ----------------------------------------------------------------------

# `delete` would remove the one order every example acts on.
_ACTIONS: dict[str, list[str]] = {}


def _actions(app: Postsales) -> dict[str, list[str]]:
    if not _ACTIONS:
        for action in list_actions(app, ORDER, get_user(app, None)):
            if action.name != "delete":
                _ACTIONS[action.name] = sorted(action.to_dict()["params"].get("properties", {}))
    return _ACTIONS


@st.composite
def action_calls(draw: st.DrawFn, app: Postsales) -> tuple[str, dict[str, Any]]:
    actions = _actions(app)
    name = draw(st.sampled_from(sorted(actions)))
    keys = st.sampled_from(actions[name] or ["x"]) | hostile_text
    return name, draw(st.dictionaries(keys, json_value, max_size=4))


@FUZZ
@given(data=st.data())
def test_run_action(fuzz_app: Postsales, data: st.DataObject) -> None:
    name, params = data.draw(action_calls(fuzz_app))
    before = _document(fuzz_app)
    try:
        run_action(fuzz_app, ORDER, name, _real(params), get_user(fuzz_app, None))
    except PostsalesError:
        assert _document(fuzz_app) == before


def _cli_param(key: str, value: Any) -> str:
    text = DEEP_TEXT if value == DEEP else value if isinstance(value, str) else _dumps(value)
    return f"{key}={text}"


@FUZZ
@given(data=st.data())
def test_cli_act_and_search(fuzz_app: Postsales, data: st.DataObject) -> None:
    url = fuzz_app.engine.url.render_as_string(hide_password=False)
    name, params = data.draw(action_calls(fuzz_app))
    assume(all(isinstance(k, str) for k in params))
    try:
        args = [a for k, v in params.items() for a in ("--param", _cli_param(k, v))]
    except (RecursionError, ValueError):
        args = ["--param", f"x={DEEP_TEXT}"]
    filters = data.draw(st.dictionaries(st.sampled_from(sorted(FIELDS)), hostile_text, max_size=2))
    runner = CliRunner()
    for argv in (
        ["act", ORDER, name, *args],
        ["orders", "search", *[a for k, v in filters.items() for a in ("--filter", f"{k}={v}")]],
    ):
        result = runner.invoke(cli, ["--db", url, *argv])
        assert result.exit_code in (0, 2, 3, 4, 5), result.output
        assert not isinstance(result.exception, RecursionError | UnicodeError)


_API: dict[int, Any] = {}


def _api(app: Postsales) -> Any:
    if id(app) not in _API:
        _API[id(app)] = make_api(app, {"fuzzer": ["supervisor"]})
    return _API[id(app)]


def _problem(response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code in (400, 422):
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json["detail"]


@FUZZ
@given(data=st.data())
def test_api_actions_and_search(fuzz_app: Postsales, data: st.DataObject) -> None:
    api = _api(fuzz_app)
    name, params = data.draw(action_calls(fuzz_app))
    try:
        body = _dumps(params, ensure_ascii=data.draw(st.booleans()))
    except (RecursionError, ValueError):
        body = '{"x": ' + DEEP_TEXT + "}"
    encoded = body.encode("utf-8", "surrogatepass")
    headers = api.auth("fuzzer", **{"Content-Type": "application/json"})
    before = _document(fuzz_app)
    response = api.client.post(
        f"/api/v1/orders/{ORDER}/actions/{name}", data=encoded, headers=headers
    )
    _problem(response)
    if response.status_code >= 400:
        assert _document(fuzz_app) == before
    query = data.draw(
        st.dictionaries(
            st.sampled_from([*sorted(FIELDS), "page", "per_page", "sort", "after"]),
            hostile_text,
            max_size=3,
        )
    )
    clean = {
        k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in query.items()
    }
    _problem(api.client.get("/api/v1/orders", query_string=clean, headers=headers))


# -- inbound messages -----------------------------------------------------------------------


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [path, *(p for k, v in value.items() for p in _leaves(v, (*path, k)))]
    if isinstance(value, list):
        return [path, *(p for i, v in enumerate(value) for p in _leaves(v, (*path, i)))]
    return [path]


_MESSAGES = {
    name: example(name)
    for name in ("order-create.json", "shipment-shipped.json", "stock-update.json",
                 "return-received.json", "refund-confirmed.json")
}  # fmt: skip
_SEQ = itertools.count()


@FUZZ
@given(data=st.data())
def test_inbound_message_fields(fuzz_app: Postsales, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(_MESSAGES)))
    message = json.loads(json.dumps(_MESSAGES[name]))
    n = next(_SEQ)
    message["id"] = f"fuzz-{n}"
    if name == "order-create.json":
        message["payload"]["order"]["id"] = f"{200000000 + n}"
    path = data.draw(st.sampled_from(_leaves(message)[1:]))
    value = data.draw(json_value)
    target = message
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    line = _dumps(message)
    before = _document(fuzz_app)
    report = import_lines(fuzz_app, [line])
    if report.refused and name != "order-create.json":
        assert _document(fuzz_app) == before


# -- config values --------------------------------------------------------------------------

_DEFAULTS = yaml.safe_load((ROOT / "config" / "postsales.yaml").read_text())


@FUZZ
@given(data=st.data())
def test_config_values(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    config = json.loads(json.dumps(_DEFAULTS))
    path = data.draw(st.sampled_from(_leaves(config)[1:]))
    target = config
    for key in path[:-1]:
        target = target[key]
    value = data.draw(json_value)
    target[path[-1]] = value
    try:
        text = yaml.safe_dump(config, allow_unicode=True)
    except (yaml.YAMLError, UnicodeError):
        text = "sales_channels: [" + repr(value)
    text = text.replace(DEEP, "[" * 10_000)
    file = Path(tmp_path_factory.mktemp("config")) / "postsales.yaml"
    try:
        file.write_text(text, encoding="utf-8")
    except UnicodeError:
        file.write_bytes(text.encode("utf-8", "surrogatepass"))
    with contextlib.suppress(PostsalesError):
        load_settings(file)
