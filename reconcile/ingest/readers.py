"""Read one input file into raw sheets of text cells.

Every cell comes out as `str` or null (blank and whitespace-only cells are null,
a clerk cannot tell them apart), exactly as a clerk would read it: the
Rust-backed calamine reader (through fastexcel) renders numbers without a
trailing `.0` and datetime cells as `YYYY-MM-DD HH:MM:SS`. Row `i` of a
`RawSheet.frame` is spreadsheet row `i + 1` (CSV: line `i + 1` for one-line rows;
`line_numbers` says otherwise). Anything that makes a whole file unusable raises
`FileRejected` with a reason a clerk understands.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import fastexcel
import polars as pl
import python_calamine

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".csv"}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


class FileRejected(Exception):
    """The file as a whole cannot be read; `reason` is the Chinese explanation."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass
class RawSheet:
    name: str
    visible: bool
    frame: pl.DataFrame  # all columns pl.String, named c0..cN
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # 0-based r1, c1, r2, c2
    line_numbers: list[int] | None = None  # CSV only, when quoted fields span lines

    def row_number(self, index: int) -> int:
        return self.line_numbers[index] if self.line_numbers else index + 1


def read_file(path: Path, max_bytes: int) -> list[RawSheet]:
    size = path.stat().st_size
    if size == 0:
        raise FileRejected("文件为空（0 字节），可能未保存或未传完，请重新提交", "empty")
    if size > max_bytes:
        raise FileRejected(
            f"文件过大（{size / 2**20:.1f} MB，上限 {max_bytes / 2**20:.0f} MB），请拆分后提交",
            "too_large",
        )
    suffix = path.suffix.lower()
    if suffix not in SPREADSHEET_SUFFIXES:
        raise FileRejected(
            f"不是表格文件（{path.suffix or '无扩展名'}），请提交 Excel（.xlsx/.xls）或 CSV 文件",
            "not_spreadsheet",
        )
    with path.open("rb") as handle:
        head = handle.read(4096)
    if suffix == ".csv":
        sheets = [_read_csv(path)]
    elif suffix == ".xls" and _looks_like_html(head):
        # Imported here: the HTML reader builds on this module's RawSheet.
        from reconcile.ingest.html_tables import read_html_tables

        sheets = read_html_tables(path.read_bytes(), path.stem)
    else:
        _check_container(path, suffix, head)
        sheets = _read_workbook(path, suffix)
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


def _read_workbook(path: Path, suffix: str) -> list[RawSheet]:
    try:
        reader = fastexcel.read_excel(str(path))
        names = list(reader.sheet_names)
    except Exception as exc:  # the reader reports every container problem as a generic error
        raise _calamine_reason(exc) from None
    # Scanning for merged ranges decompresses the sheet XML a second time; doing it on the
    # other core while calamine parses costs no wall time.
    with ThreadPoolExecutor(max_workers=1) as pool:
        merges_future = pool.submit(_merged_ranges, path, suffix, names)
        sheets = _load_sheets(reader, names)
        merges = merges_future.result()
    for sheet in sheets:
        sheet.merges = merges.get(sheet.name, [])
    return sheets


def _load_sheets(reader: fastexcel.ExcelReader, names: list[str]) -> list[RawSheet]:
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
        frame = frame.rename({old: f"c{i}" for i, old in enumerate(frame.columns)})
        sheets.append(RawSheet(name, visible, frame))
    return sheets


def _merged_ranges(path: Path, suffix: str, names: list[str]) -> dict[str, list[tuple]]:
    if suffix == ".xls":
        try:
            workbook = python_calamine.CalamineWorkbook.from_path(str(path))
            return {
                name: [
                    (r1, c1, r2, c2)
                    for (r1, c1), (r2, c2) in (
                        workbook.get_sheet_by_name(name).merged_cell_ranges or []
                    )
                ]
                for name in names
            }
        except Exception:  # merged ranges are a refinement; the cells were already read
            return {}
    return _xlsx_merged_ranges(path)


def _column_index(letters: bytes) -> int:
    index = 0
    for char in letters:
        index = index * 26 + (char - 64)
    return index - 1


def _xlsx_merged_ranges(path: Path) -> dict[str, list[tuple]]:
    """Merged ranges per sheet name, scanned from the sheet XML without building a DOM."""
    result: dict[str, list[tuple]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for name, member in _xlsx_sheet_members(archive).items():
                result[name] = _scan_merges(archive, member)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError):
        return {}
    return result


def _xlsx_sheet_members(archive: zipfile.ZipFile) -> dict[str, str]:
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    }
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    members = {}
    for sheet in workbook.iterfind("m:sheets/m:sheet", ns):
        target = targets.get(sheet.get(f"{{{ns['r']}}}id"), "")
        target = target.lstrip("/")
        members[sheet.get("name", "")] = target if target.startswith("xl/") else f"xl/{target}"
    return members


def _scan_merges(archive: zipfile.ZipFile, member: str) -> list[tuple]:
    merges = []
    tail = b""
    with archive.open(member) as stream:
        while chunk := stream.read(1 << 20):
            block = tail + chunk
            if b"mergeCell" in block:
                for match in _MERGE_REF.finditer(block):
                    c1, r1, c2, r2 = match.groups()
                    c2, r2 = c2 or c1, r2 or r1
                    merges.append((int(r1) - 1, _column_index(c1), int(r2) - 1, _column_index(c2)))
                last = block.rfind(b"<")
                tail = block[last:] if last >= 0 and b">" not in block[last:] else b""
            else:
                tail = block[-64:]
    return sorted(set(merges))


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


def _read_csv(path: Path) -> RawSheet:
    text = decode_csv(path.read_bytes())
    if "\x00" in text:
        raise FileRejected("CSV 文件中含有二进制内容，可能不是文本表格", "not_spreadsheet")
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    next_line = 1
    for row in reader:
        rows.append(row)
        line_numbers.append(next_line)
        next_line = reader.line_num + 1
    width = max((len(row) for row in rows), default=0)
    columns = {
        f"c{i}": [(row[i] if i < len(row) and row[i].strip() else None) for row in rows]
        for i in range(width)
    }
    frame = pl.DataFrame(columns, schema={name: pl.String for name in columns})
    multiline = line_numbers != list(range(1, len(rows) + 1))
    return RawSheet(path.stem, True, frame, [], line_numbers if multiline else None)
