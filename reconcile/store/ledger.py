"""The ledger: one database that remembers every file, row, error and run.

It is a SQLite file in the workspace's state folder, or, with `ledger:
postgresql://…` in rules.yaml, the project's own schema on a PostgreSQL server. Both
are reached through ADBC and read the same SQL: the few places the two dialects part
(placeholders, column types, connection settings, the writer's lock, bulk inserts)
are the methods of `_SQLite` and `_PostgreSQL`.

Rows are keyed by their content-derived id, so re-reading a file adds nothing
and a re-saved file adds only its new or edited rows. Each input file is written
in one transaction: a crash mid-file leaves the ledger as it was before it.
Nothing is ever deleted: a file that leaves `inputs/` keeps its rows.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import adbc_driver_manager
import adbc_driver_manager.dbapi as adbc_dbapi
import adbc_driver_postgresql as adbc_postgresql  # type: ignore[import-untyped]
import adbc_driver_sqlite.dbapi as adbc_sqlite
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from reconcile.config.ledger_url import PASSWORD_VARIABLE, LedgerServer
from reconcile.normalise.records import ERROR_COLUMNS, RECORD_COLUMNS, Normalised, ids_from_keys

# What the ledger stores of a record or error besides its id; `source` is rebuilt from
# file, sheet and row.
_ROW_COLUMNS = tuple(c for c in RECORD_COLUMNS if c not in ("source", "row_key"))
_ERROR_COLUMNS = tuple(c for c in ERROR_COLUMNS if c not in ("source", "error_key"))

SCHEMA_VERSION = 1
_BATCH_ROWS = "adbc.sqlite.query.batch_rows"
_T = TypeVar("_T")


def _call_with_pythons_sigint(
    func: Callable[..., _T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    cancel: Callable[[], None],
) -> _T:
    return func(*args, **kwargs)


# adbc_driver_manager swaps its own SIGINT handler in around every statement run on the
# main thread, to cancel the statement; the SQLite driver cannot cancel, so a Ctrl+C (or
# a service manager's SIGINT) landing inside a ledger statement became a NotSupportedError
# and never reached the run's stop request (reconcile.ops.stop). Every statement here is short
# and every file is one transaction, so Python's own handler is left in place, as the
# driver manager itself does on Windows (apache/arrow-adbc#1522).
adbc_dbapi._blocking_call = _call_with_pythons_sigint

# A statement's parameters as the driver would bind them, typed here: pyarrow's type
# inference for a Python value tries to import dateutil each time it is missing
# (about 0.1 ms a value, 2 ms for a `sheets` row). Other types are left to the driver.
_ARROW_TYPES = {
    int: pa.int64(),
    str: pa.string(),
    float: pa.float64(),
    bytes: pa.binary(),
    type(None): pa.null(),
}
_INT64 = range(-(2**63), 2**63)


def _parameters(params: tuple | list) -> pa.RecordBatch | tuple | None:
    if not params:
        return None
    arrays = []
    for value in params:
        if type(value) is bool:  # an INTEGER column's 0/1, as SQLite stores a bool
            value = int(value)
        arrow_type = _ARROW_TYPES.get(type(value))
        if arrow_type is None or (type(value) is int and value not in _INT64):
            return tuple(params)
        arrays.append(pa.array([value], type=arrow_type))
    return pa.record_batch(arrays, names=[str(i) for i in range(len(arrays))])


_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id      INTEGER PRIMARY KEY,
    as_of       TEXT NOT NULL,           -- YYYY-MM-DD the run judged
    mode        TEXT NOT NULL,           -- ingest | replay
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,           -- running | ok | failed | abandoned (stopped on
                                         -- request) | interrupted (its process died)
    summary     TEXT                     -- JSON counts
);
CREATE TABLE IF NOT EXISTS files (
    file_id     INTEGER PRIMARY KEY,
    path        TEXT NOT NULL,           -- relative to inputs/
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    first_run   INTEGER NOT NULL REFERENCES runs,
    first_seen  TEXT NOT NULL,           -- end of the as-of day of the first run that read it
    last_seen   TEXT NOT NULL,
    status      TEXT NOT NULL,           -- ingested | quarantined
    reason_code TEXT,
    reason      TEXT,                    -- Chinese, for quarantined files
    rows_in     INTEGER NOT NULL DEFAULT 0,
    accepted    INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    rows_added  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (path, sha256)
);
CREATE TABLE IF NOT EXISTS sheets (
    file_id     INTEGER NOT NULL REFERENCES files,
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
    unused      TEXT,                    -- JSON header -> why no field reads it
    ref_date    TEXT,                    -- YYYY-MM-DD a year-less date was read against
    PRIMARY KEY (file_id, sheet)
);
CREATE TABLE IF NOT EXISTS sheet_cells (
    file_id     INTEGER NOT NULL REFERENCES files,
    sheet       TEXT NOT NULL,
    cells       BLOB NOT NULL,           -- every row as read: Parquet (zstd), __row + c0..cN
    PRIMARY KEY (file_id, sheet)
);
CREATE TABLE IF NOT EXISTS rows (
    row_id        TEXT NOT NULL UNIQUE,  -- content-derived, the report_id for reports
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
    file_id       INTEGER NOT NULL REFERENCES files,  -- the file it was first seen in
    sheet         TEXT NOT NULL,
    row_no        INTEGER NOT NULL
);
-- The ledger's totals by kind and the watermark's count read this, not the whole table:
-- what a night with nothing new costs is mostly those two counts.
CREATE INDEX IF NOT EXISTS rows_kind ON rows (kind, file_id);
CREATE TABLE IF NOT EXISTS row_errors (
    error_id   TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    channel    TEXT,
    codes      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    raw        TEXT NOT NULL,
    file_id    INTEGER NOT NULL REFERENCES files,
    sheet      TEXT NOT NULL,
    row_no     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS mails (
    message_id  TEXT PRIMARY KEY,        -- deterministic for (project, night, key)
    night       TEXT NOT NULL,           -- YYYY-MM-DD the mail reports
    key         TEXT NOT NULL,           -- dispute_report, settlement, performance, receipt_<hash>
    recipients  TEXT NOT NULL,           -- JSON list of the To addresses
    subject     TEXT NOT NULL,
    eml_path    TEXT NOT NULL,           -- outputs/<date>/outbox/<key>.eml
    raw         BLOB NOT NULL,           -- the exact bytes of the message, sent as stored
    status      TEXT NOT NULL,           -- outbox | queued | sent
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,                    -- Chinese, why the last attempt failed
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    UNIQUE (night, key)
);
CREATE TABLE IF NOT EXISTS file_moves (
    path        TEXT NOT NULL,           -- where it was, relative to inputs/ (files.path)
    sha256      TEXT NOT NULL,
    run_id      INTEGER NOT NULL REFERENCES runs,
    kind        TEXT NOT NULL,           -- archive | quarantine
    dest        TEXT NOT NULL,           -- where it is now, relative to inputs/
    moved_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS row_aliases (
    old_id      TEXT PRIMARY KEY,        -- a row id a re-read replaced (its content changed)
    new_id      TEXT NOT NULL,           -- the id the same source row has now
    run_id      INTEGER                  -- the run (or reread) that replaced it
);
CREATE TABLE IF NOT EXISTS outputs (
    night       TEXT NOT NULL,           -- YYYY-MM-DD
    path        TEXT NOT NULL,           -- relative to the workspace
    sha256      TEXT NOT NULL,           -- of the bytes written
    key         TEXT NOT NULL,           -- what the night's files were made from (ops/reuse.py)
    PRIMARY KEY (night, path)
);
CREATE TABLE IF NOT EXISTS night_views (
    night       TEXT PRIMARY KEY,        -- YYYY-MM-DD
    key         TEXT NOT NULL,           -- what the night was judged from (ops/reuse.py)
    view        BLOB NOT NULL            -- publish.digest.Before: what the night decided
);
CREATE TABLE IF NOT EXISTS night_lines (
    night       TEXT PRIMARY KEY,        -- YYYY-MM-DD
    key         TEXT NOT NULL,           -- the key of the run that decided them
    lines       TEXT NOT NULL            -- JSON list: what the run said the night decided
);
-- A later file's reading of a row the ledger holds, where it says more or otherwise than
-- the row's first file (a re-saved register whose 接待顾问 was corrected). Once a row has
-- one, every later file holding it adds one: the judge reads the latest the night's files
-- give (`Ledger.judge_rows`), so a replay reads what that night read.
CREATE TABLE IF NOT EXISTS row_versions (
    row_id        TEXT NOT NULL,
    file_id       INTEGER NOT NULL REFERENCES files,
    customer_name TEXT,
    surnames      TEXT,
    data          TEXT,
    PRIMARY KEY (row_id, file_id)
);
-- A re-read forgets a file's versions with its rows (`forget_derived`), file by file.
CREATE INDEX IF NOT EXISTS row_versions_file ON row_versions (file_id);
"""


def _source_sql(table: str) -> str:
    """A row's `source` (`reconcile.normalise.places.place_text`) in SQL: `path#sheet!row`,
    or `path#line` for a WeChat message, whose sheet is the empty name."""
    return (
        f"CASE WHEN {table}.sheet = '' THEN f.path || '#' || {table}.row_no "
        f"ELSE f.path || '#' || {table}.sheet || '!' || {table}.row_no END"
    )


_VIEWS = f"""
CREATE VIEW IF NOT EXISTS ledger_rows AS
    SELECT r.*, {_source_sql("r")} AS source,
           f.first_run, f.first_seen
    FROM rows r JOIN files f USING (file_id);
CREATE VIEW IF NOT EXISTS ledger_errors AS
    SELECT e.*, {_source_sql("e")} AS source,
           f.first_run, f.first_seen
    FROM row_errors e JOIN files f USING (file_id);
CREATE VIEW IF NOT EXISTS ledger_row_versions AS
    SELECT v.*, f.path, f.first_run, f.first_seen
    FROM row_versions v JOIN files f USING (file_id);
"""
_VIEW_NAMES = ("ledger_rows", "ledger_errors", "ledger_row_versions")


def _remade_views(sql: str) -> list[str]:
    """The views made anew: an older layout's are dropped first (SQLite replaces no view
    in place, and PostgreSQL only one whose columns keep their types and collations)."""
    return [f"DROP VIEW IF EXISTS {name}" for name in _VIEW_NAMES] + _statements(sql)


@dataclass(frozen=True)
class Staged:
    """A normalised chunk as the ledger inserts it: content ids hashed, rows in id order.
    Staging needs no ledger, so the ingest stages a chunk while the last one is written."""

    records: pl.DataFrame
    errors: pl.DataFrame


def stage_part(part: Normalised) -> Staged:
    return Staged(
        _stage(part.records, _ROW_COLUMNS, "row_key", "row_id"),
        _stage(part.errors, _ERROR_COLUMNS, "error_key", "error_id"),
    )


# What a row's version holds: what may differ between two files holding the row.
_VERSION_COLUMNS = ("row_id", "file_id", "customer_name", "surnames", "data")


def _stage(frame: pl.DataFrame, columns: tuple[str, ...], key: str, id_column: str) -> pl.DataFrame:
    if frame.height == 0:
        return pl.DataFrame()
    return frame.select(ids_from_keys(frame[key]).alias(id_column), *columns).sort(
        id_column, maintain_order=True
    )  # right-edge index growth: few page splits


class LedgerError(Exception):
    """The ledger file cannot be used by this version of the program."""


@dataclass(frozen=True)
class FileState:
    status: str
    reason: str | None


@dataclass(frozen=True)
class RunRow:
    """One run as the ledger recorded it."""

    run_id: int
    as_of: str
    mode: str  # ingest | replay
    status: str  # running | ok | failed | abandoned | interrupted
    started_at: str
    finished_at: str | None
    summary: dict  # the counts `finish_run` stored ({} while running)

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        started = datetime.fromisoformat(self.started_at)
        return (datetime.fromisoformat(self.finished_at) - started).total_seconds()


@dataclass(frozen=True)
class FileRow:
    """One version (path and content) of an input file the ledger has read."""

    path: str  # relative to inputs/
    sha256: str
    status: str  # ingested | quarantined
    reason: str | None  # Chinese, why it was quarantined
    first_seen: str
    last_seen: str


@dataclass(frozen=True)
class FileMove:
    """A file moved out of place by housekeeping."""

    path: str  # where it was, relative to inputs/ (FileRow.path)
    sha256: str
    dest: str  # where it is now, relative to inputs/


@dataclass(frozen=True)
class SheetRow:
    """A sheet's recognition result, with the file version it belongs to."""

    path: str
    sha256: str
    file_status: str  # ingested | quarantined
    first_seen: str  # the file's
    sheet: str
    kind: str | None  # None: not recognised
    note: str | None  # why it was set aside, or what was noticed reading it
    unused: dict[str, str]  # header -> why no field reads it


@dataclass(frozen=True)
class ErrorRow:
    """A rejected row, with the file it was first seen in."""

    path: str
    sheet: str
    row_no: int
    kind: str
    reason: str  # Chinese
    first_seen: str  # the file's


# Tables whose insertion order the ledger reads (`ORDER BY rowid`, `max(rowid)` in the
# watermark): SQLite keeps it in every table's rowid, PostgreSQL in an identity column
# of the same name.
_ORDERED_TABLES = ("rows", "row_errors", "sheets", "sheet_cells", "mails", "file_moves")
# Columns added to a table after ledgers were made with it: nullable, so an older
# ledger gains them in place and keeps its schema version.
_ADDED_COLUMNS = {"sheets": ("unused TEXT", "ref_date TEXT")}
# What `_create` makes: a ledger already at this layout is opened without any DDL, which
# on a server costs a round trip a statement.
_LAYOUT = hashlib.sha256(f"{_TABLES}{_VIEWS}{_ADDED_COLUMNS}".encode()).hexdigest()[:16]
_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?")


@lru_cache(maxsize=512)
def _numbered(sql: str) -> str:
    """`?` placeholders (outside string literals) as PostgreSQL's `$1`, `$2`, …"""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group() != "?":
            return match.group()
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(number, sql)


def _postgresql_ddl(sql: str) -> str:
    """The SQLite schema in PostgreSQL's types. Text compares and sorts bytewise (`C`),
    as SQLite's BINARY does, so both backends order paths and sheets alike."""
    sql = sql.replace("INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
    sql = re.sub(r"\bINTEGER\b", "BIGINT", sql)
    sql = re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', sql)
    sql = re.sub(r"\bBLOB\b", "BYTEA", sql)
    sql = sql.replace("CREATE VIEW IF NOT EXISTS", "CREATE OR REPLACE VIEW")
    ordered = "|".join(_ORDERED_TABLES)
    return re.sub(
        rf"(CREATE TABLE IF NOT EXISTS (?:{ordered}) \()",
        r"\1 rowid BIGINT GENERATED ALWAYS AS IDENTITY,",
        sql,
    )


def _statements(script: str) -> list[str]:
    return [statement for statement in script.split(";") if statement.strip()]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _SQLite:
    """The embedded ledger: one file in the workspace's state folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.shown = str(path)

    def connect(self, read_only: bool) -> adbc_dbapi.Connection:
        if read_only:
            return adbc_sqlite.connect(f"{self.path.resolve().as_uri()}?mode=ro", autocommit=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return adbc_sqlite.connect(str(self.path), autocommit=True)

    def settings(self, read_only: bool) -> list[str]:
        if read_only:
            return ["PRAGMA busy_timeout=10000"]
        # A rollback journal writes bulk appends once (WAL writes them twice); FULL keeps
        # every committed file durable across a power cut.
        return [
            f"PRAGMA {pragma}"
            for pragma in (
                "journal_mode=DELETE",
                "synchronous=FULL",
                "foreign_keys=ON",
                "cache_size=-65536",
                "temp_store=MEMORY",
                "busy_timeout=10000",
            )
        ]

    def schema(self, ledger: Ledger) -> list[str]:
        return _statements(_TABLES)

    def views(self) -> list[str]:
        return _remade_views(_VIEWS)

    def add_columns(self, ledger: Ledger, table: str, columns: tuple[str, ...]) -> None:
        present = {row[1] for row in ledger.execute(f"PRAGMA table_info({table})")}
        for column in columns:
            if column.split()[0] not in present:
                ledger.execute(f"ALTER TABLE {table} ADD COLUMN {column}")

    def sql(self, statement: str) -> str:
        return statement

    def insert_new(self, conn: adbc_dbapi.Connection, table: str, staged: pl.DataFrame) -> int:
        """Rows whose key `table` does not hold yet, first of equal keys first; how many."""
        with conn.cursor() as cursor:
            # Arrow parameters are bound column-wise in C, never as Python row objects.
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(staged.columns)}) "
                f"VALUES ({', '.join('?' * staged.width)}) ON CONFLICT DO NOTHING",
                staged.to_arrow(),
            )
            return int(cursor.rowcount)

    def begin(self) -> list[tuple[str, tuple]]:
        return [("BEGIN IMMEDIATE", ())]

    # The driver infers each column's type from its batch: the whole result is one batch
    # (a text column whose first rows are empty still comes back as text). The batch is
    # sized to the result, counted first (a tenth of the query's time): the driver
    # reserves a batch's whole capacity up front, and 2**30 rows reserved about 250 GiB
    # of address space, which made fork refuse to copy the process (ENOMEM).
    one_batch = True


# One ADBC database object per server and process: making one reads the server's type
# catalogue (about 60 ms), a connection from it costs a tenth of that, and a night opens
# the ledger several times. Keyed by process too: a forked worker makes its own.
_DATABASES: dict[tuple[int, str], Any] = {}
_DATABASES_LOCK = threading.Lock()


def _server_database(uri: str) -> Any:
    key = (os.getpid(), uri)
    with _DATABASES_LOCK:
        if key not in _DATABASES:
            # The dbapi's own refcounted wrapper: the entry here holds it open for good.
            _DATABASES[key] = adbc_dbapi._SharedDatabase(adbc_postgresql.connect(uri))
        return _DATABASES[key]


class _PostgreSQL:
    """The project's schema on a PostgreSQL server. Writers take the schema's advisory
    lock for each transaction, as SQLite's `BEGIN IMMEDIATE` takes the file's write lock;
    a client that dies mid-transaction has it rolled back by the server."""

    def __init__(self, server: LedgerServer) -> None:
        self.server = server
        self.shown = server.shown()
        digest = hashlib.sha256(f"reconcile ledger {server.schema}".encode()).digest()
        self._lock_key = int.from_bytes(digest[:8], "big", signed=True)

    def connect(self, read_only: bool) -> adbc_dbapi.Connection:
        password = os.environ.get(PASSWORD_VARIABLE)
        uri = self.server.url
        if password:
            parts = urlsplit(uri)
            query = urlencode([*parse_qsl(parts.query), ("password", password)])
            uri = urlunsplit(parts._replace(query=query))
        try:
            database = _server_database(uri)
            return adbc_dbapi.Connection(
                database, adbc_driver_manager.AdbcConnection(database._db), autocommit=True
            )
        except adbc_dbapi.Error as exc:
            reason = str(exc).replace(password, "***") if password else str(exc)
            reason = " ".join(reason.split())[:300]
            raise LedgerError(f"无法连接台账服务器 {self.shown}：{reason}") from None

    def settings(self, read_only: bool) -> list[str]:
        schema = _quoted(self.server.schema)
        return [
            "SET client_min_messages = warning",
            "SET lock_timeout = '10s'",  # as SQLite's busy_timeout
            # A client whose machine died mid-file (no socket closed) holds the schema's lock
            # until then; a live writer is never idle that long inside one file.
            "SET idle_in_transaction_session_timeout = '15min'",
            *(["SET default_transaction_read_only = on"] if read_only else []),
            f"SET search_path TO {schema}",
        ]

    def schema(self, ledger: Ledger) -> list[str]:
        # Asked first: `CREATE SCHEMA IF NOT EXISTS` needs the right to create schemas even
        # when it exists, and a DBA may have made it for a role without that right.
        found = ledger.execute(
            "SELECT to_regnamespace(quote_ident(?)) IS NULL", (self.server.schema,)
        )
        missing = [f"CREATE SCHEMA {_quoted(self.server.schema)}"] if found[0][0] else []
        return [*missing, *_statements(_postgresql_ddl(_TABLES))]

    def views(self) -> list[str]:
        return _remade_views(_postgresql_ddl(_VIEWS))

    def add_columns(self, ledger: Ledger, table: str, columns: tuple[str, ...]) -> None:
        for column in columns:
            ledger.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column}")

    def sql(self, statement: str) -> str:
        return _numbered(statement)

    def insert_new(self, conn: adbc_dbapi.Connection, table: str, staged: pl.DataFrame) -> int:
        """As SQLite's, through COPY: the driver binds parameters one row a round trip
        (about 0.1 ms a row), COPY moves the chunk at once into a temporary table."""
        staging, names = f"staged_{table}", ", ".join(staged.columns)
        frame = staged.with_columns(
            pl.col(name).cast(pl.String) for name, kind in staged.schema.items() if kind == pl.Null
        ).with_columns(staged_order=pl.int_range(staged.height, dtype=pl.Int64))
        with conn.cursor() as cursor:
            cursor.adbc_ingest(staging, frame.to_arrow(), mode="replace", temporary=True)
            cursor.execute(
                f"WITH added AS (INSERT INTO {table} ({names}) SELECT {names} FROM {staging} "
                "ORDER BY staged_order ON CONFLICT DO NOTHING RETURNING 1) "
                "SELECT count(*) FROM added"
            )
            added = cursor.fetchall()[0][0]
            cursor.execute(f"DROP TABLE {staging}")
        return int(added)

    def begin(self) -> list[tuple[str, tuple]]:
        return [("BEGIN", ()), ("SELECT pg_advisory_xact_lock(?)", (self._lock_key,))]

    one_batch = False  # a server's columns have declared types


def _dialect(location: Path | LedgerServer) -> _SQLite | _PostgreSQL:
    return _PostgreSQL(location) if isinstance(location, LedgerServer) else _SQLite(location)


class Ledger:
    """The ledger database, opened through ADBC so that whole sheets move as Arrow data.

    Bulk rows move as Arrow columns, never as Python objects row by row: bound to one
    prepared `INSERT … ON CONFLICT DO NOTHING` (SQLite), or copied to the server (COPY).
    """

    def __init__(self, location: Path | LedgerServer, read_only: bool = False) -> None:
        """`location` is the SQLite file or the project's schema on a server (see
        `Workspace.ledger`). `read_only` opens an existing ledger for looking only
        (`reconcile status`): nothing is created or written, and a user without write
        access can read it."""
        self._dialect = _dialect(location)
        self._conn = self._dialect.connect(read_only)
        for setting in self._dialect.settings(read_only):
            self.execute(setting)
        if read_only:
            return
        if self._layout() != _LAYOUT:
            self._create()
        version = self.execute("SELECT value FROM meta WHERE key = 'schema_version'")[0][0]
        if version != str(SCHEMA_VERSION):
            self.close()
            raise LedgerError(
                f"台账 {self._dialect.shown} 的版本为 {version}，本程序需要版本 "
                f"{SCHEMA_VERSION}；请先备份再升级台账"
            )

    def _layout(self) -> str | None:
        """The layout the ledger's tables were last brought to, None if unknown."""
        try:
            found = self.execute("SELECT value FROM meta WHERE key = 'layout'")
        except adbc_dbapi.Error:  # no tables yet
            return None
        return str(found[0][0]) if found else None

    def _create(self) -> None:
        """Tables, added columns and views, where missing. One transaction: two processes
        opening a new ledger at once create it once."""
        with self.transaction():
            for statement in self._dialect.schema(self):
                self.execute(statement)
            for table, columns in _ADDED_COLUMNS.items():
                self._dialect.add_columns(self, table, columns)
            for statement in self._dialect.views():
                self.execute(statement)
            self.execute(
                "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                (str(SCHEMA_VERSION),),
            )
            self.set_meta("layout", _LAYOUT)

    @staticmethod
    def exists(location: Path | LedgerServer) -> bool:
        """Whether a ledger is there to be read: the file, or the schema's tables."""
        if not isinstance(location, LedgerServer):
            return location.exists()
        dialect = _PostgreSQL(location)
        conn = dialect.connect(read_only=True)
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT to_regclass(quote_ident($1) || '.meta') IS NOT NULL",
                    pa.record_batch([pa.array([location.schema])], names=["0"]),
                )
                return bool(cursor.fetchall()[0][0])
        finally:
            conn.close()

    def execute(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """Raw SQL, for the store's own methods and for tests and tools that look inside
        the ledger. Product code elsewhere calls the named methods, so every statement
        lives in this package (tests/store/test_sql.py fails on SQL anywhere else)."""
        # A fresh cursor per statement: an ADBC cursor keeps its last parameter binding.
        with self._conn.cursor() as cursor:
            cursor.execute(self._dialect.sql(sql), _parameters(params))
            if not cursor.description:
                return []
            return [tuple(row) for row in cursor.fetchall()]

    def query(
        self, sql: str, params: tuple | list = (), at_most: int | None = None
    ) -> pl.DataFrame:
        """A result set as a polars frame (columnar, no Python row objects); raw SQL like
        `execute`, with the same rule. A column with no value at all comes back as
        polars `Null`, whichever backend typed it. `at_most`: a bound on the rows the
        caller knows (a range of places), which spares counting them first.
        """
        batch = None
        if self._dialect.one_batch and at_most is not None:
            batch = str(at_most + 1)
        elif self._dialect.one_batch:
            counted = int(self.execute(f"SELECT count(*) FROM ({sql})", params)[0][0])
            # Room for what a writer may commit between the two statements (a reader
            # beside a run): twice over, and reserved address space costs nothing.
            batch = str(2 * counted + 1024)
        with self._conn.cursor() as cursor:
            if batch is not None:
                cursor.adbc_statement.set_options(**{_BATCH_ROWS: batch})
            cursor.execute(self._dialect.sql(sql), _parameters(params))
            frame: pl.DataFrame = pl.from_arrow(cursor.fetch_arrow_table())  # type: ignore[assignment]
        return frame.with_columns(
            pl.col(name).cast(pl.Null)
            for name in frame.columns
            if frame.height and frame[name].null_count() == frame.height
        )

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.begin()
        try:
            yield
        except BaseException:
            self.rollback()
            raise
        self.commit()

    # A transaction spread over several calls: a file written by jobs queued to the
    # ingest's writer thread (reconcile.ingest.loader).
    def begin(self) -> None:
        for statement, params in self._dialect.begin():
            self.execute(statement, params)

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")

    # Within such a transaction, one file's statements: undone alone when the file fails
    # (the ingest commits several files at once, a commit being a flush to disk).
    def savepoint(self) -> None:
        self.execute("SAVEPOINT file")

    def release(self) -> None:
        self.execute("RELEASE SAVEPOINT file")

    def rollback_to_savepoint(self) -> None:
        self.execute("ROLLBACK TO SAVEPOINT file")
        self.execute("RELEASE SAVEPOINT file")

    # runs
    def start_run(self, as_of: str, mode: str, started_at: str) -> int:
        found = self.execute(
            "INSERT INTO runs (as_of, mode, started_at, status) VALUES (?, ?, ?, 'running') "
            "RETURNING run_id",
            (as_of, mode, started_at),
        )
        return int(found[0][0])

    def finish_run(self, run_id: int, status: str, finished_at: str, summary: dict) -> None:
        self.execute(
            "UPDATE runs SET status = ?, finished_at = ?, summary = ? WHERE run_id = ?",
            (status, finished_at, json.dumps(summary, ensure_ascii=False, sort_keys=True), run_id),
        )

    def close_dead_runs(self, finished_at: str) -> int:
        """Runs still marked running belong to a process that died: only the lock holder
        may call this. Returns how many there were."""
        dead = self.execute("SELECT count(*) FROM runs WHERE status = 'running'")[0][0]
        self.execute(
            "UPDATE runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'",
            (finished_at,),
        )
        return int(dead)

    def latest_ingest_as_of(self) -> str | None:
        return self.execute("SELECT max(as_of) FROM runs WHERE mode = 'ingest' AND status = 'ok'")[
            0
        ][0]

    def latest_ok_as_of(self) -> str | None:
        """The latest night a run (ingesting or replaying) judged successfully."""
        return self.execute("SELECT max(as_of) FROM runs WHERE status = 'ok'")[0][0]

    def ingest_starts(self) -> list[str]:
        """When each successful ingesting run started, in no particular order."""
        return [
            started
            for (started,) in self.execute(
                "SELECT started_at FROM runs WHERE status = 'ok' AND mode = 'ingest'"
            )
        ]

    def recent_runs(self, limit: int) -> list[RunRow]:
        """The last `limit` runs, newest first."""
        return [
            RunRow(run_id, as_of, mode, status, started, finished, json.loads(summary or "{}"))
            for run_id, as_of, mode, status, started, finished, summary in self.execute(
                "SELECT run_id, as_of, mode, status, started_at, finished_at, summary FROM runs "
                "ORDER BY run_id DESC LIMIT ?",
                (limit,),
            )
        ]

    # files
    def file_state(self, path: str, sha256: str) -> FileState | None:
        rows = self.execute(
            "SELECT status, reason FROM files WHERE path = ? AND sha256 = ?", (path, sha256)
        )
        return FileState(*rows[0]) if rows else None

    def touch_file(self, path: str, sha256: str, seen: str) -> None:
        self.execute(
            "UPDATE files SET last_seen = ? WHERE path = ? AND sha256 = ? AND last_seen < ?",
            (seen, path, sha256, seen),
        )

    def record_file(self, run_id: int, seen: str, **fields: object) -> int:
        columns = ["first_run", "first_seen", "last_seen", *fields]
        values = [run_id, seen, seen, *fields.values()]
        found = self.execute(
            f"INSERT INTO files ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            "RETURNING file_id",
            values,
        )
        return int(found[0][0])

    def update_file(self, file_id: int, **fields: object) -> None:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        self.execute(
            f"UPDATE files SET {assignments} WHERE file_id = ?", [*fields.values(), file_id]
        )

    def files(self) -> list[FileRow]:
        """Every file version the ledger has read, in the order it first read them."""
        return [
            FileRow(*row)
            for row in self.execute(
                "SELECT path, sha256, status, reason, first_seen, last_seen FROM files "
                "ORDER BY file_id"
            )
        ]

    def quarantine_moves(self) -> list[FileMove]:
        """Every move of a file into the quarantine, oldest first."""
        return [
            FileMove(*row)
            for row in self.execute(
                "SELECT path, sha256, dest FROM file_moves WHERE kind = 'quarantine' ORDER BY rowid"
            )
        ]

    def sheet_rows(self) -> list[SheetRow]:
        """Every sheet's recognition result, by file path and sheet name."""
        return [
            SheetRow(path, sha, file_status, seen, sheet, kind, note, json.loads(unused or "{}"))
            for path, sha, file_status, seen, sheet, kind, note, unused in self.execute(
                "SELECT f.path, f.sha256, f.status, f.first_seen, s.sheet, s.kind, s.note, "
                "s.unused FROM sheets s JOIN files f USING (file_id) ORDER BY f.path, s.sheet"
            )
        ]

    def record_move(
        self, path: str, sha256: str, run_id: int, kind: str, dest: str, moved_at: str
    ) -> None:
        """A file moved to the quarantine or the archive (committed at once, so a crash
        never loses the record of a move that happened)."""
        self.execute(
            "INSERT INTO file_moves (path, sha256, run_id, kind, dest, moved_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (path, sha256, run_id, kind, dest, moved_at),
        )

    def record_sheet(self, **fields: object) -> None:
        """A sheet's recognition result and counts."""
        self.execute(
            f"INSERT INTO sheets ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
            list(fields.values()),
        )

    def store_cells(self, file_id: int, sheet: str, cells: pl.DataFrame) -> None:
        """Every cell of a sheet as read, as one compact Parquet blob."""
        buffer = io.BytesIO()
        cells.write_parquet(buffer, compression="zstd")
        self.execute(
            "INSERT INTO sheet_cells (file_id, sheet, cells) VALUES (?, ?, ?)",
            (file_id, sheet, buffer.getvalue()),
        )

    def sheet_cells(self, file_id: int, sheet: str) -> pl.DataFrame | None:
        """The cells of a sheet as read, `__row` and one column per header (keyed c0..cN)."""
        found = self.execute(
            "SELECT cells FROM sheet_cells WHERE file_id = ? AND sheet = ?", (file_id, sheet)
        )
        if not found or found[0][0] is None:
            return None
        return pl.read_parquet(io.BytesIO(found[0][0]))

    def meta(self, key: str) -> str | None:
        found = self.execute("SELECT value FROM meta WHERE key = ?", (key,))
        return found[0][0] if found else None

    def set_meta(self, key: str, value: str) -> None:
        self.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def stored_files(self) -> list[tuple[int, str, str, str, str]]:
        """(file_id, path, sha256, status, first_seen) of every file whose cells the
        ledger kept, first seen first."""
        return [
            (int(file_id), path, sha, status, seen)
            for file_id, path, sha, status, seen in self.execute(
                "SELECT file_id, path, sha256, status, first_seen FROM files WHERE file_id IN "
                "(SELECT file_id FROM sheet_cells) ORDER BY file_id"
            )
        ]

    def stored_sheets(self, file_id: int) -> list[tuple[str, bool, str | None, pl.DataFrame]]:
        """(sheet, hidden, ref_date, cells) of one file, in the order they were read."""
        found = self.execute(
            "SELECT c.sheet, coalesce(s.hidden, 0), s.ref_date, c.cells FROM sheet_cells c "
            "LEFT JOIN sheets s ON s.file_id = c.file_id AND s.sheet = c.sheet "
            "WHERE c.file_id = ? ORDER BY c.rowid",
            (file_id,),
        )
        return [
            (sheet, bool(hidden), ref, pl.read_parquet(io.BytesIO(blob)))
            for sheet, hidden, ref, blob in found
        ]

    def forget_derived(self, file_id: int) -> pl.DataFrame:
        """Remove what a file's sheets yielded (rows it was first to hold, its errors and
        sheet results), keeping its cells; returns the removed rows' `row_id`, `kind`,
        `sheet`, `row_no`, `phone_pattern` so replaced ids can be aliased."""
        old = self.query(
            "SELECT row_id, kind, sheet, row_no, phone_pattern FROM rows WHERE file_id = ?",
            (file_id,),
        )
        schema: dict[str, type[pl.DataType]] = {
            "row_id": pl.String, "kind": pl.String, "sheet": pl.String,
            "row_no": pl.Int64, "phone_pattern": pl.String,
        }  # fmt: skip
        old = (
            old.cast(schema)  # type: ignore[arg-type]
            if old.height
            else pl.DataFrame(schema=schema)
        )
        for table in ("rows", "row_versions", "row_errors", "sheets"):
            self.execute(f"DELETE FROM {table} WHERE file_id = ?", (file_id,))
        return old

    def add_aliases(self, pairs: list[tuple[str, str]], run_id: int | None) -> None:
        """Old row ids now known by new ones; an id that was itself an alias target
        follows on, so every old id leads to the current one."""
        for old, new in pairs:
            self.execute("UPDATE row_aliases SET new_id = ? WHERE new_id = ?", (new, old))
            self.execute(
                "INSERT INTO row_aliases (old_id, new_id, run_id) VALUES (?, ?, ?) "
                "ON CONFLICT (old_id) DO UPDATE SET new_id = excluded.new_id, "
                "run_id = excluded.run_id",
                (old, new, run_id),
            )
        self.execute("DELETE FROM row_aliases WHERE old_id = new_id")

    def resolve_alias(self, row_id: str) -> str:
        found = self.execute("SELECT new_id FROM row_aliases WHERE old_id = ?", (row_id,))
        return found[0][0] if found else row_id

    # rows
    def add_part(self, part: Normalised, file_id: int) -> tuple[int, int]:
        """Records and errors of one normalised chunk; returns how many of each were new."""
        return self.add_staged(stage_part(part), file_id)

    def add_staged(self, staged: Staged, file_id: int) -> tuple[int, int]:
        """`add_part` of a chunk staged already (`stage_part`)."""
        return (
            self._insert("rows", staged.records, file_id),
            self._insert("row_errors", staged.errors, file_id),
        )

    def add_records(self, records: pl.DataFrame, file_id: int) -> int:
        """Insert records not yet known; returns how many were new."""
        return self._insert("rows", _stage(records, _ROW_COLUMNS, "row_key", "row_id"), file_id)

    def add_errors(self, errors: pl.DataFrame, file_id: int) -> int:
        staged = _stage(errors, _ERROR_COLUMNS, "error_key", "error_id")
        return self._insert("row_errors", staged, file_id)

    def error_rows(self) -> list[ErrorRow]:
        """Every rejected row, by file path, sheet and row number."""
        return [
            ErrorRow(*row)
            for row in self.execute(
                "SELECT f.path, e.sheet, e.row_no, e.kind, e.reason, f.first_seen "
                "FROM row_errors e JOIN files f USING (file_id) ORDER BY f.path, e.sheet, e.row_no"
            )
        ]

    def _insert(self, table: str, staged: pl.DataFrame, file_id: int) -> int:
        """Append the staged rows whose content id the ledger does not hold yet; returns
        how many. Of the rows it held already, a version where they read otherwise."""
        if staged.height == 0:
            return 0
        rows = staged.with_columns(file_id=pl.lit(file_id, dtype=pl.Int64))
        added = self._dialect.insert_new(self._conn, table, rows)
        if table == "rows" and added < rows.height:
            self._add_versions(rows.select(_VERSION_COLUMNS))
        return added

    def _add_versions(self, staged: pl.DataFrame) -> None:
        """`row_versions` of the staged rows held already from an earlier file: those that
        read otherwise than the row's own file, and every one of a row that has versions
        already (so the latest by file is what a night reads, whatever order files were
        first seen in)."""
        frame = staged.with_columns(
            pl.col(name).cast(pl.String) for name, kind in staged.schema.items() if kind == pl.Null
        )
        with self._conn.cursor() as cursor:
            cursor.adbc_ingest("staged_versions", frame.to_arrow(), mode="replace", temporary=True)
            cursor.execute(
                self._dialect.sql(
                    f"""
                    INSERT INTO row_versions ({", ".join(_VERSION_COLUMNS)})
                    SELECT s.row_id, s.file_id, s.customer_name, s.surnames, s.data
                    FROM staged_versions s JOIN rows r ON r.row_id = s.row_id
                    WHERE r.file_id <> s.file_id AND (
                        EXISTS (SELECT 1 FROM row_versions v WHERE v.row_id = s.row_id)
                        OR r.customer_name IS DISTINCT FROM s.customer_name
                        OR r.surnames IS DISTINCT FROM s.surnames
                        OR r.data IS DISTINCT FROM s.data
                    )
                    ON CONFLICT DO NOTHING
                    """
                )
            )
            cursor.execute("DROP TABLE staged_versions")

    # mails
    _MAIL_COLUMNS = (
        "message_id, night, key, recipients, subject, eml_path, raw, status, attempts, "
        "last_error, created_at, sent_at"
    )

    def _mail_rows(self, where: str, params: tuple = (), *, raw: bool = True) -> list[dict]:
        names = [name.strip() for name in self._MAIL_COLUMNS.split(",")]
        if not raw:  # a night's mails are megabytes of attachments: most callers want none
            names.remove("raw")
        rows = self.execute(f"SELECT {', '.join(names)} FROM mails {where}", params)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def mail(self, night: str, key: str) -> dict | None:
        """The mail recorded for (night, key), as a column -> value dict, or None."""
        found = self._mail_rows("WHERE night = ? AND key = ?", (night, key))
        return found[0] if found else None

    def night_mails(self, night: str) -> list[dict]:
        """The mails recorded for a night, in the order they were composed, without
        their bytes (`raw`)."""
        return self._mail_rows("WHERE night = ? ORDER BY rowid", (night,), raw=False)

    def queued_mails(self) -> list[dict]:
        """Mails waiting to be sent, oldest first."""
        return self._mail_rows("WHERE status = 'queued' ORDER BY night, created_at, message_id")

    def unsent_mails(self) -> list[dict]:
        """Mails in the outbox only or queued for another try, by night."""
        return self._mail_rows("WHERE status != 'sent' ORDER BY night, key")

    def add_mail(self, **fields: object) -> None:
        self.execute(
            f"INSERT INTO mails ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
            list(fields.values()),
        )

    def update_mail(self, message_id: str, *, attempted: bool = False, **fields: object) -> None:
        """Set fields of one mail; `attempted` also counts one more delivery attempt."""
        assignments = [f"{name} = ?" for name in fields]
        if attempted:
            assignments.append("attempts = attempts + 1")
        self.execute(
            f"UPDATE mails SET {', '.join(assignments)} WHERE message_id = ?",
            [*fields.values(), message_id],
        )

    # a night's files, and what they were made from: a run of the same night with
    # nothing changed reuses them (reconcile.ops.reuse)
    def watermark(self, seen_by: str | None = None) -> str:
        """A text that changes whenever anything a night is judged or published from
        changes: rows and rejected rows added or re-derived, files read, quarantined or
        moved, sheets re-read. Not the runs and mails, nor when a file was last seen.

        With `seen_by` (ISO 8601 with offset), only what the files first seen by then
        hold: what the night ending then was judged from.
        """
        found = self.execute(
            """
            WITH f AS (SELECT * FROM files WHERE CAST(? AS TEXT) IS NULL OR first_seen <= ?)
            SELECT (SELECT count(*) || ':' || coalesce(max(rowid), 0) FROM rows
                    WHERE file_id IN (SELECT file_id FROM f)),
                   (SELECT count(*) || ':' || coalesce(max(rowid), 0) FROM row_errors
                    WHERE file_id IN (SELECT file_id FROM f)),
                   (SELECT count(*) || ':' || coalesce(max(rowid), 0)
                           || ':' || coalesce(sum(length(coalesce(unused, ''))), 0) FROM sheets
                    WHERE file_id IN (SELECT file_id FROM f)),
                   (SELECT string_agg(file_id || '/' || sha256 || '/' || status
                                      || '/' || first_seen, ';' ORDER BY file_id)
                    FROM f),
                   (SELECT count(*) FROM file_moves),
                   (SELECT count(*) FROM row_aliases)
            """,
            (seen_by, seen_by),
        )
        return "|".join(str(part) for part in found[0])

    def night_outputs(self, night: str) -> list[tuple[str, str, str]]:
        """(path, sha256, key) of every file the night's last full run wrote."""
        return [
            (str(path), str(sha), str(key))
            for path, sha, key in self.execute(
                "SELECT path, sha256, key FROM outputs WHERE night = ? ORDER BY path", (night,)
            )
        ]

    def record_outputs(self, night: str, key: str, files: list[tuple[str, str]]) -> None:
        """The files (path, sha256) a full run of the night wrote, made from `key`."""
        with self.transaction():
            self.execute("DELETE FROM outputs WHERE night = ?", (night,))
            for path, sha in files:
                self.execute("INSERT INTO outputs VALUES (?, ?, ?, ?)", (night, path, sha, key))

    def record_night_lines(self, night: str, key: str, lines: list[str]) -> None:
        """What a full run of the night said it decided, for runs that reuse its files."""
        with self.transaction():
            self.execute("DELETE FROM night_lines WHERE night = ?", (night,))
            self.execute(
                "INSERT INTO night_lines VALUES (?, ?, ?)",
                (night, key, json.dumps(lines, ensure_ascii=False)),
            )

    def night_lines(self, night: str) -> tuple[str, list[str]] | None:
        """(key, lines) recorded for the night, or None."""
        found = self.execute("SELECT key, lines FROM night_lines WHERE night = ?", (night,))
        return (str(found[0][0]), json.loads(found[0][1])) if found else None

    def record_night_view(self, night: str, key: str, view: bytes) -> None:
        """What a judged night decided, for the next night's comparison (publish.digest.Before)."""
        with self.transaction():
            self.execute("DELETE FROM night_views WHERE night = ?", (night,))
            self.execute("INSERT INTO night_views VALUES (?, ?, ?)", (night, key, view))

    def night_view(self, night: str) -> tuple[str, bytes] | None:
        """(key, view) recorded for the night, or None."""
        found = self.execute("SELECT key, view FROM night_views WHERE night = ?", (night,))
        return (str(found[0][0]), bytes(found[0][1])) if found else None

    def rows_by_kind(self) -> dict[str, int]:
        return dict(self.execute("SELECT kind, count(*) FROM rows GROUP BY kind ORDER BY kind"))

    def count(self, table: str) -> int:
        if table not in {
            "rows",
            "row_errors",
            "files",
            "sheets",
            "sheet_cells",
            "runs",
            "mails",
            "file_moves",
            "row_aliases",
            "row_versions",
        }:
            raise ValueError(table)
        return int(self.execute(f"SELECT count(*) FROM {table}")[0][0])

    # what the judge reads: reconcile.judge.inputs.build turns these into its inputs
    def judge_rows(self, seen_by: str, stored: range | None = None) -> pl.DataFrame:
        """Every row of the files first seen by `seen_by` (ISO 8601 with offset), with the
        columns of `reconcile.judge.inputs.ROW_SCHEMA`. With `stored`, only the rows at
        those places in the table (`rowid`, see `row_places`)."""
        params: tuple = (seen_by,)
        within = ""
        if stored is not None:
            # Separate bounds, not `? IS NULL OR …`: SQLite seeks a rowid range only so.
            within = "AND r.rowid >= ? AND r.rowid < ?"
            params = (seen_by, stored.start, stored.stop)
        name, surnames, data = "r.customer_name", "r.surnames", "r.data"
        corrected = "CAST(NULL AS TEXT) AS corrected_in, CAST(NULL AS TEXT) AS corrected_seen"
        versions = ""
        if self.execute("SELECT EXISTS (SELECT 1 FROM row_versions)")[0][0]:
            # The latest version the night's files give, when later than the row's own file.
            later = "(v.seen > f.first_seen OR (v.seen = f.first_seen AND v.file_id > r.file_id))"
            name, surnames, data = (
                f"CASE WHEN v.row_id IS NULL THEN r.{column} ELSE v.{column} END"
                for column in ("customer_name", "surnames", "data")
            )
            corrected = "v.path AS corrected_in, v.seen AS corrected_seen"
            versions = f"""
            LEFT JOIN (
                SELECT v.row_id, v.file_id, v.customer_name, v.surnames, v.data,
                       vf.path, vf.first_seen AS seen,
                       row_number() OVER (
                           PARTITION BY v.row_id ORDER BY vf.first_seen DESC, v.file_id DESC
                       ) AS latest
                FROM row_versions v JOIN files vf ON vf.file_id = v.file_id
                WHERE vf.first_seen <= ?
            ) v ON v.row_id = r.row_id AND v.latest = 1 AND {later}
            """
            params = (seen_by, *params)
        return self.query(
            f"""
            SELECT r.row_id, r.kind, r.channel, r.agent, {name} AS customer_name,
                   {surnames} AS surnames, r.phone, r.phone_pattern, r.event_at, r.report_type,
                   {data} AS data, f.path, r.sheet, r.row_no, f.first_run, f.first_seen,
                   {corrected}
            FROM rows r JOIN files f USING (file_id) {versions}
            WHERE f.first_seen <= ? {within}
            """,
            params,
            at_most=None if stored is None else len(stored),
        )

    def row_places(self) -> range:
        """The places (`rowid`) the rows table holds rows at, first to last: the judge
        reads a million rows a slice of them at a time (`judge_rows(stored=…)`)."""
        # Apart: SQLite reads a lone min() or max() of the rowid off the tree's end, yet
        # scans the whole table for both at once.
        low, high = self.execute(
            "SELECT (SELECT min(rowid) FROM rows), (SELECT max(rowid) FROM rows)"
        )[0]
        return range(0) if low is None else range(int(low), int(high) + 1)

    def judge_report_errors(self, seen_by: str) -> pl.DataFrame:
        """Rejected report rows of the files first seen by `seen_by`, with their sheet's
        header mapping: the columns of `reconcile.judge.inputs.ERROR_SCHEMA`."""
        return self.query(
            f"""
            SELECT e.error_id, e.channel, e.codes, e.reason, e.raw, s.mapping, s.headers,
                   {_source_sql("e")} AS source,
                   f.path, e.sheet, e.row_no
            FROM row_errors e JOIN files f USING (file_id)
                 LEFT JOIN sheets s ON s.file_id = e.file_id AND s.sheet = e.sheet
            WHERE e.kind = 'report' AND f.first_seen <= ?
            ORDER BY f.path, e.sheet, e.row_no
            """,
            (seen_by,),
        )

    def knew_files_by(self, seen_by: str) -> bool:
        """Whether any file was first seen by `seen_by` (ISO 8601 with offset): a night
        judged from a ledger that knew none has nothing to judge."""
        found = self.execute(
            "SELECT EXISTS (SELECT 1 FROM files WHERE first_seen <= ?)", (seen_by,)
        )
        return bool(found[0][0])

    def first_run(self) -> int | None:
        """The workspace's very first run, None before any file was read."""
        found = self.execute("SELECT min(first_run) FROM files")[0][0]
        return None if found is None else int(found)
