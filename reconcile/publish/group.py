"""The group view of a fleet night: one settlement per agency across the group's
projects, and a dispute digest of the projects that need attention first.

Built from each project's CSV contract of the night (SPEC 7: `settlement.csv`,
`reports.csv`, `deals.csv` in `outputs/<date>/`), never by judging again, so the
group's figures are the projects' own. Each project's outputs stay as they are.

- `集团结算表_<date>.xlsx` (`group_finance`): 汇总, one row per agency (渠道) across
  every project with 累计应结, 已付 and 本期应付 as live SUMPRODUCT formulas over 明细;
  按项目, the same per agency and project (the drill-down); 明细, the projects'
  settlement lines. A line's 累计应结 is its `paid + outstanding` (what it has earned
  to date; `outstanding` is what remains of it).
- `集团争议汇总_<date>.html`/`.txt` (`group_admin`): counts per project, the projects
  whose night failed and those with most disputes first.

Mails go through publish/mail.py into the group ledger, keyed per night: a night's
group mails are composed once and never sent twice.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from xlsxwriter.utility import xl_col_to_name

from reconcile.config.rules import Rules
from reconcile.judge.vocabulary import ClaimCheck, DealStatus, ReportStatus
from reconcile.publish.mail import Attachment, Delivery, Mail, flush, post
from reconcile.publish.night import XLSX_MIME
from reconcile.publish.report import _render, one_line
from reconcile.publish.stream import Extra, Sheet, write_book
from reconcile.publish.text import yuan
from reconcile.publish.workbook import Column, Formula
from reconcile.store.files import write_atomic
from reconcile.store.ledger import Ledger

SUMMARY, BY_PROJECT, DETAIL = "汇总", "按项目", "明细"
TITLE = "集团佣金结算表"
MAX_ERROR = 500  # characters of a failed night's reason shown to people

DETAIL_COLUMNS = (
    Column("渠道"),
    Column("项目"),
    Column("成交编号"),
    Column("经纪人"),
    Column("状态"),
    Column("核对结果"),
    Column("佣金", "money"),
    Column("累计应结", "money"),
    Column("已付", "money"),
    Column("本期应付", "money"),
    Column("请款金额", "money"),
)
_MONEY = ("累计应结", "已付", "本期应付")
SUMMARY_COLUMNS = (
    Column("渠道"),
    Column("项目数", "count"),
    Column("成交行数", "count"),
    *(Column(title, "money") for title in _MONEY),
)
BY_PROJECT_COLUMNS = (
    Column("渠道"),
    Column("项目"),
    Column("成交行数", "count"),
    *(Column(title, "money") for title in _MONEY),
)
# Claim checks that finance must look at before paying (SPEC 6.6).
_CLAIM_ISSUES = frozenset(
    {
        ClaimCheck.NOT_OURS.value,
        ClaimCheck.ALREADY_PAID.value,
        ClaimCheck.AMOUNT_DIFFERS.value,
        ClaimCheck.AMBIGUOUS.value,
    }
)


@dataclass(frozen=True)
class ProjectNight:
    """What the group view knows of one project's night: its outputs, or why none."""

    name: str
    outputs: Path | None  # outputs/<date>/ of a night that ran; None if it failed
    error: str | None = None


@dataclass(frozen=True)
class Line:
    """One settlement.csv line of one project."""

    project: str
    deal_id: str
    channel: str
    agent: str
    status: str
    check: str
    commission: float
    paid: float
    outstanding: float
    claimed: float | None

    @property
    def due(self) -> float:
        return self.paid + self.outstanding


@dataclass
class ProjectCounts:
    """One project's night in the digest."""

    name: str
    error: str | None = None
    reports: int = 0
    disputed: int = 0
    ambiguous: int = 0
    pending: int = 0
    invalid: int = 0
    held: int = 0
    claim_issues: int = 0
    outstanding: float = 0.0

    @property
    def attention(self) -> int:
        """How much waits on people: disputes, numbers to confirm, held deals, claims."""
        return self.disputed + self.ambiguous + self.held + self.claim_issues

    @property
    def to_pay(self) -> str:
        return yuan(self.outstanding + 0.0)


@dataclass
class GroupView:
    group: str
    night: date
    lines: list[Line] = field(default_factory=list)
    projects: list[ProjectCounts] = field(default_factory=list)  # attention first

    @property
    def failed(self) -> list[ProjectCounts]:
        return [p for p in self.projects if p.error is not None]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _money(text: str | None) -> float:
    value = float(text) if text else 0.0
    if not math.isfinite(value):
        raise ValueError(f"金额不是有限的数字：{text[:20] if text else ''}")
    return value


def bounded(text: str) -> str:
    """A failure's reason as people may read it: printable (its line breaks kept), and
    at most `MAX_ERROR` characters."""
    kept = "".join(c if c.isprintable() or c == "\n" else " " for c in text).strip()
    return kept if len(kept) <= MAX_ERROR else kept[: MAX_ERROR - 1] + "…"


def read_view(group: str, night: date, nights: Sequence[ProjectNight]) -> GroupView:
    """The group's night from each project's CSV contract; a night without its CSVs
    (failed, its folder gone, a file that cannot be read) is listed with the reason."""
    view = GroupView(group, night)
    for project in nights:
        folder = project.outputs
        if folder is None or not (folder / "settlement.csv").is_file():
            reason = project.error or f"没有找到 {night} 的对账结果（settlement.csv）"
            view.projects.append(ProjectCounts(project.name, bounded(reason)))
            continue
        try:
            counts, lines = _project(project.name, folder)
        except (OSError, UnicodeError, KeyError, ValueError, csv.Error) as exc:
            reason = f"无法读取 {folder} 中的对账结果（{type(exc).__name__}: {exc}）"
            view.projects.append(ProjectCounts(project.name, bounded(reason)))
            continue
        view.projects.append(counts)
        view.lines += lines
    view.lines.sort(key=lambda line: (line.channel, line.project, line.deal_id))
    view.projects.sort(key=lambda p: (p.error is None, -p.attention, p.name))
    return view


def _project(name: str, folder: Path) -> tuple[ProjectCounts, list[Line]]:
    """One project's counts and its settlement lines with a channel, from its CSVs."""
    counts, lines = ProjectCounts(name), []
    for row in _rows(folder / "settlement.csv"):
        line = Line(
            name,
            row["deal_id"],
            row["channel"],
            row["agent"],
            row["status"],
            row["check"],
            _money(row["commission"]),
            _money(row["paid"]),
            _money(row["outstanding"]),
            _money(row["claimed"]) if row["claimed"] else None,
        )
        counts.claim_issues += line.check in _CLAIM_ISSUES
        if line.channel:
            counts.outstanding += line.outstanding
            lines.append(line)
    for row in _rows(folder / "reports.csv"):
        counts.reports += 1
        status = row["status"]
        counts.disputed += status == ReportStatus.DISPUTED
        counts.ambiguous += status == ReportStatus.AMBIGUOUS
        counts.pending += status == ReportStatus.PENDING
        counts.invalid += status == ReportStatus.INVALID
    counts.held = sum(row["status"] == DealStatus.HELD for row in _rows(folder / "deals.csv"))
    return counts, lines


def _label(vocabulary: type[DealStatus] | type[ClaimCheck], value: str) -> str:
    """The Chinese label of a CSV code (the code itself if a newer version wrote it)."""
    try:
        return vocabulary(value).label
    except ValueError:
        return value


# The workbook ---------------------------------------------------------------------------


def _range(sheet: str, column: int, last: int) -> str:
    letter = xl_col_to_name(column)
    return f"'{sheet}'!${letter}$2:${letter}${last}"


def _detail(title: str, last: int) -> str:
    return _range(DETAIL, [c.title for c in DETAIL_COLUMNS].index(title), last)


def _totals(columns: Sequence[Column], first_sum: int, last: int) -> list[Extra | None]:
    cells: list[Extra | None] = [Extra("合计", bold=True)]
    cells += [None] * (first_sum - 1)
    for index in range(first_sum, len(columns)):
        letter = xl_col_to_name(index)
        cells.append(Extra(Formula(f"=SUM({letter}2:{letter}{last})"), columns[index].kind, True))
    return cells


def group_sheets(view: GroupView) -> list[Sheet]:
    """汇总 and 按项目 as formulas over 明细: the channel (and project) compared by EXACT
    with the row's own cells, so no text from a file is ever inside a formula and no
    wildcard or case folding joins two agencies."""
    last = max(len(view.lines) + 1, 2)
    channel, project = _detail("渠道", last), _detail("项目", last)
    pairs = sorted({(line.channel, line.project) for line in view.lines})
    by_project: list[list[object]] = []
    for row, (name, place) in enumerate(pairs, start=2):
        match = f"EXACT({channel},$A{row})*EXACT({project},$B{row})"
        by_project.append(
            [
                name,
                place,
                Formula(f"=SUMPRODUCT({match})"),
                *(Formula(f"=SUMPRODUCT({match},{_detail(m, last)})") for m in _MONEY),
            ]
        )
    pairs_last = max(len(pairs) + 1, 2)
    summary: list[list[object]] = []
    for row, name in enumerate(sorted({line.channel for line in view.lines}), start=2):
        match = f"EXACT({channel},$A{row})*1"
        summary.append(
            [
                name,
                Formula(f"=SUMPRODUCT(EXACT({_range(BY_PROJECT, 0, pairs_last)},$A{row})*1)"),
                Formula(f"=SUMPRODUCT({match})"),
                *(Formula(f"=SUMPRODUCT({match},{_detail(m, last)})") for m in _MONEY),
            ]
        )
    notes = [
        [Extra(f"{view.group} · 判定日 {view.night}：各项目当晚的 settlement.csv 按渠道汇总。")],
        [
            Extra(
                "累计应结 = 已付 + 本期应付（截至判定日渠道已应得的佣金）；本期应付为本次应付给"
                "渠道的金额，追回款已抵扣，负数表示渠道应退回。各行均为公式，按“明细”中渠道"
                "（与项目）逐字相同的行相加。"
            )
        ],
    ]
    for failed in view.failed:
        notes.append([Extra(f"未纳入：{failed.name}（{one_line(failed.error or '')}）")])
    return [
        Sheet(
            SUMMARY,
            SUMMARY_COLUMNS,
            summary,
            below=[_totals(SUMMARY_COLUMNS, 1, max(len(summary) + 1, 2)), [], *notes],
        ),
        Sheet(
            BY_PROJECT,
            BY_PROJECT_COLUMNS,
            by_project,
            below=[_totals(BY_PROJECT_COLUMNS, 2, pairs_last)],
        ),
        Sheet(
            DETAIL,
            DETAIL_COLUMNS,
            [
                [
                    line.channel,
                    line.project,
                    line.deal_id,
                    line.agent,
                    _label(DealStatus, line.status),
                    _label(ClaimCheck, line.check),
                    line.commission,
                    line.due + 0.0,
                    line.paid + 0.0,
                    line.outstanding + 0.0,
                    line.claimed,
                ]
                for line in view.lines
            ],
        ),
    ]


def write_group_settlement(view: GroupView, rules: Rules, path: Path) -> Path:
    return write_book(path, group_sheets(view), view.group, TITLE, view.night, rules.zone)


# The digest and the mails ---------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    settlement: Path
    digest: Path  # the HTML; the text beside it
    deliveries: list[Delivery]


@dataclass(frozen=True)
class ChannelTotal:
    """One agency across the group, as the mails show it."""

    channel: str
    projects: int
    due: str
    paid: str
    outstanding: str


def channel_totals(view: GroupView) -> list[ChannelTotal]:
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    projects: dict[str, set[str]] = defaultdict(set)
    for line in view.lines:
        total = sums[line.channel]
        total[0] += line.due
        total[1] += line.paid
        total[2] += line.outstanding
        projects[line.channel].add(line.project)
    return [
        ChannelTotal(one_line(name), len(projects[name]), *(yuan(value + 0.0) for value in total))
        for name, total in sorted(sums.items())
    ]


def render_digest(view: GroupView, attachment: str) -> tuple[str, str]:
    """The group dispute digest as mail-safe HTML and as text."""
    context = {"v": view, "channels": channel_totals(view), "attachment": attachment}
    return _render("group_digest.html.j2", **context), _render("group_digest.txt.j2", **context)


def publish_group(
    view: GroupView,
    rules: Rules,
    ledger: Ledger,
    folder: Path,
    recipients: tuple[Sequence[str], Sequence[str]],
    send: bool,
) -> Published:
    """Write the night's group workbook and digest into `folder` and mail them: the
    workbook to `recipients[0]` (group_finance), the digest to `recipients[1]` (group_admin)."""
    night = view.night.isoformat()
    settlement = write_group_settlement(view, rules, folder / f"集团结算表_{night}.xlsx")
    html, text = render_digest(view, settlement.name)
    digest = write_atomic(folder / f"集团争议汇总_{night}.html", html.encode("utf-8"))
    write_atomic(folder / f"集团争议汇总_{night}.txt", text.encode("utf-8"))
    finance, admin = recipients
    failed = len(view.failed)
    head = f"【{one_line(view.group)}】{night}"
    attention = sum(1 for p in view.projects if p.error is None and p.attention)
    mails = (
        Mail(
            "group_settlement",
            view.night,
            tuple(finance),
            f"{head} 集团佣金结算表：{len(view.projects) - failed} 个项目"
            + (f"，{failed} 个未完成" if failed else ""),
            html,
            text,
            (Attachment(settlement.name, settlement.read_bytes(), XLSX_MIME),),
        ),
        Mail(
            "group_digest",
            view.night,
            tuple(admin),
            f"{head} 集团争议汇总：未完成 {failed} 个项目，需关注 {attention} 个项目",
            html,
            text,
        ),
    )
    now = datetime.now(rules.zone)
    deliveries = [
        delivery
        for mail in mails
        if (delivery := post(ledger, rules, mail, folder / "outbox", now, send)) is not None
    ]
    sent = {d.message_id: d for d in flush(ledger, rules, now, send)}
    deliveries = [sent.pop(d.message_id, d) for d in deliveries] + list(sent.values())
    return Published(settlement, digest, deliveries)
