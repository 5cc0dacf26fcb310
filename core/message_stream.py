"""Reading a stream of messages: JSON lines, or whole (pretty-printed) JSON documents one after
another, or a JSON array of envelopes — so the example files import as they are.

The stream is cut into messages once, in one pass over its lines (`iter_units`), before any of
it is parsed: a JSON string cannot hold a raw line break, so each line's strings can be blanked
and its brackets counted on their own, and a document ends on the line that closes its last
bracket. Each message is then parsed once, here or in an import worker (issue 18 item 2; the
reader used to re-join and re-parse the document after every line, quadratic in its length).
"""

from __future__ import annotations

import itertools
import json
import re
from collections import deque
from collections.abc import Iterable, Iterator
from decimal import Decimal

MAX_DOCUMENT = 16 * 1024 * 1024

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number JSON allows")


# One shared decoder: json.loads with options builds a new one per call, a few µs a message.
_loads = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant).decode


# Every byte but a quote, a backslash and the four brackets (UTF-8's bytes of other letters
# included): what is left of a line shows its structure.
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'"\\{}[]')


def _depth(line: str) -> tuple[int, bool]:
    """How much `line` opens (+) or closes (-), outside its strings, and whether a string on
    it is left open (never valid JSON: the document is broken there)."""
    # The fast reading, a third of the exact one's time on a JSON line: once the line is cut
    # down to its structure, a string without brackets, quotes or backslashes is `""`. With
    # those gone, no quote left means no bracket was inside a string.
    bones = (
        line.encode("utf-8", "surrogatepass").translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    )
    if b'"' not in bones and b"\\" not in bones:
        return bones.count(b"{") + bones.count(b"[") - bones.count(b"}") - bones.count(b"]"), False
    if '\\"' in line:  # an escaped quote: only the full string grammar finds the strings' ends
        bare = _STRING.sub("", line)
        open_string = '"' in bare
    else:  # every quote opens or closes a string: split on them
        parts = line.split('"')
        bare = "".join(parts[::2])
        open_string = len(parts) % 2 == 0
    opened = bare.count("{") + bare.count("[") - bare.count("}") - bare.count("]")
    return opened, open_string


# What `_interior` keeps of a document's lines: quotes and line ends (for strings left open),
# and everything `_depth` keeps.
_NOT_QUOTE_OR_END = bytes(c for c in range(256) if c not in b'"\n')
_PLAIN_STRING = re.compile(rb'"[^"]*"')


def _interior(source: Iterator[str], indent: str, size: int) -> tuple[list[str], bool]:
    """The lines after a pretty-printed object's opening `{` (on a line of its own after
    `indent`; `size` its length) up to the one that closes it at the same indent, that line
    included, read in one go: (those lines, whether every line but the last can be taken
    whole).

    Cut line by line, a pretty-printed order's 120 lines cost 1 µs each (issue 18 item 2). They
    can be taken whole when `iter_units` would only have appended each one: none opens an
    object at column 0, none leaves a string open, and their brackets outside strings balance
    without closing the object early (each opens before it closes, so the depth stays above
    the object's own). Otherwise, or when no such closing line comes in time, the caller reads
    the lines one by one as before."""
    lines: list[str] = []
    append = lines.append
    close = indent + "}"
    stops = (close, "{")
    while True:  # in slices, so that a document with no closing line is not read to the end
        read = len(lines)
        for line in itertools.islice(source, 4096):
            append(line)
            if line.startswith(stops):
                break
        else:
            if len(lines) - read < 4096 or size + sum(map(len, lines)) > MAX_DOCUMENT:
                return lines, False  # the stream's end, or too long
            continue
        break
    if not lines[-1].startswith(close):
        return lines, False  # an object at column 0: a new message begins there
    text = "".join(lines[:-1])
    if size + len(text) > MAX_DOCUMENT or '\\"' in text:
        # too long, or an escaped quote: only the full string grammar finds the strings' ends
        return lines, False
    encoded = text.encode("utf-8", "surrogatepass")
    # A line with an odd number of quotes leaves a string open (every quote opens or closes one).
    if b'"' in encoded.translate(None, _NOT_QUOTE_OR_END).replace(b'""', b""):
        return lines, False
    bones = encoded.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in bones:  # strings holding brackets or backslashes
        bones = _PLAIN_STRING.sub(b"", bones)
    bones = bones.replace(b"[", b"{").replace(b"]", b"}")
    while b"{}" in bones:
        bones = bones.replace(b"{}", b"")
    return lines, not bones


def iter_units(lines: Iterable[str], start: int = 1) -> Iterator[tuple[int, str]]:
    """Yield (first line number, text) per message, unparsed; `start` is the number of the
    first of `lines`.

    A line that is a whole JSON value is one message (JSON lines). A value continuing on later
    lines is joined with them up to the line that closes it. The elements of a top-level array
    whose opening `[` stands on its own line are yielded one by one, each numbered by its first
    line; any other array is yielded whole (the parser expands it). Broken text — a string
    left open, more closed than opened, no end before the next line opening an object at
    column 0, or a document over MAX_DOCUMENT — is yielded as it is, for the parser to refuse
    with its own reason; reading resumes at the next line that opens an object at column 0
    (inside such an array, at the next element).
    """
    buffer: list[str] = []
    first = start
    depth = size = 0
    base = 0  # 1 inside a top-level array whose elements are yielded one by one
    broken = False
    pushed: deque[tuple[int, str]] = deque()  # lines read ahead, to read again one by one
    source = iter(lines)
    number = start - 1
    while True:
        if pushed:
            number, line = pushed.popleft()
        else:
            read = next(source, None)
            if read is None:
                break
            line = read
            number += 1
        if broken or (buffer and line[:1] == "{" and depth > base):
            if line[:1] != "{":
                continue  # skipping the rest of a broken document
            if buffer:
                yield first, "".join(buffer)
            buffer, depth, size, base, broken = [], 0, 0, 0, False
        if not buffer:
            stripped = line.strip()
            if base and stripped[:1] == "]":
                base = depth = 0  # the array's end
                continue
            if not stripped or (base and stripped == ","):
                continue
            if not base and stripped == "[":
                base = depth = 1  # the elements follow, one message each
                continue
            first = number
            if stripped == "{" and not pushed:  # a pretty-printed object: its lines at once
                opening = line
                ahead, whole = _interior(source, opening[: opening.index("{")], len(opening))
                if whole:
                    *inner, line = ahead  # the closing line is read as before
                    number += len(ahead)
                    buffer = [opening, *inner]
                    depth = base + 1
                    size = sum(map(len, buffer))
                else:
                    pushed.extend(zip(itertools.count(number + 1), ahead, strict=False))
        opened, open_string = _depth(line)
        depth += opened
        size += len(line)
        if base and depth == base - 1 and line.rstrip().endswith("]"):
            line, base, depth = line.rstrip()[:-1], 0, 0  # the last element closes the array
        if open_string or depth < base or size > MAX_DOCUMENT:
            buffer.append(line)
            if base:  # a broken element: refuse it, read the next one
                yield first, "".join(buffer)
                buffer, depth, size = [], base, 0
            else:
                broken = True
            continue
        if depth > base or (not base and depth > 0):
            buffer.append(line)
            continue
        if base:
            tail = line.rstrip()
            if tail.endswith(","):
                line = tail[:-1]
        else:
            depth = 0
        if buffer:
            buffer.append(line)
            yield first, "".join(buffer)
            buffer, size = [], 0
        else:
            yield first, line
    if buffer:
        yield first, "".join(buffer)


def read_unit(first: int, text: str) -> Iterator[tuple[int, str, object | None]]:
    """Parse one unit of `iter_units`: (line number, raw text, value or None when it cannot be
    parsed); an array yields each element."""
    try:
        value = _loads(text)
    except (ValueError, RecursionError):
        yield first, text, None  # the envelope parser names the problem
        return
    if isinstance(value, list):
        for item in value:
            yield first, json.dumps(item, default=str), item
    else:
        yield first, text, value


def iter_documents(
    lines: Iterable[str], start: int = 1
) -> Iterator[tuple[int, str, object | None]]:
    """Yield (first line number, raw text, parsed value or None) per message."""
    for first, text in iter_units(lines, start):
        yield from read_unit(first, text)
