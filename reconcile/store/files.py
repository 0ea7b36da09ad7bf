"""Files as the product writes and recognises them: atomic writes (a reader sees the old
content or the new, never half) and content fingerprints."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

# O_BINARY exists on Windows only, where text mode would rewrite line ends.
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _create_beside(path: Path) -> tuple[int, Path]:
    """A new, uniquely named temporary file in `path`'s folder, opened for writing.

    Created with mode 0666 like any `open()`, so the umask alone decides who may read
    it (0644 under the usual 022): `mkstemp` would force 0600, and outputs land on a
    shared folder where finance and the sales office must open them.
    """
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temporary, _NEW_FILE, 0o666), temporary
        except FileExistsError:
            continue


def write_atomic(path: Path, data: bytes) -> Path:
    """Write a file so that a reader sees the old or the new content, never half.

    A uniquely named temporary file in the same folder, fsync, a rename over the
    target, then fsync of the folder so the rename survives a power cut. A failed
    write (a full disk) leaves no temporary file behind.
    """
    return write_atomic_parts(path, (data,))


def write_atomic_parts(path: Path, parts: Iterable[bytes]) -> Path:
    """`write_atomic` of the parts one after the other, each written as it is made (a
    large file is never whole in memory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = _create_beside(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            for part in parts:
                handle.write(part)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
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


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read in blocks into one buffer (a night's outputs are ~80 MB
    at 200,000 reports: reading each whole first cost a third more)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
