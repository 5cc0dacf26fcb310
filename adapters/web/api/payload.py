"""Reading JSON request bodies and writing JSON responses.

Numbers in a body are read as `Decimal`, never float (SPEC §11): `"amount": 19.99` is exactly
19.99. `NaN` and `Infinity`, which Python's parser accepts by default, are refused. Responses are
compact UTF-8 JSON, serialised once, so a stored response can be replayed byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from postsales.core.errors import BadInput
from postsales.core.limits import read_json

JSON = "application/json"


class MalformedJSON(BadRequest):
    """The body is not JSON at all (400), as opposed to JSON we cannot accept (422)."""

    problem_kind = ("malformed-json", "Malformed JSON")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse(raw: bytes) -> Any:
    """Parse a JSON text; MalformedJSON (400) when it is not one."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedJSON("The body is not valid UTF-8 JSON.") from None
    try:
        return read_json("body", text, parse_float=Decimal, parse_constant=_no_constants)
    except ValueError as exc:
        raise MalformedJSON(f"The body is not valid JSON: {exc}.") from None


def body_or_raw() -> Any:
    """The parsed body, or its bytes if it is not JSON (for fingerprinting a request)."""
    raw = request.get_data()
    try:
        return parse(raw) if raw.strip() else {}
    except (MalformedJSON, BadInput):
        return raw


def json_object(*, empty_ok: bool = True) -> dict[str, Any]:
    """The body as a JSON object; an empty body is `{}` when `empty_ok`."""
    raw = request.get_data()
    if not raw.strip():
        if empty_ok:
            return {}
        raise MalformedJSON("The body is empty; expected a JSON object.")
    value = parse(raw)
    if not isinstance(value, Mapping):
        raise BadInput(f"body: expected a JSON object, got {_kind(value)}", field="body")
    return dict(value)


def pop_flag(body: dict[str, Any], name: str) -> bool:
    """Take a boolean option such as `dry_run` out of a body of parameters."""
    value = body.pop(name, False)
    if not isinstance(value, bool):
        raise BadInput(f"{name}: expected true or false, got {value!r}", field=name)
    return value


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_default)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(dumps(data), status=status, content_type=JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
