"""A download streamed while the core writes it: bounded memory, whatever the row count.

The core's export writes to a binary file object and returns when it is done. Here it writes,
on a thread of its own, into a pipe of a few chunks that the response's generator drains, so
the first bytes leave while later rows are still being read, and a slow client makes the
writer wait (at most `DEPTH` chunks of `CHUNK` bytes are held). Anything the core raises
before the first byte is raised to the view, which answers with its usual error page; after
the first byte the status is sent, so an error ends the connection instead (the client sees
a broken download, never a short file that looks whole). A client that goes away stops the
writer at its next write.
"""

from __future__ import annotations

import io
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
DEPTH = 8
_WAIT = 0.5  # seconds between checks that the other side is still there
_DONE = object()


class ClientGone(Exception):
    """The response was closed before the export finished."""


class _Pipe(io.RawIOBase):
    """The write end, for the producer thread: bytes gathered into chunks, then queued."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: queue.Queue[Any] = queue.Queue(maxsize=DEPTH)
        self.cancelled = threading.Event()
        self.started = threading.Event()  # a chunk was queued, or the producer ended
        self.error: BaseException | None = None
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        if len(self._buffer) >= CHUNK:
            self._send(bytes(self._buffer))
            self._buffer.clear()
        return len(data)

    def _send(self, item: Any) -> None:
        while True:
            if self.cancelled.is_set():
                raise ClientGone
            try:
                self.chunks.put(item, timeout=_WAIT)
            except queue.Full:
                continue
            self.started.set()
            return

    def finish(self, error: BaseException | None) -> None:
        self.error = error
        try:
            if error is None and self._buffer:
                self._send(bytes(self._buffer))
            self._send(_DONE)
        except ClientGone:
            pass
        finally:
            self.started.set()


class Download:
    """The read end: an iterator of chunks whose `close()` (called by the server when the
    response ends, read or not) stops the producer and waits for it."""

    def __init__(self, pipe: _Pipe, worker: threading.Thread) -> None:
        self._pipe = pipe
        self._worker = worker
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        item = self._pipe.chunks.get()
        if item is _DONE:
            self.close()
            if self._pipe.error is not None:
                log.error("export failed after its first bytes", exc_info=self._pipe.error)
                raise self._pipe.error
            raise StopIteration
        return item  # type: ignore[no-any-return]

    def close(self) -> None:
        self._done = True
        self._pipe.cancelled.set()
        self._worker.join(timeout=30)


def stream(produce: Callable[[IO[bytes]], object]) -> Download:
    """Run `produce(out)` on a thread and return an iterator of what it writes to `out`.

    Returns once the first chunk is ready or `produce` has ended; if it ended by raising
    before writing a chunk, that exception is raised here, in the caller's thread."""
    pipe = _Pipe()

    def run() -> None:
        error: BaseException | None = None
        try:
            produce(pipe)  # type: ignore[arg-type]
        except ClientGone:
            pass
        except BaseException as exc:  # handed to the response's side
            error = exc
        pipe.finish(error)

    worker = threading.Thread(target=run, name="export-stream", daemon=True)
    worker.start()
    pipe.started.wait()
    if _only_done(pipe):
        worker.join()
        if pipe.error is not None:
            raise pipe.error
    return Download(pipe, worker)


def _only_done(pipe: _Pipe) -> bool:
    """Whether the producer ended without a byte: the queue holds just the end marker."""
    with pipe.chunks.mutex:
        return len(pipe.chunks.queue) == 1 and pipe.chunks.queue[0] is _DONE
