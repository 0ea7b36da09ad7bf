"""File-level reading: every bad file is rejected with a clerk-readable reason, never a crash."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from msoffcrypto.format.ooxml import OOXMLFile

from reconcile.ingest.readers import FileRejected, decode_csv, read_file
from reconcile.testing import SheetSpec, write_csv, write_xls, write_xlsx

MAX = 10 * 2**20
SPEC = SheetSpec(
    "报备", ["客户姓名", "客户电话", "报备时间"], [["张三", "138****1234", "2026-11-18 10:00"]]
)


def _reject(path: Path, max_bytes: int = MAX) -> FileRejected:
    with pytest.raises(FileRejected) as caught:
        read_file(path, max_bytes)
    assert caught.value.reason and not caught.value.reason.isascii(), "reason is Chinese"
    return caught.value


def test_empty_file(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"")
    assert _reject(path).code == "empty"


def test_truncated_workbook(tmp_path):
    good = write_xlsx(tmp_path / "good.xlsx", [SPEC])
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert _reject(cut).code == "corrupt"


def test_encrypted_workbook(tmp_path):
    plain = write_xlsx(tmp_path / "plain.xlsx", [SPEC])
    encrypted = tmp_path / "locked.xlsx"
    out = io.BytesIO()
    with plain.open("rb") as handle:
        OOXMLFile(handle).encrypt("secret", out)
    encrypted.write_bytes(out.getvalue())
    rejected = _reject(encrypted)
    assert rejected.code == "encrypted"
    assert "密码" in rejected.reason


def test_not_a_spreadsheet(tmp_path):
    pdf = tmp_path / "报备.pdf"
    pdf.write_bytes(b"%PDF-1.4 hello")
    assert _reject(pdf).code == "not_spreadsheet"
    renamed = tmp_path / "报备.xlsx"
    renamed.write_bytes(b"%PDF-1.4 hello")
    assert _reject(renamed).code == "not_spreadsheet"


@pytest.mark.parametrize("saved", [write_xls, write_xlsx])
def test_a_wps_et_file_holding_an_excel_workbook_is_read(tmp_path, saved):
    """WPS 表格 saves .et files; those holding an Excel workbook (an OLE compound file with
    a BIFF8 Workbook stream, or a zip) are read by content, whatever the name says."""
    workbook = saved(tmp_path / f"报备{'.xls' if saved is write_xls else '.xlsx'}", [SPEC])
    et = tmp_path / "报备.et"
    et.write_bytes(workbook.read_bytes())
    [sheet] = read_file(et, MAX)
    assert sheet.frame.row(1)[:2] == ("张三", "138****1234")


def test_a_wps_et_file_of_its_own_format_says_to_save_it_as_xlsx(tmp_path):
    # An OLE compound file whose workbook stream has another name: WPS's own format.
    data = write_xls(tmp_path / "报备.xls", [SPEC]).read_bytes()
    workbook = "Workbook".encode("utf-16-le")
    assert data.count(workbook) == 1
    et = tmp_path / "报备.et"
    et.write_bytes(data.replace(workbook, "Wps_Book".encode("utf-16-le")))
    rejected = _reject(et)
    assert rejected.code == "not_spreadsheet"
    assert "WPS" in rejected.reason and "另存为" in rejected.reason and ".xlsx" in rejected.reason


@pytest.mark.parametrize(("suffix", "named"), [(".ods", "OpenDocument"), (".xlsb", "Excel 二进制")])
def test_other_programs_spreadsheets_say_how_to_resave_them(tmp_path, suffix, named):
    other = tmp_path / f"报备{suffix}"
    other.write_bytes(write_xlsx(tmp_path / "x.xlsx", [SPEC]).read_bytes())
    rejected = _reject(other)
    assert rejected.code == "not_spreadsheet"
    assert named in rejected.reason and "另存为" in rejected.reason


def test_html_export_named_xls_is_read_like_a_workbook(tmp_path):
    """CRM systems (明源 …) export an HTML page of tables and name it .xls."""
    path = tmp_path / "明源导出.xls"
    html = (
        '<html><head><meta charset="gb2312"></head><body>'
        "<table><tr><th colspan=3>客户明细</th></tr>"
        "<tr><th>客户姓名</th><th>手机</th><th>置业顾问</th></tr>"
        "<tr><td>张&nbsp;三</td><td>13812345678</td><td rowspan=2>李娜</td></tr>"
        "<tr><td>李四</td><td>13912345678</td></tr></table>"
        "<table><tr><td>合计</td></tr></table></body></html>"
    )
    path.write_bytes(html.encode("gb2312"))
    first, second = read_file(path, MAX)
    assert first.name == "明源导出_表1" and second.name == "明源导出_表2"
    assert first.frame.rows() == [
        ("客户明细", None, None),
        ("客户姓名", "手机", "置业顾问"),
        ("张 三", "13812345678", "李娜"),
        ("李四", "13912345678", None),
    ]
    assert first.merges == [(0, 0, 0, 2), (2, 2, 3, 2)]


def test_xml_or_html_under_another_extension_is_rejected(tmp_path):
    for name, body in (
        ("a.xlsx", "<html><table></table></html>"),
        ("b.xls", '<?xml version="1.0"?>'),
    ):
        path = tmp_path / name
        path.write_text(body, encoding="utf-8")
        assert _reject(path).code == "html_export"


def test_legacy_xls_content_with_xlsx_name(tmp_path):
    legacy = write_xls(tmp_path / "old.xls", [SPEC])
    renamed = tmp_path / "old.xlsx"
    renamed.write_bytes(legacy.read_bytes())
    assert _reject(renamed).code == "wrong_format"


def test_file_size_is_bounded(tmp_path):
    path = write_csv(tmp_path / "big.csv", SPEC)
    assert _reject(path, max_bytes=10).code == "too_large"


def test_workbook_without_any_cell(tmp_path):
    path = write_xlsx(tmp_path / "blank.xlsx", [SheetSpec("空", [], [])])
    assert _reject(path).code == "no_data"


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("utf-8", "客户电话"),
        ("utf-8-sig", "客户电话"),
        ("gbk", "客户电话"),
        ("gb18030", "客戶電話"),
        ("utf-16", "客户电话"),
    ],
)
def test_csv_encodings_are_detected(encoding, text):
    assert decode_csv(f"{text},x\r\n".encode(encoding)).startswith(text)


def test_csv_in_no_known_encoding_is_rejected():
    with pytest.raises(FileRejected) as caught:
        decode_csv(b"\x80\xff\x81\xff" * 3)
    assert caught.value.code in {"bad_encoding"}


def test_csv_cells_and_line_numbers(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text('姓名,备注\r\n张三,"两行\r\n备注"\r\n李四,  \r\n', encoding="utf-8")
    [sheet] = read_file(path, MAX)
    assert sheet.frame.height == 3
    assert sheet.row_number(2) == 4, "a quoted field spanning two lines moves later rows down"
    assert sheet.frame["c1"].to_list() == ["备注", "两行\r\n备注", None], "blank cells are null"


def test_every_sheet_is_read_with_visibility_and_merges(tmp_path):
    spec = SheetSpec(
        "可见", ["姓名", "经纪人"], [["张三", "王五"], ["李四", "王五"]], merges=[(0, 1, 1, 1)]
    )
    hidden = SheetSpec("隐藏", ["姓名"], [["赵六"]], hidden=True)
    for path in (
        write_xlsx(tmp_path / "m.xlsx", [spec, hidden]),
        write_xls(tmp_path / "m.xls", [spec, hidden]),
    ):
        sheets = read_file(path, MAX)
        assert [(s.name, s.visible) for s in sheets] == [("可见", True), ("隐藏", False)]
        assert sheets[0].merges == [(1, 1, 2, 1)], path.suffix
        assert sheets[0].frame["c1"].to_list() == ["经纪人", "王五", None]


def test_csv_formula_text_cells_are_read_as_their_text(tmp_path):
    # `="…"` keeps a long number or leading zeros as text when Excel opens the CSV.
    path = tmp_path / "导出.csv"
    path.write_text(
        "客户电话,订单号,备注\r\n"
        '="13812345678",="0012345","=""引号"""\r\n'
        '"=""139****5678""",="",="1+1\r\n',
        encoding="utf-8",
    )
    [sheet] = read_file(path, MAX)
    assert sheet.frame.rows() == [
        ("客户电话", "订单号", "备注"),
        ("13812345678", "0012345", "引号"),
        ("139****5678", None, '="1+1'),
    ]
