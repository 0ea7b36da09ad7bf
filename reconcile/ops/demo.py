"""The demo workspace (`reconcile demo`): realistic sample inputs from a fixed seed.

The files are written with `reconcile.testing`'s writers, so they are byte-for-byte
reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import xlsxwriter

from reconcile.config.workspace import make_folders
from reconcile.testing import (
    FIXED_CREATED,
    Cell,
    SheetSpec,
    write_csv,
    write_truncated,
    write_xls,
    write_xlsx,
)

DEMO_SEED = 20261118
DEMO_AS_OF = date(2026, 11, 20)

# People and numbers ---------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
COMPOUND = ("欧阳", "司马", "诸葛", "上官", "慕容", "东方")
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
    "玉兰萍鹏辉建国红梅宇浩然子涵欣怡思远嘉怡晨阳梓轩"
)
TRADITIONAL = {
    "陈": "陳",
    "张": "張",
    "刘": "劉",
    "赵": "趙",
    "吴": "吳",
    "郑": "鄭",
    "欧阳": "歐陽",
}
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "170",
    "176",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)


@dataclass(frozen=True)
class Person:
    surname: str
    given: str
    phone: str
    gender: str  # M | F

    @property
    def name(self) -> str:
        return self.surname + self.given

    @property
    def polite(self) -> str:
        return self.surname + ("先生" if self.gender == "M" else "女士")

    def masked(self, prefix: int = 3, suffix: int = 4, glyph: str = "*", count: int = 4) -> str:
        return self.phone[:prefix] + glyph * count + self.phone[11 - suffix :]


def people(rng: random.Random, count: int) -> list[Person]:
    result: list[Person] = []
    phones: set[str] = set()
    while len(result) < count:
        phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        if phone in phones:
            continue
        phones.add(phone)
        surname = rng.choice(COMPOUND) if rng.random() < 0.04 else rng.choice(SURNAMES)
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        result.append(Person(surname, given, phone, rng.choice("MF")))
    return result


# The demo workspace -----------------------------------------------------------

DEMO_RULES = """\
# 演示项目的判客规则（reconcile demo 生成）。完整说明见 README 与 docs/。
project: 山湖一号
timezone: Asia/Shanghai

report:
  hours: {start: "08:00", end: "18:00"}
  lead_time: 1h
  validity: 48h
  quota: {per: agent, limit: 20}

existing_customer:
  released_after: 14d

visit:
  protection: 21d
  renewal: {window: 7d, extend: 30d}

conflict:
  order: [first_visit, first_report]
  min_gap: 15m          # 两家报备相隔不到 15 分钟且客户自行到访 → 待裁决
  appeal_window: 24h

commission:
  default: {rate: 0.01}
  channels:
    链家: {rate: 0.012}
    自有渠道: {fixed: 3000}

# 置业顾问的客户归属与业绩（首次接待建档 2 个月，本人 10 天未接待或跟进即释放；客户指定他人、
# 同事协助接待时业绩 80/20 分成），以及按 inputs/roster/ 的轮排表核对接待是否按轮排。
consultant: {}
rotation: {}

# 演示工作区里有一份故意损坏的文件；保留在原处，演示可以反复运行。正式项目请用默认的 true：
# 拒收的文件移到 inputs/_quarantine/，旁边附“隔离原因”说明。
quarantine: false

notify:
  admin: [anchang@shanhu.example.com]     # 撞单与争议日报
  finance: [caiwu@shanhu.example.com]     # 结算表
  sales_manager: [xiaoshou@shanhu.example.com]  # 置业顾问业绩表
  channels:                               # 各渠道只收到自己的对账回执
    链家: [jiesuan@lianjia.example.com]
    房多多: [qudao@fangdd.example.com]
  # 未配置 smtp 时邮件写入 outputs/<日期>/outbox/。配置示例（密码放在环境变量里）：
  # smtp: {host: smtp.example.com, port: 465, ssl: true,
  #        user: reconcile@example.com, password_env: RECONCILE_SMTP_PASSWORD}
"""

CONSULTANTS = ("李娜", "张伟", "黄婷")  # the sales office's 置业顾问
ROSTER_START, ROSTER_DAYS = date(2026, 11, 2), 19  # the 轮排表 covers 11-02 … 11-20
ROSTER_OFF = frozenset({("黄婷", 5), ("张伟", 2)})  # (consultant, day of the roster's week) off
CHANNEL_AGENTS = {
    "链家": ["王磊", "刘洋", "陈静"],
    "我爱我家": ["赵敏", "孙浩"],
    "房多多": ["周杰", "吴芳"],
    "自有渠道": ["郑强", "冯丽"],
}


@dataclass
class DemoPlan:
    customers: list[Person]
    existing: list[Person]  # already in the CRM before any report
    start: datetime


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


def generate_workspace(root: Path, seed: int = DEMO_SEED) -> list[Path]:
    """Write rules.yaml and a messy but realistic `inputs/` tree; returns the files written."""
    rng = random.Random(seed)
    make_folders(root)
    written: list[Path] = []
    rules = root / "rules.yaml"
    if not rules.exists():
        rules.write_text(DEMO_RULES, encoding="utf-8")
        written.append(rules)
    crowd = people(rng, 70)
    plan = DemoPlan(crowd[:55], crowd[55:], datetime(2026, 11, 2, 9, 0))
    inputs = root / "inputs"
    # Contests are staged on their own seed, so the rest of the demo keeps its data.
    contests = _contests(random.Random(seed + 1))
    reports = _demo_reports(rng, plan) + [report for c in contests for report in c.reports]
    written += _write_channel_files(inputs, reports, rng)
    visits, receptionists = _write_visits(inputs, rng, plan, reports, contests)
    written += visits
    written += _write_crm(inputs, rng, plan, contests, receptionists)
    written += _write_rulings(inputs, contests)
    written += _write_payments(inputs)
    written += _write_statements(inputs, plan.customers[:44:5], contests[0].person)
    # WeChat messages are staged on their own seed too: the other files keep their data.
    written.append(_write_wechat(inputs, people(random.Random(seed + 2), 3)))
    written += _write_roster(inputs)
    return written


@dataclass
class Report:
    channel: str
    agent: str
    person: Person
    at: datetime
    kind: str | None = None


@dataclass
class Contest:
    """Two agencies report one customer; the customer walks in alone or is brought."""

    person: Person
    reports: list[Report]
    visit: datetime
    bringer: tuple[str, str] | None = None  # (channel, agent) that brought the customer
    deal: tuple[str, date, date | None, int] | None = None  # id, 认购 day, 签约 day, amount
    ruling: str | None = None  # 分成 written in the admin's 裁决表, if ruled


def _contests(rng: random.Random) -> list[Contest]:
    older, recent, brought = people(rng, 3)
    return [
        # Ruled a week later: the two agencies share the commission.
        Contest(
            older,
            [
                Report("房多多", "周杰", older, datetime(2026, 11, 12, 9, 30)),
                Report("自有渠道", "冯丽", older, datetime(2026, 11, 12, 9, 40)),
            ],
            datetime(2026, 11, 13, 15, 0),
            deal=("SHYH-2026-0101", date(2026, 11, 14), date(2026, 11, 16), 3_260_000),
            ruling="房多多:0.5;自有渠道:0.5",
        ),
        # Last night's walk-in: still inside the appeal window, its 认购 held.
        Contest(
            recent,
            [
                Report("链家", "刘洋", recent, datetime(2026, 11, 19, 14, 0)),
                Report("我爱我家", "孙浩", recent, datetime(2026, 11, 19, 14, 10)),
            ],
            datetime(2026, 11, 20, 10, 30),
            deal=("SHYH-2026-0102", date(2026, 11, 20), None, 2_880_000),
        ),
        # The later reporter brought the customer: it wins, the other may appeal until tonight.
        Contest(
            brought,
            [
                Report("房多多", "吴芳", brought, datetime(2026, 11, 19, 10, 0)),
                Report("链家", "陈静", brought, datetime(2026, 11, 19, 11, 0)),
            ],
            datetime(2026, 11, 20, 9, 30),
            bringer=("链家", "陈静"),
        ),
    ]


def _demo_reports(rng: random.Random, plan: DemoPlan) -> list[Report]:
    reports: list[Report] = []
    channels = list(CHANNEL_AGENTS)
    for index, person in enumerate(plan.customers[:44]):
        day = plan.start.date() + timedelta(days=index % 17)
        channel = channels[index % len(channels)]
        at = _at(day, rng.randint(8, 17), rng.choice((0, 10, 20, 30, 40, 50)))
        reports.append(Report(channel, rng.choice(CHANNEL_AGENTS[channel]), person, at))
        if index % 6 == 0:  # a second agency claims the same customer: a collision
            other = channels[(index + 1) % len(channels)]
            reports.append(
                Report(
                    other,
                    rng.choice(CHANNEL_AGENTS[other]),
                    person,
                    at + timedelta(minutes=rng.choice((20, 45, 90, 300))),
                )
            )
    for person in plan.existing[:4]:  # agencies report developer customers too (R06)
        channel = rng.choice(channels)
        at = _at(plan.start.date() + timedelta(days=rng.randint(3, 14)), 10, 30)
        reports.append(Report(channel, CHANNEL_AGENTS[channel][0], person, at))
    return reports


REPORT_HEADER_LIANJIA = [
    "序号",
    "客户姓名",
    "客户电话",
    "报备日期",
    "报备时间",
    "经纪人",
    "经纪人电话",
    "预计到访时间",
    "备注",
]


def _write_channel_files(inputs: Path, reports: list[Report], rng: random.Random) -> list[Path]:
    written = []
    by_channel: dict[str, list[Report]] = {}
    for report in reports:
        by_channel.setdefault(report.channel, []).append(report)

    # 链家: title row, split date/time columns, the agent merged down its block of rows.
    rows: list[list[Cell]] = []
    merges: list[tuple[int, int, int, int]] = []
    lianjia = sorted(by_channel["链家"], key=lambda r: (r.agent, r.at))
    start = 0
    for index, report in enumerate(lianjia):
        p = report.person
        name = TRADITIONAL.get(p.surname, p.surname) + p.given if index % 5 == 2 else p.name
        rows.append(
            [
                index + 1,
                name,
                p.masked(),
                report.at.date(),
                report.at.time(),
                report.agent,
                "13900001111",
                f"{report.at.month}月{report.at.day}日下午3点",
                None,
            ]
        )
        last = index == len(lianjia) - 1 or lianjia[index + 1].agent != report.agent
        if last:
            if index > start:
                merges.append((start, 5, index, 5))
            start = index + 1
    rows.append(
        [
            len(rows) + 1,
            "马先生",
            "1.38123E+10",
            date(2026, 11, 9),
            time(10, 5),
            "王磊",
            None,
            None,
            "电话被Excel改成了科学计数法",
        ]
    )
    rows.append(
        [
            len(rows) + 1,
            "韩女士",
            "010-62345678",
            date(2026, 11, 9),
            time(10, 15),
            "王磊",
            None,
            None,
            "座机",
        ]
    )
    spec = SheetSpec(
        "报备明细",
        REPORT_HEADER_LIANJIA,
        rows,
        title=[["山湖一号 链家报备客户 2026年11月"], []],
        merges=merges,
        footer=[[], ["合计", f"{len(rows)}组"], ["备注：电话请按前三后四格式填写"]],
    )
    written.append(write_xlsx(inputs / "channels/链家/链家报备_2026-11.xlsx", [spec]))

    # 我爱我家: a GBK CSV exported from their own system, phones with separators and prefixes.
    rows = []
    for index, report in enumerate(by_channel["我爱我家"]):
        p = report.person
        phone = p.masked() if index % 4 else p.masked(4, 5, "x", 2)
        if index == 3:
            phone = f"{p.masked()} / {rng.choice(MOBILE_PREFIXES)}****{rng.randrange(10**4):04d}"
        rows.append([p.polite, phone, report.at, report.agent, "我爱我家"])
    rows.append(["", "", None, "", ""])
    rows.append(
        [
            "欧阳先生",
            "＋86 １３９＊＊＊＊５６７８",
            datetime(2026, 11, 10, 11, 0),
            "赵敏",
            "我爱我家",
        ]
    )
    spec = SheetSpec("我爱我家", ["客户", "联系方式", "报备时间", "报备人", "分销商"], rows)
    written.append(write_csv(inputs / "channels/我爱我家/woaiwojia_report.csv", spec, "gbk"))

    # 房多多: a legacy .xls with a visible sheet and a hidden history sheet.
    rows = [
        [r.person.name, r.person.masked(3, 4, "×"), r.at, r.agent] for r in by_channel["房多多"]
    ]
    visible, hidden = rows[:-3], rows[-3:]
    header = ["姓名", "手机号", "报备时间", "渠道专员"]
    written.append(
        write_xls(
            inputs / "channels/房多多/房多多报备.xls",
            [
                SheetSpec("报备", header, visible),
                SheetSpec("历史报备", header, hidden, hidden=True),
            ],
        )
    )
    good = write_xlsx(
        inputs / "channels/房多多/_tmp_source.xlsx", [SheetSpec("报备", header, rows)]
    )
    written.append(write_truncated(inputs / "channels/房多多/房多多报备_补充.xlsx", good, 0.6))
    good.unlink()

    # 自有渠道: 预报备 and 临报 sheets in one workbook, report type from the sheet name.
    own = by_channel["自有渠道"]
    sheets = []
    for kind, chunk in (("预报备", own[::2]), ("临报", own[1::2])):
        rows = [
            [r.person.polite if i % 3 else r.person.name, r.person.masked(), r.at, r.agent]
            for i, r in enumerate(chunk)
        ]
        sheets.append(SheetSpec(kind, ["客户姓名", "客户联系方式", "报备时间", "经纪人"], rows))
    sheets.append(SheetSpec("填写说明", ["说明"], [["隐藏号码请按 138****1234 填写"]]))
    written.append(write_xlsx(inputs / "channels/自有渠道/自有渠道报备.xlsx", sheets))
    return written


def _write_wechat(inputs: Path, customers: list[Person]) -> Path:
    """自有渠道's report group, exported as text (SPEC 4.2): its template (F1 of
    docs/wechat-formats.md), a 临报 one-liner, chatter, and a report for another project."""
    first, second, other = customers
    text = "\n".join(
        [
            "郑强  2026-11-18 09:40",
            f"客户姓名：{first.name}",
            f"客户联系方式：{first.masked()}",
            "物业类型：住宅",
            "客户预计到访时间：2026/11/21 17:20",
            "渠道专员姓名：郑强",
            "",
            "冯丽  2026-11-19 15:05",
            f"{second.polite}{second.masked()}自有渠道15:02",
            "",
            "案场-小陈  2026-11-19 15:06",
            "收到",
            "",
            "郑强  2026-11-19 16:10",
            "报备项目：云栖府",
            f"客户：{other.polite} 电话：{other.masked()}",
            "",
        ]
    )
    path = inputs / "channels/自有渠道/自有渠道报备群.txt"
    path.write_text(text, encoding="utf-8")
    return path


def _write_visits(
    inputs: Path,
    rng: random.Random,
    plan: DemoPlan,
    reports: list[Report],
    contests: list[Contest],
) -> tuple[list[Path], dict[str, str]]:
    """The sales office's 来访登记表, and each visitor's first receptionist (置业顾问)."""
    first_report: dict[str, Report] = {}
    for earliest in sorted(reports, key=lambda r: r.at):
        first_report.setdefault(earliest.person.phone, earliest)
    rows: list[list[Cell]] = []
    visitors = [p for p in plan.customers[:44] if rng.random() < 0.7] + plan.customers[44:50]
    for person in visitors:
        report = first_report.get(person.phone)
        if report is not None:
            when = report.at + timedelta(hours=rng.choice((0.5, 2, 5, 26, 50)))
            bringer = (report.channel, report.agent) if rng.random() < 0.8 else (None, None)
        else:
            when = _at(plan.start.date() + timedelta(days=rng.randint(0, 16)), 14, 0)
            bringer = (None, None)
        spouse = rng.choice(plan.customers[50:]).phone if rng.random() < 0.08 else None
        rows.append(
            [
                when.date(),
                when.strftime("%H:%M"),
                person.name,
                person.phone,
                bringer[0],
                bringer[1],
                rng.choice(CONSULTANTS),
                spouse,
                None,
            ]
        )
    for contest in contests:
        when, person = contest.visit, contest.person
        channel, agent = contest.bringer or (None, None)
        rows.append(
            [
                when.date(),
                when.strftime("%H:%M"),
                person.name,
                person.phone,
                channel,
                agent,
                "李娜",
                None,
                None,
            ]
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    _receive_in_turn(rows)
    receptionists: dict[str, str] = {}
    for row in rows:
        receptionists.setdefault(str(row[3]), str(row[6]))
    rows.append(
        [date(2026, 11, 12), "15:20", "無名氏", "0571-88886666", None, None, "黄婷", None, None]
    )
    rows += _designated_visit(rows, plan.customers[:44:5])
    spec = SheetSpec(
        "来访登记",
        [
            "到访日期", "时间", "客户姓名", "手机号码", "带看渠道", "带看人", "置业顾问",
            "配偶电话", "指定顾问",
        ],
        rows,
        title=[["山湖一号案场来访登记表（2026年11月）"]],
    )  # fmt: skip
    return [write_xlsx(inputs / "visits/来访登记表_2026-11.xlsx", [spec])], receptionists


def _roster_day(day: date) -> tuple[list[str], frozenset[str]] | None:
    """The day's order and who is off, as `_write_roster` writes them (None: no roster)."""
    offset = (day - ROSTER_START).days
    if not 0 <= offset < ROSTER_DAYS:
        return None
    order = list(CONSULTANTS[offset % 3 :] + CONSULTANTS[: offset % 3])
    return order, frozenset(name for name in order if (name, offset % 7) in ROSTER_OFF)


def _receive_in_turn(rows: list[list[Cell]]) -> None:
    """The office mostly keeps its 轮排表: each day's visitors (all new customers here) go
    round the day's order, past who is off. Every seventh visitor was taken by whoever the
    register first named (`rows[6]`): out of turn when that is not who was due (T01), the
    turn then staying with the one due, as the audit counts it (SPEC 6.7, `forfeit`)."""
    today: date | None = None
    roster: tuple[list[str], frozenset[str]] | None = None
    due = 0
    for number, row in enumerate(rows, start=1):
        day = row[0]
        assert isinstance(day, date)
        if day != today:
            today, roster, due = day, _roster_day(day), 0
        if roster is None:
            continue
        order, off = roster
        while order[due % len(order)] in off:
            due += 1
        if number % 7 == 0 and row[6] != order[due % len(order)]:
            continue  # taken out of turn: the turn is still the one due
        row[6] = order[due % len(order)]
        due += 1


def _designated_visit(rows: list[list[Cell]], buyers: list[Person]) -> list[list[Cell]]:
    """The first buyer who visited two days or more before subscribing comes back alone the
    next day and asks for another consultant: the deal is split 80/20 between the asked-for
    consultant and the first receptionist (SPEC 6.7 designated_other, K02). The channel that
    brought them keeps them: a walk-in during its protection changes nothing."""
    for index, buyer in enumerate(buyers):
        subscribed = date(2026, 11, 8) + timedelta(days=index)  # as _write_crm dates it
        first = next((row for row in rows if row[3] == buyer.phone), None)
        if first is None:
            continue
        day = first[0]
        assert isinstance(day, date)
        if day + timedelta(days=1) >= subscribed:
            continue
        asked = CONSULTANTS[(CONSULTANTS.index(str(first[6])) + 1) % len(CONSULTANTS)]
        when = day + timedelta(days=1)
        return [[when, "10:30", buyer.name, buyer.phone, None, None, asked, None, asked]]
    return []


def _write_crm(
    inputs: Path,
    rng: random.Random,
    plan: DemoPlan,
    contests: list[Contest],
    receptionists: dict[str, str],
) -> list[Path]:
    customers: list[list[Cell]] = [
        [p.name, p.phone, _at(date(2026, 10, rng.randint(1, 28)), 11), "自然来访", "李娜"]
        for p in plan.existing
    ]
    follow: list[list[Cell]] = [
        [p.phone, _at(date(2026, 10, 30), 16), "电话", "客户仍在比较竞品"]
        for p in plan.existing[:6]
    ]
    deals: list[list[Cell]] = []
    buyers = plan.customers[:44:5]
    for index, person in enumerate(buyers):
        signed = _at(date(2026, 11, 10) + timedelta(days=index), 15)
        stage = "签约" if index % 3 else "认购"
        refund = index == 4
        deals.append(
            [
                f"SHYH-2026-{index + 1:04d}",
                f"{index % 5 + 1}-{10 + index}01",
                person.name,
                person.phone,
                "退房" if refund else stage,
                signed - timedelta(days=2),
                signed if stage == "签约" or refund else None,
                signed + timedelta(days=3) if refund else None,
                f"{rng.randint(180, 420) * 10000:,}.00",
                receptionists.get(person.phone),
            ]
        )
    for contest in contests:
        if contest.deal is None:
            continue
        deal_id, subscribed, signed_on, amount = contest.deal
        person = contest.person
        deals.append(
            [
                deal_id,
                "6-1802",
                person.name,
                person.phone,
                "签约" if signed_on else "认购",
                _at(subscribed, 11),
                _at(signed_on, 15) if signed_on else None,
                None,
                f"{amount:,}.00",
                receptionists.get(person.phone),
            ]
        )
    sheets = [
        SheetSpec("客户", ["客户姓名", "手机", "创建时间", "客户来源", "置业顾问"], customers),
        SheetSpec("跟进记录", ["手机", "跟进时间", "跟进方式", "跟进内容"], follow),
        SheetSpec(
            "成交",
            [
                "认购编号",
                "房号",
                "客户姓名",
                "客户电话",
                "状态",
                "认购日期",
                "签约日期",
                "退房日期",
                "成交总价",
                "置业顾问",
            ],
            deals,
        ),
    ]
    return [write_xlsx(inputs / "crm/明源导出_2026-11-20.xlsx", sheets)]


def _write_roster(inputs: Path) -> list[Path]:
    """The sales office's 轮排表 (SPEC 6.7): each day the three consultants' order, turned by
    one place a day, and who is off."""
    rows: list[list[Cell]] = []
    for offset in range(ROSTER_DAYS):
        day = ROSTER_START + timedelta(days=offset)
        found = _roster_day(day)
        assert found is not None
        order, off = found
        rows += [
            [day, place, name, "是" if name in off else "否"]
            for place, name in enumerate(order, start=1)
        ]
    spec = SheetSpec("轮排表", ["日期", "顺序", "置业顾问", "是否休息"], rows)
    return [write_xlsx(inputs / "roster/轮排表_2026-11.xlsx", [spec])]


def _write_rulings(inputs: Path, contests: list[Contest]) -> list[Path]:
    rows: list[list[Cell]] = [
        [c.person.phone, None, c.ruling, None, date(2026, 11, 18), "双方均提供了带看记录，佣金各半"]
        for c in contests
        if c.ruling
    ]
    header = ["客户电话", "归属渠道", "分成", "经纪人", "裁决日期", "备注"]
    return [write_xlsx(inputs / "rulings/裁决表_2026-11.xlsx", [SheetSpec("裁决", header, rows)])]


def _write_payments(inputs: Path) -> list[Path]:
    """Finance's 付款记录: 链家 paid on a deal refunded afterwards (a claw-back to recover),
    and a lump sum to 我爱我家 that names no deal (it pays the oldest payable line)."""
    header = ["收款单位", "付款金额", "付款日期", "认购编号", "凭证号", "备注"]
    rows: list[list[Cell]] = [
        ["链家", "35,520.00", date(2026, 11, 15), "SHYH-2026-0005", "FK-2026-1101", "签约结佣"],
        ["我爱我家", "10,000.00", date(2026, 11, 18), None, "FK-2026-1102", "11月预付佣金"],
    ]
    path = inputs / "payments/佣金付款记录_2026-11.xlsx"
    return [write_xlsx(path, [SheetSpec("付款记录", header, rows)])]


def _write_statements(inputs: Path, buyers: list[Person], shared: Person) -> list[Path]:
    """Two agencies' 请款单 as agencies write them: a title above the header, flats and
    masked phones instead of the developer's numbers, and a total row. 链家 asks for more
    than its commission on one deal and claims the refunded one again; 房多多's agrees."""
    header = ["序号", "房号", "客户姓名", "客户电话", "成交总价", "佣金比例", "请款金额", "备注"]
    lianjia: list[list[Cell]] = [
        [1, "4-1801", buyers[8].name, buyers[8].masked(), None, "1.2%", "48,000.00", "按合同价计"],
        [2, "5-1401", buyers[4].name, buyers[4].masked(), None, "1.2%", "35,520.00", None],
    ]
    fangduoduo: list[list[Cell]] = [
        [1, "6-1802", shared.polite, shared.masked(), "3,260,000.00", "0.5%", "16,300.00", None],
    ]
    title: list[list[Cell]] = [["山湖一号 链家 2026年11月 佣金请款单"]]
    total: list[list[Cell]] = [["合计", None, None, None, None, None, "83,520.00", None]]
    return [
        write_xlsx(
            inputs / "statements/链家/链家_11月请款单.xlsx",
            [SheetSpec("请款明细", header, lianjia, title=title, footer=total)],
        ),
        write_xlsx(
            inputs / "statements/房多多/房多多请款单202611.xlsx",
            [SheetSpec("Sheet1", header, fangduoduo)],
        ),
    ]


def big_report_workbook(path: Path, rows: int, seed: int = DEMO_SEED) -> Path:
    """A report workbook of `rows` rows × 10 columns for the ingest benchmark."""
    rng = random.Random(seed)
    crowd = people(rng, max(1000, rows // 2))  # about two reports per customer
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    workbook.set_properties({"created": FIXED_CREATED})
    stamp = workbook.add_format({"num_format": "yyyy/mm/dd hh:mm"})
    sheet = workbook.add_worksheet("报备")
    sheet.write_row(
        0,
        0,
        [
            "序号",
            "渠道",
            "经纪人",
            "经纪人电话",
            "客户姓名",
            "客户电话",
            "报备时间",
            "预计到访时间",
            "报备类型",
            "备注",
        ],
    )
    agents = [f"经纪人{i:02d}" for i in range(60)]
    start = datetime(2026, 11, 1, 8, 0)
    for r in range(1, rows + 1):
        person = crowd[rng.randrange(len(crowd))]
        sheet.write_number(r, 0, r)
        sheet.write_string(r, 1, "链家")
        sheet.write_string(r, 2, agents[r % 60])
        sheet.write_number(r, 3, 13900000000 + r % 60)
        sheet.write_string(r, 4, person.polite if r % 3 else person.name)
        sheet.write_string(r, 5, person.masked() if r % 4 else person.phone)
        sheet.write_datetime(r, 6, start + timedelta(minutes=r), stamp)
        sheet.write_datetime(r, 7, start + timedelta(minutes=r + 90), stamp)
        sheet.write_string(r, 8, "临报" if r % 2 else "预报备")
        if r % 50 == 0:
            sheet.write_string(r, 9, "客户意向强")
    workbook.close()
    return path
