"""Agency receipts: only the agency's own rows, and no word of a collision before signing.

Every cell of every receipt is read back with python-calamine and checked against
what the other channels reported (reports.csv, deals.csv, attribution.csv) and what
the office and the CRM recorded.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest

from reconcile.publish.receipts import receipt_channels, write_receipts
from reconcile.publish.text import masked_phone
from reconcile.publish.workbook import DAYS_FORMAT, cell_text, display_width
from reconcile.testing.nights import MemoryWorkspace
from tests.publish.conftest import HOSTILE_AGENT, SIGNED, Night, alignment, column_width, sheets

SHEETS = ["概要", "报备回执", "归属客户", "佣金"]
SETTLES = [*SHEETS, "结算"]  # a channel with a deal line or a claim
REPORT_HEADER = [
    "报备编号",
    "经纪人",
    "客户",
    "号码",
    "报备时间",
    "报备类型",
    "状态",
    "原因",
    "保护期至",
    "剩余天数",
    "来源",
]
# Words that tell of a collision, a dispute or a ruling between channels.
COLLISION_WORDS = ("撞单", "C01", "C02", "D01", "H01", "J01", "裁决", "分成", "申诉", "他方")


def write(night: Night, folder: Path) -> dict[str, Path]:
    paths = write_receipts(night.judgement, night.rules, night.as_of, folder)
    assert list(paths) == receipt_channels(night.judgement)
    return paths


@pytest.fixture(scope="module")
def garden(night: Night) -> dict[str, Path]:
    return write(night, night.outputs / "channels")


@pytest.fixture(scope="module")
def demo(demo_night: Night) -> dict[str, Path]:
    return write(demo_night, demo_night.outputs / "channels")


def case(which: str, request: pytest.FixtureRequest) -> tuple[Night, dict[str, Path]]:
    night = request.getfixturevalue({"garden": "night", "demo": "demo_night"}[which])
    return night, request.getfixturevalue(which)


def texts(path: Path) -> list[tuple[str, list[str]]]:
    """(sheet, cells of one row as text) for every row of every sheet."""
    return [
        (name, ["" if cell is None else str(cell) for cell in row])
        for name, rows in sheets(path).items()
        for row in rows
    ]


def signed_phones(night: Night) -> set[str]:
    """Customers whose deal reached 签约 by the night, straight from the CRM rows."""
    deals = night.judgement.inputs.deals
    return {
        row["phone"]
        for row in deals.iter_rows(named=True)
        if row["phone"] and (row["signed_at"] or row["stage"] == "签约")
    }


# What a receipt may not contain ----------------------------------------------------


def owners(row: dict[str, str]) -> set[str]:
    """Channels owning an attribution row: its channel and every channel of a split."""
    found = {row["channel"]} if row["channel"] else set()
    for flag in row["flags"].split(";"):
        if flag.startswith("split="):
            found.add(flag.removeprefix("split=").split(":")[0])
        elif ":" in flag and "=" not in flag:  # later parts of the split list
            found.add(flag.split(":")[0])
    return found


def others_data(night: Night, channel: str) -> tuple[set[str], set[str]]:
    """(texts no cell may contain, texts no cell may equal) for `channel`'s receipt."""
    reports = night.contract("reports")
    deals = night.contract("deals")
    attribution = night.contract("attribution")
    mine = [r for r in reports if r["channel"] == channel]
    mine_deals = [d for d in deals if d["channel"] == channel]
    own_names = {r["customer_name"] for r in mine}
    own_agents = {r["agent"] for r in mine} | {d["agent"] for d in mine_deals}
    own_phones = {r["customer_phone"] for r in mine} | {d["customer_phone"] for d in mine_deals}
    own_phones |= {a["customer_phone"] for a in attribution if channel in owners(a)}
    own_phones.discard("")
    own_shown = {r["phone_pattern"] for r in mine} | {masked_phone(p) for p in own_phones}

    contained = {r["channel"] for r in (*reports, *deals) if r["channel"]} - {channel}
    for row in reports:
        if row["channel"] == channel or row["customer_phone"] in own_phones:
            continue
        if row["customer_phone"]:
            contained |= {row["customer_phone"], masked_phone(row["customer_phone"])}
        contained.add(row["phone_pattern"])
    contained = {text for text in contained if text} - own_shown - {channel}

    people = {r["customer_name"] for r in reports if r["channel"] != channel}
    people |= {a["customer_name"] for a in attribution}  # the office's full names
    people |= set(night.judgement.inputs.deals["customer_name"].drop_nulls().to_list())
    agents = {r["agent"] for r in reports if r["channel"] != channel}
    agents |= {d["agent"] for d in deals if d["channel"] != channel}
    agents |= {a["agent"] for a in attribution if channel not in owners(a)}
    equal = {text for text in people - own_names} | {text for text in agents - own_agents}
    equal = {text for text in equal if text} - own_names - own_agents
    return contained, equal | {"'" + text for text in equal}


@pytest.mark.parametrize("which", ["garden", "demo"])
def test_receipts_hold_only_their_own_rows(which: str, request: pytest.FixtureRequest) -> None:
    night, receipts = case(which, request)
    assert len(receipts) >= 3
    for channel, path in receipts.items():
        contained, equal = others_data(night, channel)
        for sheet, row in texts(path):
            for cell in row:
                assert cell not in equal, (channel, sheet, row)
                found = [text for text in contained if text in cell]
                assert not found, (channel, sheet, row, found)


def test_own_rows_are_all_there(night: Night, garden: dict[str, Path]) -> None:
    reports = night.contract("reports")
    dealing = {d["channel"] for d in night.contract("deals")}
    assert dealing & set(garden) and set(garden) - dealing
    for channel, path in garden.items():
        book = sheets(path)
        assert list(book) == (SETTLES if channel in dealing else SHEETS), channel
        # Nothing to settle: no money sheet, and no money in 概要 either.
        money = {row[0] for row in book["概要"]} & {"累计应结", "已付", "本期应付", "预付余额"}
        assert len(money) == (4 if channel in dealing else 0), channel
        assert book["报备回执"][0] == REPORT_HEADER
        ids = [row[0] for row in book["报备回执"][1:] if row[0] != "无"]
        assert sorted(ids) == sorted(r["report_id"] for r in reports if r["channel"] == channel)
        assert book["概要"][1][0] == f"渠道：{cell_text(channel)}"  # whole, neutralised
    lianjia = sheets(garden["链家"])
    first = dict(zip(REPORT_HEADER, lianjia["报备回执"][1], strict=True))
    assert first["经纪人"] == "'" + HOSTILE_AGENT  # text, never a formula
    assert first["号码"] == "138****0001" and first["客户"] == "张先生"
    assert first["来源"] == "channels/链家/报备.xlsx#报备!2"
    assert [row[0] for row in lianjia["佣金"][1:]] == ["D-1", "D-5"]
    assert {row[0] for row in lianjia["归属客户"][1:]} == {"138****0001", "135****0005"}


def test_unreadable_phone_row_is_listed_as_invalid(garden: dict[str, Path]) -> None:
    rows = sheets(garden["安居客"])["报备回执"]
    row = dict(zip(REPORT_HEADER, rows[1], strict=True))
    assert len(rows) == 2
    assert row["状态"] == "无效" and row["原因"].startswith("R02 号码不合规")
    assert row["号码"] == "" and "62345678" not in row["原因"]


def test_a_file_of_another_folder_is_not_named(garden: dict[str, Path]) -> None:
    """Rows named by a 渠道 column in channels/汇总/: the folder is someone else's."""
    rows = sheets(garden["../../evil"])["报备回执"]
    source = dict(zip(REPORT_HEADER, rows[1], strict=True))["来源"]
    assert "汇总" not in source and source.endswith("第 3 行")


@pytest.mark.parametrize("which", ["garden", "demo"])
def test_before_signing_no_collision_is_told(which: str, request: pytest.FixtureRequest) -> None:
    night, receipts = case(which, request)
    signed = signed_phones(night)
    if which == "garden":
        assert signed == SIGNED
    phone_of = {r["report_id"]: r["customer_phone"] for r in night.contract("reports")}
    phone_of |= {d["deal_id"]: d["customer_phone"] for d in night.contract("deals")}
    checked = 0
    for channel, path in receipts.items():
        for name, rows in sheets(path).items():
            if name == "概要":
                continue
            key = 5 if name == "归属客户" else 0  # 报备编号 / 成交编号
            for row in rows[1:]:
                phone = phone_of.get(str(row[key]))
                if phone in signed:
                    continue
                text = " ".join(map(str, row))
                assert not [w for w in COLLISION_WORDS if w in text], (channel, name, row)
                checked += 1
    assert checked > 0
    if which == "garden":
        by_id = {
            (channel, row[0]): row[6:8]
            for channel, path in receipts.items()
            for row in sheets(path)["报备回执"][1:]
        }
        ids = {
            (r["channel"], r["customer_phone"]): r["report_id"] for r in night.contract("reports")
        }
        # C8: 链家 lost to 我爱我家, only 认购 → neutral words.
        assert by_id[("链家", ids[("链家", "13300000008")])] == [
            "未获归属",
            "客户已有归属，详情请咨询案场",
        ]
        # C4: a tie and no deal → 审核中 for both.
        for channel in ("我爱我家", "房多多"):
            assert by_id[(channel, ids[(channel, "13600000004")])] == ["审核中", "归属审核中"]


def test_after_signing_the_codes_may_be_named(night: Night, garden: dict[str, Path]) -> None:
    ids = {(r["channel"], r["customer_phone"]): r["report_id"] for r in night.contract("reports")}

    def report_row(channel: str, phone: str) -> list:
        rows = sheets(garden[channel])["报备回执"]
        return next(row for row in rows if row[0] == ids[(channel, phone)])

    assert report_row("我爱我家", "13800000001")[6:8] == ["撞单未获归属", "C01 撞单-他方优先"]
    assert report_row("链家", "13700000003")[6:8] == ["撞单待裁决", "D01 撞单待裁决"]
    commission = {row[0]: row for row in sheets(garden["房多多"])["佣金"][1:]}
    assert commission["D-2"][7:] == ["暂缓结佣", "H01 申诉期内暂缓结佣"]
    assert commission["D-5"][5] == 0.5 and commission["D-5"][8] == "J01 按裁决"
    assert commission["D-7"][5] == ""  # before signing the share is not shown


def test_hostile_channel_names_give_safe_files(night: Night, garden: dict[str, Path]) -> None:
    folder = night.outputs / "channels"
    names = [path.name for path in garden.values()]
    assert sorted(names) == sorted(p.name for p in folder.iterdir())
    for path in garden.values():
        assert path.parent == folder and path.resolve().parent == folder.resolve()
        assert not path.name.startswith(".") and "/" not in path.name and ".." not in path.name
    assert garden["../../evil"].name.startswith("evil_")
    assert garden["a/b"].name.startswith("a_b_")
    assert "*" not in garden["房*"].name
    assert garden["Abc"].name.casefold() != garden["ABC"].name.casefold()
    assert len({name.casefold() for name in names}) == len(names)
    escaped = [p for p in night.root.rglob("*evil*") if folder not in p.parents]
    assert escaped == []


def test_layout_freeze_filters_pages(garden: dict[str, Path]) -> None:
    book = openpyxl.load_workbook(garden["链家"])
    assert book.sheetnames == SETTLES
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
        assert sheet["A1"].font.b
        assert sheet.page_setup.orientation == "landscape"
        # xlsxwriter leaves out fitToWidth="1": absent is OOXML's default, 1
        assert int(sheet.page_setup.fitToWidth or 1) == 1
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert book["报备回执"]["E2"].number_format == "yyyy-mm-dd hh:mm"
    assert book["佣金"]["G2"].number_format.startswith('"¥"')
    assert all(book["结算"][f"{c}2"].number_format.startswith('"¥"') for c in "DEF")


@pytest.mark.parametrize("which", ["garden", "demo"])
def test_long_reasons_wrap_inside_their_column_in_print(
    which: str, request: pytest.FixtureRequest
) -> None:
    _, receipts = case(which, request)
    wrapped = {
        "报备回执": ("原因", "来源"),
        "归属客户": ("备注",),
        "佣金": ("原因",),
        "结算": ("说明",),
    }
    tall = 0
    for path in receipts.values():
        book = openpyxl.load_workbook(path)
        for name, titles in wrapped.items():
            if name not in book.sheetnames:
                continue
            sheet = book[name]
            header = [cell.value for cell in sheet[1]]
            for title in titles:
                letter = openpyxl.utils.get_column_letter(header.index(title) + 1)
                width = column_width(sheet, letter)
                # xlsxwriter stores Excel's cell padding with the width (60 → 60.71)
                assert 6 <= int(width) <= 60, (path.name, name, title)
                for cell in sheet[letter][1:]:
                    look = alignment(sheet, cell)
                    assert look.wrap_text and look.vertical == "top"
                    if not isinstance(cell.value, str):
                        continue
                    # the row holds every line the text needs at the column's width
                    lines = sum(-(-display_width(p) // (int(width) - 1)) or 1
                                for p in cell.value.split("\n"))  # fmt: skip
                    height = sheet.row_dimensions[cell.row].height or 15
                    assert height >= 15 * lines, (path.name, cell.coordinate, cell.value)
                    tall += lines > 1
    assert tall, "no reason long enough to wrap: the test shows nothing"


def test_receipts_are_deterministic_and_stale_ones_go(night: Night, tmp_path: Path) -> None:
    (tmp_path / "已退出渠道.xlsx").write_bytes(b"an earlier run's receipt")
    first = write(night, tmp_path)
    second = write(night, tmp_path / "again")
    assert sorted(p.name for p in tmp_path.glob("*.xlsx")) == sorted(p.name for p in first.values())
    for channel, path in first.items():
        assert path.read_bytes() == second[channel].read_bytes(), channel


def test_a_pending_report_shows_until_when_it_holds_and_the_days_left(tmp_path: Path) -> None:
    # An agency's report not yet visited holds for report.validity: its receipt says until
    # when, and how many days are left after the night (red under 3), as 归属客户 does.
    ws = MemoryWorkspace("project: 山湖一号\nreport: {validity: 30d}\n")
    header = ["客户姓名", "客户电话", "报备时间", "经纪人"]
    ws.put(
        "channels/链家/报备.xlsx",
        {
            "报备": [
                header,
                ["张先生", "138****1234", "2026-11-18 10:00", "王五"],
                ["李女士", "139****5678", "2026-10-23 10:00", "王五"],
                ["先生", "137****0000", "2026-11-18 11:00", "王五"],  # R01: invalid
            ]
        },
    )
    night = ws.run(date(2026, 11, 20))
    path = write_receipts(night.judgement, ws.rules, night.as_of, tmp_path)["链家"]
    rows = [dict(zip(REPORT_HEADER, row, strict=True)) for row in sheets(path)["报备回执"][1:]]
    shown = {row["号码"]: (row["状态"], row["保护期至"], row["剩余天数"]) for row in rows}
    assert shown == {
        "138****1234": ("待到访", "2026-12-17 24:00", 27),
        "139****5678": ("待到访", "2026-11-21 24:00", 1),
        "137****0000": ("无效", "", ""),
    }
    sheet = openpyxl.load_workbook(path)["报备回执"]
    days = REPORT_HEADER.index("剩余天数") + 1
    assert sheet.cell(row=2, column=days).number_format == DAYS_FORMAT
