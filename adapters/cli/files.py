"""Files the CLI writes where the user says (`orders export --output`), written safely.

The data goes to a temporary file made beside the target with O_EXCL and mode 0600 (a random
name, so nothing planted in advance can redirect it), which then replaces the target in one
rename: readers see the old file or the whole new one, never half of it, and a rename never
writes through a symlink or into a device. The target must be a regular file or a new path:
anything else (a symlink, a device such as /dev/full, a FIFO, a folder) is refused before a
byte is written.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from postsales.core.errors import BadInput

_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def _refuse(option: str, target: str, why: str) -> BadInput:
    return BadInput(f"{option} {target}: {why}", field=option.lstrip("-"))


@contextlib.contextmanager
def replacing(target: str, *, option: str = "--output") -> Iterator[BinaryIO]:
    """A binary handle whose bytes become `target` when the block ends without an error;
    nothing changes at `target` otherwise. Raises BadInput (exit 2) for a target that is not a
    regular file or a new path, or a folder that does not exist or cannot be written."""
    path = Path(target)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise _refuse(option, target, exc.strerror or str(exc)) from None
    if mode is not None and not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise _refuse(option, target, f"is {kind}; give a regular file or a new path")
    folder = path.parent
    if not folder.is_dir():
        raise _refuse(option, target, f"the folder {folder} does not exist")
    import tempfile  # on use: its import (random, shutil) is a tenth of `--help`

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise _refuse(option, target, f"cannot write in {folder}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
