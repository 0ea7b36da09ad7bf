"""What the commands print, built from typed results without running a night."""

from datetime import date
from pathlib import Path

import pytest

from reconcile.cli.text import duration, status_lines, summary_lines
from reconcile.config.rules import NotifyRules
from reconcile.ingest.reread import Reread
from reconcile.ops.pipeline import LedgerTotals, RunSummary
from reconcile.ops.status import QueuedMail, Status
from reconcile.store.ledger import RunRow


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (0.4, "不到 1 秒"), (3, "3 秒"), (59.6, "1 分 0 秒"), (125, "2 分 5 秒")],
)
def test_a_run_is_timed_to_the_second(seconds, text):
    assert duration(seconds) == text


def test_status_of_a_workspace_that_never_ran():
    assert status_lines("演示项目", Path("/srv/ws"), Status()) == [
        "演示项目 · 工作目录 /srv/ws",
        "定时服务：未运行（reconcile serve）",
        "最近的运行：还没有运行过（reconcile run）",
        "等待中的文件：无",
        "尚未读取的新文件（下次运行读取）：无",
        "隔离的文件：无",
        "未读取的工作表与未使用的列：无",
        "待发送的邮件：无",
    ]


def test_status_names_each_run_and_the_mails_left_behind():
    run = RunRow(
        7,
        "2026-11-20",
        "ingest",
        "interrupted",
        "2026-11-21T02:00:00+08:00",
        "2026-11-21T02:01:05+08:00",
        {"files_new": 3},
    )
    mails = [
        QueuedMail("2026-11-20", "settlement", ["cw@x.cn"], "queued", 2, "无法连接邮件服务器"),
        QueuedMail("2026-11-20", "dispute_report", ["a@x.cn"], "outbox", 0, None),
        QueuedMail("2026-11-21", "dispute_report", ["a@x.cn"], "deferred", 0, None),
    ]
    lines = status_lines("演示项目", Path("/srv/ws"), Status(runs=[run], mails=mails))
    assert lines[2:4] == [
        "最近的运行：",
        "  #7 判定日 2026-11-20 读取 · 中断（进程意外退出） · "
        "开始 2026-11-21 02:00:00 · 用时 1 分 5 秒，新文件 3 个",
    ]
    assert lines[-4:] == [
        "待发送的邮件：2 个",
        "  2026-11-20 结算表 → cw@x.cn：已尝试 2 次，无法连接邮件服务器，下次运行重试",
        "  2026-11-21 撞单与争议日报 → a@x.cn：运行时判定日尚未结束，"
        "由当天结束后的首次运行（reconcile serve 或定时任务）生成并发送",
        "只写入发件箱、未发送的邮件 1 封（未配置 smtp 或使用了 --no-email），最近一晚 2026-11-20",
    ]


def test_a_reread_before_the_run_leads_its_summary():
    summary = RunSummary(
        1, date(2026, 11, 20), "ingest", reread=Reread(2, 10, 11, 1, 0, 1, now_read=["a.xlsx"])
    )
    lines = summary_lines("演示项目", Path("/srv/ws"), NotifyRules(), summary, LedgerTotals({}, 0))
    assert lines[:3] == [
        "演示项目 · 判定日 2026-11-20 · 读取新文件",
        "  列名对应或规则中的列名、渠道名有变化：已按原始单元格重新解析 2 个文件："
        "记录 10 → 11 条，拒收行 1 → 0 条；1 条记录内容有变，旧编号仍可查询",
        "  原先隔离、现在可以读取：a.xlsx",
    ]
    assert lines[-1] == "台账累计：无记录；错误行 0 条"
