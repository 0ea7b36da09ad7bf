"""Command line: `reconcile init | run | serve | status | check | reread | explain | …`.

The only module that prints. Exit codes (SPEC §8): 0 ok, 1 the run failed (or could
not start because another run holds the workspace), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from reconcile import __version__
from reconcile.cli.args import ChineseArgumentParser
from reconcile.cli.fleet import add_fleet_parser, fleet_command
from reconcile.cli.terminal import raw_stream, visible_output
from reconcile.cli.text import (
    check_text,
    judgement_lines,
    reread_lines,
    status_lines,
    summary_lines,
)
from reconcile.config.rules import Rules, RulesError, load_rules
from reconcile.config.workspace import CHANNEL_FOLDERS, Workspace, init_workspace
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
from reconcile.ops.reuse import remember_lines
from reconcile.ops.stop import Stop
from reconcile.store.ledger import Ledger, LedgerError

if TYPE_CHECKING:
    # The judge is imported by the commands that judge: `run` loads it only when a night
    # is judged, so a night with nothing new starts in a fraction of the time (issue 15).
    from reconcile.judge import Judgement
    from reconcile.judge.explain import Found

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CHECK_REJECTED, CHECK_UNREADABLE = 1, 2
CHECK_EXIT = {"ok": EXIT_OK, "rejected": CHECK_REJECTED, "unreadable": CHECK_UNREADABLE}
TEMPLATE_KINDS = ("report", "ruling", "payment", "statement", "roster", "wechat")
RELATIVE_DAYS = {"today": 0, "yesterday": 1}
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
    parser = ChineseArgumentParser(
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

    explain = commands.add_parser(
        "explain",
        help="某个客户的时间线与判定理由",
        description=(
            "按完整手机号、打码号码加姓名（如 138****1234 张三），或报备编号（report_id）"
            "列出客户的时间线与判定理由。"
        ),
    )
    explain.add_argument(
        "phone",
        metavar="号码",
        help="客户完整手机号；或渠道报备的打码号码（138****1234、138xxxx1234、1381**12345 等）；"
        "或报备编号（report_id）",
    )
    explain.add_argument(
        "name",
        nargs="?",
        default=None,
        metavar="姓名",
        help="客户姓名，与打码号码同用，按姓氏比对（张先生与张三相符，张伟与张三不符）",
    )
    explain.add_argument(
        "--workspace", type=Path, default=Path("."), help="工作目录（默认当前目录）"
    )
    explain.add_argument(
        "--as-of", type=_as_of, default=None, help="按该日判定（默认最近一次运行的判定日）"
    )

    template = commands.add_parser(
        "template",
        help="生成带数据校验与填写说明的登记表：报备登记表、预填的裁决表、付款记录、请款单、轮排表，"
        "以及推荐的微信报备消息格式",
        description=(
            "生成带数据校验与“说明”页的 Excel 登记表。裁决表按最近一次对账的判定预填"
            "待处理的客户（含完整手机号，只给案场管理员）。"
        ),
    )
    template.add_argument(
        "--kind",
        choices=TEMPLATE_KINDS,
        default="report",
        help="report：给渠道的报备登记表（默认）；ruling：给案场管理员的裁决表，预填待裁决的撞单"
        "与待确认的号码；payment：给财务的付款记录；statement：给渠道的请款单；"
        "roster：给案场的轮排表； wechat：推荐的微信报备消息格式（.txt）",
    )
    template.add_argument(
        "--out",
        type=Path,
        default=None,
        help="输出文件（默认当前目录下的 报备登记表.xlsx 等；裁决表默认写在工作目录的 "
        "outputs/<日期>/裁决表_<日期>.xlsx）",
    )
    template.add_argument(
        "--workspace",
        type=Path,
        default=Path("."),
        help="工作目录，按其 rules.yaml 生成（默认当前目录）",
    )

    reread_cmd = commands.add_parser(
        "reread", help="按台账保存的原始单元格重新解析所有已读取的表（列名对应变化后使用）"
    )
    reread_cmd.add_argument(
        "--workspace", type=Path, default=Path("."), help="工作目录（默认当前目录）"
    )

    init = commands.add_parser("init", help="新建工作目录：文件夹与带注释的 rules.yaml")
    init.add_argument("dir", type=Path, nargs="?", default=Path("."))

    add_fleet_parser(commands, _as_of)

    demo = commands.add_parser("demo", help="生成演示工作目录并运行")
    demo.add_argument("dir", type=Path, nargs="?", default=Path("demo-workspace"))
    demo.add_argument("--force", action="store_true", help="重新生成已有的演示输入文件")
    return parser


def program() -> NoReturn:
    """The `reconcile` program: `main`, and after a night, an exit without teardown.

    Freeing a judged night's objects one by one at exit takes about a second at
    200,000 reports. By the time `run` returns it has closed the ledger, joined its
    children and said everything; only its output streams and logs are left to
    flush, so it leaves at once. Every other command exits as usual (a fleet's
    cluster, for one, is shut down by its own exit handlers).
    """
    code = main()
    if _leave_at_once:
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    sys.exit(code)


_leave_at_once = False  # set by `run`, for `program`
# The last night's summary, and the judgement it holds, alive until `program` leaves:
# dropped as `_run` returned, its objects were freed one by one (~0.7 s at 200,000
# reports) before `program` could leave at once. One slot: a process that runs many
# nights (the tests) holds only the last.
_last_night: RunSummary | None = None


def main(argv: list[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE"):  # `reconcile check x | head` ends quietly, like any tool
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = build_parser().parse_args(argv)
    # Cells, file names and messages are printed: never a control sequence (cli/terminal.py).
    with visible_output():
        return _command(args)


def _command(args: argparse.Namespace) -> int:
    try:
        if args.command == "run":
            global _leave_at_once
            _leave_at_once = True
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
        if args.command == "fleet":
            return fleet_command(args, partial(print, flush=True), partial(print, file=sys.stderr))
    except RulesError as exc:
        print(f"配置错误：\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    except LedgerError as exc:
        print(f"台账错误：{exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_USAGE


def _print(lines: list[str]) -> None:
    for line in lines:
        print(line)


def _print_summary(workspace: Workspace, summary: RunSummary) -> None:
    rules = workspace.rules
    totals = ledger_totals(workspace)
    decided = None if summary.judgement is None else judgement_lines(summary.judgement)
    _print(summary_lines(rules.project, workspace.root, rules.notify, summary, totals, decided))
    if decided is not None and summary.key is not None:
        # A later run reusing this night's files says again what was decided.
        remember_lines(workspace, summary.as_of, summary.key, decided)


def _open(folder: Path) -> Workspace | None:
    if not folder.is_dir():
        print(f"工作目录不存在：{folder}", file=sys.stderr)
        return None
    if not (folder / "rules.yaml").is_file():
        # Without it every rule would be a default and the project 示例项目: a night judged
        # by rules nobody chose, in the wrong folder as often as not.
        print(
            f"{folder} 中没有 rules.yaml，不是工作目录。请先运行 reconcile init "
            f"{shlex.quote(str(folder))} 新建工作目录，按项目制度修改 rules.yaml 后再运行。",
            file=sys.stderr,
        )
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
    if not sys.stderr.isatty():
        return LogSteps(logging.getLogger("reconcile.run"))
    from rich.console import Console

    return BarSteps(Console(file=raw_stream(sys.stderr)))


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
    _print_summary(workspace, summary)
    global _last_night
    _last_night = summary
    return EXIT_OK


def _reread(args: argparse.Namespace) -> int:
    workspace = _open(args.workspace)
    if workspace is None:
        return EXIT_USAGE
    if not Ledger.exists(workspace.ledger):
        print(f"工作目录 {workspace.root} 还没有运行过对账（reconcile run），没有可重新解析的表")
        return EXIT_OK
    try:
        result = reread_workspace(workspace)
    except RunLocked as busy:
        print(str(busy), file=sys.stderr)
        return EXIT_FAILED
    _print(reread_lines(result))
    print("下次 reconcile run 按重新解析的结果判定。")
    return EXIT_OK


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


_REPORT_ID = re.compile(r"[0-9a-f]{20}")
_SEARCHED = "已查报备、到访、CRM、成交与裁决"


def _explain(args: argparse.Namespace) -> int:
    from reconcile.judge.explain import search
    from reconcile.normalise.phones import parse_phone

    if _REPORT_ID.fullmatch(args.phone.strip().lower()):
        if args.name:
            print(f"已给出报备编号，姓名 {args.name} 不参与查找", file=sys.stderr)
        return _explain_report(args, args.phone.strip().lower())
    parsed = parse_phone(args.phone)
    if len(parsed.phones) != 1:
        print(
            "请输入一个客户号码（完整手机号，或打码号码加姓名，如 138****1234 张三）"
            f"或报备编号：{args.phone}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    phone = parsed.phones[0]
    name = (args.name or "").strip() or None
    workspace = _judged_workspace(args)
    if workspace is None:
        return EXIT_USAGE
    judgement = judge_night(workspace, args.as_of)
    if phone.full is None:
        return _print_found(judgement, search(judgement, phone, name), workspace)
    if name is not None:
        print(f"已给出完整手机号，姓名 {name} 不参与查找", file=sys.stderr)
    return _print_explained(judgement, phone.full, workspace)


def _judged_workspace(args: argparse.Namespace) -> Workspace | None:
    """The workspace to explain from, if a night has been run there."""
    workspace = Workspace.open(args.workspace)
    if not Ledger.exists(workspace.ledger):
        print(f"工作目录 {workspace.root} 还没有运行过对账（reconcile run）", file=sys.stderr)
        return None
    return workspace


def _print_explained(judgement: Judgement, number: str, workspace: Workspace) -> int:
    from reconcile.judge.explain import explain

    lines = explain(judgement, number, workspace.rules.project)
    if not lines:
        print(f"台账中没有与 {number} 相关的记录（判定日 {judgement.inputs.as_of}；{_SEARCHED}）")
        return EXIT_FAILED
    _print(lines)
    return EXIT_OK


def _print_found(judgement: Judgement, found: Found, workspace: Workspace) -> int:
    if found.empty:
        named = f"、姓名与“{found.name}”相符" if found.name else ""
        print(
            f"台账中没有号码符合 {found.pattern}{named}的报备或客户"
            f"（判定日 {judgement.inputs.as_of}；{_SEARCHED}）"
        )
        others = [
            f"{what} {'、'.join(names)}"
            for what, names in (("报备", found.other_names), ("客户", found.other_customers))
            if names
        ]
        if others:
            print(f"号码相符但姓名不同：{'；'.join(others)}（不带姓名重新查询可看到它们）")
        return EXIT_FAILED
    from reconcile.judge.explain import explain_found

    _print(explain_found(judgement, found, workspace.rules.project))
    return EXIT_OK


def _explain_report(args: argparse.Namespace, report_id: str) -> int:
    """A report by its `report_id`; an id a re-read replaced still leads to its row."""
    from reconcile.judge.explain import report_lines
    from reconcile.normalise.phones import Phone

    workspace = _judged_workspace(args)
    if workspace is None:
        return EXIT_USAGE
    with Ledger(workspace.ledger, read_only=True) as ledger:
        current = ledger.resolve_alias(report_id)
    judgement = judge_night(workspace, args.as_of)
    report = next((r for r in judgement.reports if r.row_id == current), None)
    if report is None:
        print(f"台账中没有编号为 {report_id} 的报备（判定日 {judgement.inputs.as_of}）")
        return EXIT_FAILED
    if current != report_id:
        print(f"报备 {report_id} 重新解析后的编号为 {current}（来源 {report.source}）")
    # A full number an agency reported is a customer's number even before any visit.
    number = report.phone or Phone.from_pattern(report.phone_pattern).full
    if number is None:
        print(f"报备 {current}：尚未对应到具体客户")
        _print(report_lines(judgement, report, named=True))
        return EXIT_OK
    return _print_explained(judgement, number, workspace)


def _status(args: argparse.Namespace) -> int:
    from reconcile.ops.status import status

    workspace = _open(args.workspace)
    if workspace is None:
        return EXIT_USAGE
    _print(status_lines(workspace.rules.project, workspace.root, status(workspace)))
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from reconcile.ingest.files import classify_path, read_input
    from reconcile.ingest.headers import AliasTable

    path: Path = args.file
    if not path.is_file():
        print(f"文件不存在：{path}", file=sys.stderr)
        return CHECK_UNREADABLE
    rules = load_rules(args.workspace / "rules.yaml") if args.workspace else _rules_near(path)
    item = classify_path(path)
    outcome = read_input(
        item, rules, AliasTable.build(rules.columns), require_channel=item.folder in CHANNEL_FOLDERS
    )
    text = check_text(outcome, rules, datetime.now(rules.zone))
    _print(text.lines)
    return CHECK_EXIT[text.verdict]


def _rules_near(path: Path) -> Rules:
    """The rules of the workspace the file sits in, if any; else the defaults."""
    for parent in path.resolve().parents:
        if (parent / "rules.yaml").is_file() and (parent / "inputs").is_dir():
            return load_rules(parent / "rules.yaml")
    return Rules()


def _template(args: argparse.Namespace) -> int:
    from reconcile.publish.blanks import forms, write_form
    from reconcile.publish.template import DEFAULT_TEMPLATE_NAME, write_template

    if args.kind == "ruling":
        return _ruling_template(args)
    rules = load_rules(args.workspace / "rules.yaml")
    if args.kind == "wechat":
        return _wechat_template(args, rules)
    if args.kind == "report":
        out = _template_out(args.out, Path(DEFAULT_TEMPLATE_NAME), "报备登记表")
        if out is None:
            return EXIT_USAGE
        if not _written(partial(write_template, rules, out), out):
            return EXIT_FAILED
        print(f"已写出 {out}（{rules.project} 的报备登记表与“说明”页）")
        print(
            "发给各渠道填写；放回 inputs/channels/<渠道>/ 之前，"
            "可以用 reconcile check 文件名 检查。"
        )
        return EXIT_OK
    form = forms(rules)[args.kind]
    out = _template_out(args.out, Path(form.file_name), form.sheet)
    if out is None:
        return EXIT_USAGE
    if not _written(partial(write_form, form, rules, out), out):
        return EXIT_FAILED
    print(f"已写出 {out}（{rules.project} 的{form.sheet}与“说明”页）")
    print(f"{form.where}。" + ("放入之前可以用 reconcile check 文件名 检查。" if form.kind else ""))
    return EXIT_OK


def _wechat_template(args: argparse.Namespace, rules: Rules) -> int:
    """The recommended WeChat message format as a text file (SPEC 4.2)."""
    from reconcile.publish.wechat_form import DEFAULT_FILE_NAME, write_wechat_template

    out: Path = args.out or Path(DEFAULT_FILE_NAME)
    if out.is_dir():
        out = out / DEFAULT_FILE_NAME
    if out.suffix.lower() != ".txt":
        print(f"微信报备格式只能写成 .txt 文件：{out}", file=sys.stderr)
        return EXIT_USAGE
    if not _written(partial(write_wechat_template, rules, out), out):
        return EXIT_FAILED
    print(f"已写出 {out}（{rules.project} 推荐的微信报备消息格式）")
    print("发到各渠道的报备群；群聊记录存为 .txt 放入 inputs/channels/<渠道>/，与表格一样判定。")
    return EXIT_OK


def _ruling_template(args: argparse.Namespace) -> int:
    """The 裁决表 pre-filled from the latest night the ledger judged."""
    from reconcile.publish.ruling_sheet import open_items, ruling_sheet_name, write_ruling_sheet

    workspace = _judged_workspace(args)
    if workspace is None:
        return EXIT_USAGE
    judgement = judge_night(workspace)
    night = judgement.inputs.as_of
    name = ruling_sheet_name(night)
    out = _template_out(args.out, workspace.outputs / night.isoformat() / name, "裁决表", name)
    if out is None:
        return EXIT_USAGE
    if not _written(partial(write_ruling_sheet, judgement, workspace.rules, out), out):
        return EXIT_FAILED
    items = open_items(judgement, workspace.rules)
    customers = len({item.phone for item in items})
    what = f"待处理 {customers} 位客户" if items else "没有待处理的客户，表中只有表头"
    print(f"已写出 {out}（{workspace.rules.project} {night} 判定后的裁决表：{what}）")
    print(
        "在黄色的列填写归属渠道或分成，放入 inputs/rulings/，下一晚生效；"
        "表中有完整手机号，不要转发给渠道。"
    )
    return EXIT_OK


def _template_out(out: Path | None, default: Path, label: str, name: str = "") -> Path | None:
    """Where to write: `--out` (a folder takes the default's name) or the default."""
    if out is None:
        out = default
    elif out.is_dir():
        out = out / (name or default.name)
    if out.suffix.lower() != ".xlsx":
        print(f"{label}只能写成 .xlsx 文件：{out}", file=sys.stderr)
        return None
    return out


def _written(write: Callable[[], object], out: Path) -> bool:
    try:
        write()
    except OSError as exc:
        print(f"无法写出 {out}：{exc.strerror or exc}", file=sys.stderr)
        return False
    return True


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
    _print_summary(workspace, summary)
    return EXIT_OK


if __name__ == "__main__":
    program()
