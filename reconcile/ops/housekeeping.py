"""After a good night: rejected files to `inputs/_quarantine/`, read files to the archive.

Nothing is ever deleted. A rejected file moves to `inputs/_quarantine/<its path>`
with a Chinese `.txt` beside it saying why and what to do, so the agency can fix
it and drop it again. With `archive: true` every file the night read moves to
`inputs/_archive/<night>/<渠道>/` (visit, CRM and ruling files keep their folder
name there). A name already taken gets a `（2）` suffix, unless the file there has
the same content. A file that changed after it was read stays where it is for the
next run. Every move is recorded in the ledger (`file_moves`).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath

from reconcile.config.workspace import Workspace
from reconcile.ingest.arrival import Snapshot
from reconcile.ingest.files import InputFile
from reconcile.store.files import sha256_of, write_atomic
from reconcile.store.ledger import Ledger

log = logging.getLogger(__name__)

ARCHIVE_DIR = "_archive"
QUARANTINE_DIR = "_quarantine"
REASON_SUFFIX = ".隔离原因.txt"


@dataclass(frozen=True)
class Processed:
    """A file the night read (or had read before), as it was when judged settled."""

    item: InputFile
    snapshot: Snapshot
    sha256: str
    status: str  # ingested | quarantined
    reason: str | None  # why it was quarantined


@dataclass(frozen=True)
class Move:
    rel: str  # where it was, relative to inputs/
    dest: str | None  # where it is now, relative to inputs/; None if it stayed
    kind: str  # archive | quarantine
    problem: str | None = None  # Chinese, why it stayed


def tidy(
    workspace: Workspace,
    ledger: Ledger,
    run_id: int,
    night: date,
    processed: list[Processed],
    moved_at: str,
) -> list[Move]:
    moves: list[Move] = []
    for file in processed:
        if file.status == "quarantined" and workspace.rules.quarantine:
            target = PurePosixPath(QUARANTINE_DIR, file.item.rel)
            kind = "quarantine"
        elif file.status == "ingested" and workspace.rules.archive:
            target = PurePosixPath(ARCHIVE_DIR, night.isoformat(), *archive_parts(file.item))
            kind = "archive"
        else:
            continue
        move = _move(workspace.inputs, file, target, kind, workspace.rules.project, moved_at)
        if move.dest is not None:
            ledger.record_move(file.item.rel, file.sha256, run_id, kind, move.dest, moved_at)
        moves.append(move)
    return moves


def archive_parts(item: InputFile) -> tuple[str, ...]:
    """`channels/<渠道>/…` files archive under `<渠道>/…`; others keep their whole path."""
    parts = PurePosixPath(item.rel).parts
    return parts[1:] if item.channel is not None else parts


def _move(
    inputs: Path, file: Processed, target: PurePosixPath, kind: str, project: str, moved_at: str
) -> Move:
    source = file.item.path
    if Snapshot.of(source) != file.snapshot:
        return Move(file.item.rel, None, kind, "文件在读取之后又有改动，留在原处，下次运行重新读取")
    dest = _free_name(inputs / target, file.sha256)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if kind == "quarantine":
            note = reason_text(file, project, moved_at)
            write_atomic(dest.with_name(dest.name + REASON_SUFFIX), note.encode("utf-8-sig"))
        shutil.move(source, dest)
    except OSError as exc:
        log.warning("move.failed file=%s dest=%s error=%s", file.item.rel, dest, exc)
        return Move(file.item.rel, None, kind, f"无法移动文件：{exc.strerror or exc}")
    rel = dest.relative_to(inputs).as_posix()
    log.info("move.%s file=%s dest=%s", kind, file.item.rel, rel)
    return Move(file.item.rel, rel, kind)


def _free_name(path: Path, sha256: str) -> Path:
    """The path, or `name（2）.xlsx`, `name（3）.xlsx`… if taken by other content.

    A file with the very same content may be replaced: a re-dropped copy loses nothing.
    """
    candidate, number = path, 1
    while candidate.exists() and sha256_of(candidate) != sha256:
        number += 1
        candidate = path.with_name(f"{path.stem}（{number}）{path.suffix}")
    return candidate


def reason_text(file: Processed, project: str, moved_at: str) -> str:
    folder = PurePosixPath("inputs", file.item.rel).parent.as_posix()
    lines = [
        "对账系统拒收了这个文件，没有读取其中任何一行。",
        "",
        f"项目：{project}",
        f"原来的位置：inputs/{file.item.rel}",
        f"移入隔离区的时间：{moved_at[:19].replace('T', ' ')}",
        f"原因：{file.reason or '未说明'}",
        "",
        f"怎么办：按上面的原因改好文件，重新放回 {folder}/，下次对账会自动读取。",
        "放回之前可以先运行 reconcile check 文件名 检查。隔离区里的文件不会被读取。",
    ]
    return "\r\n".join(lines) + "\r\n"  # Windows Notepad is what most agencies open it with
