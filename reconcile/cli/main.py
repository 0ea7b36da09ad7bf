"""Command line: `reconcile init | run | serve | status | check | reread | explain | …`.

The only module that prints. Exit codes (SPEC §8): 0 ok, 1 the run failed (or could
not start because another run holds the workspace), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

from reconcile import __version__
from reconcile.config.kinds import FIELD_LABELS, KIND_LABELS
from reconcile.config.rules import Rules, RulesError, load_rules
from reconcile.config.workspace import Workspace, init_workspace
from reconcile.ingest.files import FileOutcome, classify_path, read_input
from reconcile.ingest.headers import AliasTable
from reconcile.ingest.reread import Reread
from reconcile.ingest.sheet import describe_unused
from reconcile.judge import Judgement
from reconcile.judge.codes import OWNER_TYPE_LABELS, REPORT_STATUS_LABELS, REPORT_STATUSES
from reconcile.judge.codes import label as code_label
from reconcile.judge.explain import explain
from reconcile.judge.preview import FUTURE, report_verdicts
from reconcile.normalise.phones import mask, parse_phone
from reconcile.ops.lock import RunLocked
from reconcile.ops.logs import logging_to
from reconcile.ops.pipeline import (
    Abandoned,
    RunSummary,
    judge_night,
    ledger_totals,
    reread_workspace,
    run,
)
from reconcile.ops.progress import BarSteps, LogSteps, Steps
from reconcile.ops.stop import Stop
from reconcile.publish.night import Published
from reconcile.publish.text import yuan
from reconcile.store.ledger import Ledger, LedgerError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CHECK_REJECTED, CHECK_UNREADABLE = 1, 2
SHOWN_ERRORS = 30
RELATIVE_DAYS = {"today": 0, "yesterday": 1}
# Sheets of instructions (our template has one): not data, and not a problem either.
INSTRUCTION_SHEETS = {"说明", "填写说明", "填表说明", "使用说明"}
log = logging.getLogger("reconcile.cli.main")


def _as_of(text: str) -> date | str:
    """YYYY-MM-DD, or `today`/`yesterday` (resolved in the project's timezone)."""
    if text in RELATIVE_DAYS:
        return text
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"日期格式应为 YYYY-MM-DD、today 或 yesterday：{text}"
        ) from None


def _resolve_day(value: date | str | None, workspace: Workspace) -> date | None:
    if isinstance(value, str):
        return workspace.today() - timedelta(days=RELATIVE_DAYS[value])
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reconcile",
        description="渠道客户报备对账：读取报备、来访、CRM 与成交表，判定客户归属。",
    )
    parser.add_argument("--version", action="version", version=f"reconcile {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run_cmd = commands.add_parser("run", help="运行一次对账（读取 inputs/ 中新的文件）")
    run_cmd.add_argument(
        "--workspace", type=Path, default=Path("."), help="工作目录（默认当前目录）"
    )
    run_cmd.add_argument(
        "--as-of",
        type=_as_of,
        default=None,
        help="按该日 23:59:59 判定：YYYY-MM-DD、today（默认）或 yesterday；"
        "早于已运行的日期即重放历史",
    )
    run_cmd.add_argument("--no-email", action="store_true", help="不发送邮件")

    serve = commands.add_parser("serve", help="常驻运行：每天在 schedule.at 自动对账")
    serve.add_argument("--workspace", type=Path, default=Path("."), help="工作目录（默认当前目录）")

    status_cmd = commands.add_parser(
        "status", help="运行状态：最近的运行、等待中的文件、隔离的文件、未发出的邮件"
    )
    status_cmd.add_argument(
        "--workspace", type=Path, default=Path("."), help="工作目录（默认当前目录）"
    )

    check = commands.add_parser("check", help="检查一个报备文件，逐行列出问题")
    check.add_argument("file", type=Path)
    check.add_argument(
        "--workspace", type=Path, default=None, help="按该工作目录的 rules.yaml 检查"
    )

    explain = commands.add_parser("explain", help="某个客户的时间线与判定理由")
    explain.add_argument("phone", help="客户完整手机号，或报备编号（report_id）")
    explain.add_argument(
        "--workspace", type=Path, default=Path("."), help="工作目录（默认当前目录）"
    )
    explain.add_argument(
        "--as-of", type=_as_of, default=None, help="按该日判定（默认最近一次运行的判定日）"
    )

    template = commands.add_parser(
        "template", help="生成给渠道使用的空白报备登记表（含数据校验与规则说明）"
    )
    template.add_argument(
        "--out", type=Path, default=None, help="输出文件（默认当前目录下的 报备登记表.xlsx）"
    )
    template.add_argument(
        "--workspace", type=Path, default=Path("."), help="按该工作目录的 rules.yaml 生成说明"
    )

    reread_cmd = commands.add_parser(
        "reread", help="按台账保存的原始单元格重新解析所有已读取的表（列名对应变化后使用）"
    )
    reread_cmd.add_argument(
        "--workspace", type=Path, default=Path("."), help="工作目录（默认当前目录）"
    )

    init = commands.add_parser("init", help="新建工作目录：文件夹与带注释的 rules.yaml")
    init.add_argument("dir", type=Path, nargs="?", default=Path("."))

    demo = commands.add_parser("demo", help="生成演示工作目录并运行")
    demo.add_argument("dir", type=Path, nargs="?", default=Path("demo-workspace"))
    demo.add_argument("--force", action="store_true", help="重新生成已有的演示输入文件")
    return parser


def main(argv: list[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE"):  # `reconcile check x | head` ends quietly, like any tool
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "status":
            return _status(args)
        if args.command == "check":
            return _check(args)
        if args.command == "template":
            return _template(args)
        if args.command == "demo":
            return _demo(args)
        if args.command == "init":
            return _init(args)
        if args.command == "explain":
            return _explain(args)
        if args.command == "reread":
            return _reread(args)
    except RulesError as exc:
        print(f"配置错误：\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    except LedgerError as exc:
        print(f"台账错误：{exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_USAGE


def _open(folder: Path) -> Workspace | None:
    if not folder.is_dir():
        print(f"工作目录不存在：{folder}", file=sys.stderr)
        return None
    return Workspace.open(folder)


@contextmanager
def _stop_on_signals(stop: Stop, again_interrupts: bool) -> Iterator[None]:
    """SIGTERM/SIGINT ask the work to stop at a safe point. With `again_interrupts`, a
    second Ctrl+C stops at once (the current file's transaction rolls back)."""

    def handler(signum: int, frame: object) -> None:
        if stop.is_set() and again_interrupts and signum == signal.SIGINT:
            raise KeyboardInterrupt
        # Nothing that takes a lock here (no logging): the work notices and says so.
        stop.request(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _steps() -> Steps:
    return BarSteps() if sys.stderr.isatty() else LogSteps(logging.getLogger("reconcile.run"))


def _run(args: argparse.Namespace) -> int:
    workspace = _open(args.workspace)
    if workspace is None:
        return EXIT_USAGE
    stop = Stop()
    # On a terminal the bars show progress; under cron every step is a log line.
    quiet = logging.WARNING if sys.stderr.isatty() else logging.INFO
    with (
        _stop_on_signals(stop, again_interrupts=True),
        logging_to(workspace.state_dir / "logs", "run", workspace.rules.zone, quiet),
    ):
        try:
            summary = run(
                workspace,
                _resolve_day(args.as_of, workspace),
                send=not args.no_email,
                stop=stop,
                steps=_steps(),
            )
        except RunLocked as busy:
            print(str(busy), file=sys.stderr)
            return EXIT_FAILED
        except Abandoned:
            print(
                "运行已按要求中止：已读取的文件都已完整记入台账，下次运行从这里继续。",
                file=sys.stderr,
            )
            return EXIT_FAILED
        except KeyboardInterrupt:  # a second Ctrl+C: the current file was rolled back
            print("运行已立即中止：正在读取的文件未记入台账，下次运行重新读取。", file=sys.stderr)
            return EXIT_FAILED
        except LedgerError:
            raise
        except Exception as exc:  # the run is recorded as failed in the ledger; say so plainly
            log.exception("run failed")
            print(f"运行失败：{type(exc).__name__}: {exc}", file=sys.stderr)
            return EXIT_FAILED
    print_summary(workspace, summary)
    return EXIT_OK


def _reread(args: argparse.Namespace) -> int:
    workspace = _open(args.workspace)
    if workspace is None:
        return EXIT_USAGE
    if not workspace.ledger_path.exists():
        print(f"工作目录 {workspace.root} 还没有运行过对账（reconcile run），没有可重新解析的表")
        return EXIT_OK
    try:
        result = reread_workspace(workspace)
    except RunLocked as busy:
        print(str(busy), file=sys.stderr)
        return EXIT_FAILED
    print_reread(result)
    print("下次 reconcile run 按重新解析的结果判定。")
    return EXIT_OK


def print_reread(result: Reread) -> None:
    print(
        f"已按原始单元格重新解析 {result.files} 个文件：记录 {result.rows_before} → "
        f"{result.rows_after} 条，拒收行 {result.errors_before} → {result.errors_after} 条；"
        f"{result.renamed} 条记录内容有变，旧编号仍可查询"
    )
    for path in result.now_read:
        print(f"  原先隔离、现在可以读取：{path}")
    for path in result.now_quarantined:
        print(f"  现在无法读取（已记为隔离）：{path}")


def _serve(args: argparse.Namespace) -> int:
    from reconcile.ops.serve import Server

    workspace = _open(args.workspace)
    if workspace is None:
        return EXIT_USAGE
    stop = Stop()
    logs = workspace.state_dir / "logs"
    with (
        _stop_on_signals(stop, again_interrupts=False),
        logging_to(logs, "serve", workspace.rules.zone, logging.INFO),
    ):

        def announce(rules: Rules) -> None:
            print(
                f"reconcile serve：{rules.project} 每天 {rules.schedule.at:%H:%M}"
                f"（{rules.timezone}）运行对账；日志写入 {logs / 'serve.log'}；"
                "按 Ctrl+C 或发送 SIGTERM 停止。",
                flush=True,
            )

        try:
            return Server(workspace.root, stop, announce=announce).serve()
        except RunLocked as busy:
            who = busy.holder.describe() if busy.holder else "另一个进程"
            print(f"该工作目录已有 reconcile serve 在运行：{who}", file=sys.stderr)
            return EXIT_FAILED


def print_summary(workspace: Workspace, summary: RunSummary) -> None:
    mode = "重放（不读取新文件）" if summary.mode == "replay" else "读取新文件"
    print(f"{workspace.rules.project} · 判定日 {summary.as_of} · {mode}")
    if summary.took_over is not None:
        print(f"  上次运行未正常结束（{summary.took_over.describe()}），本次已接管运行锁")
    if summary.interrupted:
        print(f"  台账中 {summary.interrupted} 次中断的运行已标记为“中断”")
    if summary.mode == "replay":
        _print_totals(workspace, summary)
        _print_judged(workspace, summary)
        return
    if summary.reread is not None:
        print("  列名对应或规则中的列名、渠道名有变化：", end="")
        print_reread(summary.reread)
    print(
        f"  新文件 {len(summary.files_new)} 个，未变化 {summary.files_unchanged} 个，"
        f"隔离 {len(summary.quarantined)} 个，等待中 {len(summary.waiting)} 个"
    )
    skipped = "、".join(f"{reason} {count}" for reason, count in sorted(summary.skipped.items()))
    print(
        f"  数据行 {summary.rows_in}：接收 {summary.accepted}，拒收 {summary.rejected}"
        + (f"，跳过 {skipped}" if skipped else "")
    )
    print(f"  台账新增记录 {summary.rows_added} 条，新增错误行 {summary.errors_added} 条")
    for outcome in summary.files_new:
        for sheet in outcome.sheets:
            label = KIND_LABELS.get(sheet.kind or "", "未识别")
            print(
                f"    {outcome.file.rel} · {sheet.name}{'（隐藏）' if sheet.hidden else ''} · "
                f"{label} · 接收 {sheet.accepted} / 拒收 {sheet.rejected}"
            )
            if sheet.kind is None and sheet.note:
                print(f"      未读取：{sheet.note}")
            if sheet.unused:
                print(f"      未使用的列：{describe_unused(sheet.unused)}")
    if summary.quarantined:
        print("隔离的文件（内容修改后会重新读取）：")
        for path, reason in summary.quarantined:
            print(f"  {path}：{reason}")
    for path, reason in summary.failed:
        print(f"  {path}：{reason}")
    if summary.waiting:
        print("等待中的文件（本次未读取）：")
        for waiting in summary.waiting:
            print(f"  {waiting.rel}：{waiting.reason}")
    errors = [
        (row["source"], row["reason"])
        for outcome in summary.files_new
        for sheet in outcome.sheets
        if sheet.normalised is not None
        for row in sheet.normalised.errors.iter_rows(named=True)
    ]
    if errors:
        print(
            f"拒收的行（共 {len(errors)} 行"
            + (f"，显示前 {SHOWN_ERRORS} 行" if len(errors) > SHOWN_ERRORS else "")
            + "）："
        )
        for source, reason in errors[:SHOWN_ERRORS]:
            print(f"  {source}  {reason}")
    _print_totals(workspace, summary)
    _print_judged(workspace, summary)
    _print_moves(summary)


MOVE_LABELS = {"archive": "归档", "quarantine": "移入隔离区"}


def _print_moves(summary: RunSummary) -> None:
    done = [move for move in summary.moves if move.dest is not None]
    for kind, label in MOVE_LABELS.items():
        count = sum(move.kind == kind for move in done)
        if count:
            print(f"{label} {count} 个文件（inputs/ 下）：")
            for move in done:
                if move.kind == kind:
                    print(f"  {move.rel} → {move.dest}")
    for move in summary.moves:
        if move.dest is None:
            print(f"  未能{MOVE_LABELS[move.kind]}：{move.rel}（{move.problem}）")


def _print_judged(workspace: Workspace, summary: RunSummary) -> None:
    if summary.judgement is not None:
        print_judgement(summary.judgement, summary.written, workspace.root)
    if summary.published is not None:
        print_published(workspace, summary.published, summary.mail_deferred)


MAIL_LABELS = {"dispute_report": "撞单与争议日报", "settlement": "结算表"}


def print_published(workspace: Workspace, published: Published, deferred: bool = False) -> None:
    """Where the people-facing files went, and what became of each mail."""
    root = workspace.root
    print(f"  已写出 {published.report.relative_to(root)}（撞单与争议日报）")
    print(f"  已写出 {published.settlement.relative_to(root)}（结算表）")
    if published.receipts:
        folder = published.receipts[0].parent.relative_to(root)
        print(f"  已写出 {folder}/ 下的渠道回执 {len(published.receipts)} 份")
    notify = workspace.rules.notify
    if deferred:
        print(
            "判定日当天尚未结束：文件已写出，当晚的邮件留给当天结束后的首次运行"
            "（reconcile serve 或定时任务）生成并发送"
        )
    for key, recipients in (("dispute_report", notify.admin), ("settlement", notify.finance)):
        if not recipients and not deferred:
            print(f"邮件 {MAIL_LABELS[key]}：rules.yaml 未配置收件人（notify），不发送")
    for delivery in published.deliveries:
        mail = MAIL_LABELS.get(delivery.key, delivery.key)
        label = f"邮件 {mail}（{delivery.night}）→ {'、'.join(delivery.to)}"
        eml = delivery.eml.relative_to(root) if delivery.eml.is_relative_to(root) else delivery.eml
        if delivery.status == "sent":
            print(f"{label}：已于 {(delivery.sent_at or '')[:19].replace('T', ' ')} 发送")
        elif delivery.status == "queued":
            print(f"{label}：发送失败，下次运行重试（{delivery.error or '未知原因'}）")
        else:
            print(f"{label}：未发送，已写入发件箱 {eml}")


def print_judgement(judgement: Judgement, written: list[Path], root: Path) -> None:
    """What the night decided: owners, collisions, disputes and commission."""
    statuses = Counter(r.status for r in judgement.reports)
    statuses["invalid"] += judgement.error_reports.height
    print(
        "报备判定："
        + "，".join(
            f"{REPORT_STATUS_LABELS[s]} {statuses[s]}" for s in REPORT_STATUSES if statuses[s]
        )
    )
    owners = Counter(e.owner_type for e in judgement.episodes)
    by_channel = Counter(e.channels[0] for e in judgement.episodes if e.owner_type == "channel")
    parts = []
    for owner_type, label in OWNER_TYPE_LABELS.items():
        if owners[owner_type]:
            detail = "、".join(f"{c} {n}" for c, n in sorted(by_channel.items()))
            extra = f"（{detail}）" if owner_type == "channel" and detail else ""
            parts.append(f"{label} {owners[owner_type]}{extra}")
    print(f"客户归属 {len(judgement.episodes)} 段：" + "，".join(parts))
    collisions = [e for e in judgement.episodes if any(r.status == "lost" for r in e.contested)]
    disputed = [e for e in judgement.episodes if e.owner_type == "disputed"]
    print(
        f"撞单 {len(collisions)} 个（已判定归属），待裁决 {len(disputed)} 个，"
        f"疑似撞单（尚未到访）{len(judgement.suspected)} 组"
    )
    for episode in disputed:
        print(f"  待裁决：{mask(episode.phone)}  {'、'.join(episode.channels)}")
    net, payable, clawback, held = Counter(), Counter(), Counter(), Counter()
    for line in judgement.deals:
        if line.status in ("payable", "clawback") and line.channel:
            net[line.channel] += line.commission
            (payable if line.status == "payable" else clawback)[line.channel] += line.commission
        elif line.status == "held" and line.channel:
            held[line.channel] += line.commission
    print(
        f"应付净额 {yuan(sum(net.values()))}（可结佣 {yuan(sum(payable.values()))}，"
        f"追回 {yuan(sum(clawback.values()))}）"
        + ("：" + "、".join(f"{c} {yuan(v)}" for c, v in sorted(net.items())) if net else "")
    )
    if held:
        print("暂缓结佣：" + "、".join(f"{c} {yuan(v)}" for c, v in sorted(held.items())))
    for path in written:
        print(f"  已写出 {Path(path).relative_to(root)}")


_REPORT_ID = re.compile(r"[0-9a-f]{20}")


def _explain(args: argparse.Namespace) -> int:
    if _REPORT_ID.fullmatch(args.phone.strip().lower()):
        return _explain_report(args, args.phone.strip().lower())
    parsed = parse_phone(args.phone)
    number = parsed.phones[0].full if len(parsed.phones) == 1 else None
    if number is None:
        print(f"请输入客户的完整手机号（11 位）或报备编号：{args.phone}", file=sys.stderr)
        return EXIT_USAGE
    workspace = _judged_workspace(args)
    if workspace is None:
        return EXIT_USAGE
    return _print_explained(judge_night(workspace, args.as_of), number, workspace)


def _judged_workspace(args: argparse.Namespace) -> Workspace | None:
    """The workspace to explain from, if a night has been run there."""
    workspace = Workspace.open(args.workspace)
    if not workspace.ledger_path.exists():
        print(f"工作目录 {workspace.root} 还没有运行过对账（reconcile run）", file=sys.stderr)
        return None
    return workspace


def _print_explained(judgement: Judgement, number: str, workspace: Workspace) -> int:
    lines = explain(judgement, number, workspace.rules.project)
    if not lines:
        print(f"台账中没有与 {number} 相关的记录（判定日 {judgement.inputs.as_of}）")
        return EXIT_FAILED
    for line in lines:
        print(line)
    return EXIT_OK


def _explain_report(args: argparse.Namespace, report_id: str) -> int:
    """A report by its `report_id`; an id a re-read replaced still leads to its row."""
    workspace = _judged_workspace(args)
    if workspace is None:
        return EXIT_USAGE
    with Ledger(workspace.ledger_path, read_only=True) as ledger:
        current = ledger.resolve_alias(report_id)
    judgement = judge_night(workspace, args.as_of)
    report = next((r for r in judgement.reports if r.row_id == current), None)
    if report is None:
        print(f"台账中没有编号为 {report_id} 的报备（判定日 {judgement.inputs.as_of}）")
        return EXIT_FAILED
    if current != report_id:
        print(f"报备 {report_id} 重新解析后的编号为 {current}（来源 {report.source}）")
    if report.phone is None:
        status = REPORT_STATUS_LABELS[report.status]
        reason = f" — {code_label(report.codes)}" if report.codes else ""
        print(f"报备 {current}（{report.source}）：{status}{reason}；尚未对应到具体客户")
        return EXIT_OK
    return _print_explained(judgement, report.phone, workspace)


def _print_totals(workspace: Workspace, summary: RunSummary) -> None:
    totals = ledger_totals(workspace)
    kinds = "、".join(
        f"{KIND_LABELS[kind]} {count} 条" for kind, count in totals.rows_by_kind.items()
    )
    print(f"台账累计：{kinds or '无记录'}；错误行 {totals.errors} 条")
    moved = {move.rel for move in summary.moves if move.dest is not None}
    earlier = [
        (path, reason)
        for path, reason in summary.in_quarantine
        if path not in moved and (path, reason) not in summary.quarantined
    ]
    if earlier:
        print("仍在 inputs/ 中、此前已拒收的文件（内容修改后会重新读取）：")
        for path, reason in earlier:
            print(f"  {path}：{reason}")


RUN_STATUS_LABELS = {
    "ok": "成功",
    "failed": "失败",
    "running": "运行中",
    "abandoned": "已中止（收到停止信号）",
    "interrupted": "中断（进程意外退出）",
}


def _duration(seconds: float | None) -> str:
    """Runs are timed to the second (the ledger keeps whole seconds)."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return "不到 1 秒"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} 分 {rest} 秒" if minutes else f"{rest} 秒"


def _status(args: argparse.Namespace) -> int:
    from reconcile.ops.status import status

    workspace = _open(args.workspace)
    if workspace is None:
        return EXIT_USAGE
    state = status(workspace)
    print(f"{workspace.rules.project} · 工作目录 {workspace.root}")
    if state.serving is not None:
        upcoming = f"，下次运行 {state.next_run:%Y-%m-%d %H:%M}" if state.next_run else ""
        print(f"定时服务：运行中（{state.serving.describe()}）{upcoming}")
    else:
        print("定时服务：未运行（reconcile serve）")
    if state.running is not None:
        print(f"正在运行：{state.running.describe()}")
    elif state.died is not None:
        print(f"注意：上次运行未正常结束（{state.died.describe()}），下次运行会接管")
    print("最近的运行：" if state.runs else "最近的运行：还没有运行过（reconcile run）")
    for row in state.runs:
        took = _duration(row.seconds)
        mode = "重放" if row.mode == "replay" else "读取"
        files = row.summary.get("files_new")
        detail = f"，新文件 {files} 个" if files is not None and row.mode == "ingest" else ""
        outcome = RUN_STATUS_LABELS.get(row.status, row.status)
        started = row.started_at[:19].replace("T", " ")
        print(
            f"  #{row.run_id} 判定日 {row.as_of} {mode} · {outcome} · "
            f"开始 {started} · 用时 {took}{detail}"
        )
    queued = [mail for mail in state.mails if mail.status == "queued"]
    kept = [mail for mail in state.mails if mail.status == "outbox"]
    sections = (
        ("等待中的文件", [f"{w.rel}：{w.reason}" for w in state.waiting]),
        ("尚未读取的新文件（下次运行读取）", state.unread),
        ("隔离的文件", [f"{path}：{reason}" for path, reason in state.quarantined]),
        ("未读取的工作表与未使用的列", [f"{where}：{what}" for where, what in state.sheet_notes]),
        (
            "待重发的邮件",
            [
                f"{mail.night} {MAIL_LABELS.get(mail.key, mail.key)} → "
                f"{'、'.join(mail.recipients)}：已尝试 {mail.attempts} 次，{mail.last_error}"
                for mail in queued
            ],
        ),
    )
    for title, lines in sections:
        print(f"{title}：{len(lines)} 个" if lines else f"{title}：无")
        for line in lines:
            print(f"  {line}")
    if kept:
        print(
            f"只写入发件箱、未发送的邮件 {len(kept)} 封（未配置 smtp 或使用了 --no-email），"
            f"最近一晚 {kept[-1].night}"
        )
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"文件不存在：{path}", file=sys.stderr)
        return CHECK_UNREADABLE
    rules = load_rules(args.workspace / "rules.yaml") if args.workspace else _rules_near(path)
    item = classify_path(path)
    outcome = read_input(
        item, rules, AliasTable.build(rules.columns), require_channel=item.folder == "channels"
    )
    return print_check(outcome, rules)


def _rules_near(path: Path) -> Rules:
    """The rules of the workspace the file sits in, if any; else the defaults."""
    for parent in path.resolve().parents:
        if (parent / "rules.yaml").is_file() and (parent / "inputs").is_dir():
            return load_rules(parent / "rules.yaml")
    return Rules()


def print_check(outcome: FileOutcome, rules: Rules) -> int:
    print(f"文件：{outcome.file.path}")
    if outcome.rejected is not None:
        print(f"  无法读取：{outcome.rejected.reason}")
        return CHECK_UNREADABLE
    rejected = invalid = set_aside = 0
    for sheet in outcome.sheets:
        hidden = "（隐藏工作表）" if sheet.hidden else ""
        if sheet.kind is None and sheet.name in INSTRUCTION_SHEETS:
            print(f"工作表“{sheet.name}”{hidden}：填写说明，不作为数据读取")
            continue
        if sheet.kind is None:
            print(f"工作表“{sheet.name}”{hidden}：未识别——{sheet.note}")
            print(
                f"  表头：{'、'.join(sheet.headers) or '无'}；共 {sheet.unrecognised_rows} 行未读取"
            )
            set_aside += int(sheet.set_aside)
            continue
        print(
            f"工作表“{sheet.name}”{hidden}：{KIND_LABELS[sheet.kind]}，"
            f"表头在第 {sheet.header_row} 行"
        )
        print(
            "  列对应："
            + "；".join(f"{text} → {FIELD_LABELS[field]}" for field, text in sheet.mapping.items())
        )
        if sheet.extra_phone_headers:
            print(f"  另有电话列：{'、'.join(sheet.extra_phone_headers)}（作为同一客户的其他号码）")
        if sheet.fallback_headers:
            backups = "；".join(
                f"{text} → {FIELD_LABELS[f]}" for text, f in sheet.fallback_headers.items()
            )
            print(f"  备用列（同一字段的前一列为空时取用）：{backups}")
        if sheet.combined:
            print(
                "  拆分的组合列："
                + "；".join(
                    f"{text} → {'、'.join(FIELD_LABELS[f] for f in fields)}"
                    for text, fields in sheet.combined.items()
                )
            )
        if sheet.unused:
            print(f"  未使用的列（原文保留在台账中）：{describe_unused(sheet.unused)}")
        skipped = "、".join(f"{reason} {count}" for reason, count in sorted(sheet.skipped.items()))
        print(
            f"  数据行 {sheet.rows_in}：接收 {sheet.accepted}，拒收 {sheet.rejected}"
            + (f"，跳过 {skipped}" if skipped else "")
        )
        errors = sheet.normalised.errors if sheet.normalised is not None else None
        for row in errors.iter_rows(named=True) if errors is not None else ():
            print(f"    第 {row['row_no']} 行：{row['reason']}")
        rejected += sheet.rejected
        if sheet.normalised is not None:
            judged = _print_verdicts(sheet.normalised.records, outcome.file.rel, rules)
            invalid += judged
    if outcome.file.folder != "channels" and any(s.kind == "report" for s in outcome.sheets):
        print("提示：表中没有渠道列时，渠道按文件放入的 inputs/channels/<渠道>/ 文件夹确定。")
    problems = []
    if rejected:
        problems.append(f"有 {rejected} 行无法读取")
    if invalid:
        problems.append(f"有 {invalid} 行按本项目规则会被判无效或暂不判定")
    if set_aside:
        problems.append(f"有 {set_aside} 张工作表无法读取")
    if problems:
        print(f"结论：{'，'.join(problems)}，需要修改后再提交。")
        return CHECK_REJECTED
    print("结论：文件可以提交。")
    return EXIT_OK


def _print_verdicts(records, path: str, rules: Rules) -> int:
    """The report rows the night will reject for a reason the file alone shows."""
    verdicts = report_verdicts(records, path, rules, datetime.now(rules.zone))
    rows = sorted(set(verdicts["row_no"].to_list()))
    for row_no, pattern, codes in verdicts.iter_rows():
        text = "；".join(
            "报备时间晚于现在，要到那天才会判定" if code == FUTURE else code_label([code])
            for code in codes
        )
        print(f"    第 {row_no} 行（{mask(pattern)}）：{text}")
    return len(rows)


def _template(args: argparse.Namespace) -> int:
    from reconcile.publish.template import DEFAULT_TEMPLATE_NAME, write_template

    rules = load_rules(args.workspace / "rules.yaml")
    out: Path = args.out or Path(DEFAULT_TEMPLATE_NAME)
    if out.is_dir():
        out = out / DEFAULT_TEMPLATE_NAME
    if out.suffix.lower() != ".xlsx":
        print(f"报备登记表只能写成 .xlsx 文件：{out}", file=sys.stderr)
        return EXIT_USAGE
    try:
        write_template(rules, out)
    except OSError as exc:
        print(f"无法写出 {out}：{exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"已写出 {out}（{rules.project} 的报备登记表与“说明”页）")
    print("发给各渠道填写；放回 inputs/channels/<渠道>/ 之前，可以用 reconcile check 文件名 检查。")
    return EXIT_OK


def _init(args: argparse.Namespace) -> int:
    root = args.dir.resolve()
    created = init_workspace(root)
    if not created:
        print(f"{root} 已是工作目录，没有改动任何文件。")
        return EXIT_OK
    print(f"已在 {root} 新建：")
    for path in created:
        print(f"  {path.relative_to(root)}")
    print(
        "下一步：按项目制度修改 rules.yaml，把各渠道的报备表放进 inputs/channels/<渠道>/，"
        "然后运行 reconcile run。"
    )
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from reconcile.ops.demo import DEMO_AS_OF, generate_workspace

    root: Path = args.dir
    inputs = root / "inputs"
    has_inputs = inputs.is_dir() and any(
        path.is_file() and path.name != ".gitkeep" for path in inputs.rglob("*")
    )
    if args.force or not has_inputs:
        written = generate_workspace(root)
        print(f"已生成演示工作目录 {root.resolve()}（{len(written)} 个文件）")
    workspace = Workspace.open(root)
    summary = run(workspace, DEMO_AS_OF)
    print_summary(workspace, summary)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
