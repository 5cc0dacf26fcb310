"""Billing data outside the orders table, sealed at rest (S-6, issue 17 item 2).

An order's billing address is encrypted in its row (`crypto.py`); these are the other places a
billing address can reach, each sealed with the same keys (`BillingCipher.seal`) and a context
naming the place, so a sealed value cannot be moved to another one:

- an outbound message that carries a billing address (a shipment request) is sealed whole
  until the relay or a reader of the outbox opens it (`seal_outbox_payload`, context
  `outbox` + message id);
- a response kept for an `Idempotency-Key` replay (context `idempotency` + user + key);
- a refused inbound message keeps everything an operator needs to see why, except its billing
  address, which is sealed in place (`seal_dead_letter`): any value under a `billing_address`
  key, and in an order create the `addresses` entry its `billing_address_reference` names
  (every entry when the reference is missing or names none). A message that is not JSON at
  all and mentions an address is sealed whole. Billing values quoted in the refusal's reason
  are blanked out of it;
- an audit row of an export filtered by billing words (`seal_audit_filters`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ..crypto import BillingCipher, is_sealed

DEAD_LETTER = "dead-letter"
REDACTED = "[billing data]"
_BILLING_KEY = re.compile(r"billing_?address", re.IGNORECASE)
_ADDRESS = re.compile(r"address", re.IGNORECASE)
_MIN_QUOTED = 3  # shorter billing values (a state code) are too common to blank out of reasons


def _billing_key(key: object) -> bool:
    # The length first: this runs for every key of every outbound payload.
    return isinstance(key, str) and len(key) in (14, 15) and bool(_BILLING_KEY.fullmatch(key))


def holds_billing(value: Any) -> bool:
    """Whether a JSON value has a non-empty `billing_address` anywhere in it."""
    if isinstance(value, dict):
        for key, item in value.items():
            if item and _billing_key(key):
                return True
            if holds_billing(item):
                return True
    elif isinstance(value, list):
        return any(holds_billing(item) for item in value)
    return False


def outbox_context(message_id: str) -> str:
    return f"outbox\x00{message_id}"


def seal_outbox_payload(cipher: BillingCipher, message_id: str, payload: Any) -> Any:
    """The payload to store: sealed whole when it carries a billing address."""
    if holds_billing(payload):
        return cipher.seal_json(outbox_context(message_id), payload)
    return payload


def open_outbox_payload(cipher: BillingCipher | None, message_id: str, payload: Any) -> Any:
    """The payload as it was emitted (`cipher` is needed only for a sealed one)."""
    if is_sealed(payload):
        assert cipher is not None, "a sealed outbox payload needs the billing cipher"
        return cipher.unseal_json(outbox_context(message_id), payload)
    return payload


def idempotency_context(user_name: str, key: str) -> str:
    return f"idempotency\x00{user_name}\x00{key}"


def seal_audit_filters(
    billing: Callable[[], BillingCipher], detail: dict[str, Any]
) -> dict[str, Any]:
    """An export's audit detail with its billing words sealed: the `billing_address` filter,
    and an S-2 expression that mentions the field (sealed whole). `billing` is asked for the
    cipher only when there is one of them."""
    out = dict(detail)
    if isinstance(out.get("filters"), dict):
        filters = out["filters"] = dict(out["filters"])
        for name in [n for n in filters if _BILLING_KEY.fullmatch(str(n))]:
            if not is_sealed(filters[name]):
                filters[name] = billing().seal_json(f"audit\x00{name}", filters[name])
    expression = out.get("expression")
    if (
        expression is not None
        and not is_sealed(expression)
        and "billing" in json.dumps(expression, default=str).lower()
    ):
        out["expression"] = billing().seal_json("audit\x00expression", expression)
    return out


def seal_dead_letter(
    billing: Callable[[], BillingCipher | None], raw: str, reason: str
) -> tuple[str, str]:
    """The (raw, reason) to keep for a refused message, its billing data sealed.

    `billing` is asked for the cipher only when there is something to seal; when it gives
    None (no key to seal with) the billing data is replaced by a marker instead."""
    value = _decoded(raw)
    if value is None:
        if not _ADDRESS.search(raw):
            return raw, reason
        sealed = _seal(billing(), raw)
        return json.dumps({"unreadable_message": sealed}), reason
    found: list[Any] = []
    redacted = _redact(value, found)
    if not found:
        return raw, reason
    sealed_value = _replace(redacted, billing())
    for text in sorted(_strings(found), key=len, reverse=True):
        reason = reason.replace(text, REDACTED)
    return _dump(sealed_value), reason


class _Hidden:
    """A billing value found by `_redact`, sealed once the whole tree is known."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _redact(value: Any, found: list[Any]) -> Any:
    if isinstance(value, list):
        return [_redact(item, found) for item in value]
    if not isinstance(value, dict) or is_sealed(value):
        return value
    out: dict[str, Any] = {}
    billing_refs = _billing_references(value)
    for key, item in value.items():
        if is_sealed(item) or item == REDACTED:
            out[key] = item
        elif item is not None and _billing_key(key):
            found.append(item)
            out[key] = _Hidden(item)
        elif key == "addresses" and isinstance(item, list) and billing_refs is not None:
            entries = []
            for entry in item:
                if is_sealed(entry) or entry == REDACTED:
                    entries.append(entry)
                elif billing_refs is _ALL or _reference(entry) in billing_refs:
                    found.append(entry)
                    entries.append(_Hidden(entry))
                else:
                    entries.append(_redact(entry, found))
            out[key] = entries
        else:
            out[key] = _redact(item, found)
    return out


_ALL: Any = frozenset({"*"})


def _billing_references(value: dict[str, Any]) -> Any:
    """The `addresses` entries of an order create that hold its billing address: the one its
    reference names, or all when it names none; None when the object has no `addresses`."""
    if not isinstance(value.get("addresses"), list):
        return None
    ref = value.get("billing_address_reference")
    refs = {_reference(e) for e in value["addresses"]}
    if isinstance(ref, str | int | Decimal) and not isinstance(ref, bool):
        if str(ref) in refs:
            return {str(ref)}
        if any(is_sealed(e) or e == REDACTED for e in value["addresses"]):
            return set()  # sealed already (a dead letter kept before, sealed again)
    return _ALL


def _reference(entry: Any) -> str | None:
    ref = entry.get("reference") if isinstance(entry, dict) else None
    return None if ref is None else str(ref)


def _replace(value: Any, cipher: BillingCipher | None) -> Any:
    if isinstance(value, _Hidden):
        return _seal(cipher, _dump(value.value))
    if isinstance(value, list):
        return [_replace(item, cipher) for item in value]
    if isinstance(value, dict):
        return {key: _replace(item, cipher) for key, item in value.items()}
    return value


def _seal(cipher: BillingCipher | None, text: str) -> Any:
    if cipher is None:
        return REDACTED
    return {"$sealed": cipher.seal(DEAD_LETTER, text)}


def _strings(values: list[Any]) -> set[str]:
    out: set[str] = set()
    stack = list(values)
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(item.strip()) >= _MIN_QUOTED:
                out.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def _decoded(raw: str) -> Any:
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=Decimal)
    except (ValueError, RecursionError):
        return None


def _dump(value: Any) -> str:
    """Compact JSON that keeps numbers as they were written (decoded as Decimal)."""
    if isinstance(value, dict):
        items = (json.dumps(str(k), ensure_ascii=False) + ":" + _dump(v) for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(map(_dump, value)) + "]"
    if isinstance(value, Decimal):
        return str(value)  # NaN and Infinity too, as Python's JSON writes them
    return json.dumps(value, ensure_ascii=False)


def open_dead_letter(cipher: BillingCipher, raw: str) -> str:
    """A kept message with its sealed parts opened again (to replay it after a fix)."""
    value = _decoded(raw)
    if value is None:
        return raw
    if isinstance(value, dict) and set(value) == {"unreadable_message"}:
        inner = value["unreadable_message"]
        if is_sealed(inner):
            return cipher.unseal(DEAD_LETTER, inner["$sealed"])
    return _dump(_opened(cipher, value))


def _opened(cipher: BillingCipher, value: Any) -> Any:
    if is_sealed(value):
        return _decoded(cipher.unseal(DEAD_LETTER, value["$sealed"]))
    if isinstance(value, list):
        return [_opened(cipher, item) for item in value]
    if isinstance(value, dict):
        return {key: _opened(cipher, item) for key, item in value.items()}
    return value


__all__ = [
    "holds_billing",
    "idempotency_context",
    "open_dead_letter",
    "open_outbox_payload",
    "seal_audit_filters",
    "seal_dead_letter",
    "seal_outbox_payload",
]
