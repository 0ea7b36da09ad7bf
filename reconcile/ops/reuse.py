"""A night run again with nothing changed reuses what it wrote (issue 15).

A night's files are made from the product's code, `rules.yaml`, the night, whether
its mails are composed (and sent), and the ledger (`Ledger.watermark`: rows, rejected rows,
files and sheets). Their *key* is a hash of all of that. A full run records every file
it wrote with its sha256 under the key; a later run of the same night whose key is the
same, and whose files are all still there with those very bytes, judges nothing and
rewrites nothing: what it would write is what is there. A file deleted or edited since,
a new or changed input, a re-read, an edited `rules.yaml` or another version of the
code makes a full run, so a replay stays byte-exact.

A judged night also keeps what it decided (`publish.digest.Before`) under a key of
what it was judged from: the code, `rules.yaml`, the night and the ledger as the files
first seen by then hold it. The next night's report compares with that instead of
judging the night before again; a key that no longer matches (a re-read, an edited
`rules.yaml`, a late file of that night) judges it again.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import reconcile
from reconcile.config.workspace import Workspace
from reconcile.store.files import sha256_of
from reconcile.store.ledger import Ledger

if TYPE_CHECKING:
    # Imported by the functions that keep or judge decisions: deciding that a night can be
    # reused loads neither the judge nor the publishers.
    from reconcile.judge import Judgement
    from reconcile.publish.digest import Before

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
    common = (*_made_from(workspace, as_of), ledger.watermark())

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
    with Ledger(workspace.ledger) as ledger:
        ledger.record_night_lines(as_of.isoformat(), key, lines)


def remembered_lines(ledger: Ledger, as_of: date, keys: set[str]) -> list[str]:
    found = ledger.night_lines(as_of.isoformat())
    return found[1] if found is not None and found[0] in keys else []


def reusable(
    workspace: Workspace, ledger: Ledger, as_of: date, keys: set[str]
) -> list[Path] | None:
    """The night's files when a full run made them from one of `keys` and every one is
    still there, byte for byte; else None."""
    stored = ledger.night_outputs(as_of.isoformat())
    if not stored or any(found not in keys for _, _, found in stored):
        return None
    paths = [workspace.root / rel for rel, _, _ in stored]
    if not all(path.is_file() for path in paths):
        return None
    if _digests(paths) != [sha for _, sha, _ in stored]:
        return None
    return paths


def remember(
    workspace: Workspace, ledger: Ledger, as_of: date, key: str, files: list[Path]
) -> None:
    """Record what a full run of the night wrote, under its key."""
    ledger.record_outputs(
        as_of.isoformat(),
        key,
        [
            (path.relative_to(workspace.root).as_posix(), sha)
            for path, sha in zip(files, _digests(files), strict=True)
        ],
    )


def _digests(paths: list[Path]) -> list[str]:
    """Each file's `sha256_of`, two at a time: hashing lets go of the GIL, and a night's
    files are ~80 MB at 200,000 reports (0.062 -> 0.046 s)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(sha256_of, paths))


def _made_from(workspace: Workspace, night: date) -> tuple[str, ...]:
    return (
        reconcile.__version__,
        code_digest(),
        hashlib.sha256((workspace.root / "rules.yaml").read_bytes()).hexdigest(),
        night.isoformat(),
    )


def _view_key(workspace: Workspace, ledger: Ledger, night: date) -> str:
    """What the night's decisions were judged from: rows first seen by its end."""
    from reconcile.judge.inputs import night_end

    seen_by = night_end(workspace.rules, night).isoformat()
    digest = hashlib.sha256()
    for part in (*_made_from(workspace, night), ledger.watermark(seen_by)):
        digest.update(part.encode())
        digest.update(b"\x1f")
    return digest.hexdigest()


def keep_decisions(workspace: Workspace, ledger: Ledger, judgement: Judgement) -> None:
    """Keep what the judged night decided, for the next night's report."""
    from reconcile.publish.digest import Before

    night = judgement.inputs.as_of
    key = _view_key(workspace, ledger, night)
    decided = Before.of(judgement).to_bytes()
    ledger.record_night_view(night.isoformat(), key, decided)


def night_before(workspace: Workspace, ledger: Ledger, night: date) -> Before | None:
    """What the night before `night` decided, as the ledger knew it then: kept by the
    run that judged it, or judged now (and kept). None if the ledger knew nothing yet."""
    from reconcile.judge import judge
    from reconcile.judge.inputs import load, night_end
    from reconcile.publish.digest import Before

    before = night - timedelta(days=1)
    if not ledger.knew_files_by(night_end(workspace.rules, before).isoformat()):
        return None  # a first night: nothing to read, let alone judge
    key = _view_key(workspace, ledger, before)
    stored = ledger.night_view(before.isoformat())
    if stored is not None and stored[0] == key:
        return Before.from_bytes(stored[1])
    inputs = load(ledger, workspace.rules, before)
    frames = (inputs.reports, inputs.report_errors, inputs.visits, inputs.deals)
    if not any(frame.height for frame in frames):
        return None
    view = Before.of(judge(inputs, workspace.rules))
    ledger.record_night_view(before.isoformat(), key, view.to_bytes())
    return view
