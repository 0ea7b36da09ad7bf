"""Nights judged in memory: sheets as clerks type them, to the night's contract files,
with no file written and no ledger.

Each sheet goes through the product's own reading wherever no file is needed. A
workbook's cells are rendered as text the way the workbook reader renders the cells
this package's writers write (`excel_text`); a CSV sheet is written as `write_csv`
writes it and parsed by the product's delimited reader. Ingest then recognises and
normalises the sheets (`reconcile.ingest.files.derive`).

The ledger is emulated where the judge can tell: one file version per path and
content; a row's content id seen first wins (the ledger's `INSERT OR IGNORE`), so a
re-saved file adds only its new or edited rows and the others keep the file, source
and first_seen they were first seen with, while a later file reading a row otherwise
(its name or data) gives the row's latest version (`row_versions`); a night earlier
than the latest night that read files is a replay and reads nothing. The judge runs on
`reconcile.judge.inputs.build`, and the contract files come from the code that writes
them (`reconcile.publish.contract.contract_files`), byte for byte.

Not shown here, so left to real files and `reconcile run`: files the reader refuses
as a whole (corrupt, encrypted, too large), safe arrival, locks, archive and
quarantine moves, publishing.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl

from reconcile.config.rules import Rules, parse_rules
from reconcile.ingest.files import FileOutcome, SheetOutcome, classify_path, derive
from reconcile.ingest.headers import AliasTable
from reconcile.ingest.limits import Bounds, OverLimit
from reconcile.ingest.readers import FileRejected, RawSheet, over_limit, read_delimited
from reconcile.ingest.wechat import message_text_sheet
from reconcile.judge import Judgement, judge
from reconcile.judge.inputs import ERROR_SCHEMA, ROW_SCHEMA, build, night_end
from reconcile.normalise.places import place_text
from reconcile.normalise.records import ids_from_keys
from reconcile.publish.contract import contract_files
from reconcile.testing import Cell, csv_document

Rows = list[list[Cell]]  # a sheet as typed, the header row first
Sheets = dict[str, Rows]  # sheet name -> rows; a .csv file has one, named after the file
# A file's content: its sheets, or for a .txt of WeChat messages (SPEC 4.2) its text.
Content = Sheets | str
WORKBOOK_SUFFIXES = (".xlsx", ".xls")
TEXT_SUFFIX = ".csv"
MESSAGE_SUFFIX = ".txt"


def excel_text(value: Cell, suffix: str) -> str | None:
    """A cell written by `write_xlsx` / `write_xls` as the workbook reader renders it:
    date-times as `YYYY-MM-DD HH:MM:SS` (a date at midnight), numbers with at most nine
    decimals and no trailing zeros, booleans `true` / `false`, blank text as null."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.microsecond:
            raise ValueError(f"{value!r}: give date-times to the second")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return f"{value.isoformat()} 00:00:00"
    if isinstance(value, time):
        raise ValueError(f"{value!r}: give a time of day as text")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        number = float(value)
        if suffix == ".xlsx":  # xlsxwriter stores 16 significant digits
            number = float(f"{number:.16g}")
        return f"{number:.9f}".rstrip("0").rstrip(".")
    return value if value.strip() else None


def raw_sheets(rel: str, sheets: Content, rules: Rules) -> list[RawSheet]:
    """The sheets of a file as the reader would hand them on (raises `FileRejected`)."""
    suffix = PurePosixPath(rel).suffix.lower()
    if suffix == MESSAGE_SUFFIX:
        if not isinstance(sheets, str):
            raise ValueError(f"{rel}: a .txt file of messages is given as its text")
        try:
            messages = message_text_sheet(
                sheets,
                Bounds.of(rules.limits),
                rules.project,
                len(sheets.encode("utf-8")),
                PurePosixPath(rel).name,
            )
        except OverLimit as broken:
            raise over_limit(broken) from None
        if messages is None:
            raise ValueError(f"{rel}: a table, not messages: give it as a .csv file")
        return [messages]
    if isinstance(sheets, str):
        raise ValueError(f"{rel}: only a .txt file of messages is given as text")
    if suffix == TEXT_SUFFIX:
        if len(sheets) != 1:
            raise ValueError(f"{rel}: a CSV file has exactly one sheet")
        text = csv_document(next(iter(sheets.values())))
        stream = io.StringIO(text, newline="")
        size = len(text.encode("utf-8"))
        try:
            return [
                read_delimited(
                    stream, PurePosixPath(rel).stem, suffix, size, Bounds.of(rules.limits)
                )
            ]
        except OverLimit as broken:
            raise over_limit(broken) from None
    if suffix not in WORKBOOK_SUFFIXES:
        suffixes = ", ".join((*WORKBOOK_SUFFIXES, TEXT_SUFFIX, MESSAGE_SUFFIX))
        raise ValueError(f"{rel}: only {suffixes} files")
    return [_workbook_sheet(name, rows, suffix) for name, rows in sheets.items()]


def _workbook_sheet(name: str, rows: Rows, suffix: str) -> RawSheet:
    texts = [[excel_text(value, suffix) for value in row] for row in rows]
    # The reader's grid ends at the last cell the writer wrote (a blank text is written).
    written = [
        [c for c, value in enumerate(row) if value is not None and value != ""] for row in rows
    ]
    height = max((r + 1 for r, cells in enumerate(written) if cells), default=0)
    width = max((cells[-1] + 1 for cells in written if cells), default=0)
    columns = {
        f"c{c}": [row[c] if c < len(row) else None for row in texts[:height]] for c in range(width)
    }
    return RawSheet(name, True, pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String)))


@dataclass
class _Version:
    """One version (path and content) of an input file, as the ledger's `files` row."""

    file_id: int
    path: str
    first_run: int
    first_seen: str
    outcome: FileOutcome

    def sheet(self, name: str) -> SheetOutcome | None:
        return next((s for s in self.outcome.sheets if s.name == name), None)


@dataclass(frozen=True)
class Night:
    as_of: date
    replay: bool  # earlier than the latest night that read files: nothing was read
    judgement: Judgement
    contract: dict[str, bytes]  # reports.csv, attribution.csv, deals.csv, settlement.csv
    # What the ledger would hold after the night, one line each, as `reconcile run`
    # reports them: `path#sheet!row: reason`, `path: reason`, `path#sheet: note`.
    row_errors: list[str]
    quarantined: list[str]
    unrecognised_sheets: list[str]


class MemoryWorkspace:
    """A workspace's `inputs/` folder and ledger, in memory."""

    def __init__(self, rules: str) -> None:
        self.rules = parse_rules(rules)
        self._aliases = AliasTable.build(self.rules.columns)
        self._inputs: dict[str, Content] = {}
        self._versions: dict[tuple[str, str], _Version] = {}
        self._rows: dict[str, tuple[dict[str, Any], _Version]] = {}  # row_id -> row, its file
        # row_id -> file_id -> the row as a later file gives it (the ledger's row_versions)
        self._later: dict[str, dict[int, tuple[dict[str, Any], _Version]]] = {}
        self._errors: dict[str, tuple[dict[str, Any], _Version]] = {}
        self._runs = 0
        self._latest_read: date | None = None

    def put(self, rel: str, sheets: Content) -> None:
        """A file dropped into `inputs/` (path relative to it); the same path again is the
        file re-saved."""
        self._inputs[rel] = sheets

    def run(self, as_of: date) -> Night:
        """`reconcile run --as-of` in memory."""
        self._runs += 1
        seen = night_end(self.rules, as_of).isoformat()
        replay = self._latest_read is not None and as_of < self._latest_read
        if not replay:
            for rel in sorted(self._inputs, key=PurePosixPath):  # the order files are found in
                self._read(rel, self._inputs[rel], seen)
            self._latest_read = max(as_of, self._latest_read or as_of)
        first_runs = [v.first_run for v in self._versions.values()]
        inputs = build(
            self.rules,
            as_of,
            self._row_table(seen),
            self._error_table(seen),
            min(first_runs) if first_runs else None,
        )
        judgement = judge(inputs, self.rules)
        return Night(
            as_of,
            replay,
            judgement,
            contract_files(judgement),
            self._row_error_lines(),
            self._quarantined_lines(),
            self._unrecognised_lines(),
        )

    def _read(self, rel: str, sheets: Content, seen: str) -> None:
        written = sheets if isinstance(sheets, str) else repr(list(sheets.items()))
        content = hashlib.sha256(written.encode("utf-8")).hexdigest()
        if (rel, content) in self._versions:
            return
        # A file just written is dated today: year-less dates fall back on it.
        today = datetime.now(self.rules.zone).date()
        outcome = FileOutcome(classify_path(Path("/inputs", rel)), content, 0)
        try:
            read = raw_sheets(rel, sheets, self.rules)
        except FileRejected as rejected:
            outcome.rejected = rejected
        else:
            derive(outcome, read, self.rules, self._aliases, lambda _sheet: today)
        version = _Version(len(self._versions) + 1, rel, self._runs, seen, outcome)
        self._versions[(rel, content)] = version
        if outcome.rejected is not None:
            return
        for sheet in outcome.sheets:
            if sheet.normalised is not None:
                _insert(self._rows, sheet.normalised.records, "row_key", version, self._later)
                _insert(self._errors, sheet.normalised.errors, "error_key", version)

    def _row_table(self, seen: str) -> pl.DataFrame:
        rows = [
            {
                **{name: row[name] for name in ROW_SCHEMA if name in row},
                **self._latest(row_id, version, seen),
                "row_id": row_id,
                "source": _source(version.path, row),
                "path": version.path,
                "first_run": version.first_run,
                "first_seen": version.first_seen,
            }
            for row_id, (row, version) in self._rows.items()
            if version.first_seen <= seen
        ]
        return pl.DataFrame(rows, schema=ROW_SCHEMA)

    def _latest(self, row_id: str, first: _Version, seen: str) -> dict[str, Any]:
        """The fields of the row's latest version seen by `seen`, later than its own file."""
        found = [
            (version.first_seen, version.file_id, row, version.path)
            for row, version in self._later.get(row_id, {}).values()
            if version.first_seen <= seen
            and (version.first_seen, version.file_id) > (first.first_seen, first.file_id)
        ]
        if not found:
            return {}
        seen_then, _, row, path = max(found, key=lambda item: item[:2])
        return {
            **{name: row[name] for name in _VERSIONED},
            "corrected_in": path,
            "corrected_seen": seen_then,
        }

    def _error_table(self, seen: str) -> pl.DataFrame:
        errors = []
        for error_id, (error, version) in self._errors.items():
            if error["kind"] != "report" or version.first_seen > seen:
                continue
            sheet = version.sheet(error["sheet"])
            errors.append(
                {
                    **{name: error[name] for name in ERROR_SCHEMA if name in error},
                    "error_id": error_id,
                    # as the ledger's `sheets` row keeps them
                    "mapping": None
                    if sheet is None
                    else json.dumps(sheet.mapping, ensure_ascii=False),
                    "headers": None
                    if sheet is None
                    else json.dumps(sheet.headers, ensure_ascii=False),
                    "source": _source(version.path, error),
                    "path": version.path,
                }
            )
        errors.sort(key=lambda e: (e["path"], e["sheet"], e["row_no"]))
        return pl.DataFrame(errors, schema=ERROR_SCHEMA)

    def _row_error_lines(self) -> list[str]:
        found = sorted(
            (version.path, error["sheet"], error["row_no"], error["reason"])
            for error, version in self._errors.values()
        )
        return [f"{place_text((path, sheet, row))}: {reason}" for path, sheet, row, reason in found]

    def _quarantined_lines(self) -> list[str]:
        return [
            f"{v.path}: {v.outcome.rejected.reason}"
            for v in sorted(self._versions.values(), key=lambda v: v.path)
            if v.outcome.rejected is not None
        ]

    def _unrecognised_lines(self) -> list[str]:
        found = [
            (v.path, s.name, s.note)
            for v in self._versions.values()
            if v.outcome.rejected is None
            for s in v.outcome.sheets
            if s.kind is None
        ]
        return [
            f"{path}#{sheet}: {note}" for path, sheet, note in sorted(found, key=lambda f: f[:2])
        ]


# What a later file may read otherwise of a row (the ledger's `row_versions`).
_VERSIONED = ("customer_name", "surnames", "data")


def _insert(
    table: dict[str, tuple[dict[str, Any], _Version]],
    frame: pl.DataFrame,
    key: str,
    version: _Version,
    later: dict[str, dict[int, tuple[dict[str, Any], _Version]]] | None = None,
) -> None:
    """Rows whose content id is not known yet, in the ledger's order (by id within a sheet);
    with `later`, a version of each row an earlier file holds, where it reads otherwise or
    the row has versions already (`Ledger._add_versions`)."""
    ids = ids_from_keys(frame[key]).to_list()
    rows = frame.drop(key).iter_rows(named=True)
    for row_id, row in sorted(zip(ids, rows, strict=True), key=lambda pair: pair[0]):
        held, first = table.setdefault(row_id, (row, version))
        if later is None or first.file_id == version.file_id:
            continue
        if row_id in later or any(row[name] != held[name] for name in _VERSIONED):
            later.setdefault(row_id, {}).setdefault(version.file_id, (row, version))


def _source(path: str, row: dict[str, Any]) -> str:
    return place_text((path, row["sheet"], row["row_no"]))
