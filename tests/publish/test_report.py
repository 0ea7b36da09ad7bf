"""The dispute report: what the admin reads each morning, checked in data, HTML and a browser."""

from __future__ import annotations

import re
import struct
from datetime import date
from pathlib import Path

import pytest

from reconcile.config.workspace import Workspace
from reconcile.ops.pipeline import RunSummary, run
from reconcile.publish.digest import Before, Digest, Section
from reconcile.publish.report import render_html, render_text, settlement_mail
from tests.publish.browser import view_on_phone
from tests.scenarios.test_scenarios import make_workspace, write_input

RULES = """\
project: 测试项目
report:
  hours: {start: "08:00", end: "20:00"}
  validity: 3d
visit:
  protection: 5d
conflict:
  min_gap: 1h
  appeal_window: 24h
notify:
  admin: [admin@example.com]
  finance: [finance@example.com]
"""
REPORT_HEADER = ["客户姓名", "客户电话", "报备时间", "经纪人"]
VISIT_HEADER = ["客户姓名", "客户电话", "到访时间", "渠道", "经纪人"]
DEAL_HEADER = [
    "成交编号", "房号", "客户姓名", "客户电话", "成交阶段",
    "认购日期", "签约日期", "退房日期", "成交金额",
]  # fmt: skip
HOSTILE_AGENT = '<script>alert("x")</script>'
NIGHT_1, NIGHT_2 = date(2026, 11, 19), date(2026, 11, 20)


def _night_one(inputs: Path) -> None:
    write_input(inputs, "channels/链家/报备.xlsx", {"报备": [
        REPORT_HEADER,
        ["张先生", "138****1234", "2026-11-19 09:00", "王五"],   # tie with 我爱我家 → dispute
        ["刘女士", "139****5678", "2026-11-18 14:00", "王五"],   # loses to 房多多 (C01)
        ["何先生", "150****0001", "2026-11-19 22:30", "王五"],   # after hours (R03)
        ["=HYPERLINK(\"http://evil\")", "151****0002", "2026-11-19 10:00", HOSTILE_AGENT],
    ]})  # fmt: skip
    write_input(inputs, "channels/我爱我家/报备.xlsx", {"报备": [
        REPORT_HEADER,
        ["张先生", "138****1234", "2026-11-19 09:20", "赵六"],
        ["李先生", "137****0000", "2026-11-18 09:00", "赵六"],   # fits two visitors → ambiguous
        ["孙先生", "1380013800", "2026-11-19 11:00", "赵六"],    # unreadable phone → R02
    ]})  # fmt: skip
    write_input(inputs, "channels/房多多/报备.xlsx", {"报备": [
        REPORT_HEADER,
        ["刘女士", "139****5678", "2026-11-18 10:00", "周杰"],
        ["钱先生", "186****4321", "2026-11-19 10:00", "周杰"],   # still waiting for a visit
    ]})  # fmt: skip
    write_input(inputs, "visits/来访.xlsx", {"来访": [
        VISIT_HEADER,
        ["张三", "13812341234", "2026-11-19 15:00", None, None],
        ["刘梅", "13912345678", "2026-11-19 10:00", "房多多", "周杰"],
        ["李一", "13711110000", "2026-11-18 11:00", None, None],
        ["李二", "13722220000", "2026-11-18 12:00", None, None],
    ]})  # fmt: skip
    write_input(inputs, "crm/成交.xlsx", {"成交": [
        DEAL_HEADER,
        ["A-0101", "1-1501", "刘梅", "13912345678", "签约", None, "2026-11-19", None, 2000000],
        ["B-0202", "2-0802", "张三", "13812341234", "认购", "2026-11-19", None, None, 1000000],
    ]})  # fmt: skip
    (inputs / "channels/房多多/坏文件.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")


def _night_two(inputs: Path) -> None:
    write_input(inputs, "rulings/裁决.xlsx", {"裁决": [
        ["客户电话", "归属渠道", "经纪人", "裁决日期", "备注"],
        ["13812341234", "我爱我家", "赵六", "2026-11-20", "我爱我家提供了带看录音"],
    ]})  # fmt: skip
    write_input(inputs, "crm/成交.xlsx", {"成交": [
        DEAL_HEADER,
        ["A-0101", "1-1501", "刘梅", "13912345678", "退房", None, "2026-11-19", "2026-11-20", 2e6],
    ]})  # fmt: skip


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> tuple[Workspace, RunSummary, RunSummary]:
    root = make_workspace(tmp_path_factory.mktemp("busy"), RULES)
    _night_one(root / "inputs")
    workspace = Workspace.open(root)
    first = run(workspace, NIGHT_1)
    _night_two(root / "inputs")
    second = run(workspace, NIGHT_2)
    return workspace, first, second


def _section(digest: Digest, key: str) -> Section:
    return next(section for section in digest.sections if section.key == key)


def _titles(section: Section) -> list[str]:
    return [card.title for group in section.groups for card in group.cards]


def _fields(section: Section) -> list[tuple[str, str]]:
    return [field for group in section.groups for card in group.cards for field in card.fields]


def test_headline_counts_match_the_judgement(nights):
    _, first, _ = nights
    digest = first.published.digest
    tiles = {tile.key: tile.value for tile in digest.headline}
    statuses = [r.status for r in first.judgement.reports]
    assert tiles["disputed"] == str(statuses.count("disputed")) == "2"
    assert tiles["invalid"] == str(statuses.count("invalid") + first.judgement.error_reports.height)
    assert tiles["disputes"] == "1" and tiles["collisions"] == "1" and tiles["to_confirm"] == "1"
    assert tiles["files"] == "1"
    assert tiles["payable"] == "¥0.00"  # the collision's deal is held inside the appeal window
    assert tiles["held"] == "¥20,000.00"
    # the dispute's deal carries no commission until ruled: the tile says what is at stake
    assert tiles["disputed_deals"] == "¥10,000.00"
    labels = {tile.key: tile.label for tile in digest.headline}
    # the held tile counts the lines whose commission it sums, not the dispute's line
    assert labels["held"] == "暂缓结佣（1 笔）"
    assert labels["disputed_deals"] == "待裁决成交佣金（1 笔，至多）"


def test_no_held_tile_when_nothing_is_held(nights):
    _, _, second = nights
    assert not [line for line in second.judgement.deals if line.status == "held"]
    digest = second.published.digest
    assert "held" not in {tile.key for tile in digest.headline}  # no ¥0.00 to go looking for
    subject = settlement_mail(digest, [], "settlement.xlsx")[0]
    assert "暂缓" not in subject and "可结佣" in subject


def test_a_dispute_alone_shows_its_stake_not_a_zero_held_tile(tmp_path):
    root = make_workspace(tmp_path, RULES)
    inputs = root / "inputs"
    write_input(inputs, "channels/链家/报备.xlsx", {"报备": [
        REPORT_HEADER, ["张先生", "138****1234", "2026-11-19 09:00", "王五"],
    ]})  # fmt: skip
    write_input(inputs, "channels/我爱我家/报备.xlsx", {"报备": [
        REPORT_HEADER, ["张先生", "138****1234", "2026-11-19 09:20", "赵六"],
    ]})  # fmt: skip
    write_input(inputs, "visits/来访.xlsx", {"来访": [
        VISIT_HEADER, ["张三", "13812341234", "2026-11-19 15:00", None, None],
    ]})  # fmt: skip
    write_input(inputs, "crm/成交.xlsx", {"成交": [
        DEAL_HEADER,
        ["B-0202", "2-0802", "张三", "13812341234", "认购", "2026-11-19", None, None, 1000000],
    ]})  # fmt: skip
    summary = run(Workspace.open(root), NIGHT_1)
    [line] = summary.judgement.deals
    assert line.status == "held" and line.channel is None and line.commission == 0
    tiles = {tile.key: tile for tile in summary.published.digest.headline}
    assert "held" not in tiles
    assert tiles["disputed_deals"].value == "¥10,000.00"
    [money] = [x for x in render_text(summary.published.digest).splitlines() if x[:3] == "佣金："]
    assert "待裁决成交佣金（1 笔，至多） ¥10,000.00" in money and "暂缓" not in money


def test_sections_hold_the_night_most_urgent_first(nights):
    _, first, _ = nights
    digest = first.published.digest
    assert [s.key for s in digest.sections] == [
        "collisions", "disputes", "ambiguous", "invalid", "expiring", "changes", "files",
    ]  # fmt: skip
    disputes = _section(digest, "disputes")
    assert _titles(disputes) == ["138****1234 张三"]
    assert ("申诉截止", "2026-11-20 15:00") in _fields(disputes)
    assert ("涉及成交", "B-0202 · 认购 · ¥1,000,000.00，佣金暂缓") in _fields(disputes)
    assert ("到访保护期至", "2026-11-23 24:00") in _fields(_section(digest, "expiring"))
    candidates = [value for label, value in _fields(disputes) if label == "候选"]
    assert candidates == [
        "链家 / 王五（报备 2026-11-19 09:00）",
        "我爱我家 / 赵六（报备 2026-11-19 09:20）",
    ]

    collisions = _section(digest, "collisions")
    assert ("归属", "房多多 / 周杰") in _fields(collisions)
    assert ("撞单未获归属", "链家 / 王五（报备 2026-11-18 14:00）：撞单-他方优先") in _fields(
        collisions
    )

    ambiguous = _fields(_section(digest, "ambiguous"))
    assert [v for label, v in ambiguous if label == "可能是"] == [
        "137****0000 李一，首次到访 2026-11-18 11:00",
        "137****0000 李二，首次到访 2026-11-18 12:00",
    ]
    invalid = _section(digest, "invalid")
    assert [group.title for group in invalid.groups] == [
        "R01 缺少客户姓氏", "R02 号码不合规", "R03 超出报备时段",
    ]  # fmt: skip
    expiring = _section(digest, "expiring")
    assert "186****4321 钱先生" in _titles(expiring)  # report protection ends within 7 days
    files = _section(digest, "files")
    assert any(card.title == "channels/房多多/坏文件.xlsx" for card in files.groups[0].cards)
    # the first night has nothing before it to compare with
    assert _section(digest, "changes").total == 0


def test_changes_since_the_previous_night(nights):
    _, _, second = nights
    changes = _section(second.published.digest, "changes")
    titles = {group.title: [card.title for card in group.cards] for group in changes.groups}
    assert titles["归属发生变化的客户"] == ["138****1234 张三"]
    assert ("昨晚", "待裁决") in _fields(changes) and ("今晚", "我爱我家 / 赵六") in _fields(
        changes
    )
    assert titles["新退房"] == ["A-0101"]
    refund = next(group for group in changes.groups if group.title == "新退房").cards[0]
    assert refund.sources == ("crm/成交.xlsx#成交!2",)
    assert "新出现的撞单与争议" not in titles
    assert _section(second.published.digest, "disputes").total == 0


def test_what_a_night_decided_is_kept_and_read_back_unchanged(nights):
    workspace, first, _ = nights
    decided = Before.of(first.judgement)
    assert decided.invalid and decided.holders and decided.contested
    assert Before.from_bytes(decided.to_bytes()) == decided


def test_every_phone_is_masked_and_every_cell_escaped(nights):
    workspace, first, _ = nights
    html = first.published.report.read_text(encoding="utf-8")
    text = render_text(first.published.digest)
    for body in (html, text):
        assert not re.search(r"(?<!\d)1\d{10}(?!\d)", body), "a full phone number is shown"
    assert HOSTILE_AGENT not in html and "<script" not in html
    assert '&lt;script&gt;alert("x")&lt;/script&gt;' in html
    assert "<style" not in html and 'style="' in html  # CSS inlined for mail clients
    assert first.published.report == workspace.reports / "2026-11-19" / "dispute_report.html"


def test_each_section_with_items_says_what_the_admin_should_do(nights):
    _, first, _ = nights
    digest = first.published.digest
    html = first.published.report.read_text(encoding="utf-8")
    text = render_text(digest)
    actions = {s.key: s.action for s in digest.sections}
    assert "在裁决表填写归属渠道或分成，放入 inputs/rulings/" in actions["disputes"]
    assert "完整号码" in actions["ambiguous"] and "inputs/rulings/" in actions["ambiguous"]
    assert actions["invalid"] == "无需处理，回执已告知渠道。"
    assert actions["expiring"].startswith("提醒渠道尽快带看")
    for section in (s for s in digest.sections if s.key != "changes"):
        assert section.action, section.key
        shown = f"怎么处理：{section.action}"
        # said once where there is something to do, and not under an empty section
        assert html.count(shown) == text.count(shown) == (1 if section.total else 0), section.key
    assert _section(digest, "changes").total == 0  # the first night: nothing to compare


def test_the_header_says_where_the_prefilled_ruling_sheet_is(nights):
    workspace, first, _ = nights
    digest = first.published.digest
    assert digest.ruling_sheet == "outputs/2026-11-19/裁决表_2026-11-19.xlsx"
    assert (workspace.root / digest.ruling_sheet).is_file()
    said = "预填的裁决表：outputs/2026-11-19/裁决表_2026-11-19.xlsx（填好后放入 inputs/rulings/）"
    assert said in render_text(digest)
    html = first.published.report.read_text(encoding="utf-8")
    header = html[html.index('class="header"') : html.index('class="tiles-title"')]
    assert "outputs/2026-11-19/裁决表_2026-11-19.xlsx" in header


def test_an_empty_section_says_so(tmp_path):
    root = make_workspace(tmp_path, "project: 空项目\n")
    summary = run(Workspace.open(root), NIGHT_1)
    html = summary.published.report.read_text(encoding="utf-8")
    for section in summary.published.digest.sections:
        assert section.empty in html
    assert "没有等待裁决的争议。" in render_text(summary.published.digest)


def test_the_report_reads_well_at_phone_width_in_chromium(nights, tmp_path):
    workspace, first, _ = nights
    shot = workspace.outputs / "2026-11-19" / "dispute_report.png"
    view = view_on_phone(first.published.report, shot, tmp_path / "profile")
    measured = view.probe
    assert measured["innerWidth"] == 390
    assert measured["scrollWidth"] <= measured["innerWidth"], "the page scrolls sideways"
    expected = {tile.key: tile for tile in first.published.digest.headline}
    seen = {tile["key"]: tile for tile in measured["tiles"]}
    assert len(seen) == len(measured["tiles"]) == len(expected), "a headline key is repeated"
    assert set(seen) == set(expected)
    for key, tile in seen.items():
        assert tile["shown"] and tile["width"] > 0 and tile["height"] > 0, key
        assert 0 <= tile["left"] and tile["right"] <= measured["innerWidth"], key
        assert expected[key].value in tile["text"] and expected[key].label in tile["text"], key
    for key in ("disputes", "collisions", "to_confirm", "files", "payable", "held"):
        assert seen[key]["bottom"] <= measured["innerHeight"], f"{key} is below the first screen"
    lines = {line["key"]: line for line in measured["lines"]}
    digest = first.published.digest
    assert set(lines) == {"ruling_sheet"} | {s.key for s in digest.sections if s.total}
    for key, line in lines.items():
        assert line["shown"] and line["width"] > 0 and line["height"] > 0, key
        assert 0 <= line["left"] and line["right"] <= measured["innerWidth"], key
    assert "outputs/2026-11-19/裁决表_2026-11-19.xlsx" in lines["ruling_sheet"]["text"]
    assert "在裁决表填写归属渠道或分成" in lines["disputes"]["text"]
    width, height = struct.unpack(">II", shot.read_bytes()[16:24])
    assert width == 390 and height > measured["innerHeight"]  # the whole page, not one screen


def test_sheets_set_aside_and_unused_columns_are_in_the_files_section(tmp_path):
    root = make_workspace(tmp_path, "project: 测试项目\n")
    write_input(root / "inputs", "channels/链家/报备.xlsx", {
        "报备": [
            [*REPORT_HEADER, "业绩"],
            ["张先生", "138****1234", "2026-11-19 09:00", "王五", "3"],
        ],
        "成交": [["房号", "客户电话", "成交总价", "状态"], ["1-1001", "13812341234", "1", "签约"]],
    })  # fmt: skip
    summary = run(Workspace.open(root), NIGHT_1)
    files = _section(summary.published.digest, "files")
    groups = {group.title: group.cards for group in files.groups}
    [set_aside] = groups["未读取的工作表（数据未进入台账）"]
    assert set_aside.title == "channels/链家/报备.xlsx · 成交"
    assert "缺少必需的列“成交日期（或认购、签约日期）”" in dict(set_aside.fields)["原因"]
    unused = next(cards for title, cards in groups.items() if title.startswith("未使用的列"))
    assert [(card.title, card.fields) for card in unused] == [
        ("channels/链家/报备.xlsx · 报备", (("业绩", "未识别的列"),))
    ]
    html = summary.published.report.read_text(encoding="utf-8")
    assert "未读取的工作表" in html and "业绩" in html


def test_a_sheet_read_whole_though_it_names_only_other_projects_is_in_the_files_section(
    tmp_path,
):
    """A 销售明细 whose 项目 column names only other projects is read whole (the project may
    be spelled otherwise there): the admin is told so in the dispute report, not only in
    `check` and the run's summary."""
    root = make_workspace(tmp_path, "project: 测试项目\n")
    write_input(root / "inputs", "crm/销售明细.xlsx", {
        "销售明细": [
            ["项目名称", "房间", "客户名称", "联系电话", "认购日期", "成交总价"],
            ["测试花园", "5#-2-802", "张三", "13812345678", "2026-11-18", 3000000],
        ],
    })  # fmt: skip
    summary = run(Workspace.open(root), NIGHT_1)
    files = _section(summary.published.digest, "files")
    groups = {group.title: group.cards for group in files.groups}
    [heed] = groups["读取时需要核对的工作表"]
    assert heed.title == "crm/销售明细.xlsx · 销售明细"
    assert "没有一行是本项目“测试项目”" in dict(heed.fields)["注意"]
    html = summary.published.report.read_text(encoding="utf-8")
    assert "读取时需要核对的工作表" in html and "测试花园" in html


def _brought_by_lianjia(
    inputs: Path, reported: str = "2026-11-10 10:00", visited: str = "2026-11-12 15:00"
) -> None:
    """张先生 138****1234 reported by 链家's 王五, and brought by him as 张三 13812341234."""
    write_input(inputs, "channels/链家/报备.xlsx", {"报备": [
        REPORT_HEADER, ["张先生", "138****1234", reported, "王五"],
    ]})  # fmt: skip
    write_input(inputs, "visits/来访.xlsx", {"来访": [
        VISIT_HEADER, ["张三", "13812341234", visited, "链家", "王五"],
    ]})  # fmt: skip


def test_a_refund_with_nothing_to_claw_back_is_news_too(tmp_path):
    root = make_workspace(tmp_path, "project: 测试项目\n")
    inputs = root / "inputs"
    _brought_by_lianjia(inputs, "2026-11-18 09:00", "2026-11-19 10:00")
    write_input(inputs, "crm/成交.xlsx", {"成交": [
        DEAL_HEADER,
        ["C-0303", "3-0101", "张三", "13812341234", "认购", "2026-11-19", None, None, 1e6],
    ]})  # fmt: skip
    run(Workspace.open(root), NIGHT_1)
    write_input(inputs, "crm/成交.xlsx", {"成交": [
        DEAL_HEADER,
        ["C-0303", "3-0101", "张三", "13812341234", "退房", "2026-11-19", None, "2026-11-20", 1e6],
    ]})  # fmt: skip
    second = run(Workspace.open(root), NIGHT_2)
    [line] = [line for line in second.judgement.deals if line.deal_id == "C-0303"]
    assert line.status == "not_payable" and "X02" in line.reason_codes
    changes = _section(second.published.digest, "changes")
    titles = {group.title: [card.title for card in group.cards] for group in changes.groups}
    assert titles["新退房"] == ["C-0303"]


def test_one_flat_sold_to_two_buyers_stays_two_deals_and_is_listed(tmp_path):
    root = make_workspace(tmp_path, "project: 测试项目\n")
    write_input(root / "inputs", "crm/成交.xlsx", {"成交": [
        DEAL_HEADER,
        ["SHYH-0101", "6-1802", "汤娟芳", "19194642278", "签约", "2026-11-14", "2026-11-16",
         None, 3260000],
        ["SHYH-0102", "6-1802", "袁敏怡", "18848583473", "认购", "2026-11-19", None, None, 2880000],
    ]})  # fmt: skip
    summary = run(Workspace.open(root), NIGHT_1)
    deals = {line.deal_id: line for line in summary.judgement.deals}
    assert set(deals) == {"SHYH-0101", "SHYH-0102"}
    assert deals["SHYH-0101"].amount == 3260000 and deals["SHYH-0102"].amount == 2880000
    section = _section(summary.published.digest, "flats_sold_twice")
    [card] = [card for group in section.groups for card in group.cards]
    assert card.title == "6-1802" and [label for label, _ in card.fields] == [
        "SHYH-0101",
        "SHYH-0102",
    ]
    assert card.sources == ("crm/成交.xlsx#成交!2", "crm/成交.xlsx#成交!3")


def test_a_deal_followed_through_a_record_closed_by_room_change_is_listed(tmp_path):
    root = make_workspace(tmp_path, "project: 测试项目\ndeal: {commission_stage: 认购}\n")
    _brought_by_lianjia(root / "inputs")
    header = [
        "房间信息",
        "认购编号",
        "客户名称",
        "联系电话",
        "认购日期",
        "成交总价",
        "状态",
        "关闭原因",
    ]
    write_input(root / "inputs", "crm/认购单.xlsx", {"认购单": [
        header,
        ["5#-2-802", "RG-1", "张三", "13812341234", "2026-11-13", 3000000, "关闭", "换房"],
        ["5#-2-902", "RG-2", "张三", "13812341234", "2026-11-16", 3200000, "激活", None],
    ]})  # fmt: skip
    summary = run(Workspace.open(root), NIGHT_1)
    section = _section(summary.published.digest, "moves_followed")
    [card] = [card for group in section.groups for card in group.cards]
    assert card.title == "RG-1" and dict(card.fields)["房间"] == "5-2-802 → 5-2-902"
    assert card.sources == ("crm/认购单.xlsx#认购单!2", "crm/认购单.xlsx#认购单!3")
    assert section.title in render_text(summary.published.digest)
    assert section.title in render_html(summary.published.digest)


def _unpriced_night(root: Path) -> RunSummary:
    """A deal of 链家's customer with no 成交金额, judged on NIGHT_1."""
    _brought_by_lianjia(root / "inputs")
    write_input(root / "inputs", "crm/成交.xlsx", {"成交": [
        DEAL_HEADER,
        ["A-0101", "1-1501", "张三", "13812341234", "签约", "2026-11-15", "2026-11-16", None, None],
    ]})  # fmt: skip
    return run(Workspace.open(root), NIGHT_1)


def test_a_channels_deal_without_an_amount_is_listed_and_a_fixed_fee_one_is_not(tmp_path):
    summary = _unpriced_night(make_workspace(tmp_path, "project: 测试项目\n"))
    [line] = summary.judgement.deals
    assert line.status == "payable" and line.commission == 0.0
    section = _section(summary.published.digest, "unpriced")
    [card] = [card for group in section.groups for card in group.cards]
    assert card.title == "A-0101" and dict(card.fields)["渠道"] == "链家 / 王五"
    assert card.sources == ("crm/成交.xlsx#成交!2",)

    fixed_fee = "project: 测试项目\ncommission: {default: {fixed: 8000}}\n"
    night = _unpriced_night(make_workspace(tmp_path / "fixed", fixed_fee))
    assert "unpriced" not in {section.key for section in night.published.digest.sections}
