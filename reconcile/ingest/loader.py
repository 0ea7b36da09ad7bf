"""The night's settled files into the ledger, each file one transaction, written on a
writer thread while the next file is read.

The writer thread holds the ledger for the whole step: every statement of a file (its
`files` row, its chunks of rows, its cells, its sheets, the commit) is queued there in
order, so writing a file and committing it (a flush to disk) overlap reading the next
one, and a reader thread reads the file after that from disk meanwhile. The step holds
three files at a time (one being written, one recognised, one read), and a file's rows
and cells are let go once it is committed.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from reconcile.config.rules import Rules
from reconcile.ingest.arrival import Snapshot
from reconcile.ingest.files import FileOutcome, InputFile, Opened, open_input, sha256_of
from reconcile.ingest.headers import AliasTable
from reconcile.ingest.reread import record_outcome
from reconcile.normalise.records import Normalised
from reconcile.store.ledger import FileRow, Ledger

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
    still written and yielded.
    """
    known = {(row.path, row.sha256): row for row in ledger.files()}
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger") as writer,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="read") as reader,
    ):
        ahead: deque[Future[Loaded]] = deque()
        planned = (_plan(item, snapshot, known, reader, rules) for item, snapshot in ready)
        upcoming = next(planned, None)
        while upcoming is not None and not stopping():
            item, snapshot, sha, row, opening = upcoming
            # The next file is read from disk (calamine lets go of the GIL) while this
            # one is recognised and normalised here.
            upcoming = next(planned, None)
            if opening is None:
                assert row is not None
                known_file = Loaded(item, snapshot, sha, row.status, row.reason)
                ahead.append(writer.submit(_touch, ledger, known_file, seen))
            else:
                file = _File(ledger, item, snapshot, sha, run_id, seen)
                ahead.append(_read(writer, file, opening, rules, aliases))
            while len(ahead) > 1:
                yield ahead.popleft().result()
        if upcoming is not None and upcoming[4] is not None:
            upcoming[4].cancel()  # stopping: the file read ahead is not used
        while ahead:
            yield ahead.popleft().result()


_Plan = tuple[InputFile, Snapshot, str, FileRow | None, Future[Opened] | None]


def _plan(
    item: InputFile,
    snapshot: Snapshot,
    known: dict[tuple[str, str], FileRow],
    reader: ThreadPoolExecutor,
    rules: Rules,
) -> _Plan:
    """A settled file: a version the ledger knows, or a new one being read by `reader`."""
    sha = sha256_of(item.path)
    row = known.get((item.rel, sha))
    return item, snapshot, sha, row, None if row else reader.submit(open_input, item, rules, sha)


def _touch(ledger: Ledger, known: Loaded, seen: str) -> Loaded:
    """A version the ledger holds already: only when it was last seen changes."""
    ledger.touch_file(known.item.rel, known.sha256, seen)
    return known


def _read(
    writer: ThreadPoolExecutor,
    file: _File,
    opening: Future[Opened],
    rules: Rules,
    aliases: AliasTable,
) -> Future[Loaded]:
    """Recognise and normalise one file here, its statements queued to `writer`; the
    future of its commit."""
    writer.submit(file.begin)
    try:
        outcome = opening.result().derive(
            rules,
            aliases,
            sink=lambda part: writer.submit(file.add_part, part),
            on_cells=lambda sheet, cells: writer.submit(file.store_cells, sheet, cells),
        )
    except Exception as exc:  # a bug must not cost the night: the file is retried next run
        return writer.submit(file.fail, exc)
    except BaseException:  # interrupted (Ctrl+C): the ledger is left as before the file
        writer.submit(file.rollback)
        raise
    return writer.submit(file.finish, outcome)


class _File:
    """One file's transaction, every method run on the writer thread, in order. After a
    statement fails the rest are skipped and the file is rolled back."""

    def __init__(
        self,
        ledger: Ledger,
        item: InputFile,
        snapshot: Snapshot,
        sha256: str,
        run_id: int,
        seen: str,
    ) -> None:
        self.ledger, self.item, self.snapshot, self.sha256 = ledger, item, snapshot, sha256
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
        self.ledger.begin()
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

    def add_part(self, part: Normalised) -> None:
        self.run(self._add_part, part)

    def _add_part(self, part: Normalised) -> None:
        rows, errors = self.ledger.add_part(part, self.file_id)
        self.rows_added += rows
        self.errors_added += errors

    def finish(self, outcome: FileOutcome) -> Loaded:
        self.run(record_outcome, self.ledger, self.file_id, outcome, self.rows_added)
        self.run(self._commit)
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

    def _commit(self) -> None:
        self.ledger.commit()
        self.open = False

    def rollback(self) -> None:
        if self.open:
            self.open = False
            self.ledger.rollback()

    def fail(self, exc: Exception) -> Loaded:
        self.rollback()
        log.error("file.failed file=%s", self.item.rel, exc_info=exc)
        reason = f"处理文件时发生内部错误（{type(exc).__name__}: {exc}），下次运行将重试"
        return Loaded(self.item, self.snapshot, self.sha256, None, reason)
