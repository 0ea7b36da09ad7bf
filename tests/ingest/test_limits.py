"""Bounded reading (issue 12): every hostile shape is refused, quickly and in little
memory, with a Chinese reason naming the `limits:` key it broke and that key's value;
the bound the scan computes for a sheet is never below what calamine builds.

The hostile files are made here, small on disk: `zip_bomb`, `sheet_workbook` and
`far_cells` are also used by tests/ops/test_memory.py.
"""

from __future__ import annotations

import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import fastexcel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.config.rules import Limits, RulesError, parse_rules
from reconcile.ingest import limits, readers
from reconcile.ingest.limits import Bounds, measure_workbook
from reconcile.ingest.readers import FileRejected, read_file
from reconcile.testing import SheetSpec, write_xls, write_xlsx

SPEC = SheetSpec(
    "报备", ["客户姓名", "客户电话", "报备时间"], [["张三", "138****1234", "2026-11-18 10:00"]]
)
HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
BOMB_ROW = b'<row><c t="inlineStr"><is><t>x</t></is></c><c><v>1</v></c></row>'


# -- hostile files ---------------------------------------------------------------------


def write_zip(path: Path, members: list[tuple[str, bytes, int, int, int]]) -> Path:
    """A zip of (name, raw data as stored, method, crc, declared size) members, written
    by hand so that the declared sizes can lie."""
    out, directory = bytearray(), bytearray()
    for name, raw, method, crc, declared in members:
        encoded = name.encode()
        zip64 = declared >= 0xFFFFFFFF
        extra = struct.pack("<HHQQ", 1, 16, declared, len(raw)) if zip64 else b""
        sizes = (0xFFFFFFFF, 0xFFFFFFFF) if zip64 else (len(raw), declared)
        offset = len(out)
        out += struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", 45, 0, method, 0, 0, crc, *sizes, len(encoded), len(extra)
        )
        out += encoded + extra + raw
        directory += struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            45,
            45,
            0,
            method,
            0,
            0,
            crc,
            *sizes,
            len(encoded),
            len(extra),
            0,
            0,
            0,
            0,
            offset,
        )
        directory += encoded + extra
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(out), 0
    )
    path.write_bytes(bytes(out + directory + end))
    return path


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def sheet_workbook(path: Path, sheet: bytes | None = None, raw: tuple | None = None) -> Path:
    """A real one-sheet workbook whose sheet1.xml is `sheet`, or `raw` =
    (deflated data, crc, declared size) as it stands."""
    base = write_xlsx(path.with_name(path.stem + ".base.xlsx"), [SPEC])
    members = []
    with zipfile.ZipFile(base) as archive:
        for info in archive.infolist():
            data = archive.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                if raw is not None:
                    members.append((info.filename, raw[0], zipfile.ZIP_DEFLATED, *raw[1:]))
                    continue
                data = sheet if sheet is not None else data
            members.append(
                (info.filename, _deflate(data), zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data))
            )
    base.unlink()
    return write_zip(path, members)


def zip_bomb(path: Path, inflated: int, declared: int | None = None, crc: bool = True) -> Path:
    """A workbook whose sheet inflates to `inflated` bytes of tiny rows from a few MiB:
    one deflate block of 1 MiB of rows, repeated (each block starts afresh, so the
    copies are byte for byte the same). `declared` lies about the size; `crc` makes the
    checksum right (a second or so per GiB)."""
    chunk = BOMB_ROW * ((1 << 20) // len(BOMB_ROW))
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    head = packer.compress(HEAD + b"<sheetData>") + packer.flush(zlib.Z_FULL_FLUSH)
    tail = b"</sheetData></worksheet>"
    count = max(1, inflated // len(chunk))
    data = head + block * count + packer.compress(tail) + packer.flush()
    size = len(HEAD) + 11 + count * len(chunk) + len(tail)
    checksum = 0
    if crc:
        checksum = zlib.crc32(HEAD + b"<sheetData>")
        for _ in range(count):
            checksum = zlib.crc32(chunk, checksum)
        checksum = zlib.crc32(tail, checksum)
    return sheet_workbook(path, raw=(data, checksum, size if declared is None else declared))


def cell(ref: str, text: str = "x") -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def sheet_xml(body: str, dimension: str | None = None) -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return HEAD + f"{dim}<sheetData>{body}</sheetData></worksheet>".encode()


def far_cells(path: Path, ref: str = "XFD1048576") -> Path:
    """Two cells, A1 and `ref`: calamine builds the whole grid between them."""
    row = int("".join(ch for ch in ref if ch.isdigit()))
    body = f'<row r="1">{cell("A1", "客户姓名")}</row><row r="{row}">{cell(ref)}</row>'
    return sheet_workbook(path, sheet_xml(body))


def _reject(path: Path, limits: Limits | int = 2**30) -> FileRejected:
    with pytest.raises(FileRejected) as caught:
        read_file(path, limits)
    rejected = caught.value
    assert rejected.reason and not rejected.reason.isascii(), "reason is Chinese"
    return rejected


def _over(path: Path, key: str, value: str, limits: Limits | int = 2**30) -> str:
    rejected = _reject(path, limits)
    assert rejected.code == "over_limit", rejected.reason
    assert f"limits.{key}" in rejected.reason and value in rejected.reason, rejected.reason
    return rejected.reason


# -- zip bombs -------------------------------------------------------------------------


def _inflated(monkeypatch) -> list[int]:
    """The sizes of the steps `measure_workbook` inflates, as it inflates them."""
    steps: list[int] = []
    real = limits._inflate

    def counted(data, info):
        for chunk in real(data, info):
            steps.append(len(chunk))
            yield chunk

    monkeypatch.setattr(limits, "_inflate", counted)
    return steps


def test_bomb_with_honest_headers_is_refused_before_inflating(tmp_path, monkeypatch):
    bomb = zip_bomb(tmp_path / "炸弹.xlsx", 2 * 2**30, crc=False)
    assert bomb.stat().st_size < 8 * 2**20
    inflated = _inflated(monkeypatch)
    reason = _over(bomb, "max_inflated_mb", "1,024 MB")
    assert "sheet1.xml" in reason and "2,048.0 MB" in reason
    assert inflated == []  # refused from the headers: not a byte inflated


def test_bomb_under_the_size_cap_is_refused_by_its_ratio(tmp_path):
    bomb = zip_bomb(tmp_path / "bomb.xlsx", 64 * 2**20, crc=False)
    reason = _over(bomb, "max_ratio", "200 : 1")
    assert "疑似“压缩炸弹”" in reason


def test_bomb_lying_about_its_size_stops_at_the_lie(tmp_path, monkeypatch):
    """Headers say 50 KB; the data would inflate to 2 GiB. zlib stops one step past the
    declared size, so this costs a MiB, not gigabytes."""
    bomb = zip_bomb(tmp_path / "liar.xlsx", 2 * 2**30, declared=50_000, crc=False)
    inflated = _inflated(monkeypatch)
    tracemalloc.start()
    reason = _over(bomb, "max_inflated_mb", "按实际解压的字节计")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "超过其声明的 0.05 MB" in reason
    assert sum(inflated) <= 50_000 + limits.STEP and peak < 64 * 2**20


def test_inflated_total_counts_the_bytes_actually_inflated(tmp_path):
    liar = zip_bomb(tmp_path / "liar.xlsx", 8 * 2**20, declared=4 * 2**20, crc=False)
    _over(liar, "max_inflated_mb", "3 MB", Limits(max_inflated_mb=3, max_ratio=10_000))


def test_zip_with_too_many_members_is_refused_before_listing_them(tmp_path):
    members = [(f"x{i}.xml", b"", zipfile.ZIP_STORED, 0, 0) for i in range(10_001)]
    _reject(write_zip(tmp_path / "many.xlsx", members))


def test_an_ordinary_workbook_measures_as_it_reads(tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [SPEC, SheetSpec("空", [], [])])
    workbook = measure_workbook(path.read_bytes(), Bounds.of(Limits()))
    member = workbook.sheets["报备"]
    assert (workbook.scans[member].rows, workbook.scans[member].cols) == (2, 3)
    assert read_file(path, Limits())[0].frame.shape == (2, 3)


# -- the grid calamine builds ----------------------------------------------------------


def test_two_far_cells_are_refused_not_allocated(tmp_path, monkeypatch):
    """A1 and XFD1048576: 17 billion grid cells from a 2 KB file. calamine would ask for
    512 GiB and abort the whole process: it is never asked for a sheet."""
    asked: list[object] = []
    monkeypatch.setattr(readers, "_load_sheets", lambda *args: asked.append(args) or [])
    reason = _over(far_cells(tmp_path / "far.xlsx"), "max_cells", "50,000,000")
    assert "17,179,869,184" in reason
    assert asked == []


def test_a_huge_dimension_alone_is_harmless(tmp_path):
    """`<dimension>` is a claim calamine does not allocate from: the file reads."""
    body = f'<row r="1">{cell("A1", "姓名")}</row><row r="2">{cell("A2", "张三")}</row>'
    path = sheet_workbook(tmp_path / "dim.xlsx", sheet_xml(body, "A1:XFD1048576"))
    [sheet] = read_file(path, Limits())
    assert sheet.frame.shape == (2, 1)


@pytest.mark.parametrize(
    ("name", "body"),
    [
        (
            "unsorted",
            f'<row r="1">{cell("A1")}</row><row r="200000">{cell("Z200000")}</row>'
            f'<row r="3">{cell("A3")}</row>',
        ),
        ("cell_beyond_its_row", f'<row r="1">{cell("A1")}</row><row r="2">{cell("Z200000")}</row>'),
        ("lower_case", f'<row r="1">{cell("A1")}</row><row r="2">{cell("z200000")}</row>'),
        ("leading_zeros", f'<row r="1">{cell("A1")}</row><row r="2">{cell("Z0200000")}</row>'),
        (
            "no_ref_far_row",
            f'<row r="1">{cell("A1")}</row><row r="200000">' + "<c><v>1</v></c>" * 26 + "</row>",
        ),
        (
            "namespaced",
            f'<row r="1">{cell("A1")}</row>'
            '<x:row r="200000"><x:c r="Z200000"><x:v>1</x:v></x:c></x:row>',
        ),
    ],
)
def test_hidden_far_cells_are_found(tmp_path, name, body):
    """However the far cell is written, the scan's bound covers it before calamine runs
    (200,000 rows × 26 columns is 5.2 million grid cells; the limit here is 5 million)."""
    path = sheet_workbook(tmp_path / f"{name}.xlsx", sheet_xml(body))
    workbook = measure_workbook(path.read_bytes(), Bounds.of(Limits()))
    scan = workbook.scans["xl/worksheets/sheet1.xml"]
    assert scan.rows >= 200_000 and scan.cols >= 26
    _over(path, "max_cells", "5,000,000", Limits(max_cells=5_000_000, memory_gb=64))


def test_wide_rows_without_references_are_bounded(tmp_path):
    """Cells without r= take the next column: one row of 5,000 such cells and 5,000 rows
    make a 25-million-cell grid from 60 KB of XML."""
    wide = "<row>" + "<c/>" * 5_000 + "</row>"
    path = sheet_workbook(tmp_path / "wide.xlsx", sheet_xml(wide + "<row/>" * 5_000))
    scan = measure_workbook(path.read_bytes(), Bounds.of(Limits())).scans
    assert scan["xl/worksheets/sheet1.xml"].cols >= 5_000
    _over(path, "max_cells", "20,000,000", Limits(max_cells=20_000_000, memory_gb=64))


_REFS = st.tuples(st.integers(1, 300), st.integers(1, 40))


@st.composite
def _sheets(draw) -> bytes:
    """Small sheets in every spelling calamine accepts: ordered or not, cells with or
    without r=, r= first or not, quotes, case, namespaces, rows without r=."""
    parts = []
    for _ in range(draw(st.integers(1, 12))):
        row = draw(st.one_of(st.none(), st.integers(1, 300)))
        prefix = draw(st.sampled_from(["", "x:"]))
        row_attr = "" if row is None else f' r="{row}"'
        cells = []
        for _ in range(draw(st.integers(0, 6))):
            ref = draw(st.one_of(st.none(), _REFS))
            style = draw(st.sampled_from(["first", "later", "single", "lower"]))
            value = f"<{prefix}v>1</{prefix}v>"
            if ref is None:
                cells.append(f"<{prefix}c>{value}</{prefix}c>")
                continue
            (r, c), letters = ref, ""
            while c:
                c, rest = divmod(c - 1, 26)
                letters = chr(65 + rest) + letters
            text = f"{letters.lower() if style == 'lower' else letters}{r}"
            attr = f"r='{text}'" if style == "single" else f'r="{text}"'
            if style == "later":
                cells.append(f'<{prefix}c s="0" {attr}>{value}</{prefix}c>')
            else:
                cells.append(f"<{prefix}c {attr}>{value}</{prefix}c>")
        parts.append(f"<{prefix}row{row_attr}>{''.join(cells)}</{prefix}row>")
    return sheet_xml(f'<row r="1">{cell("A1")}</row>' + "".join(parts))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sheet=_sheets())
def test_the_scan_never_understates_the_grid(tmp_path, sheet):
    path = sheet_workbook(tmp_path / "s.xlsx", sheet)
    data = path.read_bytes()
    workbook = measure_workbook(data, Bounds.of(Limits()))
    scan = workbook.scans["xl/worksheets/sheet1.xml"]
    frame = fastexcel.read_excel(data).load_sheet(0, header_row=None, dtypes="string").to_polars()
    assert scan.rows >= frame.height and scan.cols >= frame.width


# -- rows and cells, per sheet and per file --------------------------------------------


def _rows(count: int) -> list[list[str]]:
    return [["张三", f"138{i:08d}", "2026-11-18 10:00"] for i in range(count)]


def test_rows_per_sheet_and_per_file(tmp_path):
    one = write_xlsx(tmp_path / "one.xlsx", [SheetSpec("报备", SPEC.header, _rows(30))])
    _over(one, "max_rows", "20 行", Limits(max_rows=20))
    two = write_xlsx(
        tmp_path / "two.xlsx",
        [SheetSpec("一", SPEC.header, _rows(12)), SheetSpec("二", SPEC.header, _rows(12))],
    )
    reason = _over(two, "max_rows", "20 行", Limits(max_rows=20))
    assert "合计" in reason


def test_cells_count_rows_times_the_widest_row(tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [SheetSpec("报备", SPEC.header, _rows(30))])
    reason = _over(path, "max_cells", "90 个", Limits(max_cells=90))
    assert "93 个单元格" in reason


def test_memory_budget_names_its_limit(tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [SPEC])
    _over(path, "memory_gb", "0.25 GB", Limits(memory_gb=0.25))


def test_legacy_xls_is_bounded_by_its_cells(tmp_path):
    path = write_xls(tmp_path / "old.xls", [SheetSpec("报备", SPEC.header, _rows(30))])
    _over(path, "max_cells", "50 个", Limits(max_cells=50))
    assert read_file(path, Limits())[0].frame.height == 31


def test_file_size_names_its_limit(tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [SPEC])
    rejected = _reject(path, 100)
    assert rejected.code == "too_large" and "limits.max_file_mb" in rejected.reason


# -- text files ------------------------------------------------------------------------


def test_csv_rows_are_counted_while_reading(tmp_path):
    path = tmp_path / "many.csv"
    path.write_bytes(b"\xe5\xa7\x93\xe5\x90\x8d\n" + b"1\n" * 200_000)
    tracemalloc.start()
    _over(path, "max_rows", "100,000 行", Limits(max_rows=100_000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 64 * 2**20, "refused while reading, not after"


def test_csv_cells_are_rows_times_the_widest_row(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("a," * 999 + "a\n" + "1\n" * 2_000, encoding="utf-8")
    _over(path, "max_cells", "1,000,000 个", Limits(max_cells=1_000_000))


def test_csv_beyond_the_memory_budget(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"x\n" * 300_000)
    _over(path, "memory_gb", "0.75 GB", Limits(memory_gb=0.75))


def test_txt_is_read_as_delimited_text_within_the_same_bounds(tmp_path):
    path = tmp_path / "报备.txt"
    path.write_text("客户姓名\t客户电话\n张三\t13812345678\n", encoding="gbk")
    [sheet] = read_file(path, Limits())
    assert sheet.frame.shape == (2, 2) and sheet.frame["c1"][1] == "13812345678"
    _over(path, "max_rows", "1 行", Limits(max_rows=1))


def test_csv_read_in_chunks_keeps_every_row_and_width(tmp_path):
    path = tmp_path / "chunks.csv"
    rows = [f"{i}" for i in range(70_000)] + ["a,b,c"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    [sheet] = read_file(path, Limits())
    assert sheet.frame.shape == (70_001, 3)
    assert sheet.frame["c0"][69_999] == "69999" and sheet.frame["c2"][70_000] == "c"
    assert sheet.frame["c1"][0] is None


# -- HTML tables -----------------------------------------------------------------------


def _html(path: Path, body: str) -> Path:
    path.write_text(f"<html><meta charset='utf-8'><table>{body}</table></html>", "utf-8")
    return path


def test_html_rows_and_cells_are_counted_while_parsing(tmp_path):
    path = _html(tmp_path / "crm.xls", "<tr><td>姓名</td></tr>" + "<tr><td>1</td></tr>" * 5_000)
    _over(path, "max_rows", "1,000 行", Limits(max_rows=1_000))
    empty_rows = _html(tmp_path / "rows.xls", "<tr>" * 5_000)
    _over(empty_rows, "max_rows", "1,000 行", Limits(max_rows=1_000))


def test_html_spans_cannot_build_a_huge_grid(tmp_path):
    spans = '<tr><td rowspan="1000" colspan="1000">x</td></tr>' * 50
    path = _html(tmp_path / "spans.xls", spans)
    tracemalloc.start()
    _over(path, "max_cells", "100,000 个", Limits(max_cells=100_000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Refused at the first span: its million covered places (~100 MiB) never taken.
    assert peak < 16 * 2**20


# -- rules.yaml `limits:` --------------------------------------------------------------


def test_limits_defaults_and_validation():
    assert parse_rules("").limits == Limits()
    assert parse_rules("limits: {max_rows: 10}").limits.max_rows == 10
    for text, key in [
        ("limits: {max_rowz: 3}", "limits.max_rowz"),
        ("limits: {max_rows: true}", "limits.max_rows"),
        ("limits: {memory_gb: 2GB}", "limits.memory_gb"),
        ("limits: {max_ratio: 1}", "limits.max_ratio"),
        ("limits: {max_cells: 0}", "limits.max_cells"),
        ("limits: {memory_gb: 0}", "limits.memory_gb"),
    ]:
        with pytest.raises(RulesError) as caught:
            parse_rules(text)
        assert key in str(caught.value), text


def test_top_level_max_file_mb_still_works():
    rules = parse_rules("max_file_mb: 50\n")
    assert rules.limits.max_file_mb == 50 and rules.max_file_mb == 50
    assert parse_rules("max_file_mb: 50\nlimits: {max_file_mb: 50}\n").max_file_mb == 50
    with pytest.raises(RulesError, match="max_file_mb"):
        parse_rules("max_file_mb: 50\nlimits: {max_file_mb: 60}\n")


# -- odd containers --------------------------------------------------------------------


def test_two_members_of_one_name_are_refused(tmp_path):
    good = write_xlsx(tmp_path / "good.xlsx", [SPEC])
    with zipfile.ZipFile(good) as archive:
        members = [
            (i.filename, _deflate(data), zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data))
            for i in archive.infolist()
            for data in [archive.read(i.filename)]
        ]
    sheet = next(m for m in members if m[0] == "xl/worksheets/sheet1.xml")
    far = sheet_xml(f'<row r="1">{cell("A1")}</row><row r="9">{cell("XFD9")}</row>')
    twin = (sheet[0], _deflate(far), zipfile.ZIP_DEFLATED, zlib.crc32(far), len(far))
    path = write_zip(tmp_path / "twins.xlsx", [*members, twin])
    assert _reject(path).code == "corrupt"


def test_thousands_of_sheets_are_refused(tmp_path):
    base = write_xlsx(tmp_path / "base.xlsx", [SPEC])
    with zipfile.ZipFile(base) as archive:
        parts = {i.filename: archive.read(i.filename) for i in archive.infolist()}
    book = parts["xl/workbook.xml"].decode()
    sheets = "".join(f'<sheet name="表{i}" sheetId="{i + 1}" r:id="rId1"/>' for i in range(1_001))
    start, end = book.index("<sheets>") + len("<sheets>"), book.index("</sheets>")
    parts["xl/workbook.xml"] = (book[:start] + sheets + book[end:]).encode()
    members = [
        (name, _deflate(data), zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data))
        for name, data in parts.items()
    ]
    rejected = _reject(write_zip(tmp_path / "many.xlsx", members))
    assert rejected.code == "over_limit" and "1,001 个工作表" in rejected.reason


def test_csv_that_cannot_be_parsed_is_refused(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text('姓名,备注\n张三,"' + "长" * 200_000 + '"\n', encoding="utf-8")
    assert _reject(path).code == "unreadable"


def test_run_and_check_apply_every_limit_of_rules_yaml(tmp_path):
    """The workspace's own limits reach the reader, not only max_file_mb."""
    from reconcile.config.rules import Rules
    from reconcile.ingest.files import classify_path, read_input
    from reconcile.ingest.headers import AliasTable

    path = tmp_path / "报备.csv"
    rows = "\n".join(f"张{i},138****{i:04d},2026-11-18 10:00" for i in range(50))
    path.write_text("客户姓名,客户电话,报备时间\n" + rows + "\n", encoding="utf-8")
    rules = Rules.model_validate({"limits": {"max_rows": 10}})
    outcome = read_input(classify_path(path), rules, AliasTable.build())
    assert outcome.rejected is not None and outcome.rejected.code == "over_limit"
    assert "max_rows" in outcome.rejected.reason
    assert read_input(classify_path(path), Rules(), AliasTable.build()).rejected is None
