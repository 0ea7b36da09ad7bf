"""The admin's 裁决表, pre-filled with the night's open items (SPEC 6.3 Rulings, 8 `template`).

One row per customer the admin may have to rule on: every dispute (D01), every
collision still inside its appeal window and not yet ruled, and every candidate number
of an ambiguous report (A01: one row per number that fits, so the admin keeps the right
one). The phone is the full number, since this is the admin's own file, never an agency's.

The columns the admin fills carry the ruling kind's own headers (each field's first
alias: 归属渠道, 分成, 裁决日期, 备注), so the filled file dropped into
`inputs/rulings/` is read as rulings; the informational columns (事项, 候选, 申诉截止)
are headers no field knows, which ingest keeps as unused columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.config.kinds import FIELDS
from reconcile.config.rules import Rules
from reconcile.judge import Judgement
from reconcile.judge.reasons.h01 import appeal_end, appeal_open
from reconcile.judge.timeline import Episode
from reconcile.judge.vocabulary import OwnerType, ReportStatus
from reconcile.publish.digest import claim_text, deadline_text
from reconcile.publish.text import local_time
from reconcile.publish.workbook import (
    DATE_FORMAT,
    HEADER_ALIGNMENT,
    HEADER_FILL,
    HEADER_FONT,
    cell_text,
    display_width,
    new_workbook,
    night_moment,
    save_workbook,
    setup_page,
)

RULING_SHEET = "裁决表"
NOTES_SHEET = "说明"
DISPUTE, APPEALABLE, AMBIGUOUS = "撞单待裁决", "撞单（申诉期内）", "号码待确认"
# Headers no field declares: ingest reports them unused, and the rulings stay unchanged.
MATTER, CANDIDATES, DEADLINE = "事项", "候选", "申诉截止"
INFO_HEADERS = (
    FIELDS["phone"].aliases[0],
    FIELDS["customer_name"].aliases[0],
    MATTER,
    CANDIDATES,
    DEADLINE,
)
FILL_FIELDS = ("ruling_owner", "ruling_shares", "ruled_at", "remark")
FILL_HEADERS = tuple(FIELDS[field].aliases[0] for field in FILL_FIELDS)
SHARES_EXAMPLE = "链家:0.5;我爱我家:0.5"

_WIDTHS = (15, 12, 16, 46, 18, 16, 24, 12, 30)
_FILL_HERE = PatternFill(fill_type="solid", start_color="FFFFF2CC", end_color="FFFFF2CC")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TITLE_FONT = Font(bold=True, size=14)
_SECTION_FONT = Font(bold=True)
_LAST_ROW = 1_048_576
_NOTE_WIDTH = 80
_LINE_HEIGHT = 15


@dataclass(frozen=True)
class OpenItem:
    """One row of the 裁决表: a customer and what is open about them."""

    phone: str  # the full number
    name: str
    matter: str  # DISPUTE | APPEALABLE | AMBIGUOUS
    candidates: str  # the competing claims, one per line
    deadline: str


def ruling_sheet_name(night: date) -> str:
    return f"裁决表_{night.isoformat()}.xlsx"


def open_items(judgement: Judgement, rules: Rules) -> list[OpenItem]:
    """The night's open items: disputes, then collisions open to appeal, then A01 numbers;
    each group with its earliest deadline or report first."""
    end = judgement.inputs.as_of_end
    zone = rules.zone

    def by_deadline(episode: Episode) -> tuple:
        until = appeal_end(episode, rules)
        return (until is None, until or end, episode.phone)

    disputes = sorted(
        (e for e in judgement.episodes if e.owner_type == OwnerType.DISPUTED), key=by_deadline
    )
    appealable = sorted(
        (
            e
            for e in judgement.episodes
            # A ruled collision is the admin's decision already, appeal window or not.
            if e.owner_type != OwnerType.DISPUTED
            and e.contested  # most customers: no contest, no collision to look for
            and e.had_collision
            and not e.ruled
            and appeal_open(e, rules, end)
        ),
        key=by_deadline,
    )
    items = [
        OpenItem(
            e.phone,
            e.customer_name or "",
            DISPUTE,
            "\n".join(
                claim_text(r, zone) for r in e.contested if r.status == ReportStatus.DISPUTED
            ),
            deadline_text(e, rules, end),
        )
        for e in disputes
    ]
    items += [
        OpenItem(
            e.phone,
            e.customer_name or "",
            APPEALABLE,
            "\n".join(f"{r.status.label}：{claim_text(r, zone)}" for r in e.contested),
            deadline_text(e, rules, end),
        )
        for e in appealable
    ]
    names = {e.phone: e.customer_name for e in judgement.episodes if e.customer_name}
    first_visits: dict[str, datetime] = {}
    for e in judgement.episodes:
        if e.first_visit_at is not None:
            first_visits[e.phone] = min(
                first_visits.get(e.phone, e.first_visit_at), e.first_visit_at
            )
    ambiguous = sorted(
        (r for r in judgement.reports if r.status == ReportStatus.AMBIGUOUS),
        key=lambda r: (r.at, r.order),
    )
    for report in ambiguous:
        numbers = judgement.fits.get(report.row_id, [])
        claim = f"隐号报备 {report.phone_pattern} {report.customer_name or ''}".rstrip()
        fits = f"符合的 {len(numbers)} 个号码：{'、'.join(numbers)}"
        for number in numbers:
            visit = first_visits.get(number)
            seen = f"\n此号码首次到访 {local_time(visit, zone)}" if visit else ""
            items.append(
                OpenItem(
                    number,
                    names.get(number) or "",
                    AMBIGUOUS,
                    f"{claim}：{claim_text(report, zone)}\n{fits}{seen}",
                    "—",
                )
            )
    return items


NATURAL_OWNER = "自然到访"  # one of config.kinds.NO_CHANNEL: the ruling names no channel


def night_channels(judgement: Judgement) -> list[str]:
    """The channels the night knows, from its reports and its episodes' owners."""
    channels = {r.channel for r in judgement.reports if r.channel}
    channels |= {c for e in judgement.episodes for c in e.channels if c}
    return sorted(channels)


def write_ruling_sheet(
    judgement: Judgement, rules: Rules, out: Path, items: list[OpenItem] | None = None
) -> Path:
    """Write the pre-filled 裁决表 to `out` (atomically; the same night gives the same bytes).

    `items`: the night's `open_items`, when the caller has them already."""
    night = judgement.inputs.as_of
    # 自然到访 last: a ruling that no channel holds the customer (its deals pay nobody).
    channels = [*night_channels(judgement), NATURAL_OWNER]
    wb = new_workbook()
    ws = wb.create_sheet(RULING_SHEET)
    notes = wb.create_sheet(NOTES_SHEET)
    channel_range = _notes_sheet(notes, rules, night, channels)
    _ruling_sheet(ws, open_items(judgement, rules) if items is None else items, channel_range)
    setup_page(ws, rules.project, f"裁决表（{night.isoformat()} 待处理）", night)
    return save_workbook(wb, out, night_moment(night, rules.zone))


def publish_ruling_sheet(judgement: Judgement, rules: Rules, folder: Path) -> Path | None:
    """The night's 裁决表 in `folder` when something is open; else None, and a copy an
    earlier run of the same night left there is removed so it cannot be filled in vain."""
    out = folder / ruling_sheet_name(judgement.inputs.as_of)
    items = open_items(judgement, rules)
    if not items:
        out.unlink(missing_ok=True)
        return None
    return write_ruling_sheet(judgement, rules, out, items)


def workspace_path(path: Path, root: Path) -> str:
    """`path` as the admin finds it from the workspace folder."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


# The ruling sheet ----------------------------------------------------------------------


def _ruling_sheet(ws: Worksheet, items: list[OpenItem], channel_range: str | None) -> None:
    headers = (*INFO_HEADERS, *FILL_HEADERS)
    for index, (title, width) in enumerate(zip(headers, _WIDTHS, strict=True), start=1):
        cell = ws.cell(row=1, column=index, value=title)
        cell.font, cell.alignment = HEADER_FONT, HEADER_ALIGNMENT
        cell.fill = _FILL_HERE if title in FILL_HEADERS else HEADER_FILL
        ws.column_dimensions[get_column_letter(index)].width = max(width, display_width(title) + 2)
    for row, item in enumerate(items, start=2):
        values = (item.phone, item.name, item.matter, item.candidates, item.deadline)
        for column, value in enumerate(values, start=1):
            cell = ws.cell(row=row, column=column, value=cell_text(value))
            cell.alignment = _WRAP
            cell.number_format = "@"
        lines = max(item.candidates.count("\n") + 1, 1)
        ws.row_dimensions[row].height = _LINE_HEIGHT * lines
    letter = {title: get_column_letter(i) for i, title in enumerate(headers, start=1)}
    ws.column_dimensions[letter[INFO_HEADERS[0]]].number_format = "@"
    ws.column_dimensions[letter[FILL_HEADERS[2]]].number_format = DATE_FORMAT
    for header, validation in _validations(letter, channel_range):
        validation.add(f"{letter[header]}2:{letter[header]}{_LAST_ROW}")
        ws.add_data_validation(validation)
    ws.freeze_panes = "A2"
    ws.print_title_rows = "1:1"


def _validations(
    letter: dict[str, str], channel_range: str | None
) -> list[tuple[str, DataValidation]]:
    phone, owner, shares, ruled = INFO_HEADERS[0], *FILL_HEADERS[:3]
    first = {header: f"{column}2" for header, column in letter.items()}
    owner_prompt = "从下拉列表选择今晚出现过的渠道；列表外的渠道名也可以直接填写"
    validations = [
        (
            phone,
            DataValidation(
                type="custom",
                formula1=f'AND(LEN({first[phone]})=11,INT({first[phone]})&""={first[phone]})',
                allow_blank=True,
                showErrorMessage=True,
                showInputMessage=True,
                errorStyle="stop",
                errorTitle="客户电话格式不对",
                error="请填写客户完整的 11 位手机号。",
                promptTitle="客户电话",
                prompt="客户完整的 11 位手机号",
            ),
        ),
        (
            owner,
            DataValidation(
                type="list" if channel_range else None,
                formula1=channel_range,
                allow_blank=True,
                showErrorMessage=channel_range is not None,
                showInputMessage=True,
                errorStyle="warning",
                errorTitle="渠道不在列表中",
                error="这个渠道今晚没有出现过。确认名称无误可以继续。",
                promptTitle="归属渠道",
                prompt=owner_prompt if channel_range else "填写裁决归属的渠道名称",
            ),
        ),
        (
            shares,
            DataValidation(
                type="custom",
                formula1=shares_formula(first[shares]),
                allow_blank=True,
                showErrorMessage=True,
                showInputMessage=True,
                errorStyle="warning",
                errorTitle="分成格式可能不对",
                error=f"分成应写成 {SHARES_EXAMPLE}，各渠道比例合计 100%。",
                promptTitle="分成（多家渠道分佣时填写）",
                prompt=f"如 {SHARES_EXAMPLE}；比例合计 100%。只归一家渠道时不填，只填归属渠道",
            ),
        ),
        (
            ruled,
            DataValidation(
                type="date",
                operator="between",
                formula1="DATE(2020,1,1)",
                formula2="DATE(2100,12,31)",
                allow_blank=True,
                showErrorMessage=True,
                showInputMessage=True,
                errorStyle="stop",
                errorTitle="裁决日期格式不对",
                error="请填写日期，例如 2026-11-20。",
                promptTitle="裁决日期",
                prompt="作出裁决的日期（年-月-日），可不填",
            ),
        ),
    ]
    return validations


def shares_formula(cell: str) -> str:
    """A light check of 分成 at `cell`: a `:`, `：` or `%` in it, and a share at its end.

    The nightly run reads more spellings and rejects shares that do not add up to 100%;
    only functions the product's other validations use (no OR, no ISNUMBER).
    """
    marks = cell
    for mark in (":", "：", "%"):
        marks = f'SUBSTITUTE({marks},"{mark}","")'
    return f'AND(LEN({marks})<LEN({cell}),ISERR(-RIGHT(SUBSTITUTE({cell},"%",""),1))=FALSE)'


# The 说明 sheet -------------------------------------------------------------------------


def _notes_sheet(ws: Worksheet, rules: Rules, night: date, channels: list[str]) -> str | None:
    """Write 说明; returns the range of its channel list for 归属渠道's drop-down, if any."""
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = _NOTE_WIDTH
    title = f"{rules.project} 裁决表填写说明（{night.isoformat()} 判定）"
    ws.cell(row=1, column=1, value=cell_text(title)).font = _TITLE_FONT
    row = 2
    for topic, text in _lines():
        row += 1
        ws.cell(row=row, column=1, value=topic).alignment = _WRAP
        ws.cell(row=row, column=2, value=text).alignment = _WRAP
        wrapped = -(-display_width(text) // (_NOTE_WIDTH - 2))
        ws.row_dimensions[row].height = _LINE_HEIGHT * max(wrapped, 1)
    row += 2
    ws.cell(row=row, column=1, value="今晚的渠道").font = _SECTION_FONT
    if not channels:
        ws.cell(row=row, column=2, value="今晚没有渠道的报备")
        return None
    first = row
    for row, channel in enumerate(channels, start=first):
        ws.cell(row=row, column=2, value=cell_text(channel))
    return f"'{NOTES_SHEET}'!$B${first}:$B${row}"


def _lines() -> list[tuple[str, str]]:
    owner, shares, ruled, remark = FILL_HEADERS
    phone = INFO_HEADERS[0]
    return [
        (
            "这是什么",
            "今晚判定后仍待处理的客户：撞单待裁决、申诉期内的撞单、号码待确认。"
            "本表含完整手机号，只供案场管理员使用，不要转发给渠道",
        ),
        (
            "怎么填",
            f"在黄色的列中填写：{owner}（归一家渠道）或{shares}（多家分佣），"
            f"可选{ruled}和{remark}。{phone}是裁决所指的客户，不要修改；"
            f"{MATTER}、{CANDIDATES}、{DEADLINE}是今晚的情况，只供参考，不会被读取",
        ),
        (
            owner,
            "裁决归属的渠道，可从下拉列表选择；名称须与渠道的文件夹名一致。"
            f"客户不归任何渠道时选“{NATURAL_OWNER}”：各家报备均未获归属，成交不结佣",
        ),
        (shares, f"多家渠道分佣时填写，如 {SHARES_EXAMPLE}，比例合计 100%"),
        (
            ruled,
            "作出裁决的日期；裁决作用于客户在这一天或之前最近的一次到访，不填则作用于客户的第一次到访",
        ),
        (remark, "裁决的依据，如 带看录音、聊天记录"),
        (DISPUTE, "报备时间过近或同时带看，必须裁决，否则这位客户的佣金一直暂缓"),
        (APPEALABLE, "已自动判定归属；只有渠道在申诉截止前提出申诉时才需要裁决"),
        (
            AMBIGUOUS,
            "一份隐号报备符合几位客户，每个符合的号码一行；"
            "在确实是报备客户的那一行填写归属渠道，删去其余几行",
        ),
        (
            "放回哪里",
            "把填好的文件放入工作目录的 inputs/rulings/ 文件夹，下一晚生效；"
            "放入前可以运行 reconcile check 文件名 检查",
        ),
        (
            "没填的行",
            f"没有填写{owner}或{shares}的行不会被读取（计为“未填写裁决的行”），可以留着也可以删除",
        ),
    ]
