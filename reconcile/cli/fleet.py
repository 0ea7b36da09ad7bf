"""`reconcile fleet run | status --projects group.yaml`: a group's projects (ops/fleet.py).

ops/fleet.py (and Dask with it) and the group's configuration are imported when a fleet
command runs, not by every command's parser.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from reconcile.ops.lock import RunLocked

if TYPE_CHECKING:
    from reconcile.config.group import Group
    from reconcile.ops.fleet import FleetNight, FleetStatus, Outcome

EXIT_OK, EXIT_FAILED = 0, 1
RELATIVE_DAYS = {"today": 0, "yesterday": 1}
_NIGHT_STATUS = {
    "ok": "全部完成",
    "partial": "部分项目失败",
    "failed": "失败",
    "running": "运行中",
    "interrupted": "中断（进程已退出）",
}


def add_fleet_parser(commands: argparse._SubParsersAction, as_of: Callable) -> None:
    fleet = commands.add_parser(
        "fleet",
        help="集团多项目：在 Dask 集群上逐项目运行对账，汇总集团结算表与争议汇总",
    )
    actions = fleet.add_subparsers(dest="fleet_command", required=True)
    run_cmd = actions.add_parser(
        "run", help="运行集团内每个项目的对账，然后生成集团结算表与争议汇总"
    )
    status_cmd = actions.add_parser("status", help="每个项目在最近一次集团对账中的结果")
    for command in (run_cmd, status_cmd):
        command.add_argument(
            "--projects",
            type=Path,
            default=Path("group.yaml"),
            metavar="文件",
            help="集团项目清单（默认当前目录的 group.yaml）",
        )
    run_cmd.add_argument(
        "--as-of",
        type=as_of,
        default=None,
        help="各项目按该日 23:59:59 判定：YYYY-MM-DD、today（默认）或 yesterday",
    )
    run_cmd.add_argument(
        "--scheduler",
        default=None,
        metavar="地址",
        help="Dask 调度器地址，如 tcp://10.0.0.5:8786（默认在本机启动 2 个工作进程）",
    )
    run_cmd.add_argument("--no-email", action="store_true", help="各项目与集团都不发送邮件")


def fleet_command(
    args: argparse.Namespace, say: Callable[[str], None], complain: Callable[[str], None]
) -> int:
    """Run `fleet run|status`; `say` prints a line for the user, `complain` on stderr."""
    from reconcile.config.group import load_group
    from reconcile.ops.fleet import Cluster, GroupPublishError, fleet_status, run_fleet

    group = load_group(args.projects)
    if args.fleet_command == "status":
        for line in status_lines(group, fleet_status(group)):
            say(line)
        return EXIT_OK
    as_of = args.as_of
    if isinstance(as_of, str):
        as_of = datetime.now(group.rules.zone).date() - timedelta(days=RELATIVE_DAYS[as_of])
    say(f"集团 {group.name}：{len(group.projects)} 个项目开始对账")
    try:
        night = run_fleet(
            group,
            as_of,
            Cluster(scheduler=args.scheduler),
            not args.no_email,
            lambda outcome: say(f"  {outcome_line(outcome)}"),
        )
    except RunLocked as busy:
        who = busy.holder.describe() if busy.holder else "另一个进程"
        complain(f"该集团的对账正在运行：{who}；本次未运行，请等它结束后再试")
        return EXIT_FAILED
    except GroupPublishError as exc:
        complain(f"{exc}；各项目的对账已完成，结果已记入集团台账（reconcile fleet status）")
        return EXIT_FAILED
    except (OSError, ValueError):
        if args.scheduler is None:
            raise
        # Unreachable, or not an address: no project ran.
        complain(
            f"无法连接 Dask 调度器 {args.scheduler}（地址应写成 tcp://主机:端口，"
            "且调度器须已启动、网络可达）；各项目均未运行"
        )
        return EXIT_FAILED
    for line in night_lines(group, night):
        say(line)
    return EXIT_OK if not night.failed else EXIT_FAILED


def outcome_line(outcome: Outcome, night: str | None = None) -> str:
    on = f"（判定日 {night}）" if night else ""
    tries = f"，尝试 {outcome.attempts} 次" if outcome.attempts > 1 else ""
    if outcome.ok:
        return (
            f"{outcome.name}{on}：完成，用时 {outcome.seconds:.1f} 秒{tries}；"
            f"新文件 {outcome.files_new} 个，新增 {outcome.rows_added} 行，"
            f"隔离 {outcome.quarantined} 个，读取出错 {outcome.failed_files} 个，"
            f"邮件 {outcome.mails} 封"
        )
    return f"{outcome.name}{on}：失败{tries}，用时 {outcome.seconds:.1f} 秒——{outcome.error}"


def night_lines(group: Group, night: FleetNight) -> list[str]:
    done = len(night.outcomes) - len(night.failed)
    lines = [
        f"集团 {group.name} {night.as_of}：{done} 个项目完成，{len(night.failed)} 个失败，"
        f"共用时 {night.seconds:.1f} 秒"
    ]
    if night.took_over is not None:
        lines.append(f"上一次集团对账的进程已退出（{night.took_over.describe()}），本次已接手")
    for outcome in night.failed:
        lines.append(f"失败：{outcome.name}——{outcome.error}")
    if night.published is not None:
        lines.append(f"集团结算表：{night.published.settlement}")
        lines.append(f"集团争议汇总：{night.published.digest}")
        for delivery in night.published.deliveries:
            to = "、".join(delivery.to)
            if delivery.status == "sent":
                lines.append(f"邮件已于 {delivery.sent_at} 发送：{delivery.subject} → {to}")
            elif delivery.error:
                lines.append(f"邮件未能发送，下次运行重试：{delivery.subject}（{delivery.error}）")
            else:
                lines.append(f"邮件已写入 {delivery.eml}（未配置发送或 --no-email）")
    return lines


def status_lines(group: Group, state: FleetStatus) -> list[str]:
    lines = [f"集团 {group.name}（{group.source}）：{len(group.projects)} 个项目"]
    if state.running is not None:
        lines.append(f"正在运行：{state.running.describe()}")
    elif state.died is not None:
        lines.append(f"上一次集团对账的进程已退出（{state.died.describe()}），下次运行会接手")
    if state.last is None:
        lines.append("还没有运行过集团对账（reconcile fleet run）")
    else:
        last = state.last
        took = f"，用时 {last.seconds:.1f} 秒" if last.seconds is not None else ""
        lines.append(
            f"最近一次集团对账：判定日 {last.as_of}，开始于 {last.started_at}{took}，"
            f"结果：{_NIGHT_STATUS.get(last.status, last.status)}"
        )
    lines.append("各项目：")
    for project in group.projects:
        outcome = state.outcomes.get(project.name)
        if outcome is None:
            lines.append(f"  {project.name}：尚未在集团对账中运行")
        else:
            lines.append(f"  {outcome_line(outcome, state.nights.get(project.name))}")
    return lines
