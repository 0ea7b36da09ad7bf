"""`reconcile status`: the morning-after view of runs, files and mails."""

from __future__ import annotations

import os
from datetime import date, datetime
from zoneinfo import ZoneInfo

from reconcile.cli.main import main
from reconcile.config.workspace import Workspace
from reconcile.ops.lock import run_lock
from reconcile.ops.pipeline import run
from reconcile.store.ledger import Ledger
from tests.ops.support import demo_workspace

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_status_before_any_run(tmp_path, capsys):
    ws = demo_workspace(tmp_path / "ws", "schedule:\n  settle: 0s\n")
    assert main(["status", "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "最近的运行：还没有运行过" in out and "定时服务：未运行" in out
    assert "尚未读取的新文件（下次运行读取）：13 个" in out


def test_status_after_nights_with_every_kind_of_news(tmp_path, capsys):
    ws = demo_workspace(tmp_path / "ws", "schedule:\n  settle: 0s\nquarantine: true\n")
    assert main(["run", "--workspace", str(ws), "--as-of", "2026-11-20", "--no-email"]) == 0
    (ws / "inputs/channels/链家/新报备.xlsx.part").write_bytes(b"half")
    (ws / "inputs/channels/链家/~$链家报备_2026-11.xlsx").write_bytes(b"lock")
    (ws / "inputs/channels/链家/晚到.csv").write_text("客户姓名,客户电话\n", encoding="utf-8")
    with Ledger(ws / ".reconcile/ledger.sqlite") as ledger:
        ledger.execute(
            "UPDATE mails SET status = 'queued', attempts = 2, last_error = '无法连接邮件服务器' "
            "WHERE key = 'settlement'"
        )
        ledger.execute(
            "INSERT INTO runs (as_of, mode, started_at, finished_at, status) VALUES "
            "('2026-11-21', 'ingest', '2026-11-22T02:00:00+08:00', "
            "'2026-11-22T02:00:03+08:00', 'abandoned')"
        )
    capsys.readouterr()
    assert main(["status", "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "#2 判定日 2026-11-21 读取 · 已中止（收到停止信号） · " in out
    assert "开始 2026-11-22 02:00:00 · 用时 3 秒" in out
    assert "#1 判定日 2026-11-20 读取 · 成功" in out and "新文件 12 个" in out
    assert "等待中的文件：2 个" in out
    assert "channels/链家/新报备.xlsx.part：临时文件" in out
    assert "channels/链家/~$链家报备_2026-11.xlsx：Office 锁文件" in out
    assert "尚未读取的新文件（下次运行读取）：1 个\n  channels/链家/晚到.csv" in out
    assert (
        "隔离的文件：1 个\n  _quarantine/channels/房多多/房多多报备_补充.xlsx：文件已损坏或不完整"
        in out
    )
    assert "待发送的邮件：1 个" in out and "已尝试 2 次，无法连接邮件服务器，下次运行重试" in out
    # the dispute report, the sales manager's workbook and two agencies' receipts
    assert "只写入发件箱、未发送的邮件 4 封" in out


def test_mails_a_run_during_the_day_left_for_the_night_are_waiting(tmp_path, capsys):
    ws = demo_workspace(tmp_path / "ws", "schedule:\n  settle: 0s\n")
    assert main(["run", "--workspace", str(ws), "--as-of", "today"]) == 0
    assert "当晚的邮件留给当天结束后的首次运行" in capsys.readouterr().out
    assert main(["status", "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "待发送的邮件：5 个" in out, out
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert f"  {today} 撞单与争议日报 → anchang@shanhu.example.com：运行时判定日尚未结束" in out
    assert f"  {today} 结算表 → caiwu@shanhu.example.com：运行时判定日尚未结束" in out
    receipt = f"  {today} 【山湖一号】渠道对账回执 {today} 链家 → jiesuan@lianjia.example.com："
    assert receipt + "运行时判定日尚未结束" in out
    # the nightly run composes them (here: into the outbox only), and nothing waits
    run(Workspace.open(ws), date.fromisoformat(today), send=False, scheduled=True)
    assert main(["status", "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "待发送的邮件：无" in out and "只写入发件箱、未发送的邮件 5 封" in out


def test_status_sees_a_live_run_and_a_live_server(tmp_path, capsys):
    ws = demo_workspace(tmp_path / "ws")
    with (
        run_lock(ws / ".reconcile", "serve", NOW, name="serve"),
        run_lock(ws / ".reconcile", "run", NOW),
    ):
        assert main(["status", "--workspace", str(ws)]) == 0
        out = capsys.readouterr().out
    assert f"定时服务：运行中（进程 {os.getpid()}" in out and "下次运行" in out
    assert f"正在运行：进程 {os.getpid()}" in out and "开始于 2026-11-21 02:00:00" in out
    assert main(["status", "--workspace", str(ws)]) == 0
    assert "定时服务：未运行" in capsys.readouterr().out


def test_files_still_settling_are_waiting_not_new(tmp_path, capsys):
    ws = demo_workspace(tmp_path / "ws", "schedule:\n  settle: 60m\n")
    assert main(["status", "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "等待中的文件：13 个" in out and "最近有改动，稳定后才会读取" in out
    assert "尚未读取的新文件（下次运行读取）：无" in out


def test_status_only_reads(tmp_path, capsys):
    ws = demo_workspace(tmp_path / "ws", "schedule:\n  settle: 0s\n")
    assert main(["status", "--workspace", str(ws)]) == 0
    assert not (ws / ".reconcile").exists(), "no ledger, lock or log is created"
    assert main(["run", "--workspace", str(ws), "--as-of", "2026-11-20", "--no-email"]) == 0
    state = ws / ".reconcile"
    before = {p.name: p.read_bytes() for p in state.iterdir() if p.is_file()}
    assert main(["status", "--workspace", str(ws)]) == 0
    assert {p.name: p.read_bytes() for p in state.iterdir() if p.is_file()} == before


def test_status_lists_sheets_set_aside_and_unused_columns(tmp_path, capsys):
    from reconcile.testing import SheetSpec, write_xlsx

    ws = demo_workspace(tmp_path / "ws", "schedule:\n  settle: 0s\n")
    write_xlsx(
        ws / "inputs/channels/链家/带备注.xlsx",
        [
            SheetSpec(
                "报备",
                ["客户姓名", "客户电话", "报备时间", "业绩"],
                [["张先生", "138****1234", "2026-11-19 09:00", "3"]],
            ),
            SheetSpec("名单", ["客户姓名", "客户电话", "意向"], [["李四", "13900000000", "三房"]]),
        ],
    )
    assert main(["run", "--workspace", str(ws), "--as-of", "2026-11-20", "--no-email"]) == 0
    capsys.readouterr()
    assert main(["status", "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "channels/链家/带备注.xlsx#报备：未使用的列：业绩（未识别的列）" in out
    assert "channels/链家/带备注.xlsx#名单：未读取：无法判断表格类型（最接近：" in out
