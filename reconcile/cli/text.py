"""What the commands print for people, built from the typed results the stages return.

Every function here returns lines and reads nothing (the clock and the ledger's totals
are passed in), so the wording is testable without running a night; `reconcile.cli.main`
prints them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl

from reconcile.config.kinds import FIELD_LABELS, KIND_LABELS
from reconcile.config.rules import NotifyRules, Rules
from reconcile.ingest.files import FileOutcome, checked_project
from reconcile.ingest.reread import Reread
from reconcile.ingest.sheet import describe_unused
from reconcile.normalise.phones import mask
from reconcile.normalise.places import MESSAGES, sheet_label
from reconcile.ops.pipeline import LedgerTotals, RunSummary

# The judge, the publishers and the WeChat reader are imported by the functions that use
# them, so a night with nothing new says what it kept without loading them (issue 15); and
# `reconcile.ops.status` loads the scheduler, so only `status` imports it.
if TYPE_CHECKING:
    from reconcile.judge import Judgement
    from reconcile.ops.status import QueuedMail, Status
    from reconcile.publish.mail import Delivery
    from reconcile.publish.night import Published

SHOWN_ERRORS = 30
# Sheets of instructions (our template has one): not data, and not a problem either.
INSTRUCTION_SHEETS = {"说明", "填写说明", "填表说明", "使用说明"}
MOVE_LABELS = {"archive": "归档", "quarantine": "移入隔离区"}
MAIL_LABELS = {
    "dispute_report": "撞单与争议日报",
    "settlement": "结算表",
    "performance": "置业顾问业绩表",
}
RUN_STATUS_LABELS = {
    "ok": "成功",
    "failed": "失败",
    "running": "运行中",
    "abandoned": "已中止（收到停止信号）",
    "interrupted": "中断（进程意外退出）",
}


def reread_lines(result: Reread) -> list[str]:
    lines = [
        f"已按原始单元格重新解析 {result.files} 个文件：记录 {result.rows_before} → "
        f"{result.rows_after} 条，拒收行 {result.errors_before} → {result.errors_after} 条；"
        f"{result.renamed} 条记录内容有变，旧编号仍可查询"
    ]
    lines += [f"  原先隔离、现在可以读取：{path}" for path in result.now_read]
    lines += [f"  现在无法读取（已记为隔离）：{path}" for path in result.now_quarantined]
    return lines


def summary_lines(
    project: str,
    root: Path,
    notify: NotifyRules,
    summary: RunSummary,
    totals: LedgerTotals,
    decided: list[str] | None = None,
) -> list[str]:
    """A run's summary: what was read, set aside and judged, and where the files went.
    `decided`: the judgement's `judgement_lines` when the caller has them already (at
    200,000 reports they take ~0.1 s)."""
    mode = "重放（不读取新文件）" if summary.mode == "replay" else "读取新文件"
    lines = [f"{project} · 判定日 {summary.as_of} · {mode}"]
    if summary.took_over is not None:
        lines.append(f"  上次运行未正常结束（{summary.took_over.describe()}），本次已接管运行锁")
    if summary.interrupted:
        lines.append(f"  台账中 {summary.interrupted} 次中断的运行已标记为“中断”")
    if summary.mode == "replay":
        return lines + totals_lines(totals, summary) + _judged_lines(root, notify, summary, decided)
    if summary.reread is not None:
        first, *rest = reread_lines(summary.reread)
        lines += ["  列名对应或规则中的列名、渠道名有变化：" + first, *rest]
    lines.append(
        f"  新文件 {len(summary.files_new)} 个，未变化 {summary.files_unchanged} 个，"
        f"隔离 {len(summary.quarantined)} 个，等待中 {len(summary.waiting)} 个"
    )
    skipped = "、".join(f"{reason} {count}" for reason, count in sorted(summary.skipped.items()))
    lines.append(
        f"  数据行 {summary.rows_in}：接收 {summary.accepted}，拒收 {summary.rejected}"
        + (f"，跳过 {skipped}" if skipped else "")
    )
    lines.append(f"  台账新增记录 {summary.rows_added} 条，新增错误行 {summary.errors_added} 条")
    for outcome in summary.files_new:
        for sheet in outcome.sheets:
            label = KIND_LABELS.get(sheet.kind or "", "未识别")
            hidden = "（隐藏）" if sheet.hidden else ""
            lines.append(
                f"    {outcome.file.rel} · {sheet_label(sheet.name)}{hidden} · "
                f"{label} · 接收 {sheet.accepted} / 拒收 {sheet.rejected}"
            )
            if sheet.kind is None and sheet.note:
                lines.append(f"      未读取：{sheet.note}")
            elif sheet.note:
                lines.append(f"      注意：{sheet.note}")
            if sheet.unused:
                lines.append(f"      未使用的列：{describe_unused(sheet.unused)}")
    if summary.quarantined:
        lines.append("隔离的文件（内容修改后会重新读取）：")
        lines += [f"  {path}：{reason}" for path, reason in summary.quarantined]
    lines += [f"  {path}：{reason}" for path, reason in summary.failed]
    if summary.waiting:
        lines.append("等待中的文件（本次未读取）：")
        lines += [f"  {waiting.rel}：{waiting.reason}" for waiting in summary.waiting]
    errors = [
        (row["source"], row["reason"])
        for outcome in summary.files_new
        for sheet in outcome.sheets
        if sheet.normalised is not None
        for row in sheet.normalised.errors.iter_rows(named=True)
    ]
    if errors:
        lines.append(
            f"拒收的行（共 {len(errors)} 行"
            + (f"，显示前 {SHOWN_ERRORS} 行" if len(errors) > SHOWN_ERRORS else "")
            + "）："
        )
        lines += [f"  {source}  {reason}" for source, reason in errors[:SHOWN_ERRORS]]
    lines += totals_lines(totals, summary)
    lines += _judged_lines(root, notify, summary, decided)
    return lines + _move_lines(summary)


def _move_lines(summary: RunSummary) -> list[str]:
    lines = []
    done = [move for move in summary.moves if move.dest is not None]
    for kind, label in MOVE_LABELS.items():
        count = sum(move.kind == kind for move in done)
        if count:
            lines.append(f"{label} {count} 个文件（inputs/ 下）：")
            lines += [f"  {move.rel} → {move.dest}" for move in done if move.kind == kind]
    lines += [
        f"  未能{MOVE_LABELS[move.kind]}：{move.rel}（{move.problem}）"
        for move in summary.moves
        if move.dest is None
    ]
    return lines


def _judged_lines(
    root: Path, notify: NotifyRules, summary: RunSummary, decided: list[str] | None
) -> list[str]:
    lines = []
    if summary.reused is not None:
        folders = Counter(path.relative_to(root).parts[0] for path in summary.reused)
        night = summary.as_of
        kept = "、".join(f"{where}/{night} 下 {n} 个" for where, n in sorted(folders.items()))
        lines.append(
            "输入、规则与程序都与这一晚上次完整运行时相同：沿用当时的判定与文件"
            f"（{kept}，逐字节核对无误），未重新判定、未重写"
        )
        lines += summary.remembered
        lines += _delivery_lines(root, summary.deliveries)
    if summary.judgement is not None:
        lines += judgement_lines(summary.judgement) if decided is None else decided
        lines += [f"  已写出 {Path(path).relative_to(root)}" for path in summary.written]
    if summary.published is not None:
        lines += published_lines(root, notify, summary.published, summary.mail_deferred)
    return lines


def published_lines(
    root: Path, notify: NotifyRules, published: Published, deferred: bool = False
) -> list[str]:
    """Where the people-facing files went, and what became of each mail."""
    lines = [
        f"  已写出 {published.report.relative_to(root)}（撞单与争议日报）",
        f"  已写出 {published.settlement.relative_to(root)}（结算表）",
    ]
    if published.receipts:
        folder = published.receipts[0].parent.relative_to(root)
        lines.append(f"  已写出 {folder}/ 下的渠道回执 {len(published.receipts)} 份")
    if published.ruling_sheet is not None:
        lines.append(
            f"  已写出 {published.ruling_sheet.relative_to(root)}"
            "（预填的裁决表：填写后放入 inputs/rulings/）"
        )
    if published.performance is not None:
        lines.append(f"  已写出 {published.performance.relative_to(root)}（置业顾问业绩表）")
    if deferred:
        lines.append(
            "判定日当天尚未结束：文件已写出，当晚的邮件留给当天结束后的首次运行"
            "（reconcile serve 或定时任务）生成并发送"
        )
    mailed = [("dispute_report", notify.admin), ("settlement", notify.finance)]
    if published.performance is not None:
        mailed.append(("performance", notify.sales_manager))
    for key, recipients in mailed:
        if not recipients and not deferred:
            lines.append(f"邮件 {MAIL_LABELS[key]}：rules.yaml 未配置收件人（notify），不发送")
    return lines + _delivery_lines(root, published.deliveries)


def _delivery_lines(root: Path, deliveries: list[Delivery]) -> list[str]:
    """What became of each mail."""
    lines = []
    for delivery in deliveries:
        mail = mail_label(delivery.key, delivery.subject)
        label = f"邮件 {mail}（{delivery.night}）→ {'、'.join(delivery.to)}"
        eml = delivery.eml.relative_to(root) if delivery.eml.is_relative_to(root) else delivery.eml
        if delivery.status == "sent":
            lines.append(f"{label}：已于 {(delivery.sent_at or '')[:19].replace('T', ' ')} 发送")
        elif delivery.status == "queued":
            lines.append(f"{label}：发送失败，下次运行重试（{delivery.error or '未知原因'}）")
        else:
            lines.append(f"{label}：未发送，已写入发件箱 {eml}")
    return lines


def judgement_lines(judgement: Judgement) -> list[str]:
    """What the night decided: owners, collisions, disputes and commission."""
    from reconcile.judge.vocabulary import DealStatus, OwnerType, ReportStatus
    from reconcile.publish.text import yuan

    statuses = Counter(r.status for r in judgement.reports)
    statuses[ReportStatus.INVALID] += judgement.error_reports.height
    lines = [
        "报备判定：" + "，".join(f"{s.label} {statuses[s]}" for s in ReportStatus if statuses[s])
    ]
    owners = Counter(e.owner_type for e in judgement.episodes)
    channel = OwnerType.CHANNEL
    by_channel = Counter(e.channels[0] for e in judgement.episodes if e.owner_type == channel)
    parts = []
    for owner_type in OwnerType:
        if owners[owner_type]:
            detail = "、".join(f"{c} {n}" for c, n in sorted(by_channel.items()))
            extra = f"（{detail}）" if owner_type == channel and detail else ""
            parts.append(f"{owner_type.label} {owners[owner_type]}{extra}")
    lines.append(f"客户归属 {len(judgement.episodes)} 段：" + "，".join(parts))
    collisions = [
        e for e in judgement.episodes if any(r.status == ReportStatus.LOST for r in e.contested)
    ]
    disputed = [e for e in judgement.episodes if e.owner_type == OwnerType.DISPUTED]
    lines.append(
        f"撞单 {len(collisions)} 个（已判定归属），待裁决 {len(disputed)} 个，"
        f"疑似撞单（尚未到访）{len(judgement.suspected)} 组"
    )
    lines += [f"  待裁决：{mask(e.phone)}  {'、'.join(e.channels)}" for e in disputed]
    net: defaultdict[str, float] = defaultdict(float)
    payable: defaultdict[str, float] = defaultdict(float)
    clawback: defaultdict[str, float] = defaultdict(float)
    held: defaultdict[str, float] = defaultdict(float)
    for line in judgement.deals:
        if line.status in (DealStatus.PAYABLE, DealStatus.CLAWBACK) and line.channel:
            net[line.channel] += line.commission
            (payable if line.status == DealStatus.PAYABLE else clawback)[line.channel] += (
                line.commission
            )
        elif line.status == DealStatus.HELD and line.channel:
            held[line.channel] += line.commission
    lines.append(
        f"应付净额 {yuan(sum(net.values()))}（可结佣 {yuan(sum(payable.values()))}，"
        f"追回 {yuan(sum(clawback.values()))}）"
        + ("：" + "、".join(f"{c} {yuan(v)}" for c, v in sorted(net.items())) if net else "")
    )
    if held:
        lines.append("暂缓结佣：" + "、".join(f"{c} {yuan(v)}" for c, v in sorted(held.items())))
    lines += _to_pay_lines(judgement)
    return lines


def _to_pay_lines(judgement: Judgement) -> list[str]:
    """本期应付 per channel (SPEC 6.6): the sum of its lines' outstanding, claw-backs not yet
    recovered netted against what is owed, next to what has been paid so far."""
    from reconcile.publish.text import yuan

    outstanding: defaultdict[str, float] = defaultdict(float)
    paid: defaultdict[str, float] = defaultdict(float)
    for line in judgement.deals:
        if line.channel:
            outstanding[line.channel] += line.outstanding
            paid[line.channel] += line.paid
    owed = {c: round(v, 2) for c, v in sorted(outstanding.items()) if round(v, 2)}
    lines = [
        f"本期应付 {yuan(sum(owed.values()))}（累计已付 {yuan(sum(paid.values()))}）"
        + ("：" + "、".join(f"{c} {yuan(v)}" for c, v in owed.items()) if owed else "")
    ]
    credit = {c: v for c, v in sorted(judgement.credit.items()) if round(v, 2)}
    if credit:
        lines.append(
            "预付余额（多付的款项，抵扣以后可结佣的成交）："
            + "、".join(f"{c} {yuan(v)}" for c, v in credit.items())
        )
    return lines + _claim_lines(judgement)


def _claim_lines(judgement: Judgement) -> list[str]:
    """Per agency that sent a 请款单/对账单: how its claims checked (SPEC 6.6)."""
    from reconcile.judge.vocabulary import ClaimCheck

    claiming = sorted({c.channel for s in judgement.settlement for c in s.claims})
    if not claiming:
        return []
    lines = ["请款核对（详见结算表的对账表）："]
    for channel in claiming:
        counts: Counter[ClaimCheck] = Counter(
            s.check
            for s in judgement.settlement
            if s.channel == channel and s.check != ClaimCheck.NO_CLAIM
        )
        found = "、".join(f"{check.label} {counts[check]}" for check in ClaimCheck if counts[check])
        lines.append(f"  {channel}：{found}")
    return lines


def totals_lines(totals: LedgerTotals, summary: RunSummary) -> list[str]:
    """What the ledger holds in all, and files rejected on earlier nights still waiting."""
    kinds = "、".join(
        f"{KIND_LABELS[kind]} {count} 条" for kind, count in totals.rows_by_kind.items()
    )
    lines = [f"台账累计：{kinds or '无记录'}；错误行 {totals.errors} 条"]
    moved = {move.rel for move in summary.moves if move.dest is not None}
    earlier = [
        (path, reason)
        for path, reason in summary.in_quarantine
        if path not in moved and (path, reason) not in summary.quarantined
    ]
    if earlier:
        lines.append("仍在 inputs/ 中、此前已拒收的文件（内容修改后会重新读取）：")
        lines += [f"  {path}：{reason}" for path, reason in earlier]
    return lines


def duration(seconds: float | None) -> str:
    """Runs are timed to the second (the ledger keeps whole seconds)."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return "不到 1 秒"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} 分 {rest} 秒" if minutes else f"{rest} 秒"


def status_lines(project: str, root: Path, state: Status) -> list[str]:
    """`reconcile status`: the service, the last runs, and what waits for someone."""
    lines = [f"{project} · 工作目录 {root}"]
    if state.serving is not None:
        upcoming = f"，下次运行 {state.next_run:%Y-%m-%d %H:%M}" if state.next_run else ""
        lines.append(f"定时服务：运行中（{state.serving.describe()}）{upcoming}")
    else:
        lines.append("定时服务：未运行（reconcile serve）")
    if state.running is not None:
        lines.append(f"正在运行：{state.running.describe()}")
    elif state.died is not None:
        lines.append(f"注意：上次运行未正常结束（{state.died.describe()}），下次运行会接管")
    lines.append("最近的运行：" if state.runs else "最近的运行：还没有运行过（reconcile run）")
    for row in state.runs:
        took = duration(row.seconds)
        mode = "重放" if row.mode == "replay" else "读取"
        files = row.summary.get("files_new")
        detail = f"，新文件 {files} 个" if files is not None and row.mode == "ingest" else ""
        outcome = RUN_STATUS_LABELS.get(row.status, row.status)
        started = row.started_at[:19].replace("T", " ")
        lines.append(
            f"  #{row.run_id} 判定日 {row.as_of} {mode} · {outcome} · "
            f"开始 {started} · 用时 {took}{detail}"
        )
    waiting = [mail for mail in state.mails if mail.status in ("deferred", "queued")]
    kept = [mail for mail in state.mails if mail.status == "outbox"]
    sections = (
        ("等待中的文件", [f"{w.rel}：{w.reason}" for w in state.waiting]),
        ("尚未读取的新文件（下次运行读取）", state.unread),
        ("隔离的文件", [f"{path}：{reason}" for path, reason in state.quarantined]),
        ("未读取的工作表与未使用的列", [f"{where}：{what}" for where, what in state.sheet_notes]),
        (
            "待发送的邮件",
            [
                f"{mail.night} {mail_label(mail.key, mail.subject)} → "
                f"{'、'.join(mail.recipients)}：{_why_waiting(mail)}"
                for mail in waiting
            ],
        ),
    )
    for title, items in sections:
        lines.append(f"{title}：{len(items)} 个" if items else f"{title}：无")
        lines += [f"  {item}" for item in items]
    if kept:
        lines.append(
            f"只写入发件箱、未发送的邮件 {len(kept)} 封（未配置 smtp 或使用了 --no-email），"
            f"最近一晚 {kept[-1].night}"
        )
    return lines


def mail_label(key: str, subject: str) -> str:
    """A mail by what it is; an agency's receipt by its subject, which names the channel
    (its key is only a hash of the name)."""
    return MAIL_LABELS.get(key) or subject or key


def _why_waiting(mail: QueuedMail) -> str:
    if mail.status == "deferred":
        return (
            "运行时判定日尚未结束，由当天结束后的首次运行（reconcile serve 或定时任务）生成并发送"
        )
    return f"已尝试 {mail.attempts} 次，{mail.last_error}，下次运行重试"


@dataclass(frozen=True)
class CheckText:
    """`reconcile check`'s lines, and its conclusion."""

    verdict: Literal["ok", "rejected", "unreadable"]
    lines: list[str]


def check_text(outcome: FileOutcome, rules: Rules, now: datetime) -> CheckText:
    """Every sheet of one file as the night would read it, and whether it can be handed in;
    rows are judged against `now` (a report dated later is not judged yet)."""
    from reconcile.ingest.wechat import message_lines
    from reconcile.judge.preview import report_verdicts

    lines = [f"文件：{outcome.file.path}"]
    if outcome.rejected is not None:
        lines.append(f"  无法读取：{outcome.rejected.reason}")
        return CheckText("unreadable", lines)
    rejected = invalid = set_aside = 0
    path = outcome.file.path
    # A .txt of WeChat messages: how each message was read stands in for the header.
    project = checked_project(rules)
    read_as_messages = any(sheet.name == MESSAGES for sheet in outcome.sheets)
    messages = message_lines(path, project) if read_as_messages else None
    for sheet in outcome.sheets:
        hidden = "（隐藏工作表）" if sheet.hidden else ""
        if sheet.kind is None and sheet.name in INSTRUCTION_SHEETS:
            lines.append(f"工作表“{sheet.name}”{hidden}：填写说明，不作为数据读取")
            continue
        if sheet.kind is None:
            lines.append(f"工作表“{sheet.name}”{hidden}：未识别——{sheet.note}")
            lines.append(
                f"  表头：{'、'.join(sheet.headers) or '无'}；共 {sheet.unrecognised_rows} 行未读取"
            )
            set_aside += int(sheet.set_aside)
            continue
        if messages is not None:
            lines.append("微信报备消息（行号是每条消息的第一行）：")
            lines += messages
        else:
            lines.append(
                f"工作表“{sheet.name}”{hidden}：{KIND_LABELS[sheet.kind]}，"
                f"表头在第 {sheet.header_row} 行"
            )
            lines.append(
                "  列对应："
                + "；".join(
                    f"{header} → {FIELD_LABELS[name]}" for name, header in sheet.mapping.items()
                )
            )
        if sheet.extra_phone_headers:
            lines.append(
                f"  另有电话列：{'、'.join(sheet.extra_phone_headers)}（作为同一客户的其他号码）"
            )
        if sheet.fallback_headers:
            backups = "；".join(
                f"{text} → {FIELD_LABELS[f]}" for text, f in sheet.fallback_headers.items()
            )
            lines.append(f"  备用列（同一字段的前一列为空时取用）：{backups}")
        if sheet.combined:
            lines.append(
                "  拆分的组合列："
                + "；".join(
                    f"{text} → {'、'.join(FIELD_LABELS[f] for f in fields)}"
                    for text, fields in sheet.combined.items()
                )
            )
        if sheet.unused:
            lines.append(f"  未使用的列（原文保留在台账中）：{describe_unused(sheet.unused)}")
        if sheet.note:
            lines.append(f"  注意：{sheet.note}")
        skipped = "、".join(f"{reason} {count}" for reason, count in sorted(sheet.skipped.items()))
        lines.append(
            f"  数据行 {sheet.rows_in}：接收 {sheet.accepted}，拒收 {sheet.rejected}"
            + (f"，跳过 {skipped}" if skipped else "")
        )
        errors = sheet.normalised.errors if sheet.normalised is not None else None
        for row in errors.iter_rows(named=True) if errors is not None else ():
            lines.append(f"    第 {row['row_no']} 行：{row['reason']}")
        rejected += sheet.rejected
        if sheet.normalised is not None:
            verdicts = report_verdicts(sheet.normalised.records, outcome.file.rel, rules, now)
            lines += _verdict_lines(verdicts)
            invalid += verdicts["row_no"].n_unique()
    for kind, folder in (("report", "channels"), ("statement", "statements")):
        if outcome.file.folder != folder and any(s.kind == kind for s in outcome.sheets):
            lines.append(
                f"提示：表中没有渠道列时，渠道按文件放入的 inputs/{folder}/<渠道>/ 文件夹确定。"
            )
    problems = []
    if rejected:
        problems.append(f"有 {rejected} 行无法读取")
    if invalid:
        problems.append(f"有 {invalid} 行按本项目规则会被判无效或暂不判定")
    if set_aside:
        problems.append(f"有 {set_aside} 张工作表无法读取")
    if problems:
        lines.append(f"结论：{'，'.join(problems)}，需要修改后再提交。")
        return CheckText("rejected", lines)
    lines.append("结论：文件可以提交。")
    return CheckText("ok", lines)


def _verdict_lines(verdicts: pl.DataFrame) -> list[str]:
    """The report rows the night will reject for a reason the file alone shows."""
    from reconcile.judge.preview import FUTURE
    from reconcile.judge.reasons import labels as code_label
    from reconcile.judge.vocabulary import Code

    lines = []
    for row_no, pattern, codes, request in verdicts.iter_rows():
        text = "；".join(
            "报备时间晚于现在，要到那天才会判定" if code == FUTURE else code_label([code])
            for code in codes
        )
        if request:
            text = f"延期申请：{text}" + (
                "，对应不到客户，会判为 R11 延期申请无效" if Code.R02.value in codes else ""
            )
        lines.append(f"    第 {row_no} 行（{mask(pattern)}）：{text}")
    return lines
