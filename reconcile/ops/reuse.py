"""A night run again with nothing changed reuses what it wrote (issue 15).

A night's files are made from the product's code, `rules.yaml`, the night, whether
its mails are composed (and sent), and the ledger (`Ledger.watermark`: rows, rejected rows,
files and sheets). Their *key* is a hash of all of that. A full run records every file
it wrote with its sha256 under the key; a later run of the same night whose key is the
same, and whose files are all still there with those very bytes, judges nothing and
rewrites nothing: what it would write is what is there. A file deleted or edited since,
a new or changed input, a re-read, an edited `rules.yaml` or another version of the
code makes a full run, so a replay stays byte-exact.
"""

from __future__ import annotations

import hashlib
from datetime import date
from functools import cache
from pathlib import Path

import reconcile
from reconcile.config.workspace import Workspace
from reconcile.store.ledger import Ledger

# What the package reads at run time besides its Python code: templates and styles.
_CODE_SUFFIXES = frozenset({".py", ".j2", ".css", ".yaml", ".html", ".txt"})


@cache
def code_digest() -> str:
    """A hash of the package's own files: any change of the product is a new key."""
    root = Path(reconcile.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in _CODE_SUFFIXES and "__pycache__" not in path.parts and path.is_file():
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def night_keys(
    workspace: Workspace, ledger: Ledger, as_of: date, compose: bool, sending: bool
) -> tuple[str, set[str]]:
    """What the night's files would be made from, as one hash, and the keys whose files
    this run may reuse: its own, and those of runs that did more for the mails (a replay
    composes none, but the night's first run did). `sending`: mails go out this run (a
    run that starts sending queues what an earlier one left in the outbox)."""
    common = (
        reconcile.__version__,
        code_digest(),
        hashlib.sha256((workspace.root / "rules.yaml").read_bytes()).hexdigest(),
        as_of.isoformat(),
        ledger.watermark(),
    )

    def key(composed: bool, sent: bool) -> str:
        digest = hashlib.sha256()
        for part in (*common, "mails" if composed else "no-mails", "sending" if sent else "outbox"):
            digest.update(part.encode())
            digest.update(b"\x1f")
        return digest.hexdigest()

    accepted = {key(c, s) for c in {compose, True} for s in {sending, True}}
    return key(compose, sending), accepted


def remember_lines(workspace: Workspace, as_of: date, key: str, lines: list[str]) -> None:
    """What a full run of the night said it decided (the command's summary), so that a
    run reusing its files can say it again."""
    with Ledger(workspace.ledger_path) as ledger:
        ledger.record_night_lines(as_of.isoformat(), key, lines)


def remembered_lines(ledger: Ledger, as_of: date, keys: set[str]) -> list[str]:
    found = ledger.night_lines(as_of.isoformat())
    return found[1] if found is not None and found[0] in keys else []


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reusable(
    workspace: Workspace, ledger: Ledger, as_of: date, keys: set[str]
) -> list[Path] | None:
    """The night's files when a full run made them from one of `keys` and every one is
    still there, byte for byte; else None."""
    stored = ledger.night_outputs(as_of.isoformat())
    if not stored or any(found not in keys for _, _, found in stored):
        return None
    paths = []
    for rel, sha, _ in stored:
        path = workspace.root / rel
        if not path.is_file() or sha256_of(path) != sha:
            return None
        paths.append(path)
    return paths


def remember(
    workspace: Workspace, ledger: Ledger, as_of: date, key: str, files: list[Path]
) -> None:
    """Record what a full run of the night wrote, under its key."""
    ledger.record_outputs(
        as_of.isoformat(),
        key,
        [(path.relative_to(workspace.root).as_posix(), sha256_of(path)) for path in files],
    )
