"""Bulk import on several cores (issue 2 item 13).

Reading an order-create message — decoding its JSON, validating it and building its rows —
costs about twice what the database spends storing them, and one Python process does it on one
core. So a long JSON-lines stream is cut into chunks of CHUNK_LINES lines that worker processes
read in parallel, while the importing process takes their results in stream order and writes them in
batches as before: same validation, same idempotency by message id, same refusals and dead
letters, the same rows.

Workers only ever return work for the importing process; they never touch the database. They
hand back an order create's rows when it reads cleanly, and every other line (other message
types, anything refused) by its place in the chunk, for the importing process to take through
the serial path, which words refusals and applies the handlers. The importing process cuts the
stream into messages first (`message_stream.iter_units`: one pass, nothing parsed), so JSON
lines, pretty-printed documents and the elements of an array are all read in parallel alike
(issue 18 item 2).
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol

from ...message_stream import iter_units

CHUNK_LINES = 250  # messages per chunk
_MAX_WORKERS = 8

# What a worker runs per message text: (envelope without its payload, rows) for an order
# create that reads cleanly, else None. Set in the importing process before the workers fork.
_build: Callable[[str], tuple[Any, Any] | None] | None = None
_dispose: Callable[[], None] | None = None


# A message as the stream holds it: (its first line's number, its text).
_Unit = tuple[int, str]
# Chunks handed out, oldest first: (messages, the worker's reading).
_InFlight = deque[tuple[list[_Unit], "Future[list[tuple[Any, ...]]]"]]


class Sink(Protocol):
    """The importing process's side: results in stream order."""

    def take_order(self, number: int, raw: str, envelope: Any, rows: Any) -> None: ...

    def take_other(self, number: int, raw: str) -> None:
        """A message the workers did not build, to be parsed and read here."""


def default_workers() -> int:
    """Worker processes for `postsales import`: one per core but the one the importing process
    writes from (on 2 cores a second worker measured no faster: 9,557 against 9,456 orders/s
    for 10,000 orders, 6,668 against 7,070 for 100,000), so none on a single core. Only where
    forking is safe and cheap (Linux): a spawned worker would re-import the application and
    re-read the configuration."""
    if not sys.platform.startswith("linux"):
        return 0
    return max(0, min(len(os.sched_getaffinity(0)) - 1, _MAX_WORKERS))


def run(
    lines: Iterator[str],
    workers: int,
    sink: Sink,
    build: Callable[[str], tuple[Any, Any] | None],
    dispose: Callable[[], None],
    batch_size: int = CHUNK_LINES,
) -> None:
    """Feed `lines` to `sink`, order creates read by `workers` processes. `dispose` runs first
    in each worker: it drops the database connections the fork copied, unused. The workers
    read ahead by a batch of the sink's and two chunks each, so that they keep busy while
    the sink writes a batch."""
    chunks = _chunks(iter_units(lines))
    first = next(chunks, None)
    if first is None:
        return
    if len(first) < CHUNK_LINES:
        _take_here(first, sink)
        return
    ahead = 2 * workers + -(-batch_size // CHUNK_LINES)
    global _build, _dispose
    _build, _dispose = build, dispose
    in_flight: _InFlight = deque()
    context = multiprocessing.get_context("fork")
    # No cyclic garbage collection while the results stream in: unpickling a chunk makes
    # tens of thousands of lists, and the collections they set off cost 50 µs an order of
    # the 95 this process spends (10 µs without). Reference counting still frees every row
    # once written; the few cycles a batch leaves wait for the end.
    collecting = gc.isenabled()
    gc.disable()
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start) as pool:
        try:
            # The workers start on the chunks that follow while this process reads the first
            # one itself, instead of waiting idle for the first result.
            for chunk in itertools.islice(chunks, ahead):
                in_flight.append((chunk, pool.submit(_read_chunk, chunk)))
            _take_here(first, sink)
            for chunk in chunks:
                in_flight.append((chunk, pool.submit(_read_chunk, chunk)))
                while len(in_flight) > ahead:
                    _take(in_flight.popleft(), sink)
            while in_flight:
                _take(in_flight.popleft(), sink)
        finally:
            for _chunk, future in in_flight:
                future.cancel()
            _build = _dispose = None
            if collecting:
                gc.enable()


def _take_here(chunk: list[_Unit], sink: Sink) -> None:
    for number, text in chunk:
        sink.take_other(number, text)


def _take(head: tuple[list[_Unit], Future[list[tuple[Any, ...]]]], sink: Sink) -> None:
    """Hand the oldest chunk's results to the sink."""
    chunk, future = head
    for item in future.result():
        if len(item) == 3:
            offset, envelope, rows = item
            number, raw = chunk[offset]
            sink.take_order(number, raw, envelope, rows)
        else:
            sink.take_other(*chunk[item[0]])


def _chunks(units: Iterator[_Unit]) -> Iterator[list[_Unit]]:
    """CHUNK_LINES messages at a time."""
    while chunk := list(itertools.islice(units, CHUNK_LINES)):
        yield chunk


def _start() -> None:
    # Workers live for one import and make no reference cycles: the collector would only
    # walk the chunk's rows over and over (12 of the 80 µs an order takes to read).
    gc.disable()
    if _dispose is not None:
        _dispose()


def _read_chunk(chunk: list[_Unit]) -> list[tuple[Any, ...]]:
    """In a worker: per message, (offset, envelope, rows) for an order create read cleanly,
    else (offset,) — other types, arrays and anything refused are read by the importing
    process, which words the refusal."""
    build = _build
    assert build is not None, "workers fork after run() sets the builder"
    results: list[tuple[Any, ...]] = []
    for offset, (_number, text) in enumerate(chunk):
        built = build(text)
        results.append((offset,) if built is None else (offset, *built))
    return results
