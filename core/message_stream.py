"""Reading a stream of messages: JSON lines, or whole (pretty-printed) JSON documents one after
another, or a JSON array of envelopes — so the example files import as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from decimal import Decimal

MAX_DOCUMENT = 16 * 1024 * 1024


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number JSON allows")


# One shared decoder: json.loads with options builds a new one per call, a few µs a message.
_loads = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant).decode


def iter_documents(
    lines: Iterable[str], start: int = 1
) -> Iterator[tuple[int, str, object | None]]:
    """Yield (first line number, raw text, parsed value or None) per message; `start` is the
    number of the first of `lines`.

    A line that is a whole JSON value is one message (JSON lines, the fast path). A line that
    starts a value continuing on later lines is joined with them until the value is complete.
    A JSON array yields each element. Text that cannot be completed is yielded as it is, so the
    caller refuses it with the parser's own reason; reading resumes at the next line that opens
    a new object at column 0.
    """
    buffer: list[str] = []
    first = start
    size = 0
    skipping = False
    for number, line in enumerate(lines, start=start):
        if skipping:
            if not line.startswith("{"):
                continue
            skipping = False
        if not buffer:
            if not line.strip():
                continue
            first = number
        buffer.append(line)
        size += len(line)
        text = "".join(buffer)
        try:
            value = _loads(text)
        except json.JSONDecodeError as exc:
            incomplete = exc.pos >= len(text.rstrip())
            if incomplete and size < MAX_DOCUMENT:
                continue
            yield first, text, None
            skipping = len(buffer) > 1  # a broken multi-line document: resync on the next one
            buffer, size = [], 0
            continue
        except (ValueError, RecursionError):
            yield first, text, None  # NaN, bad numbers: the envelope parser names the problem
            buffer, size = [], 0
            continue
        buffer, size = [], 0
        if isinstance(value, list):
            for item in value:
                yield first, json.dumps(item, default=str), item
        else:
            yield first, text, value
    if buffer:
        yield first, "".join(buffer), None
