"""A night whose channel names are chosen to break formulas and file names.

Every channel gets three customers, each reported by it and then walking in (so the
channel holds them): one signs (payable), one signs and is refunded (clawback), one
only subscribes (认购: not_payable). On top of that:

- `链家*` brings a customer `链家` reported an hour later, signed inside the appeal
  window → a held H01 line of `链家*`;
- `A?B` and `AxB` report one walk-in 30 minutes apart (min_gap 1h) → a disputed D01
  line without a channel, held;
- a ruling splits a `~x` / `x` collision half and half → two J01 lines with shares;
- a walk-in nobody reported signs → a natural line without a channel.

The names pair each criteria trap with the channel it would wrongly count: `链家*`
with 链家 and 链家地产, `A?B` with AxB, `~x` with x, `<5` with 4, Abc with ABC, `'quote`
with quote, `=HYPERLINK(…)` with `'=HYPERLINK(…)` (one cell text each only if
neutralising is one to one). `明细` and `$A$2` look like the formulas' own sheet and
reference, `0)*0+(1` like formula syntax. `-rf`, `-ZQX9`, `.hidden`, `CON`, `con.txt`,
`COM1`, `lpt9 .x`, `a/b`, `a:b`, `a_b` and `ABC`/`Abc` test file names.

Agents, customer names and a 备注 column carry more hostile text, some of it shaped
like the settlement's own formulas, so a substring test must tell the product's own
vocabulary from input text (tests/publish/test_formulas.py).

`tame=True` gives the same night with every text replaced by a plain one (same count
of channels, customers and lines), for comparing formulas.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from reconcile.testing import SheetSpec, write_xlsx

HYPERLINK = '=HYPERLINK("http://x","y")'
CHANNELS = (
    "链家",
    "链家*",
    "链家地产",
    "A?B",
    "AxB",
    "~x",
    "x",
    "<5",
    "4",
    HYPERLINK,
    "'" + HYPERLINK,
    "'quote",
    "quote",
    "Abc",
    "ABC",
    "明细",
    "$A$2",
    "0)*0+(1",
    "-rf",
    "-ZQX9",
    ".hidden",
    "CON",
    "con.txt",
    "COM1",
    "lpt9 .x",
    "a/b",
    "a:b",
    "a_b",
)
# The channels the issue names for the LibreOffice check.
ISSUE_CHANNELS = ("链家*", "A?B", "~x", "<5", HYPERLINK, "'quote")
HELD_WINNER, HELD_LOSER = "链家*", "链家"
DISPUTING = ("A?B", "AxB")
SPLIT = ("~x", "x")
# Text in other cells: formula-shaped, the settlement's sheet names and functions.
AGENTS = (HYPERLINK, "-1+1", "@SUM(1)", "SUMPRODUCT", "EXACT(", "王五")
REMARKS = ("报备明细", "汇总", "'明细'!$H$2", '=SUMIFS(A:A,"链家*")', "$A2", "LEN(", "备注")
RULES = """\
project: 测试花园
conflict: {min_gap: 1h, appeal_window: 7d}
"""
AS_OF = date(2026, 11, 30)
REPORT_HEADER = ["客户姓名", "客户电话", "报备时间", "经纪人", "渠道", "备注"]
VISIT_HEADER = ["客户姓名", "客户电话", "到访时间", "渠道", "经纪人"]
DEAL_HEADER = ["成交编号", "房号", "客户姓名", "客户电话", "成交阶段", "认购日期", "签约日期"]
DEAL_HEADER += ["退房日期", "成交金额"]
RULING_HEADER = ["客户电话", "归属渠道", "分成", "经纪人", "裁决日期", "备注"]


def tame_name(index: int) -> str:
    """The plain stand-in of the index-th channel (same sort order is not needed)."""
    return f"渠道{index:02d}"


def write_hostile_inputs(root: Path, *, tame: bool = False) -> Path:
    """A workspace at `root` with the night described above."""
    names = [tame_name(i) if tame else name for i, name in enumerate(CHANNELS)]
    channel = dict(zip(CHANNELS, names, strict=True))
    agents = [f"经纪人{i}" for i in range(len(AGENTS))] if tame else list(AGENTS)
    remarks = [f"备注{i}" for i in range(len(REMARKS))] if tame else list(REMARKS)
    for folder in ("inputs/channels", "inputs/visits", "inputs/crm", "inputs/rulings"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "rules.yaml").write_text(RULES, encoding="utf-8")
    reports: list[list] = []
    visits: list[list] = []
    deals: list[list] = []
    number = iter(range(1, 1000))

    def customer(prefix: str = "15") -> tuple[str, str, str]:
        n = next(number)
        full = f"{prefix}{n % 10}{n:04d}{n:04d}"
        name = f"客户{n}" if tame or n % 5 else ["明细女士", "汇总先生", "王明细"][n // 5 % 3]
        return full, full[:3] + "****" + full[7:], name

    def report(pattern: str, name: str, at: datetime, by: str, n: int) -> None:
        reports.append([name, pattern, at, agents[n % len(agents)], channel[by], remarks[n % 7]])

    def deal(full: str, name: str, stage: str, dates: tuple, amount: float | None) -> None:
        n = len({row[0] for row in deals}) + (stage != "退房")  # a refund is its deal's row
        deals.append([f"D-{n:03d}", f"1-{n}", name, full, stage, *dates, amount])

    for i, by in enumerate(CHANNELS):
        for kind in ("payable", "clawback", "subscribed"):
            full, pattern, name = customer()
            report(pattern, name, datetime(2026, 11, 5, 10, 0), by, i)
            visits.append([name, full, datetime(2026, 11, 7, 15, 0), None, None])
            amount = 1_000_000 + 10_000 * len(deals) + 100 * i
            if kind == "payable":
                deal(full, name, "签约", (date(2026, 11, 10), date(2026, 11, 12), None), amount)
            elif kind == "clawback":
                deal(full, name, "签约", (date(2026, 11, 8), date(2026, 11, 9), None), amount)
                deal(full, name, "退房", (None, None, date(2026, 11, 20)), None)
            else:
                deal(full, name, "认购", (date(2026, 11, 18), None, None), amount)
    # H01: the winner brings the customer, the loser reported it an hour later.
    full, pattern, name = customer("13")
    report(pattern, name, datetime(2026, 11, 25, 9, 0), HELD_WINNER, 1)
    report(pattern, name, datetime(2026, 11, 25, 10, 0), HELD_LOSER, 2)
    visits.append([name, full, datetime(2026, 11, 28, 15, 0), channel[HELD_WINNER], None])
    deal(full, name, "签约", (date(2026, 11, 29), date(2026, 11, 29), None), 3_000_000)
    # D01: two reports 30 minutes apart, then a walk-in.
    full, pattern, name = customer("13")
    report(pattern, name, datetime(2026, 11, 10, 10, 0), DISPUTING[0], 3)
    report(pattern, name, datetime(2026, 11, 10, 10, 30), DISPUTING[1], 4)
    visits.append([name, full, datetime(2026, 11, 12, 15, 0), None, None])
    deal(full, name, "签约", (date(2026, 11, 19), date(2026, 11, 20), None), 2_500_000)
    # J01: a ruling splits a collision.
    full, pattern, name = customer("13")
    report(pattern, name, datetime(2026, 11, 3, 10, 0), SPLIT[0], 5)
    report(pattern, name, datetime(2026, 11, 4, 10, 0), SPLIT[1], 6)
    visits.append([name, full, datetime(2026, 11, 6, 15, 0), channel[SPLIT[1]], None])
    deal(full, name, "签约", (date(2026, 11, 14), date(2026, 11, 15), None), 1_800_000)
    split = f"{channel[SPLIT[0]]}:0.5;{channel[SPLIT[1]]}:0.5"
    rulings = [[full, None, split, None, date(2026, 11, 7), remarks[0]]]
    # A natural walk-in.
    full, _, name = customer("13")
    visits.append([name, full, datetime(2026, 11, 8, 15, 0), None, None])
    deal(full, name, "签约", (date(2026, 11, 10), date(2026, 11, 11), None), 900_000)

    inputs = root / "inputs"
    write_xlsx(inputs / "channels/汇总/报备.xlsx", [SheetSpec("报备", REPORT_HEADER, reports)])
    write_xlsx(inputs / "visits/来访登记.xlsx", [SheetSpec("来访", VISIT_HEADER, visits)])
    write_xlsx(inputs / "crm/成交.xlsx", [SheetSpec("成交", DEAL_HEADER, deals)])
    write_xlsx(inputs / "rulings/裁决.xlsx", [SheetSpec("裁决", RULING_HEADER, rulings)])
    return root
