"""store/files.py: atomic writes and content fingerprints."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from reconcile.store.files import sha256_of, write_atomic


@pytest.mark.parametrize(
    "content",
    [b"", b"a", "报备明细".encode(), bytes(range(256)) * 4096, b"x" * (1 << 20) + b"y"],
    ids=["empty", "one byte", "utf-8", "one MiB of every byte", "past a block"],
)
def test_a_files_fingerprint_is_the_sha256_of_its_bytes(tmp_path: Path, content: bytes) -> None:
    path = write_atomic(tmp_path / "f.bin", content)
    assert sha256_of(path) == hashlib.sha256(content).hexdigest()
