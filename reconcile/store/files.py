"""Atomic file writes: a reader sees the old content or the new, never half."""

from __future__ import annotations

import os
import tempfile
import threading
from functools import cache
from pathlib import Path

_UMASK_LOCK = threading.Lock()


@cache
def _file_mode() -> int:
    """The mode a plain `open()` would give a new file under this process's umask.

    `mkstemp` creates files `0600` whatever the umask; outputs land on a shared folder
    where finance and the sales office must be able to open them (0644 usually).
    """
    with _UMASK_LOCK:  # the umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, data: bytes) -> Path:
    """Write a file so that a reader sees the old or the new content, never half.

    A uniquely named temporary file in the same folder, fsync, a rename over the
    target, then fsync of the folder so the rename survives a power cut. A failed
    write (a full disk) leaves no temporary file behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # POSIX: follow the umask (Windows has none)
            os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # not every platform can open a folder
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
