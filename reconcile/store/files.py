"""Atomic file writes: a reader sees the old content or the new, never half."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """This process's umask, read afresh: a test or a wrapper may change it between writes.

    Linux shows it in /proc (since 4.7). Elsewhere it can only be read by setting it, and a
    file another thread creates in that instant gets the temporary mask.
    """
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)  # the strictest, should a file be created meanwhile
        os.umask(mask)
    return mask


def _file_mode() -> int:
    """The mode a plain `open()` would give a new file under this process's umask.

    `mkstemp` creates files `0600` whatever the umask; outputs land on a shared folder
    where finance and the sales office must be able to open them (0644 usually).
    """
    return 0o666 & ~_umask()


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
