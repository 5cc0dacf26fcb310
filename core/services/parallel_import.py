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
the serial path, which words refusals and applies the handlers. A chunk that is not one JSON
value per line (pretty-printed documents, arrays) ends the parallel part: the rest of the
stream, from that chunk on, is read serially, exactly as without workers.
"""

from __future__ import annotations

import gc
import itertools
import json
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol

from ..message_stream import _loads

CHUNK_LINES = 250
_MAX_WORKERS = 8

# What a worker runs per decoded message: (envelope without its payload, rows) for an order
# create that reads cleanly, else None. Set in the importing process before the workers fork.
_build: Callable[[dict[str, Any]], tuple[Any, Any] | None] | None = None
_dispose: Callable[[], None] | None = None


# Chunks handed out, oldest first: (first line's number, lines, the worker's reading — None
# for a chunk to be read serially).
_InFlight = deque[tuple[int, list[str], "Future[list[tuple[Any, ...]] | None] | None"]]


class Sink(Protocol):
    """The importing process's side: results in stream order."""

    def take_order(self, number: int, raw: str, envelope: Any, rows: Any) -> None: ...

    def take_other(self, number: int, raw: str) -> None: ...

    def take_serially(self, lines: Iterable[str], start: int) -> None: ...


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
    build: Callable[[dict[str, Any]], tuple[Any, Any] | None],
    dispose: Callable[[], None],
    batch_size: int = CHUNK_LINES,
) -> None:
    """Feed `lines` to `sink`, order creates read by `workers` processes. `dispose` runs first
    in each worker: it drops the database connections the fork copied, unused. The workers
    read ahead by a batch of the sink's and two chunks each, so that they keep busy while
    the sink writes a batch."""
    chunks = _chunks(lines)
    first = next(chunks, None)
    if first is None:
        return
    if len(first[1]) < CHUNK_LINES or not _one_value_per_line(first[1]):
        sink.take_serially(_rest(first, (), chunks), first[0])
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

        def hand_out(start: int, chunk: list[str]) -> bool:
            """Queue a chunk, for a worker if it is JSON lines; True when it is not."""
            serial = not _one_value_per_line(chunk)
            future = None if serial else pool.submit(_read_chunk, start, chunk)
            in_flight.append((start, chunk, future))
            return serial

        try:
            # The workers start on the chunks that follow while this process reads the first
            # one itself, instead of waiting idle for the first result.
            serial_ahead = any(
                hand_out(start, chunk) for start, chunk in itertools.islice(chunks, ahead)
            )
            sink.take_serially(first[1], first[0])
            if not serial_ahead:
                for start, chunk in chunks:
                    serial = hand_out(start, chunk)
                    while in_flight and (serial or len(in_flight) > ahead):
                        if not _take(in_flight, chunks, sink):
                            return
            while in_flight:
                if not _take(in_flight, chunks, sink):
                    return
        finally:
            for _, _chunk, future in in_flight:
                if future is not None:
                    future.cancel()
            _build = _dispose = None
            if collecting:
                gc.enable()


def _take(
    in_flight: _InFlight,
    chunks: Iterator[tuple[int, list[str]]],
    sink: Sink,
) -> bool:
    """Hand the oldest chunk's results to the sink; False when it had to be read serially
    (which takes the rest of the stream with it)."""
    start, chunk, future = in_flight.popleft()
    results = None if future is None else future.result()
    if results is None:
        _finish_serially(in_flight, (start, chunk), chunks, sink)
        return False
    for item in results:
        if len(item) == 4:
            number, offset, envelope, rows = item
            sink.take_order(number, chunk[offset], envelope, rows)
        else:
            number, offset = item
            sink.take_other(number, chunk[offset])
    return True


def _finish_serially(
    in_flight: _InFlight,
    head: tuple[int, list[str]],
    chunks: Iterator[tuple[int, list[str]]],
    sink: Sink,
) -> None:
    later = [chunk for _start, chunk, _future in in_flight]
    for _start, _chunk, future in in_flight:
        if future is not None:
            future.cancel()
    in_flight.clear()
    sink.take_serially(_rest(head, later, chunks), head[0])


def _rest(
    head: tuple[int, list[str]], later: Iterable[list[str]], chunks: Iterator[tuple[int, list[str]]]
) -> Iterator[str]:
    yield from head[1]
    for chunk in later:
        yield from chunk
    for _start, chunk in chunks:
        yield from chunk


def _chunks(lines: Iterator[str]) -> Iterator[tuple[int, list[str]]]:
    """(number of the first line, lines) per CHUNK_LINES lines."""
    start = 1
    while chunk := list(itertools.islice(lines, CHUNK_LINES)):
        yield start, chunk
        start += len(chunk)


def _one_value_per_line(chunk: list[str]) -> bool:
    """Every line blank or an object on its own — JSON lines, the format for bulk imports."""
    for line in chunk:
        if line[:1] == "{":
            if not line.rstrip().endswith("}"):
                return False
        elif line.strip():
            return False
    return True


def _start() -> None:
    # Workers live for one import and make no reference cycles: the collector would only
    # walk the chunk's rows over and over (12 of the 80 µs an order takes to read).
    gc.disable()
    if _dispose is not None:
        _dispose()


def _read_chunk(start: int, chunk: list[str]) -> list[tuple[Any, ...]] | None:
    """In a worker: per non-blank line, (number, offset, envelope, rows) for an order create
    read cleanly, else (number, offset); None when a line is only the start of a document that
    continues on later lines, which the serial reader joins."""
    build = _build
    assert build is not None, "workers fork after run() sets the builder"
    results: list[tuple[Any, ...]] = []
    for offset, line in enumerate(chunk):
        if not line.strip():
            continue
        number = start + offset
        try:
            value = _loads(line)
        except json.JSONDecodeError as exc:
            if exc.pos >= len(line.rstrip()):
                return None
            results.append((number, offset))
            continue
        except (ValueError, RecursionError):
            results.append((number, offset))
            continue
        built = build(value) if isinstance(value, dict) else None
        results.append((number, offset) if built is None else (number, offset, *built))
    return results
