"""Discover input files and turn one file into normalised sheets.

`read_input` does everything that needs no ledger: read, find headers, recognise
kinds, normalise. The pipeline then writes the result in one transaction.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import polars as pl

from reconcile.config.rules import Rules
from reconcile.config.workspace import CHANNEL_FOLDERS, INPUT_FOLDERS
from reconcile.ingest.headers import AliasTable
from reconcile.ingest.readers import FileRejected, RawSheet, read_file
from reconcile.ingest.sheet import (
    SheetTable,
    UnrecognisedSheet,
    extract_table,
    other_projects,
)
from reconcile.normalise import dates
from reconcile.normalise.records import (
    Normalised,
    SheetContext,
    dates_in_order,
    normalise_table,
)
from reconcile.store.files import sha256_of

IGNORED_NAMES = {"thumbs.db", "desktop.ini"}
TEMPORARY_SUFFIXES = (".tmp", ".part", ".crdownload", ".partial", ".download")
RESERVED_DIRS = {"_archive", "_quarantine"}
CHUNK_ROWS = 50_000  # rows normalised at a time; the ledger writes one chunk while the next is made
_TITLE_MONTH = re.compile(r"(20\d{2})\s*[年\-_./]\s*(\d{1,2})\s*月?")


@dataclass(frozen=True)
class Waiting:
    """A file in `inputs/` not read tonight because it is not (yet) a finished data file."""

    rel: str
    reason: str  # Chinese, for the operator


TEMPORARY_REASON = "临时文件（下载或复制尚未完成），改名为正式文件后自动读取"
OFFICE_LOCK_REASON = "Office 锁文件（有人正用 Excel 打开同一文件夹的表格），不是数据文件，不读取"


@dataclass(frozen=True)
class InputFile:
    path: Path
    rel: str  # relative to inputs/, forward slashes
    folder: str | None  # one of config.workspace.INPUT_FOLDERS, or None
    channel: str | None  # from inputs/channels/<渠道>/ or inputs/statements/<渠道>/


@dataclass
class SheetOutcome:
    name: str
    hidden: bool
    kind: str | None
    header_row: int | None
    mapping: dict[str, str]
    headers: list[str]
    normalised: Normalised | None
    cells: pl.DataFrame | None  # every row as read, kept in the ledger
    skipped: Counter = field(default_factory=Counter)
    note: str | None = None
    unrecognised_rows: int = 0
    set_aside: bool = False  # a data sheet the night cannot read safely (see `note`)
    extra_phone_headers: list[str] = field(default_factory=list)
    ignored_headers: dict[str, str] = field(default_factory=dict)
    fallback_headers: dict[str, str] = field(default_factory=dict)  # header -> field it backs up
    combined: dict[str, list[str]] = field(default_factory=dict)  # header -> fields split out
    unused: dict[str, str] = field(default_factory=dict)  # header -> why nothing reads it
    data_rows: int = 0  # rows below the header as read: accepted + rejected + skipped
    ref_date: date | None = None  # what a year-less date was read against

    @property
    def rows_in(self) -> int:
        """Data rows of a recognised sheet, counted from the
        cells as read, not from what normalising made of them."""
        return self.data_rows if self.kind is not None else 0

    @property
    def accepted(self) -> int:
        """Source rows accepted: the rows as read, less those rejected or skipped. A cell
        with two numbers is still one row; a WeChat message naming two customers is two
        (the reader's rows, which share the message's line)."""
        if self.normalised is None:
            return 0
        return self.rows_in - self.rejected - sum(self.skipped.values())

    def keep_counts(self) -> None:
        """Let go of the cells and accepted records once the ledger holds them; the
        counts and the rejected rows stay (a night's summary shows them)."""
        if self.normalised is not None:
            records = self.normalised.records.clear()
            self.normalised = Normalised(records, self.normalised.errors)
        self.cells = None

    @property
    def rejected(self) -> int:
        return 0 if self.normalised is None else self.normalised.errors.height


@dataclass
class FileOutcome:
    file: InputFile
    sha256: str
    size: int
    sheets: list[SheetOutcome] = field(default_factory=list)
    rejected: FileRejected | None = None

    def total(self, attribute: str) -> int:
        return sum(getattr(sheet, attribute) for sheet in self.sheets)

    @property
    def skipped(self) -> Counter:
        return sum((sheet.skipped for sheet in self.sheets), Counter())

    def keep_counts(self) -> None:
        """See `SheetOutcome.keep_counts`."""
        for sheet in self.sheets:
            sheet.keep_counts()


def discover(inputs: Path) -> tuple[list[InputFile], list[Waiting]]:
    """Input files in a stable order, and temporary or Office lock files set aside."""
    found: list[InputFile] = []
    waiting: list[Waiting] = []
    if not inputs.is_dir():
        return found, waiting
    for path in sorted(inputs.rglob("*")):
        if not path.is_file():
            continue
        parts = path.relative_to(inputs).parts
        if any(part in RESERVED_DIRS or part.startswith(".") for part in parts):
            continue
        name = path.name
        if name.lower() in IGNORED_NAMES or name == ".gitkeep":
            continue
        rel = "/".join(parts)
        if name.startswith("~$"):
            waiting.append(Waiting(rel, OFFICE_LOCK_REASON))
            continue
        if name.lower().endswith(TEMPORARY_SUFFIXES):
            waiting.append(Waiting(rel, TEMPORARY_REASON))
            continue
        folder = parts[0] if len(parts) > 1 and parts[0] in INPUT_FOLDERS else None
        channel = parts[1] if folder in CHANNEL_FOLDERS and len(parts) > 2 else None
        found.append(InputFile(path, rel, folder, channel))
    return found, waiting


def classify_path(path: Path) -> InputFile:
    """Folder hints for a file checked outside the workspace walk (`reconcile check`)."""
    parts = path.resolve().parts
    if "inputs" in parts:
        index = len(parts) - 1 - parts[::-1].index("inputs")
        inner = parts[index + 1 :]
        folder = inner[0] if len(inner) > 1 and inner[0] in INPUT_FOLDERS else None
        channel = inner[1] if folder in CHANNEL_FOLDERS and len(inner) > 2 else None
        return InputFile(path, "/".join(inner), folder, channel)
    return InputFile(path, path.name, None, None)


def reference_date(title: str, file_name: str, file_date: date) -> date:
    """The date a year-less `11月18日` is read against.

    The month named in the sheet title or the file name, else the file's date.
    """
    for text in (title, file_name):
        match = _TITLE_MONTH.search(text)
        if match and 1 <= int(match.group(2)) <= 12:
            return date(int(match.group(1)), int(match.group(2)), 15)
    return file_date


def read_input(
    item: InputFile,
    rules: Rules,
    aliases: AliasTable,
    sha256: str | None = None,
    sink: Callable[[Normalised], object] | None = None,
    require_channel: bool = True,
    on_cells: Callable[[str, pl.DataFrame], object] | None = None,
) -> FileOutcome:
    """Read, recognise and normalise one file.

    Each sheet's cells go to `on_cells` as soon as it is read, and normalised rows to
    `sink` chunk by chunk, so the ledger writes one while the next is being made.
    """
    return open_input(item, rules, aliases, sha256).derive(rules, sink, require_channel, on_cells)


Table = SheetTable | UnrecognisedSheet


@dataclass
class Opened:
    """A file read and its sheets recognised (or refused as a whole), not yet normalised."""

    outcome: FileOutcome
    tables: list[Table]
    file_date: date  # what a year-less value falls back on

    def derive(
        self,
        rules: Rules,
        sink: Callable[[Normalised], object] | None = None,
        require_channel: bool = True,
        on_cells: Callable[[str, pl.DataFrame], object] | None = None,
    ) -> FileOutcome:
        """The outcome of `read_input`; see there."""
        if self.outcome.rejected is None:
            file_date = self.file_date
            derive_tables(
                self.outcome,
                self.tables,
                rules,
                lambda _sheet: file_date,
                sink,
                require_channel,
                on_cells,
            )
        return self.outcome


def open_input(
    item: InputFile, rules: Rules, aliases: AliasTable, sha256: str | None = None
) -> Opened:
    """The first half of `read_input`: the file read and its sheets recognised, all it
    needs of the disk (the night reads and recognises the next file this way, on another
    thread, while the last one is normalised)."""
    stat = item.path.stat()
    outcome = FileOutcome(item, sha256 or sha256_of(item.path), stat.st_size)
    file_date = datetime.fromtimestamp(stat.st_mtime, rules.zone).date()
    try:
        sheets = read_file(item.path, rules.limits, checked_project(rules))
    except FileRejected as rejected:
        outcome.rejected = rejected
        return Opened(outcome, [], file_date)
    return Opened(outcome, recognise_sheets(sheets, aliases, item), file_date)


def checked_project(rules: Rules) -> str | None:
    """The project a WeChat message must not contradict; rules with no project of their
    own (`check` outside a workspace) check none."""
    return rules.project if "project" in rules.model_fields_set else None


def recognise_sheets(
    raw_sheets: list[RawSheet], aliases: AliasTable, item: InputFile
) -> list[Table]:
    """Each sheet with any content as a recognised table, or as a sheet not read and why."""
    tables: list[Table] = []
    for raw in raw_sheets:
        table = extract_table(raw, aliases, item.folder, item.path.stem)
        if table is not None:
            table.kept = raw.kept
            tables.append(table)
    return tables


def derive(
    outcome: FileOutcome,
    raw_sheets: list[RawSheet],
    rules: Rules,
    aliases: AliasTable,
    file_date: Callable[[str], date],
    sink: Callable[[Normalised], object] | None = None,
    require_channel: bool = True,
    on_cells: Callable[[str, pl.DataFrame], object] | None = None,
) -> None:
    """Recognise and normalise a file's sheets into `outcome` (from the file as read, or
    from the cells the ledger kept of it: `reconcile reread`).

    `file_date(sheet)` is the date a year-less value falls back on when neither the
    sheet's title nor the file name names a month.
    """
    tables = recognise_sheets(raw_sheets, aliases, outcome.file)
    derive_tables(outcome, tables, rules, file_date, sink, require_channel, on_cells)


def derive_tables(
    outcome: FileOutcome,
    tables: list[Table],
    rules: Rules,
    file_date: Callable[[str], date],
    sink: Callable[[Normalised], object] | None = None,
    require_channel: bool = True,
    on_cells: Callable[[str, pl.DataFrame], object] | None = None,
) -> None:
    """`derive` of sheets already recognised."""
    item = outcome.file
    for table in tables:
        if on_cells is not None:
            on_cells(table.sheet, table.cells if table.kept is None else table.kept)
        if isinstance(table, UnrecognisedSheet):
            outcome.sheets.append(
                SheetOutcome(
                    table.sheet,
                    table.hidden,
                    None,
                    None,
                    {},
                    table.headers,
                    None,
                    table.cells,
                    note=table.reason,
                    unrecognised_rows=table.rows,
                    set_aside=table.set_aside,
                )
            )
            continue
        ref = reference_date(table.title, item.path.name, file_date(table.sheet))
        context = SheetContext(
            path=item.rel,
            folder_channel=item.channel,
            ref_date=ref,
            timezone=rules.timezone,
            report_types=tuple(rules.report.types),
            file_name=item.path.name,
            channel_names=rules.channel_names,
            known_channels=rules.known_channels,
            title_date=dates.stated_day(table.title),
            require_channel=require_channel,
        )
        table, note = other_projects(table, checked_project(rules))
        read = _normalise_sheet(table, context, sink)
        read.note = note
        outcome.sheets.append(read)
    if outcome.sheets and all(sheet.kind is None for sheet in outcome.sheets):
        described = "；".join(
            f"工作表“{s.name}”：{s.note}（表头：{'、'.join(s.headers[:12]) or '无'}）"
            for s in outcome.sheets
        )
        outcome.rejected = FileRejected(f"没有可识别的工作表。{described}", "unrecognised")


def chunk_plan(rows: int) -> list[tuple[int, int]]:
    """(offset, length) slices of CHUNK_ROWS, the last one cut to a fifth: the write that
    cannot overlap any normalising is then short."""
    sizes = [CHUNK_ROWS] * (rows // CHUNK_ROWS) + ([rows % CHUNK_ROWS] if rows % CHUNK_ROWS else [])
    if not sizes:
        return [(0, 0)]
    if sizes[-1] >= 2 * (CHUNK_ROWS // 5):
        tail = CHUNK_ROWS // 5
        sizes[-1:] = [sizes[-1] - tail, tail]
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    return list(zip(offsets, sizes, strict=True))


def _normalise_sheet(
    table: SheetTable,
    context: SheetContext,
    sink: Callable[[Normalised], object] | None,
) -> SheetOutcome:
    parts = []
    table = dates_in_order(table)
    for offset, length in chunk_plan(table.frame.height):
        part = normalise_table(replace(table, frame=table.frame.slice(offset, length)), context)
        if sink is not None:
            sink(part)
        parts.append(part)
    normalised = Normalised(
        pl.concat([p.records for p in parts], rechunk=False),
        pl.concat([p.errors for p in parts], rechunk=False),
    )
    return SheetOutcome(
        table.sheet,
        table.hidden,
        table.kind,
        table.header_row,
        table.mapping,
        table.headers,
        normalised,
        table.cells,
        table.skipped,
        extra_phone_headers=table.extra_phone_headers,
        ignored_headers=table.ignored_headers,
        fallback_headers=table.fallback_headers,
        combined=table.combined,
        unused=table.unused,
        data_rows=table.data_rows,
        ref_date=context.ref_date,
    )
