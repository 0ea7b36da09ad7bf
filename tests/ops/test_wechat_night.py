"""A night with WeChat 报备 messages (SPEC 4.2): their reports are judged, listed and
receipted like a spreadsheet's, a rejected message is a row error, and a re-read keeps them."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from reconcile.cli.main import main
from reconcile.config.workspace import Workspace, init_workspace
from reconcile.ops.pipeline import run
from reconcile.store.ledger import Ledger

NIGHT = date(2026, 11, 20)
CHAT = """链家-王五  2026-11-18 10:00
客户姓名：张先生
客户电话：138****0001
报备项目：测试项目

链家-王五  2026-11-18 11:30
李女士139****0002链家11:20 赵先生137****0003

链家-王五  2026-11-19 09:00
客户：钱先生 电话：136****0004 报备项目：别的项目

收到
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    init_workspace(tmp_path)
    (tmp_path / "rules.yaml").write_text("project: 测试项目\n", encoding="utf-8")
    folder = tmp_path / "inputs/channels/链家"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "报备群.txt").write_text(CHAT, encoding="utf-8")
    return tmp_path


def _reports(root: Path) -> list[dict]:
    with (root / "outputs" / NIGHT.isoformat() / "reports.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _ledger(root: Path, sql: str) -> list[tuple]:
    with Ledger(Workspace.open(root).ledger_path) as ledger:
        return ledger.execute(sql)


def test_messages_are_reports_of_the_night(workspace: Path):
    summary = run(Workspace.open(workspace), NIGHT, send=False)
    assert summary.rows_in == 4 and summary.rejected == 1
    reports = sorted(_reports(workspace), key=lambda r: r["phone_pattern"])
    assert [(r["channel"], r["phone_pattern"], r["source"]) for r in reports] == [
        ("链家", "137****0003", "channels/链家/报备群.txt#7"),
        ("链家", "138****0001", "channels/链家/报备群.txt#2"),
        ("链家", "139****0002", "channels/链家/报备群.txt#7"),
    ]
    errors = _ledger(workspace, "SELECT source, codes, reason FROM ledger_errors")
    assert [(s, c) for s, c, _ in errors] == [("channels/链家/报备群.txt#10", "message_rejected")]
    assert "别的项目" in errors[0][2] and "「客户:钱先生" in errors[0][2]


def test_a_reread_keeps_every_message_report(workspace: Path, capsys):
    run(Workspace.open(workspace), NIGHT, send=False)
    before = _ledger(workspace, "SELECT row_id, source FROM ledger_rows ORDER BY source")
    assert main(["reread", "--workspace", str(workspace)]) == 0
    assert "0 条记录内容有变" in capsys.readouterr().out
    after = _ledger(workspace, "SELECT row_id, source FROM ledger_rows ORDER BY source")
    assert after == before and len(after) == 3


def test_the_demo_agency_sees_its_wechat_reports_in_its_receipt(tmp_path: Path):
    from openpyxl import load_workbook

    from reconcile.ops.demo import DEMO_AS_OF, generate_workspace

    generate_workspace(tmp_path)
    run(Workspace.open(tmp_path), DEMO_AS_OF, send=False)
    receipt = tmp_path / "outputs" / DEMO_AS_OF.isoformat() / "channels" / "自有渠道.xlsx"
    sources = [
        str(cell)
        for row in load_workbook(receipt, read_only=True)["报备回执"].iter_rows(values_only=True)
        for cell in row
        if cell and "自有渠道报备群.txt" in str(cell)
    ]
    assert sources == [
        "channels/自有渠道/自有渠道报备群.txt#2",
        "channels/自有渠道/自有渠道报备群.txt#9",
    ]
