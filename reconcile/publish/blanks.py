"""`reconcile template --kind payment|statement|roster`: blank workbooks for the other desks.

- 付款记录 for finance (the `payment` kind, read from `inputs/payments/`),
- 请款单 for agencies (the `statement` kind, read from `inputs/statements/<渠道>/`),
- 轮排表 for the sales office (the `roster` kind, read from `inputs/roster/`: SPEC 6.7).

Each has one header row of the fields' first aliases (what ingest knows best), so a
filled copy is recognised as its kind with every column mapped; data validation
(dates, amounts, list values) guides entry without replacing `reconcile check`; the
header row is frozen, and a 说明 sheet says in plain Chinese what goes in each column.
Like the 报备登记表, a file depends on the rules only: same rules, same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.config.kinds import FIELDS
from reconcile.config.rules import Rules
from reconcile.publish.template import (
    EARLIEST,
    LATEST,
    STAMP,
    TEXT_FORMAT,
    date_formula,
    fit_to_page_width,
    phone_formula,
    phone_rule,
)
from reconcile.publish.workbook import (
    DATE_FORMAT,
    HEADER_ALIGNMENT,
    HEADER_FILL,
    HEADER_FONT,
    cell_text,
    display_width,
    new_workbook,
    save_workbook,
)

NOTES_SHEET = "说明"
AMOUNT_FORMAT = "#,##0.00"
# Sanity bounds, not rules: a negative amount is money returned or clawed back.
AMOUNT_BOUND = 1_000_000_000
YES, NO = "是", "否"

_LAST_ROW = 1_048_576
_TOPIC_WIDTH, _TEXT_WIDTH = 16, 80
_LINE_HEIGHT = 18
_TITLE_FONT = Font(bold=True, size=14)
_SECTION_FONT = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True)
class Column:
    header: str
    kind: str  # text | date | amount | phone | order | yes_no
    note: str  # what goes in it, on the 说明 sheet
    width: int = 14


@dataclass(frozen=True)
class Form:
    kind: str  # the sheet kind a filled copy is read as ('' when none reads it yet)
    sheet: str
    file_name: str
    columns: tuple[Column, ...]
    where: str  # where a filled copy goes


def _field(name: str, kind: str, note: str, width: int = 14) -> Column:
    return Column(FIELDS[name].aliases[0], kind, note, width)


def forms(rules: Rules) -> dict[str, Form]:
    """The blank forms by `--kind`; the statement's phone rule follows `report.min_visible`."""
    number = "成交编号或房号至少填写一项，用来对应到成交"
    return {
        "payment": Form(
            "payment",
            "付款记录",
            "付款记录.xlsx",
            (
                _field(
                    "channel",
                    "text",
                    "必填。收款的渠道（收款单位），名称与渠道的文件夹名一致",
                    16,
                ),
                _field(
                    "payment_amount",
                    "amount",
                    "必填。本次付给渠道的金额（元）；渠道退回的款项写负数",
                ),
                _field("paid_at", "date", "必填。付款的日期（年-月-日），如 2026-11-20"),
                _field("deal_no", "text", f"建议填写。这笔付款对应的成交编号；{number}", 16),
                _field("room", "text", "建议填写。对应成交的房号，如 1-1501"),
                _field("voucher_no", "text", "选填。银行流水号或记账凭证号", 18),
                _field("remark", "text", "选填。其他需要说明的情况", 30),
            ),
            "放入对账工作目录的 inputs/payments/ 文件夹；同一笔付款重复登记只算一次",
        ),
        "statement": Form(
            "statement",
            "请款单",
            "请款单.xlsx",
            (
                _field("deal_no", "text", f"建议填写。案场提供的成交编号；{number}", 16),
                _field("room", "text", "建议填写。成交的房号，如 1-1501"),
                _field("customer_name", "text", "建议填写。成交客户的姓名", 12),
                _field("phone", "phone", f"选填。{phone_rule(rules)}", 16),
                _field("amount", "amount", "选填。成交总价（元）"),
                _field(
                    "claim_amount",
                    "amount",
                    "必填。本次请款的佣金金额（元）；需要退回的佣金写负数",
                ),
                _field(
                    "claimed_at", "date", "选填。请款的日期（年-月-日）；不填按收到文件的那一晚"
                ),
            ),
            "表中不填渠道：放入对账工作目录的 inputs/statements/<渠道>/ 文件夹，"
            "文件夹名就是渠道名；"
            "下月再次请款时，重复的行只算一次",
        ),
        "roster": Form(
            "roster",
            "轮排表",
            "轮排表.xlsx",
            (
                _field("date", "date", "必填。轮排的日期（年-月-日）", 12),
                _field("roster_order", "order", "必填。当天接待的先后顺序：1、2、3……", 8),
                _field("consultant", "text", "必填。置业顾问的姓名，每人每天一行", 14),
                _field(
                    "away",
                    "yes_no",
                    f"从下拉列表选择 {YES} 或 {NO}；休息（休班、请假、外出）的顾问当天不参与轮排，"
                    f"不填视为{NO}",
                    10,
                ),
            ),
            "放入对账工作目录的 inputs/roster/ 文件夹；rules.yaml 设置 rotation 后，"
            "每晚按轮排表核对接待是否按轮排（结果见 rotation.csv 与 performance.xlsx）",
        ),
    }


def write_form(form: Form, rules: Rules, out: Path) -> Path:
    """Write the blank `form` to `out` (atomically, same rules → same bytes)."""
    wb = new_workbook()
    _data_sheet(wb.create_sheet(form.sheet), form, rules)
    _notes_sheet(wb.create_sheet(NOTES_SHEET), form, rules)
    return save_workbook(wb, out, STAMP)


def _data_sheet(ws: Worksheet, form: Form, rules: Rules) -> None:
    for index, column in enumerate(form.columns, start=1):
        cell = ws.cell(row=1, column=index, value=column.header)
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, HEADER_ALIGNMENT
        letter = get_column_letter(index)
        dimension = ws.column_dimensions[letter]
        dimension.width = max(column.width, display_width(column.header) + 2)
        dimension.number_format = {
            "date": DATE_FORMAT,
            "amount": AMOUNT_FORMAT,
            "phone": TEXT_FORMAT,
            "text": TEXT_FORMAT,  # 成交编号 0101 keeps its zero, 凭证号 stays whole
        }.get(column.kind, "General")
        validation = _validation(column, f"{letter}2", rules)
        validation.add(f"{letter}2:{letter}{_LAST_ROW}")
        ws.add_data_validation(validation)
    ws.freeze_panes = "A2"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    fit_to_page_width(ws)


def _validation(column: Column, cell: str, rules: Rules) -> DataValidation:
    validation = _checks(column, cell, rules)
    validation.allow_blank = True
    validation.showErrorMessage = validation.type is not None
    validation.showInputMessage = True
    validation.errorStyle = "stop"
    validation.promptTitle = column.header
    return validation


def _checks(column: Column, cell: str, rules: Rules) -> DataValidation:
    if column.kind == "date":
        return DataValidation(
            type="date",
            operator="between",
            formula1=date_formula(EARLIEST),
            formula2=date_formula(LATEST),
            errorTitle="日期格式不对",
            error=f"请填写 {EARLIEST:%Y-%m-%d} 至 {LATEST:%Y-%m-%d} 之间的日期，例如 2026-11-20。",
            prompt="日期（年-月-日），如 2026-11-20",
        )
    if column.kind == "amount":
        return DataValidation(
            type="decimal",
            operator="between",
            formula1=str(-AMOUNT_BOUND),
            formula2=str(AMOUNT_BOUND),
            errorTitle="金额格式不对",
            error="请填写数字金额（元），如 30000 或 12500.50；不要带“元”或“¥”。",
            prompt="金额（元），只填数字",
        )
    if column.kind == "phone":
        return DataValidation(
            type="custom",
            formula1=phone_formula(rules, cell),
            errorTitle="客户电话格式不对",
            error=f"请填写{phone_rule(rules)}。",
            prompt=phone_rule(rules),
        )
    if column.kind == "order":
        return DataValidation(
            type="whole",
            operator="between",
            formula1="1",
            formula2="999",
            errorTitle="顺序不对",
            error="请填写 1 起的整数。",
            prompt="当天的接待顺序：1、2、3……",
        )
    if column.kind == "yes_no":
        return DataValidation(
            type="list",
            formula1=f'"{YES},{NO}"',
            errorTitle="请选择是或否",
            error=f"请从下拉列表选择 {YES} 或 {NO}。",
            prompt=f"{YES}：当天休息；{NO}或不填：当天参与轮排",
        )
    return DataValidation(type=None, prompt=column.note.split("。")[0])


def _notes_sheet(ws: Worksheet, form: Form, rules: Rules) -> None:
    ws.column_dimensions["A"].width = _TOPIC_WIDTH
    ws.column_dimensions["B"].width = _TEXT_WIDTH
    title = ws.cell(row=1, column=1, value=cell_text(f"{rules.project} {form.sheet}填写说明"))
    title.font = _TITLE_FONT
    lines = [
        (
            "怎么填",
            f"在“{form.sheet}”工作表中从第 2 行起每行填写一条；不要修改第 1 行表头，"
            "文件可以另存为任意名称",
        ),
        *((column.header, column.note) for column in form.columns),
        ("放在哪里", form.where),
    ]
    if form.kind:
        lines.append(
            (
                "检查",
                "在对账电脑上运行 reconcile check 文件名，可逐行列出需要修改的问题；"
                "粘贴进来的内容不经过表格的格式校验，以检查结果为准",
            )
        )
    ws.cell(row=3, column=1, value="填写方法").font = _SECTION_FONT
    for row, (topic, text) in enumerate(lines, start=4):
        ws.cell(row=row, column=1, value=cell_text(topic)).alignment = _WRAP
        ws.cell(row=row, column=2, value=cell_text(text)).alignment = _WRAP
        wrapped = -(-display_width(text) // (_TEXT_WIDTH - 2))
        ws.row_dimensions[row].height = _LINE_HEIGHT * max(wrapped, 1)
    fit_to_page_width(ws)
