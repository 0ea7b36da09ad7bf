"""The ledger: one SQLite file that remembers every file, row, error and run.

Rows are keyed by their content-derived id, so re-reading a file adds nothing
and a re-saved file adds only its new or edited rows. Each input file is written
in one transaction: a crash mid-file leaves the ledger as it was before it.
Nothing is ever deleted: a file that leaves `inputs/` keeps its rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from reconcile.normalise.records import ERROR_COLUMNS, RECORD_COLUMNS

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id      INTEGER PRIMARY KEY,
    as_of       TEXT NOT NULL,           -- YYYY-MM-DD the run judged
    mode        TEXT NOT NULL,           -- ingest | replay | check
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,           -- running | ok | failed
    summary     TEXT                     -- JSON counts
);
CREATE TABLE IF NOT EXISTS files (
    path        TEXT NOT NULL,           -- relative to inputs/
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    first_seen  TEXT NOT NULL,           -- end of the as-of day of the first run that read it
    last_seen   TEXT NOT NULL,
    first_run   INTEGER NOT NULL,
    status      TEXT NOT NULL,           -- ingested | quarantined
    reason_code TEXT,
    reason      TEXT,                    -- Chinese, for quarantined files
    rows_in     INTEGER NOT NULL DEFAULT 0,
    accepted    INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    rows_added  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (path, sha256)
);
CREATE TABLE IF NOT EXISTS sheets (
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    sheet       TEXT NOT NULL,
    kind        TEXT,                    -- null: not recognised
    hidden      INTEGER NOT NULL,
    header_row  INTEGER,
    mapping     TEXT NOT NULL,           -- JSON canonical field -> header text
    headers     TEXT NOT NULL,           -- JSON list of header texts
    rows_in     INTEGER NOT NULL,
    accepted    INTEGER NOT NULL,
    rejected    INTEGER NOT NULL,
    skipped     TEXT NOT NULL,           -- JSON reason -> count
    note        TEXT,
    PRIMARY KEY (path, sha256, sheet)
);
CREATE TABLE IF NOT EXISTS rows (
    row_id        TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    channel       TEXT,
    agent         TEXT,
    customer_name TEXT,
    surnames      TEXT,
    phone         TEXT,
    phone_pattern TEXT,
    event_at      TEXT,
    report_type   TEXT,
    data          TEXT,
    raw           TEXT NOT NULL,
    sheet         TEXT NOT NULL,
    row_no        INTEGER NOT NULL,
    source        TEXT NOT NULL,         -- path#sheet!row where first seen
    file_sha      TEXT NOT NULL,
    first_run     INTEGER NOT NULL,
    first_seen    TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rows_kind_phone ON rows (kind, phone);
CREATE TABLE IF NOT EXISTS row_errors (
    error_id   TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    channel    TEXT,
    sheet      TEXT NOT NULL,
    row_no     INTEGER NOT NULL,
    source     TEXT NOT NULL,
    codes      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    raw        TEXT NOT NULL,
    file_sha   TEXT NOT NULL,
    first_run  INTEGER NOT NULL,
    first_seen TEXT NOT NULL
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class FileState:
    status: str
    reason: str | None


class Ledger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(_SCHEMA)
        self.db.execute(
            "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # runs
    def start_run(self, as_of: str, mode: str, started_at: str) -> int:
        cursor = self.db.execute(
            "INSERT INTO runs (as_of, mode, started_at, status) VALUES (?, ?, ?, 'running')",
            (as_of, mode, started_at),
        )
        return int(cursor.lastrowid)

    def finish_run(self, run_id: int, status: str, finished_at: str, summary: dict) -> None:
        self.db.execute(
            "UPDATE runs SET status = ?, finished_at = ?, summary = ? WHERE run_id = ?",
            (status, finished_at, json.dumps(summary, ensure_ascii=False, sort_keys=True), run_id),
        )

    def latest_ingest_as_of(self) -> str | None:
        row = self.db.execute(
            "SELECT max(as_of) FROM runs WHERE mode = 'ingest' AND status = 'ok'"
        ).fetchone()
        return row[0]

    # files
    def file_state(self, path: str, sha256: str) -> FileState | None:
        row = self.db.execute(
            "SELECT status, reason FROM files WHERE path = ? AND sha256 = ?", (path, sha256)
        ).fetchone()
        return FileState(*row) if row else None

    def touch_file(self, path: str, sha256: str, seen: str) -> None:
        self.db.execute(
            "UPDATE files SET last_seen = max(last_seen, ?) WHERE path = ? AND sha256 = ?",
            (seen, path, sha256),
        )

    def record_file(self, run_id: int, seen: str, **fields: object) -> None:
        columns = ["first_run", "first_seen", "last_seen", *fields]
        values = [run_id, seen, seen, *fields.values()]
        self.db.execute(
            f"INSERT INTO files ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            values,
        )

    def record_sheet(self, **fields: object) -> None:
        self.db.execute(
            f"INSERT OR REPLACE INTO sheets ({', '.join(fields)}) "
            f"VALUES ({', '.join('?' * len(fields))})",
            list(fields.values()),
        )

    # rows
    def add_records(self, records: pl.DataFrame, file_sha: str, run_id: int, seen: str) -> int:
        """Insert records not yet known; returns how many were new."""
        if records.height == 0:
            return 0
        before = self.db.total_changes
        placeholders = ", ".join("?" * (len(RECORD_COLUMNS) + 3))
        self.db.executemany(
            f"INSERT OR IGNORE INTO rows ({', '.join(RECORD_COLUMNS)}, file_sha, first_run, "
            f"first_seen) VALUES ({placeholders})",
            (
                (*row, file_sha, run_id, seen)
                for row in records.select(RECORD_COLUMNS).iter_rows()
            ),
        )
        return self.db.total_changes - before

    def add_errors(self, errors: pl.DataFrame, file_sha: str, run_id: int, seen: str) -> int:
        if errors.height == 0:
            return 0
        before = self.db.total_changes
        placeholders = ", ".join("?" * (len(ERROR_COLUMNS) + 3))
        self.db.executemany(
            f"INSERT OR IGNORE INTO row_errors ({', '.join(ERROR_COLUMNS)}, file_sha, first_run, "
            f"first_seen) VALUES ({placeholders})",
            ((*row, file_sha, run_id, seen) for row in errors.select(ERROR_COLUMNS).iter_rows()),
        )
        return self.db.total_changes - before

    def count(self, table: str) -> int:
        if table not in {"rows", "row_errors", "files", "sheets", "runs"}:
            raise ValueError(table)
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
