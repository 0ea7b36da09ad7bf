"""The night's settled files into the ledger, each file all or nothing, written on a
writer thread while the next file is read.

The writer thread holds the ledger for the whole step: every statement of a file (its
`files` row, its chunks of rows, its cells, its sheets) is queued there in order, so
writing a file overlaps normalising the next one, and a reader thread reads the file
after that from disk and recognises its sheets meanwhile. A chunk of rows is staged for
the ledger (its ids hashed, its rows sorted) on a thread of its own, so the writer spends
its time in the database. The step holds three files at a time (one being written, one
normalised, one read), and a file's rows and cells are let go once they are written.

A commit is a flush to disk, several times longer than writing a small file: the files
written within `COMMIT_SECONDS` are committed together, each in a savepoint of its own
so that a file that fails is undone alone. A file is handed back once it is committed;
what was written when the step stops or is interrupted is committed first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import polars as pl

from reconcile.config.rules import Rules
from reconcile.ingest.arrival import Snapshot
from reconcile.ingest.files import FileOutcome, InputFile, Opened, open_input
from reconcile.ingest.headers import AliasTable
from reconcile.ingest.reread import record_outcome
from reconcile.normalise.records import Normalised
from reconcile.store.files import sha256_of
from reconcile.store.ledger import FileRow, Ledger, Staged, stage_part

COMMIT_SECONDS = 1.0  # at most this long of written files is left to re-read after a crash
STAGED_AHEAD = 2  # chunks staged and not yet written: each is a copy of its rows

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    """One settled file after the step: known before, read now, or failed."""

    item: InputFile
    snapshot: Snapshot
    sha256: str
    status: str | None  # ingested | quarantined; None: failed, retried next run
    reason: str | None  # why it was quarantined, or the internal error (Chinese)
    outcome: FileOutcome | None = None  # None: the ledger knew this version already
    rows_added: int = 0
    errors_added: int = 0


def load_files(
    ledger: Ledger,
    ready: list[tuple[InputFile, Snapshot]],
    rules: Rules,
    aliases: AliasTable,
    run_id: int,
    seen: str,
    stopping: Callable[[], bool],
) -> Iterator[Loaded]:
    """Each file of `ready` read into the ledger unless it knows that version, in order.

    Once `stopping()` says so, no further file is read; the files already read are
    still written, committed and yielded.
    """
    known = {(row.path, row.sha256): row for row in ledger.files()}
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger") as writer,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="read") as reader,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="stage") as staging,
    ):
        stager = _Stager(staging)
        batch = _Batch(ledger)
        written: deque[Future[Loaded]] = deque()  # each file's last statement
        uncommitted: list[Future[Loaded]] = []
        commits: deque[Future[list[Loaded]]] = deque()
        planned = (_plan(item, snapshot, known, reader, rules, aliases) for item, snapshot in ready)
        upcoming = next(planned, None)
        since = time.monotonic()
        try:
            while upcoming is not None and not stopping():
                item, snapshot, sha, row, opening = upcoming
                # The next file is read from disk (calamine lets go of the GIL) and
                # recognised while this one is normalised here.
                upcoming = next(planned, None)
                if opening is None:
                    assert row is not None
                    known_file = Loaded(item, snapshot, sha, row.status, row.reason)
                    done = writer.submit(_touch, batch, known_file, seen)
                else:
                    file = _File(batch, item, snapshot, sha, run_id, seen)
                    done = _read(writer, stager, file, opening, rules)
                written.append(done)
                uncommitted.append(done)
                if time.monotonic() - since >= COMMIT_SECONDS:
                    commits.append(writer.submit(batch.commit, uncommitted))
                    uncommitted, since = [], time.monotonic()
                while len(written) > 1:  # one file written while the next is made
                    written.popleft().result()
                while commits and commits[0].done():
                    yield from commits.popleft().result()
        finally:  # stopped or interrupted: what was written is kept
            if uncommitted:
                commits.append(writer.submit(batch.commit, uncommitted))
        if upcoming is not None and upcoming[4] is not None:
            upcoming[4].cancel()  # stopping: the file read ahead is not used
        while commits:
            yield from commits.popleft().result()


_Plan = tuple[InputFile, Snapshot, str, FileRow | None, Future[Opened] | None]


def _plan(
    item: InputFile,
    snapshot: Snapshot,
    known: dict[tuple[str, str], FileRow],
    reader: ThreadPoolExecutor,
    rules: Rules,
    aliases: AliasTable,
) -> _Plan:
    """A settled file: a version the ledger knows, or a new one being read by `reader`."""
    sha = sha256_of(item.path)
    row = known.get((item.rel, sha))
    if row:
        return item, snapshot, sha, row, None
    return item, snapshot, sha, row, reader.submit(open_input, item, rules, aliases, sha)


def _touch(batch: _Batch, known: Loaded, seen: str) -> Loaded:
    """A version the ledger holds already: only when it was last seen changes."""
    batch.begin()
    batch.ledger.touch_file(known.item.rel, known.sha256, seen)
    return known


def _read(
    writer: ThreadPoolExecutor,
    stager: _Stager,
    file: _File,
    opening: Future[Opened],
    rules: Rules,
) -> Future[Loaded]:
    """Normalise one file here, its statements queued to `writer` (each chunk of rows
    staged by `stager` on the way, while the writer writes the chunk before); the future
    of its last statement."""
    writer.submit(file.begin)
    try:
        outcome = opening.result().derive(
            rules,
            sink=lambda part: writer.submit(file.add_part, stager.stage(part), stager.written),
            on_cells=lambda sheet, cells: writer.submit(file.store_cells, sheet, cells),
        )
    except Exception as exc:  # a bug must not cost the night: the file is retried next run
        return writer.submit(file.fail, exc)
    except BaseException:  # interrupted (Ctrl+C): the ledger is left as before the file
        writer.submit(file.rollback)
        raise
    return writer.submit(file.finish, outcome)


class _Stager:
    """Stages chunks of rows on a thread of its own for the writer, at most
    `STAGED_AHEAD` of them staged and not yet written (normalising waits for room)."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.room = threading.BoundedSemaphore(STAGED_AHEAD)

    def stage(self, part: Normalised) -> Future[Staged]:
        self.room.acquire()
        return self.pool.submit(stage_part, part)

    def written(self) -> None:
        self.room.release()


class _Batch:
    """The transaction the writer thread keeps open over the files written since the
    last commit; every method runs on the writer thread."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.open = False
        self.lost: Exception | None = None  # the transaction went down with a file

    def begin(self) -> None:
        if not self.open:
            self.ledger.begin()
            self.open = True

    def commit(self, files: list[Future[Loaded]]) -> list[Loaded]:
        """Commit the files written since the last commit (each of `files` is done: it
        was queued before this); a file whose rows did not reach the disk is failed."""
        loaded = [file.result() for file in files]
        failure = self.lost
        if self.open and failure is None:
            try:
                self.ledger.commit()
                self.open = False
            except Exception as exc:
                failure = exc
        if failure is not None:
            self.abandon()
            self.lost = None
            loaded = [item if item.outcome is None else _failed(item, failure) for item in loaded]
        return loaded

    def abandon(self) -> None:
        if self.open:
            self.open = False
            try:
                self.ledger.rollback()
            except Exception:  # the database rolled it back itself (disk full, I/O error)
                log.warning("ledger.rollback_failed", exc_info=True)


class _File:
    """One file's statements, every method run on the writer thread, in order, in a
    savepoint of the batch's transaction. After a statement fails the rest are skipped
    and the file is rolled back."""

    def __init__(
        self,
        batch: _Batch,
        item: InputFile,
        snapshot: Snapshot,
        sha256: str,
        run_id: int,
        seen: str,
    ) -> None:
        self.batch, self.ledger = batch, batch.ledger
        self.item, self.snapshot, self.sha256 = item, snapshot, sha256
        self.run_id, self.seen = run_id, seen
        self.file_id = 0
        self.open = False
        self.failure: Exception | None = None
        self.rows_added = 0
        self.errors_added = 0

    def run(self, statement: Callable[..., object], *args: object) -> None:
        if self.failure is not None:
            return
        try:
            statement(*args)
        except Exception as exc:
            self.failure = exc

    def begin(self) -> None:
        self.run(self._begin)

    def _begin(self) -> None:
        self.batch.begin()
        self.ledger.savepoint()
        self.open = True
        self.file_id = self.ledger.record_file(
            self.run_id,
            self.seen,
            path=self.item.rel,
            sha256=self.sha256,
            size=self.item.path.stat().st_size,
            status="ingested",
        )

    def store_cells(self, sheet: str, cells: pl.DataFrame) -> None:
        self.run(lambda: self.ledger.store_cells(self.file_id, sheet, cells))

    def add_part(self, part: Future[Staged], written: Callable[[], None]) -> None:
        try:
            self.run(self._add_part, part)
        finally:  # skipped after a failure too: the chunk is let go all the same
            written()

    def _add_part(self, part: Future[Staged]) -> None:
        rows, errors = self.ledger.add_staged(part.result(), self.file_id)
        self.rows_added += rows
        self.errors_added += errors

    def finish(self, outcome: FileOutcome) -> Loaded:
        self.run(record_outcome, self.ledger, self.file_id, outcome, self.rows_added)
        self.run(self._release)
        if self.failure is not None:
            return self.fail(self.failure)
        outcome.keep_counts()
        if outcome.rejected is not None:
            return Loaded(
                self.item,
                self.snapshot,
                self.sha256,
                "quarantined",
                outcome.rejected.reason,
                outcome,
            )
        return Loaded(
            self.item,
            self.snapshot,
            self.sha256,
            "ingested",
            None,
            outcome,
            self.rows_added,
            self.errors_added,
        )

    def _release(self) -> None:
        self.ledger.release()
        self.open = False

    def rollback(self) -> None:
        if self.open:
            self.open = False
            try:
                self.ledger.rollback_to_savepoint()
            except Exception as exc:  # the whole transaction is gone: its files with it
                self.batch.lost = exc
                self.batch.abandon()

    def fail(self, exc: Exception) -> Loaded:
        self.rollback()
        return _failed(Loaded(self.item, self.snapshot, self.sha256, None, None), exc)


def _failed(loaded: Loaded, exc: Exception) -> Loaded:
    """A file not in the ledger after all: retried next run."""
    log.error("file.failed file=%s", loaded.item.rel, exc_info=exc)
    reason = f"处理文件时发生内部错误（{type(exc).__name__}: {exc}），下次运行将重试"
    return replace(loaded, status=None, reason=reason, outcome=None, rows_added=0, errors_added=0)
