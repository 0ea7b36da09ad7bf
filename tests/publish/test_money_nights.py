"""Money across three nights, end to end (issue 14's done-when), through `reconcile run`
with a real SMTP server on 127.0.0.1:

1. 11-30: part of a deal paid (4,000 of 10,000), a lump sum naming no deal (我爱我家),
   链家's 请款单 with a claim that differs, one that agrees, another channel's deal and a
   customer who bought two flats; a tie that needs a ruling;
2. 12-05: a lump sum to 链家 naming no deal; a refund of a paid deal (claw-back X01) and
   of an unpaid one (X02); the November claims now find one deal already paid;
3. 12-06: the admin fills the pre-filled 裁决表 `reconcile template --kind ruling` wrote
   and drops it into inputs/rulings/: the held deal becomes 链家's.

Every night `settlement.csv`, the settlement workbook as LibreOffice recalculates it, and
each agency's receipt agree on what was paid and what is to pay; every yuan paid is on
exactly one line or in the channel's credit; each agency receives its own receipt once
a night, and a second run of a night sends nothing.
"""

from __future__ import annotations

import csv
import email
import io
from collections import defaultdict
from datetime import date
from email import policy
from pathlib import Path

import openpyxl
import pytest

from reconcile.cli.main import main
from reconcile.testing import SheetSpec, write_xlsx
from tests.publish.conftest import recalculate, sheets
from tests.publish.smtp_server import serve

PASSWORD = "money-nights"
# Past nights: a night whose day has not ended defers its mails to the nightly run.
NIGHTS = (date(2026, 11, 30), date(2026, 12, 5), date(2026, 12, 6))
ADDRESSES = {"链家": "jiesuan@lianjia.example.com", "我爱我家": "caiwu@5i5j.example.com"}

RULES = """\
project: 山湖二号
commission: {default: {fixed: 10000}}
conflict: {min_gap: 15m, appeal_window: 24h}
notify:
  admin: [anchang@shanhu.example.com]
  finance: [caiwu@shanhu.example.com]
  channels:
    链家: [jiesuan@lianjia.example.com]
    我爱我家: [caiwu@5i5j.example.com]
  smtp: {host: 127.0.0.1, port: PORT, user: reconcile, password_env: TEST_SMTP}
schedule: {settle: 0s}
"""

REPORT_HEADER = ["客户姓名", "客户电话", "报备时间", "经纪人"]
LIANJIA = [
    ["张先生", "138****1234", "2026-11-10 10:00", "王五"],
    ["李女士", "139****5678", "2026-11-10 11:00", "王五"],
    ["赵先生", "137****0000", "2026-11-10 12:00", "王五"],
    ["孙先生", "136****1111", "2026-11-10 13:00", "王五"],
    ["钱先生", "135****9999", "2026-11-10 14:00", "王五"],
    ["郑先生", "131****4444", "2026-11-11 10:00", "王五"],
]
WOAI = [
    ["周女士", "133****2222", "2026-11-10 10:00", "刘一"],
    # Five minutes after 链家 (min_gap 15m) and the customer came alone: a tie (D01).
    ["郑先生", "131****4444", "2026-11-11 10:05", "刘一"],
]
VISITS = [
    ["张三", "13812341234", "2026-11-12 15:00", "链家", "王五"],
    ["李四", "13912345678", "2026-11-12 16:00", "链家", "王五"],
    ["赵六", "13712340000", "2026-11-12 17:00", "链家", "王五"],
    ["孙七", "13612341111", "2026-11-12 18:00", "链家", "王五"],
    ["钱九", "13512349999", "2026-11-12 19:00", "链家", "王五"],
    ["周八", "13312342222", "2026-11-12 10:00", "我爱我家", "刘一"],
    ["郑十", "13112344444", "2026-11-12 11:00", None, None],
]
DEAL_HEADER = ["成交编号", "房号", "客户姓名", "客户电话", "成交阶段", "认购日期", "签约日期"]
DEALS = [
    ["A-0101", "1-1501", "张三", "13812341234", "签约", "2026-11-15", "2026-11-19"],
    ["A-0102", "1-1502", "李四", "13912345678", "签约", "2026-11-16", "2026-11-20"],
    ["A-0103", "1-1503", "赵六", "13712340000", "签约", "2026-11-16", "2026-11-21"],
    ["A-0104", "1-1504", "孙七", "13612341111", "签约", "2026-11-16", "2026-11-22"],
    ["A-0105", "2-0801", "钱九", "13512349999", "签约", "2026-11-17", "2026-11-23"],
    ["A-0106", "2-0802", "钱九", "13512349999", "签约", "2026-11-17", "2026-11-23"],
    ["B-0201", "3-0301", "周八", "13312342222", "签约", "2026-11-17", "2026-11-21"],
    ["T-0301", "3-0302", "郑十", "13112344444", "签约", "2026-11-18", "2026-11-24"],
]
PAYMENT_HEADER = ["收款单位", "付款金额", "付款日期", "成交编号", "凭证号", "备注"]
CLAIM_HEADER = ["序号", "成交编号", "房号", "客户姓名", "客户电话", "请款金额", "请款日期"]


def _night_one(inputs: Path) -> None:
    write_xlsx(inputs / "channels/链家/报备.xlsx", [SheetSpec("报备", REPORT_HEADER, LIANJIA)])
    write_xlsx(inputs / "channels/我爱我家/报备.xlsx", [SheetSpec("报备", REPORT_HEADER, WOAI)])
    header = ["客户姓名", "客户电话", "到访时间", "渠道", "经纪人"]
    write_xlsx(inputs / "visits/来访登记.xlsx", [SheetSpec("来访", header, VISITS)])
    write_xlsx(inputs / "crm/成交.xlsx", [SheetSpec("成交", DEAL_HEADER, DEALS)])
    payments = [
        ["链家", "4,000.00", "2026-11-25", "A-0101", "FK-001", "部分结佣"],
        ["我爱我家", "6,000.00", "2026-11-26", None, "FK-002", "11月预付"],
    ]
    write_xlsx(inputs / "payments/11月付款.xlsx", [SheetSpec("付款记录", PAYMENT_HEADER, payments)])
    claims = [
        [1, "A-0101", None, "张三", "138****1234", "10,000.00", "2026-11-28"],  # 4,000 paid
        [2, None, "1-1502", "李四", "139****5678", "10,000.00", "2026-11-28"],
        [3, "B-0201", None, "周八", "133****2222", "10,000.00", "2026-11-28"],  # 我爱我家's
        [4, None, None, "钱九", "135****9999", "10,000.00", "2026-11-28"],  # two flats
    ]
    write_xlsx(
        inputs / "statements/链家/11月请款单.xlsx",
        [
            SheetSpec(
                "请款明细",
                CLAIM_HEADER,
                claims,
                title=[["山湖二号 链家 11月佣金请款单"]],
                footer=[["合计", None, None, None, None, "40,000.00", None]],
            )
        ],
    )


def _night_two(inputs: Path) -> None:
    # 链家 is paid 20,000 naming no deal: A-0101's last 6,000, then A-0102, then 4,000
    # of A-0103 (oldest payable first). Then A-0101 (paid in full) and A-0104 (unpaid)
    # are refunded: the CRM export is saved again with their 退房.
    payments = [["链家", "20,000.00", "2026-12-02", None, "FK-003", "11月佣金"]]
    write_xlsx(inputs / "payments/12月付款.xlsx", [SheetSpec("付款记录", PAYMENT_HEADER, payments)])
    header = [*DEAL_HEADER, "退房日期"]
    refunded = {"A-0101": "2026-12-03", "A-0104": "2026-12-03"}
    rows = [
        [*row[:4], "退房" if row[0] in refunded else row[4], *row[5:], refunded.get(row[0])]
        for row in DEALS
    ]
    write_xlsx(inputs / "crm/成交.xlsx", [SheetSpec("成交", header, rows)])


def _night_three(root: Path) -> None:
    """The admin fills 归属渠道 in the pre-filled 裁决表 and drops it into inputs/rulings/."""
    written = root / "裁决表.xlsx"
    assert (
        main(["template", "--kind", "ruling", "--workspace", str(root), "--out", str(written)]) == 0
    )
    book = openpyxl.load_workbook(written)
    sheet = book.worksheets[0]
    header_row, columns = _header(sheet, "客户电话", "归属渠道")
    filled = 0
    for row in sheet.iter_rows(min_row=header_row + 1):
        if row[columns["客户电话"]].value == "13112344444":
            row[columns["归属渠道"]].value = "链家"
            filled += 1
    assert filled == 1, "the tie's customer is pre-filled with the full number"
    book.save(root / "inputs/rulings/裁决表_12月.xlsx")


def _header(sheet, *names: str) -> tuple[int, dict[str, int]]:
    for row in sheet.iter_rows():
        texts = [str(cell.value or "").strip() for cell in row]
        if all(name in texts for name in names):
            return row[0].row, {name: texts.index(name) for name in names}
    raise AssertionError(f"no header row with {names}")


def _settlement(night: Path) -> list[dict[str, str]]:
    text = (night / "settlement.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _cents(text: str) -> int:
    return round(float(text or 0) * 100)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "ws"
    assert main(["init", str(root)]) == 0
    monkeypatch.setenv("TEST_SMTP", PASSWORD)
    return root


def test_three_nights_of_money(workspace: Path, tmp_path: Path) -> None:
    inputs = workspace / "inputs"
    paid_in = {"链家": 0, "我爱我家": 0}
    with serve(user="reconcile", password=PASSWORD) as server:
        (workspace / "rules.yaml").write_text(
            RULES.replace("PORT", str(server.port)), encoding="utf-8"
        )
        received_before = 0
        for number, night in enumerate(NIGHTS, start=1):
            if number == 1:
                _night_one(inputs)
                paid_in = {"链家": 400000, "我爱我家": 600000}
            elif number == 2:
                _night_two(inputs)
                paid_in["链家"] += 2000000
            else:
                _night_three(workspace)
            day = night.isoformat()
            assert main(["run", "--workspace", str(workspace), "--as-of", day]) == 0
            assert main(["run", "--workspace", str(workspace), "--as-of", day]) == 0
            mails = [
                email.message_from_bytes(r.content, policy=policy.default)
                for r in list(server.received)[received_before:]
            ]
            received_before = len(server.received)
            _check_night(workspace / "outputs" / day, day, mails, paid_in, tmp_path / day)
            expectations = NIGHT_CHECKS[number]
            rows = {
                (r["deal_id"], r["channel"]): r for r in _settlement(workspace / "outputs" / day)
            }
            for key, expected in expectations.items():
                assert {k: rows[key][k] for k in expected} == expected, (day, key)


# What each night's settlement.csv says of the lines the story is about.
NIGHT_CHECKS: dict[int, dict[tuple[str, str], dict[str, str]]] = {
    1: {
        ("A-0101", "链家"): {
            "paid": "4000.00",
            "outstanding": "6000.00",
            "claimed": "10000.00",
            "check": "amount_differs",
        },
        ("A-0102", "链家"): {
            "paid": "0.00",
            "outstanding": "10000.00",
            "claimed": "10000.00",
            "check": "ok",
        },
        ("A-0103", "链家"): {"outstanding": "10000.00", "claimed": "", "check": "unclaimed"},
        ("B-0201", "我爱我家"): {"paid": "6000.00", "outstanding": "4000.00", "check": "no_claim"},
        ("B-0201", "链家"): {"commission": "0.00", "claimed": "10000.00", "check": "not_ours"},
        ("钱九 135****9999", "链家"): {"claimed": "10000.00", "check": "ambiguous"},
        ("T-0301", ""): {"status": "held", "check": "no_claim"},
    },
    2: {
        # Paid in full before its refund: all 10,000 is clawed back.
        ("A-0101", "链家"): {
            "status": "clawback",
            "commission": "-10000.00",
            "paid": "10000.00",
            "outstanding": "-10000.00",
            "check": "already_paid",
        },
        ("A-0102", "链家"): {
            "paid": "10000.00",
            "outstanding": "0.00",
            "claimed": "10000.00",
            "check": "already_paid",
        },
        ("A-0103", "链家"): {"paid": "4000.00", "outstanding": "6000.00", "check": "unclaimed"},
        ("A-0104", "链家"): {
            "status": "not_payable",
            "paid": "0.00",
            "outstanding": "0.00",
            "check": "no_claim",
        },
    },
    3: {
        ("T-0301", "链家"): {
            "status": "payable",
            "commission": "10000.00",
            "outstanding": "10000.00",
            "check": "unclaimed",
        },
    },
}


def _check_night(
    folder: Path, day: str, mails: list, paid_in: dict[str, int], scratch: Path
) -> None:
    rows = _settlement(folder)
    by_channel: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        if row["channel"]:
            by_channel[row["channel"]]["paid"] += _cents(row["paid"])
            by_channel[row["channel"]]["outstanding"] += _cents(row["outstanding"])
    # Nothing paid twice: every fen paid is on one line (or the channel's credit, which
    # these nights never leave).
    for channel, total in paid_in.items():
        assert by_channel[channel]["paid"] == total, (day, channel)

    # Each agency with addresses gets exactly its own receipt, once, on the night's
    # first run (the second run sent nothing more).
    receipts = {m["To"]: m for m in mails if "渠道对账回执" in str(m["Subject"])}
    assert sorted(receipts) == sorted(ADDRESSES.values()), day
    for channel, address in ADDRESSES.items():
        mail = receipts[address]
        assert channel in str(mail["Subject"])
        [attachment] = list(mail.iter_attachments())
        receipt = folder / "channels" / f"{channel}.xlsx"
        assert attachment.get_content() == receipt.read_bytes()
        other = next(name for name in ADDRESSES if name != channel)
        texts = {str(v) for rows_ in sheets(receipt).values() for r in rows_ for v in r}
        assert not any(other in text for text in texts), (day, channel)
    assert sum("渠道对账回执" in str(m["Subject"]) for m in mails) == len(ADDRESSES)

    # The workbook, recalculated by LibreOffice, and the receipts agree with the CSV.
    paths = {"settlement": folder / "settlement.xlsx"}
    paths |= {channel: folder / "channels" / f"{channel}.xlsx" for channel in ADDRESSES}
    scratch.mkdir(parents=True, exist_ok=True)
    books = recalculate(paths, scratch)
    summary = _money_summary(books["settlement"])
    for channel in ADDRESSES:
        assert summary[channel]["已付"] == by_channel[channel]["paid"], (day, channel)
        assert summary[channel]["本期应付"] == by_channel[channel]["outstanding"], (day, channel)
        assert _receipt_to_pay(books[channel]) == by_channel[channel]["outstanding"], (
            day,
            channel,
        )


def _money_summary(book: dict[str, list[list]]) -> dict[str, dict[str, int]]:
    """Per channel, 已付 and 本期应付 (in fen) from the workbook's summary sheet."""
    for rows in book.values():
        for index, row in enumerate(rows):
            texts = [str(v).strip() for v in row]
            if "已付" in texts and "本期应付" in texts and "渠道" in texts:
                at = {name: texts.index(name) for name in ("渠道", "已付", "本期应付")}
                return {
                    str(r[at["渠道"]]): {
                        name: round(float(r[at[name]] or 0) * 100) for name in ("已付", "本期应付")
                    }
                    for r in rows[index + 1 :]
                    if r and r[at["渠道"]] not in ("", None, "合计")
                }
    raise AssertionError("no summary with 渠道, 已付 and 本期应付")


def _receipt_to_pay(book: dict[str, list[list]]) -> int:
    """The agency's 本期应付 (in fen) as its receipt states it."""
    for rows in book.values():
        for row in rows:
            for index, value in enumerate(row):
                if str(value).strip() == "本期应付":
                    following = [v for v in row[index + 1 :] if v not in ("", None)]
                    if following and isinstance(following[0], int | float):
                        return round(float(following[0]) * 100)
    raise AssertionError("no 本期应付 in the receipt")
