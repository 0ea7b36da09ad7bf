"""`reconcile template`: the blank 报备登记表 agencies fill in, and the rules it is judged by.

Sheet “报备登记表” has one header row of the names ingest knows first for each field
(`reconcile.kinds.FIELDS`), so a filled copy is recognised as a report sheet and every column maps
to its field: 客户姓名, 客户电话, 报备时间, 预计到访时间, 经纪人, 报备类型 (only when
`report.types` is configured) and 备注. There is no 渠道 column on purpose: the
folder `inputs/channels/<渠道>/` names the channel, and a column would win over it
(SPEC §2), so one agency's spellings would split it into several channels.

Data validation guides entry without replacing `reconcile check` (pasted cells bypass
it). The phone column accepts what the nightly run admits (parsing and R02 with
`report.min_visible`), written in one canonical form: exactly 11 ASCII characters,
digits and one run of `*`, so `138****1234` and also `1381***1234`, `137***12345`
or a full number. Two deliberate differences from the run: the other spellings it
tolerates (mask glyphs `x` `＊` `●`, spaces or dashes, `+86`, full-width digits, a
miscounted mask `138**1234`) are refused so every row is written one way; and the
first two digits (the 号段 13–19) must show even when `min_visible.prefix` allows
fewer, since a formula that checks the 号段 of a shorter prefix does not fit Excel's
255 characters, and agencies never hide it. Date columns take real date-time cells.

Sheet “说明” is generated from the `Rules` object: only rules an agency is judged
by. Commission terms are left out, since `commission.channels` would tell one
agency another's rate.

The file depends on the rules only, so it carries a fixed timestamp and the same
rules give the same bytes.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.config.kinds import FIELDS
from reconcile.config.rules import Quota, ReportType, Rules
from reconcile.judge.reasons import REASONS
from reconcile.judge.reasons.entry import (
    clock_range_text,
    duration_text,
    period_text,
    quota_text,
)
from reconcile.judge.reasons.modes import mode_of
from reconcile.judge.vocabulary import Code
from reconcile.publish import wechat_form
from reconcile.publish.text import neutralise
from reconcile.publish.workbook import (
    DATETIME_FORMAT,
    HEADER_ALIGNMENT,
    HEADER_FILL,
    HEADER_FONT,
    cell_text,
    display_width,
    new_workbook,
    save_workbook,
)

# A fixed name rather than one built from the project: the CLI can name its default
# before reading any rules, and 报备 in the name is a hint ingest reads as a report.
DEFAULT_TEMPLATE_NAME = "报备登记表.xlsx"
REPORT_SHEET = "报备登记表"
NOTES_SHEET = "说明"
TEXT_FORMAT = "@"
# Sanity bounds for typed dates, not a rule: reports may precede the opening date.
EARLIEST, LATEST = date(2020, 1, 1), date(2100, 12, 31)
EXAMPLE_NUMBER = "13800001234"
EXAMPLE_TIME = "2026-11-18 17:20"

# The file depends on the rules only, so its timestamps do not move either.
STAMP = datetime(2020, 1, 1)
_LAST_ROW = 1_048_576  # validation and formats cover the whole column: no row limit to outgrow
_MOBILE_LENGTH = 11
# Excel refuses a validation list literal longer than this.
_MAX_LIST = 255
_WIDTHS = {
    "customer_name": 14,
    "phone": 16,
    "reported_at": 18,
    "expected_visit_at": 18,
    "agent": 12,
    "report_type": 12,
    "remark": 32,
}
_DATETIME_FIELDS = ("reported_at", "expected_visit_at")
_CN_DIGITS = ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一")
_TOPIC_WIDTH, _TEXT_WIDTH = 16, 80
_LINE_HEIGHT = 18  # points per wrapped line of 11-point CJK text
_TITLE_FONT = Font(bold=True, size=14)
_SECTION_FONT = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")


def template_fields(rules: Rules) -> list[str]:
    """The canonical fields of the template's columns, in order."""
    typed = ["report_type"] if rules.report.types else []
    return ["customer_name", "phone", "reported_at", "expected_visit_at", "agent", *typed, "remark"]


def template_headers(rules: Rules) -> list[str]:
    """The header row: each field's first built-in alias, the name ingest knows best."""
    return [FIELDS[field].aliases[0] for field in template_fields(rules)]


def write_template(rules: Rules, out: Path) -> Path:
    """Write the template for `rules` to `out` (atomically, same rules → same bytes)."""
    wb = new_workbook()
    _report_sheet(wb.create_sheet(REPORT_SHEET), rules)
    _notes_sheet(wb.create_sheet(NOTES_SHEET), rules)
    return save_workbook(wb, out, STAMP)


# The report sheet ----------------------------------------------------------------------


def _report_sheet(ws: Worksheet, rules: Rules) -> None:
    for index, (field, title) in enumerate(
        zip(template_fields(rules), template_headers(rules), strict=True), start=1
    ):
        cell = ws.cell(row=1, column=index, value=title)
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, HEADER_ALIGNMENT
        letter = get_column_letter(index)
        column = ws.column_dimensions[letter]
        column.width = max(_WIDTHS[field], display_width(title) + 2)
        # Column styles, not cell styles: Excel gives them to every cell typed later, and
        # no empty styled cells make readers see thousands of blank rows.
        if field == "phone":
            column.number_format = TEXT_FORMAT  # a full number stays text, not 1.38E+10
        elif field in _DATETIME_FIELDS:
            column.number_format = DATETIME_FORMAT
        validation = _validation(field, f"{letter}2", rules)
        if validation is not None:
            validation.add(f"{letter}2:{letter}{_LAST_ROW}")
            ws.add_data_validation(validation)
    ws.freeze_panes = "A2"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    fit_to_page_width(ws)


def _validation(field: str, cell: str, rules: Rules) -> DataValidation | None:
    if field == "phone":
        return DataValidation(
            type="custom",
            formula1=phone_formula(rules, cell),
            allow_blank=True,
            showErrorMessage=True,
            showInputMessage=True,
            errorStyle="stop",
            errorTitle="客户电话格式不对",
            error=f"请填写{phone_rule(rules)}。",
            promptTitle="客户电话",
            prompt=phone_rule(rules),
        )
    if field in _DATETIME_FIELDS:
        return DataValidation(
            type="date",
            operator="between",
            formula1=date_formula(EARLIEST),
            formula2=date_formula(LATEST),
            allow_blank=True,
            showErrorMessage=True,
            showInputMessage=True,
            errorStyle="stop",
            errorTitle="日期时间格式不对",
            error=f"请填写 {EARLIEST:%Y-%m-%d} 至 {LATEST:%Y-%m-%d} 之间的日期和时间，"
            f"例如 {EXAMPLE_TIME}。",
            promptTitle=FIELDS[field].aliases[0],
            prompt=f"日期和时间（年-月-日 时:分），如 {EXAMPLE_TIME}",
        )
    if field == "report_type":
        choices = type_list_formula(rules)
        if choices is None:
            return None
        return DataValidation(
            type="list",
            formula1=choices,
            allow_blank=True,
            showErrorMessage=True,
            showInputMessage=True,
            errorStyle="stop",
            errorTitle="报备类型不对",
            error="请从下拉列表中选择报备类型；不填则按普通报备规则。",
            promptTitle="报备类型",
            prompt="从下拉列表选择；不填按普通报备",
        )
    return None


def date_formula(day: date) -> str:
    return f"DATE({day.year},{day.month},{day.day})"


def phone_formula(rules: Rules, cell: str) -> str:
    """The phone column's validation formula, written for its first cell `cell`.

    True when the text is 11 characters, starts with a 号段 13–19, shows at least
    `max(min_visible.prefix, 2)` leading and `min_visible.suffix` trailing digits, hides
    the rest in one run of `*` (or hides nothing), and is digits otherwise. No array
    constants (Excel refuses them in validation) and under Excel's 255 characters.
    """
    visible = rules.report.min_visible
    digits = f'SUBSTITUTE({cell},"*","")'
    first = f'FIND("*",{cell}&"*")'
    hidden = f"{_MOBILE_LENGTH}-LEN({digits})"
    parts = [
        f"LEN({cell})={_MOBILE_LENGTH}",
        f"ABS(LEFT({cell},2)-16)<4",
        f"{first}>{_shown_prefix(rules)}",
        f'ISERR(FIND("*",RIGHT({cell},{visible.suffix})))',
        # One run of stars: as many characters as there are stars, from the first one on,
        # are all stars (no FIND of an empty text: LibreOffice calls that an error).
        f'MID({cell},{first},{hidden})=REPT("*",{hidden})',
        # Digits only: the text read as a whole number and written back is unchanged
        # (a 1 leads, so no leading zero is lost; `.`, `e`, `,` and spaces all change).
        f'INT({digits})&""={digits}',
    ]
    return "AND(" + ",".join(parts) + ")"


def _shown_prefix(rules: Rules) -> int:
    return max(rules.report.min_visible.prefix, 2)


def phone_rule(rules: Rules) -> str:
    """How to write the number, as one phrase: `前三后四的隐号手机号…，例如 138****1234…`."""
    prefix, suffix = _shown_prefix(rules), rules.report.min_visible.suffix
    hidden = _MOBILE_LENGTH - prefix - suffix
    if hidden < 1:
        return f"完整的 11 位手机号，例如 {EXAMPLE_NUMBER}"
    example = EXAMPLE_NUMBER[:prefix] + "*" * hidden + EXAMPLE_NUMBER[_MOBILE_LENGTH - suffix :]
    shown = f"前{_CN_DIGITS[prefix]}" + (f"后{_CN_DIGITS[suffix]}" if suffix else "位")
    return (
        f"{shown}的隐号手机号（共 11 位，隐藏的数字用英文星号 * 代替），例如 {example}；"
        "露出更多数字或填写完整号码也可以"
    )


def type_list_formula(rules: Rules) -> str | None:
    """The report types as an inline list, or None when one cannot be listed verbatim.

    An inline list (not a range on 说明) survives an agency copying the sheet into its
    own workbook. A name with a comma or quote, or one a spreadsheet would run as a
    formula, cannot be listed as it is; 说明 still names every type.
    """
    names = list(rules.report.types)
    listable = all("," not in n and '"' not in n and neutralise(n) == n for n in names)
    formula = '"' + ",".join(names) + '"'
    return formula if names and listable and len(formula) <= _MAX_LIST else None


# The 说明 sheet -------------------------------------------------------------------------


def _notes_sheet(ws: Worksheet, rules: Rules) -> None:
    ws.column_dimensions["A"].width = _TOPIC_WIDTH
    ws.column_dimensions["B"].width = _TEXT_WIDTH
    title = ws.cell(row=1, column=1, value=cell_text(f"{rules.project} 报备登记表填写说明"))
    title.font = _TITLE_FONT
    row = 2
    for section, lines in _notes(rules):
        row += 1
        ws.cell(row=row, column=1, value=section).font = _SECTION_FONT
        for topic, text in lines:
            row += 1
            ws.cell(row=row, column=1, value=cell_text(topic)).alignment = _WRAP
            ws.cell(row=row, column=2, value=cell_text(text)).alignment = _WRAP
            # Stored heights: not every program sizes a wrapped row by itself on opening.
            wrapped = -(-display_width(text) // (_TEXT_WIDTH - 2))
            ws.row_dimensions[row].height = _LINE_HEIGHT * max(wrapped, 1)
        row += 1
    fit_to_page_width(ws)


def fit_to_page_width(ws: Worksheet) -> None:
    """Printed on A4, as wide as the page and as long as it takes."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)


def _notes(rules: Rules) -> list[tuple[str, list[tuple[str, str]]]]:
    sections = [("填写方法", _filling(rules)), ("报备规则（按项目 rules.yaml）", _rules(rules))]
    if rules.report.types:
        sections.append(("报备类型", _types(rules)))
    sections.append(("微信群报备（不填表时）", wechat_form.notes(rules)))
    return sections


def _filling(rules: Rules) -> list[tuple[str, str]]:
    lines = [
        ("项目", rules.project),
        ("时间", f"所有时间按项目所在地时间（时区 {rules.timezone}）填写"),
        (
            "怎么填",
            f"在“{REPORT_SHEET}”工作表中从第 2 行起每行填写一位客户、一个号码；"
            "不要修改第 1 行表头和工作表名称，文件可以另存为任意名称",
        ),
    ]
    lines += [
        (FIELDS[field].aliases[0], _column_note(field, rules)) for field in template_fields(rules)
    ]
    lines += [
        (
            "渠道",
            "表中不填渠道：案场把文件放入对账目录的 inputs/channels/<渠道>/ 文件夹，"
            "文件夹名就是渠道名",
        ),
        (
            "检查",
            "在对账电脑上运行 reconcile check <文件> 可逐行列出需要修改的问题；"
            "粘贴进来的内容不经过表格的下拉和格式校验，以检查结果为准",
        ),
    ]
    return lines


def _column_note(field: str, rules: Rules) -> str:
    report = rules.report
    if field == "customer_name":
        if report.require_surname:
            return f"必填。至少写出姓氏，如 张先生、张女士；没有姓氏的报备无效{_code(Code.R01)}"
        return "选填。客户姓名或称呼，如 张先生"
    if field == "phone":
        return f"必填。{phone_rule(rules)}；露出的数字不够的报备无效{_code(Code.R02)}"
    if field == "reported_at":
        return f"必填。报备的日期和时间（年-月-日 时:分），如 {EXAMPLE_TIME}"
    if field == "expected_visit_at":
        return "选填。客户预计到访的日期和时间，写法同报备时间"
    if field == "agent":
        if any(quota.per == "agent" for quota in _quotas(rules)):
            return "必填。报备经纪人的姓名；名额按经纪人计算"
        return "建议填写。报备经纪人的姓名"
    if field == "report_type":
        names = "、".join(report.types)
        how = "从下拉列表选择" if type_list_formula(rules) is not None else "填写"
        return f"选填。{how}：{names}；不填按普通报备规则，各类型的规则见下方“报备类型”"
    return "选填。其他需要说明的情况"


def _quotas(rules: Rules) -> list[Quota]:
    kinds = [kind.quota for kind in rules.report.types.values()]
    return [quota for quota in (rules.report.quota, *kinds) if quota is not None]


def _rules(rules: Rules) -> list[tuple[str, str]]:
    """The rules agencies are judged by: each reason code's line (its registry entry's
    `notes`), with the settings that are not one code's."""
    report = rules.report

    def line(code: Code) -> tuple[str, str]:
        notes = REASONS[code].notes
        assert notes is not None, f"{code} has no line on the 说明 sheet"
        return notes.topic, notes.text(rules)

    mode = mode_of(rules)
    lines = [("判客方式", mode.notes(rules))]
    if Code.R09 not in mode.unused:
        lines.append(line(Code.R09))
    lines += [
        ("首开日期", _opening(rules)),
        *[
            line(code)
            for code in (
                Code.R08,
                Code.R03,
                Code.R04,
                Code.R05,
                Code.R10,
                Code.R06,  # R06 and R07 share the 案场老客户 line
                Code.P01,
                Code.D01,
                Code.N01,
                Code.C02,
                Code.H01,
            )
            if code not in mode.unused
        ],
    ]
    if report.validity_after_deposit is not None:
        lines.append(
            (
                "交定金后",
                f"客户交小订、认筹或定金后，持有渠道的保护期从交定金当天起延长为 "
                f"{duration_text(report.validity_after_deposit)}（原保护期更长的按原保护期）",
            )
        )
    if report.extension is not None:
        lines.append(line(Code.R11))
    if report.queue is not None:
        lines.append(line(Code.Q01))
    lines += [
        (
            "报备类型",
            "、".join(report.types) + "，见下方" if report.types else "未设置，按上述规则",
        ),
    ]
    if report.type_priority:
        lines.append(
            (
                "类型优先",
                f"撞单时先按报备类型：{' > '.join(report.type_priority)}"
                "（暂定，胜出方须提供证据，以案场裁决为准）",
            )
        )
    return lines


def _types(rules: Rules) -> list[tuple[str, str]]:
    return [(name, _type_rule(kind, rules)) for name, kind in rules.report.types.items()]


def _type_rule(kind: ReportType, rules: Rules) -> str:
    report = rules.report
    same = "同普通报备"
    if kind.window is not None:
        hours = clock_range_text(kind.window)
        if kind.window.day == "before":
            hours += "，且须在到访前一天报备"
    elif kind.hours is not None:
        hours = clock_range_text(kind.hours)
    else:
        hours = f"{same}（{clock_range_text(report.hours) if report.hours else '不限'}）"
    lead = (
        duration_text(kind.lead_time)
        if kind.lead_time is not None
        else f"{same}（{duration_text(report.lead_time)}）"
    )
    validity = period_text(kind.validity or report.validity, "报备时间", "报备当天")
    if kind.quota is not None:
        quota = quota_text(kind.quota)
    elif report.quota is not None:
        quota = "计入普通报备的名额"
    else:
        quota = "不限"
    return f"报备时间段：{hours}；提前报备：{lead}；有效期：{validity}；名额：{quota}"


def _opening(rules: Rules) -> str:
    if rules.opening_date is None:
        return "未设置"
    validity = period_text(rules.report.validity_before_opening, "首开日", "首开日")
    return f"{rules.opening_date:%Y-%m-%d}；首开前的报备，有效期从首开日起算：{validity}"


def _code(code: Code) -> str:
    return REASONS[code].cited
