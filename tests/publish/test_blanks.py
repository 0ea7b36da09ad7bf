"""`reconcile template --kind payment|statement|roster`: blank forms for finance, agencies
and the sales office, read back by calamine and openpyxl, and a filled copy read by the
product's own ingest as its kind with every column mapped."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from reconcile.cli.main import main
from reconcile.config.rules import load_rules
from reconcile.config.workspace import init_workspace
from reconcile.ingest.files import classify_path, read_input
from reconcile.ingest.headers import AliasTable

HEADERS = {
    "payment": ["渠道", "付款金额", "付款日期", "成交编号", "房号", "凭证号", "备注"],
    "statement": ["成交编号", "房号", "客户姓名", "客户电话", "成交金额", "请款金额", "请款日期"],
    "roster": ["日期", "顺序", "置业顾问", "是否休息"],
}
SHEETS = {"payment": "付款记录", "statement": "请款单", "roster": "轮排表"}
# What each column's validation must be: its type (None: a prompt only).
CHECKS = {
    "payment": ["", "decimal", "date", "", "", "", ""],
    "statement": ["", "", "", "custom", "decimal", "decimal", "date"],
    "roster": ["date", "whole", "", "list"],
}
FILLED = {
    "payment": [
        ["链家", 30000, datetime(2026, 11, 20), "A-0101", "1-1501", "PZ-20261120-01", "十一月首付"],
        ["我爱我家", -5000.5, datetime(2026, 11, 21), None, "2-0802", None, "退回多付佣金"],
    ],
    "statement": [
        ["A-0101", "1-1501", "刘梅", "139****5678", 2000000, 30000, datetime(2026, 11, 20)],
        [None, "2-0802", "张三", None, None, 15000.5, None],
    ],
    "roster": [
        [datetime(2026, 12, 1), 1, "王芳", "否"],
        [datetime(2026, 12, 1), 2, "李明", "是"],
        [datetime(2026, 12, 1), 3, "赵强", None],
    ],
}
FIELDS = {
    "payment": {"channel", "payment_amount", "paid_at", "deal_no", "room", "voucher_no", "remark"},
    "statement": {
        "deal_no", "room", "customer_name", "phone", "amount", "claim_amount", "claimed_at",
    },
    "roster": {"date", "roster_order", "consultant", "away"},
}  # fmt: skip
FOLDERS = {
    "payment": "inputs/payments",
    "statement": "inputs/statements/链家",
    "roster": "inputs/roster",
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("blanks") / "ws"
    init_workspace(root)
    return root


@pytest.fixture(scope="module")
def blanks(workspace: Path) -> dict[str, Path]:
    out = workspace.parent / "forms"
    out.mkdir()
    written = {}
    for kind in HEADERS:
        path = out / f"{kind}.xlsx"
        assert (
            main(["template", "--kind", kind, "--workspace", str(workspace), "--out", str(path)])
            == 0
        )
        written[kind] = path
    return written


def _rows(path: Path, sheet: str) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


@pytest.mark.parametrize("kind", HEADERS)
def test_a_blank_form_has_its_headers_frozen_and_a_notes_sheet(blanks, kind):
    path = blanks[kind]
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == [SHEETS[kind], "说明"]
    assert _rows(path, SHEETS[kind]) == [HEADERS[kind]]  # the header and nothing else
    ws = openpyxl.load_workbook(path)[SHEETS[kind]]
    assert ws.freeze_panes == "A2"
    notes = {str(row[0]): str(row[1]) for row in _rows(path, "说明") if len(row) > 1 and row[1]}
    for header in HEADERS[kind]:
        assert header in notes and len(notes[header]) > 4, header  # each column is explained
    assert "放在哪里" in notes


@pytest.mark.parametrize("kind", HEADERS)
def test_every_column_is_validated_or_prompted_over_the_whole_column(blanks, kind):
    ws = openpyxl.load_workbook(blanks[kind])[SHEETS[kind]]
    by_column = {}
    for dv in ws.data_validations.dataValidation:
        [cells] = str(dv.sqref).split()
        first, last = cells.split(":")
        assert first[1:] == "2" and last[1:] == "1048576"
        by_column[first[0]] = dv
    letters = "ABCDEFG"[: len(HEADERS[kind])]
    assert sorted(by_column) == list(letters)
    for letter, expected in zip(letters, CHECKS[kind], strict=True):
        dv = by_column[letter]
        assert (dv.type or "") == expected, (letter, dv.type)
        assert dv.showInputMessage and dv.prompt and dv.promptTitle == ws[f"{letter}1"].value
        if expected:
            assert dv.showErrorMessage and dv.error
    if kind == "roster":
        assert by_column["D"].formula1 == '"是,否"'


def test_amounts_take_negative_money_and_dates_are_bounded(blanks):
    ws = openpyxl.load_workbook(blanks["payment"])["付款记录"]
    amount, paid = (
        dv for dv in ws.data_validations.dataValidation if dv.type in ("decimal", "date")
    )
    assert float(amount.formula1) < 0 < float(amount.formula2)  # money returned is negative
    assert (paid.formula1, paid.formula2) == ("DATE(2020,1,1)", "DATE(2100,12,31)")
    assert ws.column_dimensions["C"].number_format == "yyyy-mm-dd"
    assert ws.column_dimensions["B"].number_format == "#,##0.00"


@pytest.mark.parametrize("kind", ["payment", "statement", "roster"])
def test_a_filled_form_is_read_as_its_kind_with_every_column_mapped(
    blanks, workspace, kind, capsys
):
    wb = openpyxl.load_workbook(blanks[kind])
    for row in FILLED[kind]:
        wb[SHEETS[kind]].append(row)
    path = workspace / FOLDERS[kind] / f"十一月{SHEETS[kind]}.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)

    assert main(["check", str(path), "--workspace", str(workspace)]) == 0
    out = capsys.readouterr().out
    rows = len(FILLED[kind])
    assert f"数据行 {rows}：接收 {rows}，拒收 0" in out, out
    assert "未使用的列" not in out

    rules = load_rules(workspace / "rules.yaml")
    outcome = read_input(classify_path(path), rules, AliasTable.build(rules.columns))
    data, instructions = outcome.sheets
    assert (data.kind, data.header_row) == (kind, 1)
    assert set(data.mapping) == FIELDS[kind] and not data.unused
    assert instructions.kind is None
    assert data.normalised is not None and data.normalised.records.height == rows


def test_the_same_rules_give_the_same_bytes(blanks, workspace, tmp_path):
    for kind, path in blanks.items():
        again = tmp_path / f"{kind}.xlsx"
        main(["template", "--kind", kind, "--workspace", str(workspace), "--out", str(again)])
        assert again.read_bytes() == path.read_bytes(), kind


def test_a_form_is_written_to_its_own_name_in_a_folder(workspace, tmp_path, capsys):
    assert (
        main(
            ["template", "--kind", "roster", "--workspace", str(workspace), "--out", str(tmp_path)]
        )
        == 0
    )
    assert (tmp_path / "轮排表.xlsx").is_file()
    assert "inputs/roster/" in capsys.readouterr().out
    assert (
        main(
            [
                "template",
                "--kind",
                "payment",
                "--workspace",
                str(workspace),
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
        == 2
    )
    assert "付款记录只能写成 .xlsx 文件" in capsys.readouterr().err
