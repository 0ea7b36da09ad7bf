"""The admin's 裁决表: pre-filled by the night and by `reconcile template --kind ruling`,
read back by calamine and openpyxl, and — filled in and dropped into inputs/rulings/ —
read by the next night as rulings that resolve the dispute (J01)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from reconcile.cli.main import main
from reconcile.config.workspace import Workspace
from reconcile.ingest.files import classify_path, read_input
from reconcile.ingest.headers import AliasTable
from reconcile.normalise.deals import parse_shares
from reconcile.ops.pipeline import RunSummary, run
from reconcile.publish.report import render_text
from reconcile.publish.ruling_sheet import (
    AMBIGUOUS,
    APPEALABLE,
    DISPUTE,
    NOTES_SHEET,
    RULING_SHEET,
)
from reconcile.publish.workbook import cell_text
from tests.publish.conftest import recalculate
from tests.publish.hostile import HYPERLINK
from tests.publish.test_report import (
    NIGHT_1,
    NIGHT_2,
    REPORT_HEADER,
    RULES,
    VISIT_HEADER,
    _night_one,
)
from tests.scenarios.test_scenarios import make_workspace, write_input

HEADERS = [
    "客户电话",
    "客户姓名",
    "事项",
    "候选",
    "申诉截止",
    "归属渠道",
    "分成",
    "裁决日期",
    "备注",
]
SHEET = "outputs/2026-11-19/裁决表_2026-11-19.xlsx"
UNUSED = {"事项": "未识别的列", "候选": "未识别的列", "申诉截止": "未识别的列"}


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, RunSummary]:
    root = make_workspace(tmp_path_factory.mktemp("ruling"), RULES)
    _night_one(root / "inputs")
    workspace = Workspace.open(root)
    return workspace, run(workspace, NIGHT_1)


def _rows(path: Path, sheet: str = RULING_SHEET) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def test_the_night_writes_the_sheet_next_to_the_settlement(night):
    workspace, summary = night
    path = workspace.root / SHEET
    assert summary.published.digest.ruling_sheet == SHEET
    assert path.parent == summary.published.settlement.parent
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == [RULING_SHEET, NOTES_SHEET]
    header, *rows = _rows(path)
    assert header == HEADERS
    # the admin's own file: full numbers, one row per customer (per candidate number for A01)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("13812341234", "张三", DISPUTE),
        ("13912345678", "刘梅", APPEALABLE),
        ("13711110000", "李一", AMBIGUOUS),
        ("13722220000", "李二", AMBIGUOUS),
    ]
    dispute, collision, first, second = rows
    assert dispute[3].splitlines() == [
        "链家 / 王五（报备 2026-11-19 09:00）",
        "我爱我家 / 赵六（报备 2026-11-19 09:20）",
    ]
    assert dispute[4] == "2026-11-20 15:00"  # as the dispute report shows the deadline
    assert collision[3].splitlines() == [
        "有效：房多多 / 周杰（报备 2026-11-18 10:00）",
        "撞单未获归属：链家 / 王五（报备 2026-11-18 14:00）",
    ]
    assert "我爱我家 / 赵六（报备 2026-11-18 09:00）" in first[3]
    assert "符合的 2 个号码：13711110000、13722220000" in first[3] and first[4] == "—"
    assert "首次到访 2026-11-18 12:00" in second[3]
    assert all(cell == "" for row in rows for cell in row[5:])  # nothing ruled for the admin


def test_the_columns_to_fill_are_validated(night):
    workspace, _ = night
    wb = openpyxl.load_workbook(workspace.root / SHEET)
    ws = wb[RULING_SHEET]
    assert ws.freeze_panes == "A2"
    by_column = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    owner, shares, ruled = by_column["F2"], by_column["G2"], by_column["H2"]
    assert owner.type == "list" and owner.showInputMessage and owner.prompt
    sheet, cells = owner.formula1.split("!")
    assert sheet == f"'{NOTES_SHEET}'"
    listed = [cell.value for row in wb[NOTES_SHEET][cells.replace("$", "")] for cell in row]
    assert listed == ["我爱我家", "房多多", "链家", "自然到访"]  # the night's channels, or none
    assert shares.type == "custom" and "链家:0.5;我爱我家:0.5" in shares.prompt
    assert shares.showInputMessage and shares.promptTitle.startswith("分成")
    assert ruled.type == "date" and ws.column_dimensions["H"].number_format == "yyyy-mm-dd"
    assert by_column["A2"].type == "custom"  # a full number
    notes = {str(r[0]): str(r[1]) for r in _rows(workspace.root / SHEET, NOTES_SHEET) if len(r) > 1}
    assert "inputs/rulings/" in notes["放回哪里"] and "不要转发给渠道" in notes["这是什么"]
    assert "不归任何渠道时选“自然到访”" in notes["归属渠道"]
    assert "事项、候选、申诉截止是今晚的情况" in notes["怎么填"]  # the columns `check` calls unused


def test_the_sheet_is_read_as_rulings_with_its_notes_columns_unused(night, capsys):
    workspace, _ = night
    path = workspace.root / SHEET
    rules = workspace.rules
    outcome = read_input(classify_path(path), rules, AliasTable.build(rules.columns))
    sheet, instructions = outcome.sheets
    assert (sheet.kind, sheet.header_row) == ("ruling", 1)
    assert set(sheet.mapping) == {
        "phone", "customer_name", "ruling_owner", "ruling_shares", "ruled_at", "remark",
    }  # fmt: skip
    assert sheet.unused == UNUSED
    assert instructions.kind is None

    main(["check", str(path), "--workspace", str(workspace.root)])
    out = capsys.readouterr().out
    assert "工作表“裁决表”：裁决表" in out
    assert (
        "未使用的列（原文保留在台账中）：事项（未识别的列）、候选（未识别的列）、申诉截止（未识别的列）"
        in out
    )
    assert "工作表“说明”：填写说明，不作为数据读取" in out


def test_a_filled_sheet_in_inputs_rulings_resolves_the_dispute(tmp_path):
    root = make_workspace(tmp_path, RULES)
    _night_one(root / "inputs")
    workspace = Workspace.open(root)
    run(workspace, NIGHT_1)
    wb = openpyxl.load_workbook(root / SHEET)
    ws = wb[RULING_SHEET]
    assert ws["A2"].value == "13812341234" and ws["F1"].value == "归属渠道"
    ws["F2"] = "我爱我家"  # only the dispute is ruled; the other rows are left as they were
    (root / "inputs/rulings").mkdir(parents=True, exist_ok=True)
    wb.save(root / "inputs/rulings/裁决表.xlsx")

    second = run(workspace, NIGHT_2)
    [episode] = [e for e in second.judgement.episodes if e.phone == "13812341234"]
    assert episode.owner_type == "channel" and episode.channels == ["我爱我家"]
    assert [str(code) for code in episode.codes] == ["J01"]
    assert episode.flags.ruling.startswith("rulings/裁决表.xlsx")
    digest = second.published.digest
    assert next(s for s in digest.sections if s.key == "disputes").total == 0
    # the rows left unfilled are skipped, counted, and no error: the admin ruled one row
    files = next(s for s in digest.sections if s.key == "files")
    assert not [c for g in files.groups for c in g.cards if c.badge == "拒收"]
    assert second.rejected == 0 and dict(second.skipped) == {"未填写裁决的行": 3}
    header, *rows = _rows(root / "outputs/2026-11-20/裁决表_2026-11-20.xlsx")
    assert "13812341234" not in [row[0] for row in rows]


def test_a_split_and_a_date_are_read_too(tmp_path):
    root = make_workspace(tmp_path, RULES)
    _night_one(root / "inputs")
    workspace = Workspace.open(root)
    run(workspace, NIGHT_1)
    wb = openpyxl.load_workbook(root / SHEET)
    ws = wb[RULING_SHEET]
    ws["G2"], ws["H2"], ws["I2"] = "链家:0.5;我爱我家:0.5", date(2026, 11, 20), "双方均有带看记录"
    ws.delete_rows(3, ws.max_row)  # the admin deletes the rows not ruled
    (root / "inputs/rulings").mkdir(parents=True, exist_ok=True)
    wb.save(root / "inputs/rulings/裁决表.xlsx")
    second = run(workspace, NIGHT_2)
    [episode] = [e for e in second.judgement.episodes if e.phone == "13812341234"]
    assert episode.shares == [("链家", 0.5), ("我爱我家", 0.5)]
    files = next(s for s in second.published.digest.sections if s.key == "files")
    assert not [c for g in files.groups for c in g.cards if c.badge == "拒收"]


def test_the_right_candidate_row_resolves_an_ambiguous_number(tmp_path):
    root = make_workspace(tmp_path, RULES)
    _night_one(root / "inputs")
    workspace = Workspace.open(root)
    run(workspace, NIGHT_1)
    wb = openpyxl.load_workbook(root / SHEET)
    ws = wb[RULING_SHEET]
    [row] = [r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "13711110000"]
    assert ws.cell(row, 3).value == AMBIGUOUS
    ws.cell(row, 6).value = "我爱我家"
    for other in sorted((r for r in range(2, ws.max_row + 1) if r != row), reverse=True):
        ws.delete_rows(other)  # as 说明 asks: the other candidates' rows are deleted
    (root / "inputs/rulings").mkdir(parents=True, exist_ok=True)
    wb.save(root / "inputs/rulings/裁决表.xlsx")
    second = run(workspace, NIGHT_2)
    [report] = [r for r in second.judgement.reports if r.phone_pattern == "137****0000"]
    assert (report.status, report.phone) == ("valid", "13711110000")
    assert [str(code) for code in report.codes] == ["J01"]
    assert next(s for s in second.published.digest.sections if s.key == "ambiguous").total == 0


def _dispute_alone(root: Path) -> None:
    inputs = root / "inputs"
    write_input(inputs, "channels/链家/报备.xlsx", {"报备": [
        REPORT_HEADER, ["张先生", "138****1234", "2026-11-19 09:00", "王五"],
    ]})  # fmt: skip
    write_input(inputs, "channels/我爱我家/报备.xlsx", {"报备": [
        REPORT_HEADER, ["张先生", "138****1234", "2026-11-19 09:20", "赵六"],
    ]})  # fmt: skip
    write_input(inputs, "visits/来访.xlsx", {"来访": [
        VISIT_HEADER, ["张三", "13812341234", "2026-11-19 15:00", None, None],
    ]})  # fmt: skip


def test_no_sheet_when_nothing_is_open_and_a_stale_one_is_removed(tmp_path, capsys):
    root = make_workspace(tmp_path, RULES)
    _dispute_alone(root)
    workspace = Workspace.open(root)
    run(workspace, NIGHT_1)
    path = root / SHEET
    assert path.is_file()
    wb = openpyxl.load_workbook(path)
    wb[RULING_SHEET]["F2"] = "链家"
    (root / "inputs/rulings").mkdir(parents=True, exist_ok=True)
    wb.save(root / "inputs/rulings/裁决.xlsx")
    again = run(workspace, NIGHT_1)  # the same night, run again with the ruling
    assert not path.exists()  # no sheet left to fill in vain
    assert again.published.digest.ruling_sheet is None
    html = again.published.report.read_text(encoding="utf-8")
    assert "预填的裁决表" not in html and "预填的裁决表" not in render_text(again.published.digest)
    # asked for, the sheet is written all the same: its header, ready for a ruling by hand
    assert main(["template", "--kind", "ruling", "--workspace", str(root)]) == 0
    assert "没有待处理的客户，表中只有表头" in capsys.readouterr().out
    assert _rows(path) == [HEADERS]


def test_the_command_writes_the_latest_nights_sheet(night, tmp_path, capsys):
    workspace, _ = night
    copy = tmp_path / "ws"
    shutil.copytree(workspace.root, copy)
    (copy / SHEET).unlink()
    assert main(["template", "--kind", "ruling", "--workspace", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "裁决表_2026-11-19.xlsx（测试项目 2026-11-19 判定后的裁决表：待处理 4 位客户）" in out
    assert (copy / SHEET).read_bytes() == (workspace.root / SHEET).read_bytes()
    assert (
        main(["template", "--kind", "ruling", "--workspace", str(copy), "--out", str(tmp_path)])
        == 0
    )
    assert (tmp_path / "裁决表_2026-11-19.xlsx").is_file()


def test_the_command_needs_a_night_that_ran(tmp_path, capsys):
    root = make_workspace(tmp_path, RULES)
    assert main(["template", "--kind", "ruling", "--workspace", str(root)]) == 2
    assert "还没有运行过对账" in capsys.readouterr().err


SHARES_CASES = {
    "链家:0.5;我爱我家:0.5": True,
    "链家：0.6；我爱我家：0.4": True,
    "链家50%，我爱我家50%": True,
    "链家:1": True,
    "链家": False,
    "一半一半": False,
    "链家:0.5;我爱我家": False,
}
PHONE_CASES = {
    "13812341234": True,
    "138****1234": False,
    "1381234123": False,
    "138-1234-123": False,
}


def test_libreoffice_runs_the_shares_and_phone_checks_as_meant(night, tmp_path):
    """The validation formulas, put in ordinary cells and calculated by LibreOffice; every
    spelling the check admits is one the nightly run reads as shares adding up to 100%."""
    workspace, _ = night
    ws = openpyxl.load_workbook(workspace.root / SHEET)[RULING_SHEET]
    by_column = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    shares, phone = by_column["G2"].formula1, by_column["A2"].formula1
    probe = openpyxl.Workbook()
    sheet = probe.active
    cases = [(value, shares, "G2", ok) for value, ok in SHARES_CASES.items()]
    cases += [(value, phone, "A2", ok) for value, ok in PHONE_CASES.items()]
    for row, (value, formula, cell, _) in enumerate(cases, start=1):
        sheet.cell(row=row, column=1, value=value).number_format = "@"
        sheet.cell(row=row, column=2, value="=" + formula.replace(cell, f"A{row}"))
    source = tmp_path / "probe" / "cases.xlsx"
    source.parent.mkdir()
    probe.save(source)
    [rows] = recalculate({"probe": source}, tmp_path)["probe"].values()
    got = {row[0]: row[1] is True for row in rows}
    assert got == {value: ok for value, _, _, ok in cases}
    for value, ok in SHARES_CASES.items():
        assert (parse_shares(value).error is None) == ok, value


def test_hostile_names_stay_text_in_the_sheet(hostile_night):
    """Channel, agent and customer names made to look like formulas are written as text,
    in the rows and in the drop-down list alike."""
    path = hostile_night.outputs / f"裁决表_{hostile_night.as_of.isoformat()}.xlsx"
    wb = openpyxl.load_workbook(path)
    cells = [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]
    assert cells and not [cell.coordinate for cell in cells if cell.data_type == "f"]
    header, *rows = _rows(path)
    assert header == HEADERS
    disputes = [row for row in rows if row[2] == DISPUTE]
    assert disputes and all("A?B" in row[3] and "AxB" in row[3] for row in disputes)
    notes = _rows(path, NOTES_SHEET)
    start = next(i for i, row in enumerate(notes) if row[0] == "今晚的渠道")
    listed = [row[1] for row in notes[start:]]
    assert cell_text(HYPERLINK) in listed and HYPERLINK not in listed
    assert {"A?B", "AxB", "链家*"} <= set(listed)
