"""`reconcile template`: the agencies' 报备登记表, read back by calamine and openpyxl.

A filled template must pass `reconcile check`; its phone validation formula is run
by LibreOffice against the numbers the nightly run admits; its 说明 sheet states the
project's own rules.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from reconcile.cli.main import main
from reconcile.config.rules import Rules, parse_duration, parse_rules
from reconcile.ingest.files import classify_path, read_input
from reconcile.ingest.headers import AliasTable, recognise_kind
from reconcile.normalise.phones import parse_phone
from reconcile.publish.template import (
    DEFAULT_TEMPLATE_NAME,
    NOTES_SHEET,
    REPORT_SHEET,
    duration_text,
    period_text,
    phone_formula,
    type_list_formula,
    write_template,
)
from reconcile.publish.workbook import DATETIME_FORMAT, display_width
from tests.publish.browser import require_tool

TYPED = """\
project: 山湖一号
opening_date: 2026-12-01
report:
  hours: {start: "08:00", end: "18:00"}
  lead_time: 1h
  validity: 7d
  quota: {per: agent, limit: 20}
  max_delay: 24h
  types:
    预报备: {window: {start: "18:00", end: "21:00", day: before}, validity: next_day, quota: {per: channel, limit: 10000}}
    临报: {lead_time: 30m, validity: same_day, quota: {per: channel, limit: 30}}
  type_priority: [预报备, 临报]
existing_customer: {released_after: 14d}
visit: {protection: forever}
conflict: {min_gap: 1h}
"""  # noqa: E501
# Nothing like the defaults or the demo: every sentence must come from the rules.
UNUSUAL = """\
project: 云栖府
timezone: Asia/Urumqi
report:
  require_surname: false
  min_visible: {prefix: 4, suffix: 3}
  hours: {start: "21:00", end: "02:00"}
  lead_time: 45m
  validity: 2mo
  quota: {per: channel, limit: 7}
  self_duplicate: invalidate_all
existing_customer: {crm_contact_before_report: false, prior_visit: false}
visit: {protection: 90d, renewal: null}
conflict: {order: [first_report, first_visit], natural_visit: natural, brought_by_other: natural,
           appeal_window: 3d}
"""
VARIANTS = {"default": "", "typed": TYPED, "unusual": UNUSUAL}
BASE_HEADER = ["客户姓名", "客户电话", "报备时间", "预计到访时间", "经纪人"]
HEADERS = {
    "default": [*BASE_HEADER, "备注"],
    "typed": [*BASE_HEADER, "报备类型", "备注"],
    "unusual": [*BASE_HEADER, "备注"],
}
FIELDS = {
    "客户姓名": "customer_name",
    "客户电话": "phone",
    "报备时间": "reported_at",
    "预计到访时间": "expected_visit_at",
    "经纪人": "agent",
    "报备类型": "report_type",
    "备注": "remark",
}
DEFAULT_PHONE_FORMULA = (
    'AND(LEN(B2)=11,ABS(LEFT(B2,2)-16)<4,FIND("*",B2&"*")>3,ISERR(FIND("*",RIGHT(B2,4))),'
    'MID(B2,FIND("*",B2&"*"),11-LEN(SUBSTITUTE(B2,"*","")))=REPT("*",11-LEN(SUBSTITUTE(B2,"*",""))),'
    'INT(SUBSTITUTE(B2,"*",""))&""=SUBSTITUTE(B2,"*",""))'
)
WHOLE_COLUMN = 1_048_576
SOFFICE_TIMEOUT = 180


def rules_of(variant: str) -> Rules:
    return parse_rules(VARIANTS[variant])


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("templates")
    return {
        name: write_template(rules_of(name), folder / name / DEFAULT_TEMPLATE_NAME)
        for name in VARIANTS
    }


def calamine_rows(path: Path, sheet: str) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def notes(path: Path) -> dict[str, str]:
    """说明 as topic → text (rows with text in column B; a repeated topic's lines joined)."""
    texts: dict[str, list[str]] = {}
    for row in calamine_rows(path, NOTES_SHEET):
        if len(row) > 1 and row[1] != "":
            texts.setdefault(str(row[0]), []).append(str(row[1]))
    return {topic: "\n".join(lines) for topic, lines in texts.items()}


def validations(path: Path) -> dict[str, openpyxl.worksheet.datavalidation.DataValidation]:
    ws = openpyxl.load_workbook(path)[REPORT_SHEET]
    return {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}


# The report sheet ------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_header_row_is_recognised_as_a_report_sheet(templates, variant):
    path = templates[variant]
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == [REPORT_SHEET, NOTES_SHEET]
    rows = calamine_rows(path, REPORT_SHEET)
    assert rows == [HEADERS[variant]]  # a blank template: the header and nothing else
    aliases = AliasTable.build(rules_of(variant).columns)
    fields = [aliases.field_for(header) for header in rows[0]]
    assert fields == [FIELDS[header] for header in HEADERS[variant]]
    names = (REPORT_SHEET, Path(DEFAULT_TEMPLATE_NAME).stem)
    assert recognise_kind(set(fields), "channels", names) == "report"
    assert recognise_kind(set(fields), None, ("Sheet1", "x")) == "report"


@pytest.mark.parametrize("variant", VARIANTS)
def test_layout_frozen_header_formats_and_widths(templates, variant):
    ws = openpyxl.load_workbook(templates[variant])[REPORT_SHEET]
    assert ws.freeze_panes == "A2"
    formats = {
        ws.cell(row=1, column=i).value: ws.column_dimensions[letter].number_format
        for i, letter in enumerate("ABCDEFG"[: len(HEADERS[variant])], start=1)
    }
    assert formats["客户电话"] == "@"  # a full number stays text, not 1.38E+10
    assert formats["报备时间"] == formats["预计到访时间"] == DATETIME_FORMAT == "yyyy-mm-dd hh:mm"
    assert formats["客户姓名"] == formats["经纪人"] == "General"
    for index, header in enumerate(HEADERS[variant], start=1):
        cell = ws.cell(row=1, column=index)
        assert cell.font.bold
        width = ws.column_dimensions[cell.column_letter].width
        assert width >= display_width(header) + 2
    assert ws.column_dimensions["C"].width >= 17  # `2026-11-18 17:20` fits


@pytest.mark.parametrize("variant", VARIANTS)
def test_data_validations(templates, variant):
    found = validations(templates[variant])
    letters = {header: "ABCDEFG"[i] for i, header in enumerate(HEADERS[variant])}
    phone = found.pop(f"B2:B{WHOLE_COLUMN}")
    assert (phone.type, phone.errorStyle, phone.allow_blank) == ("custom", "stop", True)
    assert phone.formula1 == phone_formula(rules_of(variant), "B2")
    assert phone.showErrorMessage and phone.showInputMessage
    assert phone.errorTitle == "客户电话格式不对"
    for header in ("报备时间", "预计到访时间"):
        letter = letters[header]
        dated = found.pop(f"{letter}2:{letter}{WHOLE_COLUMN}")
        assert (dated.type, dated.operator, dated.errorStyle) == ("date", "between", "stop")
        assert (dated.formula1, dated.formula2) == ("DATE(2020,1,1)", "DATE(2100,12,31)")
        assert "2020-01-01" in dated.error and "2100-12-31" in dated.error
    if variant == "typed":
        listed = found.pop(f"F2:F{WHOLE_COLUMN}")
        assert (listed.type, listed.formula1, listed.errorStyle) == (
            "list",
            '"预报备,临报"',
            "stop",
        )
    assert found == {}  # 姓名, 经纪人 and 备注 take any text
    for dv in validations(templates[variant]).values():
        # Excel's limits: longer titles, messages or formulas make it "repair" the file.
        assert len(dv.formula1) <= 255
        assert len(dv.errorTitle) <= 32 and len(dv.promptTitle) <= 32
        assert len(dv.error) <= 255 and len(dv.prompt) <= 255


def test_default_phone_formula_and_message_are_exactly_the_intended_ones(templates):
    phone = validations(templates["default"])[f"B2:B{WHOLE_COLUMN}"]
    assert phone.formula1 == DEFAULT_PHONE_FORMULA
    assert phone.error.startswith("请填写前三后四的隐号手机号")
    assert "例如 138****1234" in phone.error


@pytest.mark.parametrize(
    ("min_visible", "shown_prefix", "example"),
    [
        (
            "{prefix: 3, suffix: 4}",
            3,
            "前三后四的隐号手机号（共 11 位，隐藏的数字用英文星号 * 代替）",
        ),
        ("{prefix: 3, suffix: 4}", 3, "例如 138****1234；露出更多数字或填写完整号码也可以"),
        (
            "{prefix: 4, suffix: 4}",
            4,
            "前四后四的隐号手机号（共 11 位，隐藏的数字用英文星号 * 代替）",
        ),
        ("{prefix: 4, suffix: 4}", 4, "例如 1380***1234"),
        ("{prefix: 3, suffix: 5}", 3, "例如 138***01234"),
        ("{prefix: 3, suffix: 0}", 3, "前三位的隐号手机号"),
        # The 号段 always shows: a formula cannot check it for a shorter prefix.
        ("{prefix: 0, suffix: 4}", 2, "前二后四的隐号手机号"),
        ("{prefix: 0, suffix: 4}", 2, "例如 13*****1234"),
        ("{prefix: 11, suffix: 0}", 11, "完整的 11 位手机号，例如 13800001234"),
    ],
)
def test_phone_rule_follows_min_visible(tmp_path, min_visible, shown_prefix, example):
    rules = parse_rules(f"report:\n  min_visible: {min_visible}\n")
    formula = phone_formula(rules, "B2")
    assert f'FIND("*",B2&"*")>{shown_prefix},' in formula
    assert f"RIGHT(B2,{rules.report.min_visible.suffix})" in formula
    phone = validations(write_template(rules, tmp_path / "t.xlsx"))[f"B2:B{WHOLE_COLUMN}"]
    assert example in phone.error and example in phone.prompt


# The phone formula, evaluated by a real spreadsheet --------------------------------------

PHONE_CASES = [
    "138****1234", "1381***1234", "137***12345", "1381****123", "13812345678", "19912345678",
    "13*****1234", "1*******234", "138*******4", "1381234****", "1381234567*",
    "138***1234", "138*****1234", "138****123", "1381234567", "138123456789",
    "128****1234", "238****1234", "10812345678", "12812345678",
    "138**4*1234", "1*8****1234", "***********", "*******1234",
    "138xxxx1234", "138XXXX1234", "138＊＊＊＊1234", "１３８****1234", "138●●●●1234",
    "138.***1234", "138****12.4", "138 ***1234", " 138****123", "1e8****1234",
    "138****1E34", "138-***1234", "1,8****1234", "-38****1234", "+86138**123",
    "138/***1234", "13:****1234", "13%****1234",
]  # fmt: skip
FORMULA_VARIANTS = {
    "3-4": "{prefix: 3, suffix: 4}",
    "4-4": "{prefix: 4, suffix: 4}",
    "0-4": "{prefix: 0, suffix: 4}",
    "3-0": "{prefix: 3, suffix: 0}",
    "11-0": "{prefix: 11, suffix: 0}",
}


def run_admits(value: str, rules: Rules) -> bool:
    """Whether the nightly run admits the number on R02 (parsing, then min_visible)."""
    parsed = parse_phone(value)
    if parsed.error_code is not None or len(parsed.phones) != 1:
        return False
    phone = parsed.phones[0]
    visible = rules.report.min_visible
    return len(phone.prefix) >= visible.prefix and (
        phone.is_full or len(phone.suffix) >= visible.suffix
    )


def template_admits(value: str, rules: Rules) -> bool:
    """The run's verdict narrowed as the module says: one spelling, the 号段 shown."""
    canonical = re.fullmatch(r"[0-9*]{11}", value) is not None
    shows_segment = re.match(r"1[3-9]", value) is not None
    return canonical and shows_segment and run_admits(value, rules)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[object]]:
    """Per variant, LibreOffice's result of the phone formula for each of PHONE_CASES.

    The validation formula goes into ordinary cells beside the typed values; LibreOffice
    calculates them on load and stores the results, which calamine reads.
    """
    soffice = require_tool("soffice")
    folder = tmp_path_factory.mktemp("phone_formula")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, visible in FORMULA_VARIANTS.items():
        ws = wb.create_sheet(name)
        rules = parse_rules(f"report:\n  min_visible: {visible}\n")
        for row, value in enumerate(PHONE_CASES, start=1):
            ws.cell(row=row, column=1, value=value).number_format = "@"
            ws.cell(row=row, column=2, value="=" + phone_formula(rules, f"A{row}"))
    source = folder / "probe.xlsx"
    wb.save(source)
    profile = f"-env:UserInstallation={(folder / 'profile').as_uri()}"
    out = folder / "out"
    command = [
        soffice, "--headless", "--norestore", profile,
        "--convert-to", "xlsx", "--outdir", str(out), str(source),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=SOFFICE_TIMEOUT)
    assert done.returncode == 0, done.stderr
    book = CalamineWorkbook.from_path(str(out / "probe.xlsx"))
    results = {}
    for name in FORMULA_VARIANTS:
        rows = book.get_sheet_by_name(name).to_python()
        assert [row[0] for row in rows] == PHONE_CASES
        results[name] = [row[1] for row in rows]
    shutil.rmtree(folder / "profile", ignore_errors=True)
    return results


@pytest.mark.parametrize("variant", FORMULA_VARIANTS)
def test_phone_formula_accepts_what_the_run_admits(evaluated, variant):
    rules = parse_rules(f"report:\n  min_visible: {FORMULA_VARIANTS[variant]}\n")
    # An error result (#VALUE!) refuses the entry like FALSE does.
    got = {
        value: result is True for value, result in zip(PHONE_CASES, evaluated[variant], strict=True)
    }
    expected = {value: template_admits(value, rules) for value in PHONE_CASES}
    assert got == expected
    assert got["13812345678"]  # a full number is always admitted
    assert any(got[value] for value in PHONE_CASES if "*" in value) == (variant != "11-0")


# The 说明 sheet ------------------------------------------------------------------------

NOTE_FRAGMENTS = {
    "default": [
        ("项目", "示例项目"),
        ("时间", "Asia/Shanghai"),
        ("客户电话", "前三后四的隐号手机号"),
        ("客户电话", "138****1234"),
        ("客户姓名", "必填。至少写出姓氏"),
        ("报备有效期", "30 天，报备当天算第 1 天，到第 30 天 24:00 止"),
        ("首开日期", "未设置"),
        ("提前报备时间", "至少 30 分钟"),
        ("报备时间段", "不限"),
        ("名额", "不限"),
        ("重复报备", "只保留第一条"),
        ("倒签", "不检查"),
        ("案场老客户", "老客户不会释放"),
        ("到访保护期", "30 天，首次到访当天算第 1 天"),
        ("到访保护期", "最后 7 天内原渠道再次带看的，从到期次日起延长 30 天"),
        ("撞单", "先带客户到访者优先 → 先报备者优先"),
        ("自行到访", "归最早有效报备的渠道"),
        ("带看未报备", "客户归报备的渠道"),
        ("申诉期", "到访后 24 小时内"),
        ("报备类型", "未设置"),
        ("渠道", "inputs/channels/<渠道>/"),
        ("渠道", "文件夹名就是渠道名"),
        ("检查", "reconcile check"),
    ],
    "typed": [
        ("项目", "山湖一号"),
        ("报备有效期", "7 天，报备当天算第 1 天，到第 7 天 24:00 止"),
        ("首开日期", "2026-12-01；首开前的报备，有效期从首开日起算：30 天"),
        ("提前报备时间", "至少 1 小时"),
        ("报备时间段", "08:00–18:00（含两端）"),
        ("名额", "每位经纪人每天最多 20 条"),
        ("经纪人", "必填。报备经纪人的姓名；名额按经纪人计算"),
        ("报备类型", "预报备、临报"),
        ("类型优先", "预报备 > 临报"),
        ("倒签", "早 24 小时以上"),
        ("案场老客户", "满 14 天后，客户释放为公共客户"),
        ("到访保护期", "长期有效"),
        ("撞单", "相隔不到 1 小时视为同时"),
        ("预报备", "报备时间段：18:00–21:00，且须在到访前一天报备"),
        ("预报备", "提前报备：同普通报备（1 小时）"),
        ("预报备", "有效期：2 天，报备当天算第 1 天，到第 2 天 24:00 止"),
        ("预报备", "名额：每个渠道每天最多 10000 条"),
        ("临报", "报备时间段：同普通报备（08:00–18:00）"),
        ("临报", "提前报备：30 分钟"),
        ("临报", "有效期：到报备当天 24:00 止"),
        ("临报", "名额：每个渠道每天最多 30 条"),
    ],
    "unusual": [
        ("项目", "云栖府"),
        ("时间", "Asia/Urumqi"),
        ("客户姓名", "选填"),
        ("客户电话", "前四后三的隐号手机号"),
        ("客户电话", "1380****234"),
        ("报备有效期", "2 个月"),
        ("提前报备时间", "至少 45 分钟"),
        ("报备时间段", "21:00–次日 02:00"),
        ("名额", "每个渠道每天最多 7 条"),
        ("经纪人", "建议填写"),
        ("重复报备", "全部作废"),
        ("案场老客户", "不因案场老客户判报备无效"),
        ("到访保护期", "90 天，首次到访当天算第 1 天，到第 90 天 24:00 止；不续期"),
        ("撞单", "先报备者优先 → 先带客户到访者优先"),
        ("自行到访", "算自然到访"),
        ("带看未报备", "算自然到访"),
        ("申诉期", "到访后 3 天内"),
    ],
}


@pytest.mark.parametrize(
    ("variant", "topic", "fragment"),
    [(variant, *pair) for variant, pairs in NOTE_FRAGMENTS.items() for pair in pairs],
)
def test_notes_state_the_rules_in_force(templates, variant, topic, fragment):
    assert fragment in notes(templates[variant])[topic]


def test_notes_wrap_and_print_on_the_page_width(templates):
    wb = openpyxl.load_workbook(templates["typed"])
    ws = wb[NOTES_SHEET]
    texts = [row[1] for row in ws.iter_rows(min_row=2) if row[1].value]
    assert texts and all(cell.alignment.wrap_text for cell in texts)
    heights = {ws.row_dimensions[cell.row].height for cell in texts}
    assert min(heights) >= 15 and max(heights) > min(heights)  # long rules get more lines
    for sheet in wb.worksheets:
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
    assert wb[REPORT_SHEET].page_setup.orientation == "landscape"
    assert wb[REPORT_SHEET].print_title_rows == "$1:$1"


@pytest.mark.parametrize("variant", VARIANTS)
def test_notes_have_a_types_section_only_when_types_are_configured(templates, variant):
    first_column = [row[0] for row in calamine_rows(templates[variant], NOTES_SHEET)]
    assert first_column.count("报备类型") == (3 if variant == "typed" else 1)
    assert ("预报备" in first_column) == (variant == "typed")


def test_notes_do_not_leak_commission_terms(tmp_path):
    rules = parse_rules("commission:\n  channels: {链家: {rate: 0.012}, 我爱我家: {fixed: 3000}}\n")
    path = write_template(rules, tmp_path / "t.xlsx")
    cells = [
        c for name in (REPORT_SHEET, NOTES_SHEET) for r in calamine_rows(path, name) for c in r
    ]
    text = "".join(str(c) for c in cells)
    assert "我爱我家" not in text and "0.012" not in text and "3000" not in text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("30m", "30 分钟"),
        ("1h", "1 小时"),
        ("48h", "48 小时"),
        ("7d", "7 天"),
        ("2mo", "2 个月"),
        ("same_day", "1 天"),
        ("next_day", "2 天"),
        ("forever", "长期"),
    ],
)
def test_duration_text(text, words):
    assert duration_text(parse_duration(text)) == words


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("30m", "30 分钟，从报备时间起算"),
        ("48h", "48 小时，从报备时间起算"),
        ("same_day", "到报备当天 24:00 止"),
        ("next_day", "2 天，报备当天算第 1 天，到第 2 天 24:00 止"),
        ("30d", "30 天，报备当天算第 1 天，到第 30 天 24:00 止"),
        ("2mo", "2 个月，从报备当天起，到 2 个月后同一日的前一天 24:00 止"),
        ("forever", "长期有效"),
    ],
)
def test_period_text_counts_as_spec_6_3(text, words):
    assert period_text(parse_duration(text), "报备时间", "报备当天") == words


# A filled template -------------------------------------------------------------------------

EVENING, NEXT_MORNING = datetime(2026, 11, 18, 19, 0), datetime(2026, 11, 19, 10, 0)
FILLED = {
    "default": [
        ["张先生", "138****1234", EVENING, NEXT_MORNING, "王五", "首次来电"],
        ["欧阳女士", "1391***5678", datetime(2026, 11, 18, 18, 5), None, "王五", None],
        ["李四", "13712345678", datetime(2026, 11, 19, 9, 30), None, "赵六", None],
    ],
    "typed": [
        ["张先生", "138****1234", EVENING, NEXT_MORNING, "王五", "预报备", None],
        ["欧阳女士", "137***12345", datetime(2026, 11, 19, 9, 0), None, "王五", "临报", "下午到"],
        ["李四", "13912345678", datetime(2026, 11, 19, 9, 30), None, "赵六", None, None],
    ],
    "unusual": [
        ["张先生", "1380****234", datetime(2026, 11, 18, 21, 30), None, "王五", None],
        [None, "13812345678", datetime(2026, 11, 19, 1, 0), None, None, None],
    ],
}


def fill(template: Path, rows: list[list], out: Path) -> Path:
    wb = openpyxl.load_workbook(template)
    ws = wb[REPORT_SHEET]
    for row in rows:
        ws.append(row)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


@pytest.mark.parametrize("variant", VARIANTS)
def test_check_passes_a_filled_template(templates, variant, tmp_path, capsys):
    (tmp_path / "rules.yaml").write_text(VARIANTS[variant], encoding="utf-8")
    rows = FILLED[variant]
    path = fill(templates[variant], rows, tmp_path / "inputs/channels/链家/十一月报备.xlsx")
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"数据行 {len(rows)}：接收 {len(rows)}，拒收 0" in out
    assert "结论：文件可以提交。" in out

    rules = rules_of(variant)
    outcome = read_input(classify_path(path), rules, AliasTable.build(rules.columns))
    assert outcome.rejected is None
    report, instructions = outcome.sheets
    assert (report.name, report.kind, report.header_row) == (REPORT_SHEET, "report", 1)
    assert set(report.mapping) == {FIELDS[h] for h in HEADERS[variant]}
    assert report.rejected == 0 and report.accepted == len(rows)
    assert not report.skipped  # no blank rows below the data, however far the formats reach
    records = report.normalised.records
    assert records["channel"].to_list() == ["链家"] * len(rows)
    assert records["phone_pattern"].to_list() == [row[1] for row in rows]
    stamped = [row[2].strftime("%Y-%m-%dT%H:%M") for row in rows]
    assert [at[:16] for at in records["event_at"].to_list()] == stamped
    if variant == "typed":
        assert records["report_type"].to_list() == ["预报备", "临报", None]
    # 说明 is prose: never read as rows of data.
    assert (instructions.name, instructions.kind, instructions.normalised) == (
        NOTES_SHEET,
        None,
        None,
    )


# Safe text, same bytes ---------------------------------------------------------------------


def test_same_rules_give_the_same_bytes(tmp_path):
    rules = rules_of("typed")
    first = write_template(rules, tmp_path / "a" / DEFAULT_TEMPLATE_NAME).read_bytes()
    second = write_template(rules, tmp_path / "b" / DEFAULT_TEMPLATE_NAME).read_bytes()
    assert first == second
    assert write_template(rules_of("default"), tmp_path / "c.xlsx").read_bytes() != first
    # Written atomically: nothing but the file itself is left in its folder.
    assert [p.name for p in (tmp_path / "a").iterdir()] == [DEFAULT_TEMPLATE_NAME]


def test_rewriting_replaces_the_file(tmp_path):
    out = tmp_path / DEFAULT_TEMPLATE_NAME
    out.write_bytes(b"old")
    assert write_template(Rules(), out) == out
    assert calamine_rows(out, REPORT_SHEET) == [HEADERS["default"]]


HOSTILE_PROJECT = '=HYPERLINK("x")'


def test_hostile_project_and_type_names_are_neutralised(tmp_path):
    rules = parse_rules(
        f"project: '{HOSTILE_PROJECT}'\n"
        "report:\n"
        "  types: {'=1+1': {lead_time: 1h}, '@SUM(1)': {}}\n"
    )
    path = write_template(rules, tmp_path / "t.xlsx")
    texts = notes(path)
    assert texts["项目"] == "'" + HOSTILE_PROJECT
    assert texts["'=1+1"].startswith("报备时间段") and "'@SUM(1)" in texts
    title = calamine_rows(path, NOTES_SHEET)[0][0]
    assert title == f"'{HOSTILE_PROJECT} 报备登记表填写说明"
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            assert all(cell.data_type != "f" for cell in row)
    # A name a spreadsheet would run gets no dropdown; 说明 still lists it.
    assert f"F2:F{WHOLE_COLUMN}" not in validations(path)
    assert "选填。填写：=1+1、@SUM(1)；" in texts["报备类型"]


@pytest.mark.parametrize(
    ("names", "formula"),
    [
        (["预报备", "临报"], '"预报备,临报"'),
        (["A,B"], None),
        (['say "hi"'], None),
        (["=1+1", "临报"], None),
        (["-x"], None),
        ([f"类型{i:03d}" for i in range(50)], None),  # longer than Excel's 255 characters
        ([f"类型{i}" for i in range(10)], '"' + ",".join(f"类型{i}" for i in range(10)) + '"'),
    ],
)
def test_type_dropdown_only_when_listable(names, formula):
    rules = Rules.model_validate({"report": {"types": {name: {} for name in names}}})
    assert type_list_formula(rules) == formula
