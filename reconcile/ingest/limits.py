"""Bounded reading: a file is measured before anything large is built from it.

`rules.yaml` `limits:` sets the bounds. A file beyond any of them is refused with
`FileRejected(code="over_limit")` and a Chinese reason naming the limit and its value;
nothing of it is read. See "Bounded reading" in docs/design.md.

An `.xlsx`/`.xlsm` is a zip of XML. The file is read into memory once, and before
calamine sees those bytes:

- each member's declared size and compression ratio are checked (`max_inflated_mb`,
  `max_ratio`), and so is their total;
- every member is inflated here, by zlib, in 1 MiB steps, and the bytes actually
  inflated are capped at the declared size: a member that inflates to more than it
  declares is a bomb lying in its headers and is refused after at most one step more.
  calamine then inflates the very same bytes, so it can never inflate more than was
  measured;
- each sheet's XML is scanned on the way (on the other core, by a polars regex) for
  the grid calamine will build, the highest row × the highest column of any cell
  however sparse, and for merged ranges.

CSV, `.txt` and HTML tables count rows and cells while reading; a legacy `.xls` is
bounded by its file size and then by its cells as loaded (the BIFF8 format itself
stops at 65,536 × 256 cells per sheet).

`memory_gb` is a promise about the whole run: each file's memory is estimated from
its rows, cells and text before it is read further (see `estimate`), and a file whose
estimate exceeds the budget is refused.
"""

from __future__ import annotations

import html
import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl
from isal import isal_zlib

if TYPE_CHECKING:
    from reconcile.config.rules import Limits

MiB = 2**20
GiB = 2**30
STEP = MiB  # bytes inflated per step
MAX_MEMBERS = 10_000  # parts in one workbook; real ones have tens
RATIO_FLOOR = MiB  # a member smaller than this inflated cannot be a meaningful bomb
_LONGEST_TAG = MiB  # an XML start tag longer than this is not a spreadsheet
_HEAD_ROWS = 10  # rows at the top of a block whose extent is taken before the regex check
_SMALL_PART = 16 * MiB  # xl/workbook.xml and its rels: a list of sheets
_SMALL_PARTS = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}
MAX_SHEETS = 1_000  # sheets in one workbook; Excel users rarely pass a few dozen

# What one file costs a whole `reconcile run` (read, recognise, normalise, ledger,
# judge, publish), fitted on this 2-core machine to report workbooks of 200,000 and
# 500,000 rows × 10 columns (peaks of 0.98 and 1.84 GB; docs/design.md, "Bounded
# reading"): peak ≈ BASELINE + rows × ROW + cells × CELL + text × TEXT, where text is
# the file's inflated XML or its raw text.
BASELINE_BYTES = 400 * MiB
ROW_BYTES = 1_400
CELL_BYTES = 60
TEXT_BYTES = 2


class OverLimit(Exception):
    """A bound was broken; `reason` is the Chinese explanation (without the advice)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Bounds:
    """`limits:` in bytes and counts, with how each limit reads in a reason."""

    file_bytes: int
    inflated_bytes: int
    ratio: float
    rows: int
    cells: int
    memory_bytes: int

    @classmethod
    def of(cls, limits: Limits | int) -> Bounds:
        """From `rules.limits`; a bare int is a file-size cap with the other defaults."""
        from reconcile.config.rules import Limits

        if isinstance(limits, int):
            return cls._from(Limits(), file_bytes=limits)
        return cls._from(limits, file_bytes=limits.max_file_mb * MiB)

    @classmethod
    def _from(cls, limits: Limits, file_bytes: int) -> Bounds:
        return cls(
            file_bytes=file_bytes,
            inflated_bytes=limits.max_inflated_mb * MiB,
            ratio=float(limits.max_ratio),
            rows=limits.max_rows,
            cells=limits.max_cells,
            memory_bytes=int(limits.memory_gb * GiB),
        )

    # -- the checks every reader shares ------------------------------------------------

    def check_shape(self, where: str, rows: int, cells: int) -> None:
        if rows > self.rows:
            raise OverLimit(
                f"{where}有 {rows:,} 行，超过读取上限 limits.max_rows（{self.rows:,} 行）"
            )
        if cells > self.cells:
            raise OverLimit(
                f"{where}有 {cells:,} 个单元格（行数 × 最宽一行的列数），"
                f"超过读取上限 limits.max_cells（{self.cells:,} 个）"
            )

    def check_memory(self, where: str, rows: int, cells: int, text: int, extra: int = 0) -> None:
        need = estimate(rows, cells, text) + extra
        if need > self.memory_bytes:
            words = f"、{text / MiB:,.0f} MB 文字" if text >= MiB else ""
            raise OverLimit(
                f"{where}（{rows:,} 行、{cells:,} 个单元格{words}）"
                f"预计需要约 {need / GiB:.1f} GB 内存，超过内存上限 "
                f"limits.memory_gb（{self.memory_bytes / GiB:g} GB）"
            )

    def check(self, where: str, rows: int, cells: int, text: int, extra: int = 0) -> None:
        self.check_shape(where, rows, cells)
        self.check_memory(where, rows, cells, text, extra)

    def inflated(self, what: str, size: int) -> OverLimit:
        return OverLimit(
            f"{what}解压后 {size / MiB:,.1f} MB，超过读取上限 "
            f"limits.max_inflated_mb（{self.inflated_bytes // MiB:,} MB），疑似“压缩炸弹”"
        )


def estimate(rows: int, cells: int, text: int) -> int:
    """Peak memory of a run that reads one file of this shape (see the constants)."""
    return BASELINE_BYTES + rows * ROW_BYTES + cells * CELL_BYTES + text * TEXT_BYTES


@dataclass
class Tally:
    """Rows, cells and text of a whole file so far, for the per-file bounds."""

    bounds: Bounds
    rows: int = 0
    cells: int = 0
    text: int = 0

    def add(self, where: str, rows: int, cells: int, text: int = 0) -> None:
        self.bounds.check(where, rows, cells, self.text + text)
        self.rows += rows
        self.cells += cells
        self.text += text
        self.bounds.check("文件各工作表合计", self.rows, self.cells, self.text)


# -- zip containers -------------------------------------------------------------------


@dataclass
class SheetScan:
    """What the scan of one sheet's XML found: the grid calamine will build (highest row ×
    highest column of any cell, however sparse) and the merged ranges.

    A sheet as Excel and every common writer save it has `<c r="A1" …>` on every cell;
    one regex pass over each block then finds any cell beyond the extent seen so far,
    any cell without `r=` first and any namespaced cell (`<x:c>`). Only a block with
    such a cell is read reference by reference, with bounds that may overstate the
    grid but never understate it.
    """

    max_row: int = 0  # highest 1-based row of any cell (or, where cells lack r=, of a row)
    max_col: int = 0  # highest 1-based column of any referenced cell
    loose_rows: int = 0  # <row> elements without r= in blocks read one by one
    loose_width: int = 0  # most cells in one row, in blocks read one by one
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    _row_cells: int = 0  # cells since the last end of row, across blocks read one by one

    @property
    def rows(self) -> int:
        return self.max_row + self.loose_rows

    @property
    def cols(self) -> int:
        return self.max_col + self.loose_width


@dataclass
class Workbook:
    """What measuring a workbook found."""

    scans: dict[str, SheetScan]  # member name -> scan
    sheets: dict[str, str]  # sheet name -> member
    inflated: int  # bytes of every member, inflated

    def scan(self, sheet: str) -> SheetScan:
        """The scan of a sheet; for a sheet not found in the workbook's parts, the
        largest extent of any member, since calamine may have found it elsewhere."""
        member = self.sheets.get(sheet)
        if member in self.scans:
            return self.scans[member]
        return SheetScan(
            max_row=max((scan.rows for scan in self.scans.values()), default=0),
            max_col=max((scan.cols for scan in self.scans.values()), default=0),
        )


_ROW_REF = re.compile(rb"<(?:[\w.-]+:)?row\b[^>]*?\sr\s*=\s*[\"'](\d+)[\"']")
_ROW_TAG = re.compile(rb"<(?:[\w.-]+:)?row\b")
_REF = re.compile(rb"\sr\s*=\s*[\"']([A-Za-z]+)(\d+)[\"']")
_LAST_REF = re.compile(rb' r="([A-Za-z]+)(\d+)"')
_MERGE = re.compile(rb"<(?:[\w.-]+:)?mergeCell\s+ref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_CENTRAL_END = struct.Struct("<4s4H2LH")


def letters_to_column(letters: bytes) -> int:
    """`A` -> 1, `XFD` -> 16384 (1-based); absurd lengths read as absurd columns."""
    if len(letters) > 4:
        return 1 << 40
    index = 0
    for char in letters.upper():
        index = index * 26 + (char - 64)
    return index


def _number(digits: bytes) -> int:
    return 1 << 40 if len(digits.lstrip(b"0")) > 10 else int(digits)


def _column_letters(column: int) -> str:
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _greater_digits(value: int) -> str:
    """A regex for decimal numbers (any leading zeros) greater than `value`."""
    text = str(value)
    options = [rf"0*[1-9]\d{{{len(text)},}}"]
    for i, digit in enumerate(text):
        if digit != "9":
            head = text[:i]
            if i == 0:
                options.append(rf"0*[{int(digit) + 1}-9]\d{{{len(text) - 1}}}")
            else:
                options.append(rf"0*{head}[{int(digit) + 1}-9]\d{{{len(text) - i - 1}}}")
    return "|".join(options)


def _greater_letters(column: int) -> str:
    """A regex for column letters (either case) after column `column` (1-based)."""
    if column == 0:
        return "[A-Za-z]+"
    text = _column_letters(column)
    options = [rf"[A-Za-z]{{{len(text) + 1},}}"]
    for i, char in enumerate(text):
        if char != "Z":
            head = "".join(f"[{c}{c.lower()}]" for c in text[:i])
            nxt = chr(ord(char) + 1)
            options.append(rf"{head}[{nxt}-Z{nxt.lower()}-z][A-Za-z]{{{len(text) - i - 1}}}")
    return "|".join(options)


def _unusual(max_row: int, max_col: int) -> str:
    """A cell beyond the extent seen so far, one without `r=` as its first attribute, or
    a namespaced one (`<x:c>`): a Rust regex, run by polars without the GIL."""
    digits = _greater_digits(max_row).replace("\\d", "[0-9]")
    beyond = rf'r="(?:(?:{_greater_letters(max_col)})[0-9]|[A-Za-z]+(?:{digits})")'
    space = r"[ \t\r\n]"
    return rf'<c(?:[>/]|{space}(?:[^r]|r[^=]|r=[^"])|{space}{beyond})|:c[ \t\r\n>/]'


def _is_unusual(block: bytes, pattern: str) -> bool:
    try:
        text = pl.Series([block], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.PolarsError:  # not UTF-8: read one by one
        return True
    return bool(text.str.contains(pattern).item())


def _scan_block(scan: SheetScan, block: bytes) -> None:
    """Update the extent with one block of sheet XML that ends on a tag boundary."""
    # The last cell of the block and of its last whole row: the extent so far, if the
    # rows and cells come in order; the regex below checks that none lies beyond.
    # (The first rows too: a header, often the widest row, may come below a title or two,
    # and a block with a cell beyond is read reference by reference, ten times slower.)
    ends = [len(block), block.rfind(b"</row>")]
    at = block.find(b"</row>")
    while at >= 0 and len(ends) < 2 + _HEAD_ROWS:
        ends.append(at)
        at = block.find(b"</row>", at + 1)
    for end in ends:
        last = block.rfind(b'<c r="', 0, end) if end > 0 else -1
        if last >= 0 and (found := _LAST_REF.match(block, last + 2)):
            scan.max_col = max(scan.max_col, letters_to_column(found.group(1)))
            scan.max_row = max(scan.max_row, _number(found.group(2)))
    if _is_unusual(block, _unusual(scan.max_row, scan.max_col)):
        # Cells beyond: take every reference; cells still unusual then lack r=.
        _take_references(scan, block)
        if _is_unusual(block, _unusual(scan.max_row, scan.max_col)):
            _scan_one_by_one(scan, block)
    tail = block[-4096:]
    if b"mergeCell" in tail or (b"</row>" not in tail and b"mergeCell" in block):
        for c1, r1, c2, r2 in _MERGE.findall(block):
            c2, r2 = c2 or c1, r2 or r1
            scan.merges.append(
                (int(r1) - 1, letters_to_column(c1) - 1, int(r2) - 1, letters_to_column(c2) - 1)
            )


def _take_references(scan: SheetScan, block: bytes) -> None:
    """The highest column and row of every reference in the block."""
    found = _REF.findall(block)
    if found:
        letters = {letters for letters, _ in found}
        scan.max_col = max(scan.max_col, max(map(letters_to_column, letters)))
        digits = {digits for _, digits in found}
        scan.max_row = max(scan.max_row, max(map(_number, digits)))


def _scan_one_by_one(scan: SheetScan, block: bytes) -> None:
    """Bounds for a block with unusual cells: every reference, row numbers, and cells
    per row (a cell without r= takes the next column, a row without r= the next row)."""
    _take_references(scan, block)
    numbered = _ROW_REF.findall(block)
    if numbered:
        scan.max_row = max(scan.max_row, max(map(_number, numbered)))
    scan.loose_rows += max(0, len(_ROW_TAG.findall(block)) - len(numbered))
    parts = block.split(b"row>")  # </row>, </x:row>, <row>
    for index, part in enumerate(parts):
        count = part.count(b"<c") + part.count(b":c")
        if index == 0:
            count += scan._row_cells
        if index == len(parts) - 1:
            scan._row_cells = count
        scan.loose_width = max(scan.loose_width, count)


class _Scanner:
    """Feeds a sheet's inflated XML to `_scan_block` in blocks that start and end on a
    tag boundary (text between tags is never needed, so it is skipped)."""

    def __init__(self) -> None:
        self.scan = SheetScan()
        self._carry = b""  # an unfinished tag
        self._in_text = False  # the last block ended after a tag, inside text

    def feed(self, data: bytes) -> None:
        begin = 0
        if self._in_text:
            begin = data.find(b"<")
            if begin < 0:
                return
            self._in_text = False
        block = self._carry + data[begin:] if self._carry else data
        if self._carry:
            begin = 0
        start = block.rfind(b"<", begin)
        end = block.find(b">", start) if start >= 0 else -1
        if end >= 0:
            cut, self._carry, self._in_text = end + 1, b"", True
        else:
            cut, self._carry = max(start, begin), block[max(start, begin) :]
        if len(self._carry) > _LONGEST_TAG:
            raise OverLimit("工作表的 XML 中有一个超过 1 MB 的标签，不是正常的表格文件")
        if cut > begin:
            _scan_block(self.scan, block[begin:cut] if begin or cut < len(block) else block)

    def close(self) -> SheetScan:
        if self._carry:
            _scan_block(self.scan, self._carry)
        self.scan.merges = sorted(set(self.scan.merges))
        return self.scan


def _entry_count(data: bytes) -> int | None:
    """Members the zip's end record declares, read before zipfile builds them all."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557 - _CENTRAL_END.size))
    if at < 0 or at + _CENTRAL_END.size > len(data):
        return None
    total = _CENTRAL_END.unpack_from(data, at)[4]
    if total == 0xFFFF and at >= 20 and data[at - 20 : at - 16] == b"PK\x06\x07":
        offset = struct.unpack_from("<Q", data, at - 12)[0]
        if data[offset : offset + 4] == b"PK\x06\x06" and offset + 56 <= len(data):
            total = struct.unpack_from("<Q", data, offset + 32)[0]
    return total


def measure_workbook(data: bytes, bounds: Bounds) -> Workbook:
    """Check every member of the zip in `data` against `bounds`, inflating each one here
    (and throwing the bytes away) so that calamine, reading the same bytes, can never
    inflate more than was measured; scan each sheet on the way.

    Raises `OverLimit` for a broken bound, `zipfile.BadZipFile` for a damaged zip.
    """
    entries = _entry_count(data)
    if entries is not None and entries > MAX_MEMBERS:
        raise OverLimit(f"压缩包内有 {entries:,} 个部件，远超任何表格文件（{MAX_MEMBERS:,} 个）")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        _check_declared(infos, bounds)
        sheets, not_sheets = _sheet_members(archive)
    view = memoryview(data)
    scans: dict[str, SheetScan] = {}
    total = 0
    # The scan of one step runs on the other core while the next step is inflated
    # (zlib and polars both let go of the GIL); at most a few steps wait in between.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan") as pool:
        for info in infos:
            scanner = None if info.filename in not_sheets else _Scanner()
            waiting: deque[Future] = deque()
            inflated = 0
            for chunk in _inflate(view, info):
                inflated += len(chunk)
                if inflated > info.file_size:
                    what = f"压缩包内的 {info.filename} 实际"
                    if total + inflated > bounds.inflated_bytes:
                        raise bounds.inflated(what, total + inflated)
                    raise OverLimit(
                        f"{what}解压出的数据超过其声明的 {info.file_size / MiB:,.2f} MB，"
                        "疑似伪造大小的“压缩炸弹”（limits.max_inflated_mb 按实际解压的字节计）"
                    )
                if scanner is not None:
                    waiting.append(pool.submit(scanner.feed, chunk))
                    while len(waiting) > 4 or (waiting and waiting[0].done()):
                        waiting.popleft().result()
            for future in waiting:
                future.result()
            if inflated != info.file_size:
                raise zipfile.BadZipFile("member shorter than declared")
            total += inflated
            if scanner is not None:
                scans[info.filename] = scanner.close()
    return Workbook(scans, sheets, total)


def _sheet_members(archive: zipfile.ZipFile) -> tuple[dict[str, str], set[str]]:
    """(sheet name -> member, members that are not sheets). Shared strings, styles and
    theme are not scanned as sheets unless a sheet points at them; when the workbook's
    parts cannot be read, every member is scanned."""
    try:
        book = _read_small(archive, "xl/workbook.xml")
        rels = _read_small(archive, "xl/_rels/workbook.xml.rels")
    # isal's stub declares `error` an instance of Exception; at run time it is a class.
    except (KeyError, zipfile.BadZipFile, OverLimit, zlib.error, isal_zlib.error, ValueError):  # type: ignore[misc]
        return {}, set()
    targets: dict[bytes, str] = {}
    others: set[str] = set()
    for match in re.finditer(rb"<(?:[\w.-]+:)?Relationship\b[^>]*>", rels):
        tag = match.group(0)
        ident = re.search(rb'\bId\s*=\s*["\']([^"\']*)["\']', tag)
        target = re.search(rb'\bTarget\s*=\s*["\']([^"\']*)["\']', tag)
        kind = re.search(rb'\bType\s*=\s*["\']([^"\']*)["\']', tag)
        if not target:
            continue
        name = posixpath.normpath(
            posixpath.join("xl", target.group(1).decode("utf-8", "replace"))
            if not target.group(1).startswith(b"/")
            else target.group(1).decode("utf-8", "replace").lstrip("/")
        )
        if kind and kind.group(1).endswith((b"/sharedStrings", b"/styles", b"/theme")):
            others.add(name)
        elif ident:
            targets[ident.group(1)] = name
    sheets: dict[str, str] = {}
    for match in re.finditer(rb"<(?:[\w.-]+:)?sheet\b[^>]*>", book):
        tag = match.group(0)
        label = _ATTRIBUTE_NAME.search(tag)
        ident = _ATTRIBUTE_ID.search(tag)
        if label and ident and _quoted(ident) in targets:
            sheets[html.unescape(_quoted(label).decode("utf-8", "replace"))] = targets[
                _quoted(ident)
            ]
    return sheets, others - set(targets.values())


_ATTRIBUTE_NAME = re.compile(rb"""\sname\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ATTRIBUTE_ID = re.compile(rb"""\s(?:[\w.-]+:)?id\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _quoted(match: re.Match[bytes]) -> bytes:
    return match.group(1) if match.group(1) is not None else match.group(2)


def _read_small(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > _SMALL_PART:
        raise OverLimit(f"压缩包内 {name} 过大")
    with archive.open(info) as stream:  # zipfile stops at the declared size
        return stream.read(_SMALL_PART)


def _check_declared(infos: list[zipfile.ZipInfo], bounds: Bounds) -> None:
    total = 0
    if len({info.filename for info in infos}) != len(infos):
        raise zipfile.BadZipFile("two members of one name")
    for info in infos:
        if info.filename in _SMALL_PARTS and info.file_size > _SMALL_PART:
            raise OverLimit(
                f"压缩包内的 {info.filename} 声明解压后 {info.file_size / MiB:,.1f} MB，"
                f"工作簿目录不会超过 {_SMALL_PART // MiB} MB"
            )
        if info.flag_bits & 0x1:
            raise zipfile.BadZipFile("encrypted member")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise zipfile.BadZipFile(f"compression method {info.compress_type}")
        declared = info.file_size
        total += declared
        what = f"压缩包内的 {info.filename} "
        if declared > bounds.inflated_bytes:
            raise bounds.inflated(what + "声明", declared)
        if declared > RATIO_FLOOR and declared > bounds.ratio * max(info.compress_size, 1):
            ratio = declared / max(info.compress_size, 1)
            raise OverLimit(
                f"{what}压缩比 {ratio:,.0f} : 1（{info.compress_size / MiB:,.1f} MB 解压为 "
                f"{declared / MiB:,.1f} MB），超过读取上限 "
                f"limits.max_ratio（{bounds.ratio:g} : 1），疑似“压缩炸弹”"
            )
        if total > bounds.inflated_bytes:
            raise bounds.inflated("压缩包内各部件合计声明", total)


def _inflate(data: memoryview, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The member's bytes in steps of at most STEP; never more than one step past its
    declared size, whatever its compressed data would make."""
    start = info.header_offset
    header = bytes(data[start : start + _LOCAL_HEADER.size])
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("bad local header")
    fields = _LOCAL_HEADER.unpack(header)
    begin = start + _LOCAL_HEADER.size + fields[9] + fields[10]
    raw = data[begin : begin + info.compress_size]
    if len(raw) < info.compress_size:
        raise zipfile.BadZipFile("truncated member")
    if info.compress_type == zipfile.ZIP_STORED:
        for at in range(0, len(raw), STEP):
            yield bytes(raw[at : at + STEP])
        return
    # ISA-L inflates the same deflate stream about twice as fast as zlib: the measure
    # is on the path of every workbook, so it is paid every night.
    inflater = isal_zlib.decompressobj(-zlib.MAX_WBITS)
    produced, limit = 0, info.file_size
    for at in range(0, len(raw), 256 * 1024):
        pending: bytes | memoryview = raw[at : at + 256 * 1024]
        while pending and not inflater.eof:
            out = inflater.decompress(pending, STEP)
            pending = inflater.unconsumed_tail
            produced += len(out)
            if out:
                yield out
            if produced > limit:
                return
        if inflater.eof:
            return
