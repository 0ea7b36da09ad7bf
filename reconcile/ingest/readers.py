"""Read one input file into raw sheets of text cells.

Every cell comes out as `str` or null (blank and whitespace-only cells are null,
a clerk cannot tell them apart), exactly as a clerk would read it: the
Rust-backed calamine reader (through fastexcel) renders numbers without a
trailing `.0` and datetime cells as `YYYY-MM-DD HH:MM:SS`. Row `i` of a
`RawSheet.frame` is spreadsheet row `i + 1` (CSV: line `i + 1` for one-line rows;
`line_numbers` says otherwise). Anything that makes a whole file unusable raises
`FileRejected` with a reason a clerk understands.

Every reader is bounded by `rules.yaml` `limits:` (reconcile/ingest/limits.py): a
workbook is measured and inflated under a cap before calamine sees it, and text
files count rows and cells while they are read.
"""

from __future__ import annotations

import codecs
import csv
import io
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import fastexcel
import polars as pl
import python_calamine
from isal import isal_zlib

from reconcile.ingest.limits import (
    MAX_SHEETS,
    Bounds,
    MiB,
    OverLimit,
    Tally,
    measure_workbook,
)

if TYPE_CHECKING:
    from reconcile.config.rules import Limits

# WPS 表格's own format: an OLE compound file (or, saved by newer versions, a zip), which
# calamine reads when it holds an Excel workbook stream; otherwise the clerk is told to
# save it as .xlsx.
WPS_SUFFIXES = {".et", ".ett"}
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".csv", ".txt", *WPS_SUFFIXES}
# Spreadsheets of other programs, refused with how to resave them rather than as "not a
# spreadsheet": calamine reads some of them, but not within the bounds read here.
_RESAVE = {".xlsb": "Excel 二进制工作簿", ".ods": "OpenDocument 表格", ".numbers": "Numbers 表格"}
TEXT_SUFFIXES = {".csv", ".txt"}  # delimited text: comma, tab, semicolon or bar
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_TEXT_ROWS = 65_536  # text rows gathered before they become one polars chunk
_TEXT_CELLS = 1_000_000  # or text cells


class FileRejected(Exception):
    """The file as a whole cannot be read; `reason` is the Chinese explanation."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def over_limit(broken: OverLimit) -> FileRejected:
    """A broken bound of `limits:` as a quarantine reason."""
    return FileRejected(
        f"{broken.reason}。文件已隔离，其中的行都没有读取；请核对文件（或拆分后重新提交），"
        "确属正常的大文件时可在 rules.yaml 的 limits 中调高该上限",
        "over_limit",
    )


@dataclass
class RawSheet:
    name: str
    visible: bool
    frame: pl.DataFrame  # all columns pl.String, named c0..cN
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # 0-based r1, c1, r2, c2
    line_numbers: list[int] | None = None  # CSV only, when quoted fields span lines
    # The cells the ledger keeps to read the sheet again, when they are not `frame`: a
    # WeChat message file's lines as written, so a later reader reads them anew.
    kept: pl.DataFrame | None = None

    def row_number(self, index: int) -> int:
        return self.line_numbers[index] if self.line_numbers else index + 1


def read_file(path: Path, limits: Limits | int, project: str | None = None) -> list[RawSheet]:
    """Every sheet of the file, within `limits` (`rules.limits`; a bare int is a
    file-size cap in bytes with the other limits at their defaults). A `.txt` that is
    not delimited text is WeChat messages (SPEC 4.2); one naming another project than
    `project` is a row error."""
    bounds = Bounds.of(limits)
    size = path.stat().st_size
    if size == 0:
        raise FileRejected("文件为空（0 字节），可能未保存或未传完，请重新提交", "empty")
    if size > bounds.file_bytes:
        raise FileRejected(
            f"文件过大（{size / MiB:.1f} MB，上限 limits.max_file_mb = "
            f"{bounds.file_bytes / MiB:g} MB），请拆分后提交",
            "too_large",
        )
    suffix = path.suffix.lower()
    if suffix in _RESAVE:
        raise FileRejected(
            f"{_RESAVE[suffix]}（{path.suffix}）暂不直接读取，请用 Excel 或 WPS 打开后"
            "“另存为” .xlsx 再提交",
            "not_spreadsheet",
        )
    if suffix not in SPREADSHEET_SUFFIXES:
        raise FileRejected(
            f"不是表格文件（{path.suffix or '无扩展名'}），请提交 Excel（.xlsx/.xls）或 CSV 文件",
            "not_spreadsheet",
        )
    with path.open("rb") as handle:
        head = handle.read(4096)
    try:
        messages = None
        if suffix == ".txt":
            # Imported here: the message reader builds on this module's RawSheet.
            from reconcile.ingest.wechat import read_message_file

            messages = read_message_file(path, bounds, project)
        if messages is not None:
            sheets = [messages]
        elif suffix in TEXT_SUFFIXES:
            sheets = [_read_csv(path, bounds)]
        elif suffix == ".xls" and _looks_like_html(head):
            # Imported here: the HTML reader builds on this module's RawSheet.
            from reconcile.ingest.html_tables import read_html_file

            sheets = read_html_file(path, path.stem, bounds)
        else:
            _check_container(path, suffix, head)
            sheets = _read_workbook(path, head, bounds)
    except OverLimit as broken:
        raise over_limit(broken) from None
    except FileRejected as rejected:
        if suffix in WPS_SUFFIXES and rejected.code in ("unreadable", "corrupt"):
            raise FileRejected(
                f"WPS 表格格式（{path.suffix}）无法读取，请在 WPS 中“另存为” Excel 格式"
                "（.xlsx）后重新提交",
                "not_spreadsheet",
            ) from None
        raise
    if not any(sheet.frame.height for sheet in sheets):
        raise FileRejected("文件中没有任何数据（所有工作表均为空）", "no_data")
    return sheets


def _check_container(path: Path, suffix: str, head: bytes) -> None:
    if head.startswith(_OLE_MAGIC) and suffix in {".xlsx", ".xlsm"}:
        if _ole_is_encrypted(path):
            raise FileRejected("文件已加密（设置了打开密码），请取消密码后重新提交", "encrypted")
        raise FileRejected(
            "文件扩展名是 .xlsx 但内容是旧版 .xls 格式，请用 Excel 另存为 .xlsx 后重新提交",
            "wrong_format",
        )
    if head.startswith(_OLE_MAGIC):
        return
    if head.startswith(_ZIP_MAGIC):
        return
    if _looks_like_html(head) or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml"):
        raise FileRejected(
            f"文件实为网页/XML 格式（系统导出的“伪 Excel”），扩展名却是 {suffix}；"
            "请用 Excel 打开后另存为 .xlsx 再提交",
            "html_export",
        )
    raise FileRejected(
        f"文件内容不是 Excel 格式（扩展名 {suffix}），可能已损坏或是其他类型的文件改了扩展名",
        "not_spreadsheet",
    )


def _looks_like_html(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<html", b"<!doctype html", b"<table", b"<meta", b"<head"))


def _ole_is_encrypted(path: Path) -> bool:
    # OOXML files with an open password are wrapped in an OLE container holding these streams.
    data = path.read_bytes()
    return "EncryptionInfo".encode("utf-16-le") in data or b"EncryptedPackage" in data.replace(
        b"\x00", b""
    )


def _calamine_reason(exc: Exception) -> FileRejected:
    text = str(exc)
    lowered = text.lower()
    if "password" in lowered or "encrypt" in lowered:
        return FileRejected("文件已加密（设置了打开密码），请取消密码后重新提交", "encrypted")
    if "zip" in lowered or "eocd" in lowered or "eof" in lowered or "cfb" in lowered:
        return FileRejected(
            "文件已损坏或不完整（可能未传完或保存中断），请重新导出后提交", "corrupt"
        )
    first_line = text.splitlines()[0] if text else type(exc).__name__
    return FileRejected(f"无法读取文件：{first_line}", "unreadable")


def _read_workbook(path: Path, head: bytes, bounds: Bounds) -> list[RawSheet]:
    if not head.startswith(_ZIP_MAGIC):  # legacy .xls: bounded by its size, then its cells
        reader = _open(str(path))
        sheets = _load_sheets(reader, list(reader.sheet_names), Tally(bounds))
        for sheet, merges in zip(sheets, _xls_merged_ranges(path, sheets), strict=True):
            sheet.merges = merges
        return sheets
    # calamine reads these very bytes once they are measured: nothing read in between.
    data = path.read_bytes()
    try:
        workbook = measure_workbook(data, bounds)
    # isal's stub declares `error` an instance of Exception; at run time it is a class.
    except (  # type: ignore[misc]
        zipfile.BadZipFile,
        zlib.error,
        isal_zlib.error,
        EOFError,
        ValueError,
        struct.error,
    ) as exc:
        if "encrypted" in str(exc):
            raise FileRejected(
                "文件已加密（设置了打开密码），请取消密码后重新提交", "encrypted"
            ) from None
        raise FileRejected(
            "文件已损坏或不完整（可能未传完或保存中断），请重新导出后提交", "corrupt"
        ) from None
    reader = _open(data)
    names = list(reader.sheet_names)
    if len(names) > MAX_SHEETS:
        raise OverLimit(f"工作簿有 {len(names):,} 个工作表，远超任何报备文件（{MAX_SHEETS:,} 个）")
    # The grid calamine is about to build for each sheet: highest row × highest column.
    text = workbook.inflated + 2 * len(data)
    ahead = Tally(bounds, text=text)
    for name in names:
        scan = workbook.scan(name)
        ahead.add(f"工作表“{name}”", scan.rows, scan.rows * scan.cols)
    sheets = _load_sheets(reader, names, Tally(bounds, text=text))
    for sheet in sheets:
        sheet.merges = workbook.scan(sheet.name).merges
    return sheets


def _open(source: str | bytes) -> fastexcel.ExcelReader:
    try:
        return fastexcel.read_excel(source)
    except Exception as exc:  # the reader reports every container problem as a generic error
        raise _calamine_reason(exc) from None


def _load_sheets(reader: fastexcel.ExcelReader, names: list[str], tally: Tally) -> list[RawSheet]:
    sheets: list[RawSheet] = []
    for index, name in enumerate(names):
        try:
            loaded = reader.load_sheet(
                index, header_row=None, skip_rows=0, dtypes="string", whitespace_as_null=True
            )
            frame = loaded.to_polars()
            visible = loaded.visible == "visible"
        except Exception as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "empty" in message.lower() or "no data" in message.lower():
                frame, visible = pl.DataFrame(), True
            else:
                raise _calamine_reason(exc) from None
        tally.add(f"工作表“{name}”", frame.height, frame.height * frame.width)
        frame = frame.rename({old: f"c{i}" for i, old in enumerate(frame.columns)})
        sheets.append(RawSheet(name, visible, frame))
    return sheets


def _xls_merged_ranges(path: Path, sheets: list[RawSheet]) -> list[list[tuple]]:
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        return [
            [
                (r1, c1, r2, c2)
                for (r1, c1), (r2, c2) in (
                    workbook.get_sheet_by_name(sheet.name).merged_cell_ranges or []
                )
            ]
            for sheet in sheets
        ]
    except Exception:  # merged ranges are a refinement; the cells were already read
        return [[] for _ in sheets]


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030, the superset every Chinese Excel writes."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise FileRejected(
            "CSV 文件编码无法识别（既不是 UTF-8 也不是 GBK），请用 Excel 另存为 .xlsx 后提交",
            "bad_encoding",
        ) from None


def _text_encoding(path: Path) -> str:
    """The codec `decode_csv` would pick, found by decoding step by step."""
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        for encoding in ("utf-8", "gb18030"):
            handle.seek(0)
            decoder = codecs.getincrementaldecoder(encoding)("strict")
            try:
                while chunk := handle.read(4 * MiB):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
                return encoding
            except UnicodeDecodeError:
                continue
    raise FileRejected(
        "CSV 文件编码无法识别（既不是 UTF-8 也不是 GBK），请用 Excel 另存为 .xlsx 后提交",
        "bad_encoding",
    )


def _lines(stream: io.TextIOBase) -> Iterator[str]:
    for line in stream:
        if "\x00" in line:
            raise FileRejected("CSV 文件中含有二进制内容，可能不是文本表格", "not_spreadsheet")
        yield line


def _read_csv(path: Path, bounds: Bounds) -> RawSheet:
    encoding = _text_encoding(path)
    with path.open("r", encoding=encoding, newline="") as stream:
        return read_delimited(stream, path.stem, path.suffix, path.stat().st_size, bounds)


def read_delimited(
    stream: io.TextIOBase, sheet: str, suffix: str, size: int, bounds: Bounds
) -> RawSheet:
    """Delimited text from a stream opened with `newline=""` (a file's, or text made in
    memory by `reconcile.testing`) as the sheet named `sheet`: rows become polars chunks
    as they come, and the rows, cells (rows × the widest row) and memory (against the
    file's `size`) are checked while it is read."""
    sample = stream.read(8192)
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        delimiter = ","
    stream.seek(0)
    reader = csv.reader(_lines(stream), delimiter=delimiter)
    chunks: list[pl.DataFrame] = []
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    multiline = False
    next_line, count, width = 1, 0, 0
    where = f"{suffix.lstrip('.').upper() or 'CSV'} 文件"
    waiting = 0  # cells gathered as Python strings since the last chunk
    try:
        for row in reader:
            rows.append(row)
            line_numbers.append(next_line)
            multiline = multiline or next_line != count + 1
            next_line = reader.line_num + 1
            count += 1
            waiting += len(row)
            if len(row) > width:
                width = len(row)
                bounds.check(where, count, count * width, size)
            if len(rows) == _TEXT_ROWS or waiting > _TEXT_CELLS:
                bounds.check(where, count, count * width, size)
                chunks.append(_text_frame(rows))
                rows, waiting = [], 0
    except csv.Error as exc:
        raise FileRejected(
            f"CSV 文件第 {reader.line_num} 行无法解析（{exc}），请用 Excel 另存为 .xlsx 后提交",
            "unreadable",
        ) from None
    bounds.check(where, count, count * width, size)
    if rows or not chunks:
        chunks.append(_text_frame(rows))
    frame = pl.concat(chunks, how="diagonal") if len(chunks) > 1 else chunks[0]
    ordered: list[str] = sorted(frame.columns, key=lambda name: int(name[1:]))
    frame = _formula_text_unwrapped(frame.select(ordered))
    return RawSheet(sheet, True, frame, [], line_numbers if multiline else None)


def _formula_text_unwrapped(frame: pl.DataFrame) -> pl.DataFrame:
    """Cells written `="13812345678"`, the formula systems put in a CSV so that Excel keeps
    a long number or leading zeros as text (docs/real-exports.md), as that text."""
    wrapped = [name for name in frame.columns if frame[name].str.starts_with('="').any()]
    if not wrapped:
        return frame
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(r'^="(?:[^"]|"")*"$'))
        .then(pl.col(name).str.slice(2).str.head(-1).str.replace_all('""', '"', literal=True))
        .otherwise(pl.col(name))
        .replace("", None)  # `=""` is a blank cell, as a blank field is
        .alias(name)
        for name in wrapped
    )


def _text_frame(rows: list[list[str]]) -> pl.DataFrame:
    width = max((len(row) for row in rows), default=0)
    columns = {
        f"c{i}": [(row[i] if i < len(row) and row[i].strip() else None) for row in rows]
        for i in range(width)
    }
    return pl.DataFrame(columns, schema={name: pl.String for name in columns})
