"""Night benchmark: whole nights of `reconcile run` on a large workspace, against a raw read.

Generates, from a fixed seed, a workspace as a busy project has it after four months
(cached under benchmarks/.cache): `--reports` reports (200,000 by default) in 48
files from 12 agencies (xlsx with a plain header, xlsx with a title row, split date
and time columns and a total row, multi-sheet workbooks of 预报备 and 临报 with a
说明 sheet, GBK CSV and UTF-8-BOM CSV; masked phones of several shapes, a few full
numbers; full names, 先生/女士 and traditional characters), 30% as many visits in
monthly registers with a title row, 25% as many CRM customers and 4% as many deal
rows in one CRM workbook, finance's 付款记录 and three agencies' 请款单. The next
night's files add 1% new rows: three agencies re-export their November workbook with
the new day appended, a fourth starts a December file, and the site adds a visit
register of the day.

Then measures, each in a fresh subprocess (wall time; peak memory from wait4's
ru_maxrss, the child's own):
  (a) the raw read of night 1's inputs: every sheet of every workbook with fastexcel
      into polars, every CSV with polars' read_csv in its encoding (best of 3);
  (b) night 1: `reconcile run --as-of 2026-11-30 --no-email`;
  (c) the same night again, nothing new;
  (d) the next night, `--as-of 2026-12-01`, with the 1% new rows.
Every input is aged past the safe-arrival interval before the clock starts
(benchmarks/aging.py), as a 02:00 night finds it. Prints wall time, peak memory, the
ratios to the raw read and to night 1 next to the targets of issue 15, and each
night's own step timings (its `step.done` log lines).

    .venv-bench/bin/python benchmarks/night.py [--reports 200000] [--keep DIR]

The nights run `reconcile` from `.venv`, as `make demo` installs it (`make bench` makes
both environments); the raw read runs here.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import xlsxwriter

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aging import age_past_settle  # noqa: E402

from reconcile.ops.demo import Person, people  # noqa: E402
from reconcile.testing import FIXED_CREATED, csv_document  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"
DATA_VERSION = 1  # bump when the generator changes: the cache key includes it
SEED = 20261130
NIGHT_1 = date(2026, 11, 30)
NIGHT_2 = NIGHT_1 + timedelta(days=1)
FIRST_DAY = date(2026, 8, 1)
MONTHS = (8, 9, 10, 11)

AGENCIES = (
    "链家",
    "我爱我家",
    "房多多",
    "中原地产",
    "21世纪不动产",
    "麦田房产",
    "太平洋房屋",
    "德佑",
    "满堂红",
    "合富辉煌",
    "乐有家",
    "自有渠道",
)
WEIGHTS = (20, 16, 13, 11, 9, 8, 7, 5, 4, 3, 2, 2)  # big agencies send most reports
LAYOUTS = (
    "plain",
    "title",
    "sheets",
    "gbk",
    "bom",
    "plain",
    "title",
    "sheets",
    "gbk",
    "plain",
    "bom",
    "title",
)
# Mask shapes as agencies' systems write them: Person.masked(prefix, suffix, glyph, count).
MASKS = ((3, 4, "*", 4), (3, 4, "x", 4), (3, 4, "×", 4), (4, 5, "x", 2))
APPENDERS = (0, 1, 3)  # agencies whose November workbook gains the new day's rows
NEW_FILE = 2  # the agency that starts a December file

RULES = """\
project: 基准家园
timezone: Asia/Shanghai

report:
  hours: {start: "08:00", end: "22:00"}
  lead_time: 30m

visit:
  protection: 30d

commission:
  default: {rate: 0.01}

notify:
  admin: [anchang@jizhun.example.com]
  finance: [caiwu@jizhun.example.com]
  channels:
%s
"""

TARGETS = {
    "raw": "≤ 15× the raw read",
    "again": "≤ 5% of night 1",
    "next": "≤ 15% of night 1",
    "publish": "≤ 25% of night 1",
    "peak": "< 2 GiB at 1,000,000 reports",
}


# --- the workspace ---------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    agency: int
    agent: str
    person: Person
    at: datetime
    kind: str  # 预报备 | 临报


@dataclass(frozen=True)
class Visit:
    person: Person
    at: datetime
    bringer: tuple[str, str] | None  # (channel, agent)


@dataclass
class Sheet:
    name: str
    header: list[str]
    rows: list[list[object]]
    title: list[list[object]] | None = None
    footer: list[list[object]] | None = None


def _moment(rng: random.Random, day: date, first: int = 8, last: int = 21) -> datetime:
    return datetime(day.year, day.month, day.day, rng.randint(first, last), rng.randrange(60))


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


class Generator:
    """Every row of both nights from one seed; files are written by `write_*`."""

    def __init__(self, reports: int) -> None:
        self.rng = random.Random(SEED)
        rng = self.rng
        self.count = reports
        reported = people(rng, max(100, reports // 2))
        self.walk_ins = people(rng, max(20, reports * 3 // 40))
        self.old = people(rng, max(20, reports // 10))
        # Some of the developer's own customers are later reported by an agency (R06).
        reported += self.old[: len(self.old) // 5]
        self.reported = reported
        agents = [p.name for p in people(rng, 30 * len(AGENCIES))]
        self.agents = [agents[30 * i : 30 * (i + 1)] for i in range(len(AGENCIES))]
        days = _days(FIRST_DAY, NIGHT_1)
        self.reports = [self._report(rng.choice(days)) for _ in range(reports)]
        self.reports.sort(key=lambda r: r.at)
        senders = (*APPENDERS, NEW_FILE)
        self.new_reports = sorted(
            (self._report(NIGHT_2, senders) for _ in range(reports // 100)), key=lambda r: r.at
        )
        self.visits = self._visits(self.reports, reports * 3 // 10, days)
        self.new_visits = self._visits(self.new_reports, reports * 3 // 1000, [NIGHT_2])

    def _report(self, day: date, agencies: tuple[int, ...] = tuple(range(len(AGENCIES)))) -> Report:
        rng = self.rng
        agency = rng.choices(agencies, [WEIGHTS[a] for a in agencies])[0]
        person = self.reported[rng.randrange(len(self.reported))]
        kind = "临报" if rng.random() < 0.4 else "预报备"
        return Report(agency, rng.choice(self.agents[agency]), person, _moment(rng, day), kind)

    def _visits(self, reports: list[Report], count: int, days: list[date]) -> list[Visit]:
        """Visits over `days`: three in four by a reported customer, after the report."""
        rng = self.rng
        visits = []
        last = datetime.combine(days[-1], datetime.max.time())
        hours = (1, 3, 26, 75, 240) if len(days) > 1 else (1, 2, 3)
        for _ in range(count):
            report = reports[rng.randrange(len(reports))]
            at = report.at + timedelta(hours=rng.choice(hours), minutes=17)
            if rng.random() < 0.75 and days[0] <= at.date() and at <= last:
                roll = rng.random()
                if roll < 0.6:
                    bringer = (AGENCIES[report.agency], report.agent)
                elif roll < 0.7:  # another agency brings the customer: a contest
                    other = (report.agency + 1) % len(AGENCIES)
                    bringer = (AGENCIES[other], self.agents[other][0])
                else:
                    bringer = None
                visits.append(Visit(report.person, at, bringer))
            else:
                walker = self.walk_ins[rng.randrange(len(self.walk_ins))]
                visits.append(Visit(walker, _moment(rng, rng.choice(days), 9, 19), None))
        visits.sort(key=lambda v: v.at)
        return visits

    # --- agencies' report files ---

    def _cells(self, layout: str, report: Report, index: int) -> list[object]:
        p = report.person
        roll = (index * 7919) % 100
        phone = p.phone if roll < 3 else p.masked(*MASKS[report.agency % len(MASKS)])
        name = p.name if roll % 3 else p.polite
        if roll == 50 and p.surname in "陈张刘赵吴郑":
            name = {"陈": "陳", "张": "張", "刘": "劉", "赵": "趙", "吴": "吳", "郑": "鄭"}[
                p.surname
            ] + p.given
        channel = AGENCIES[report.agency]
        if layout == "plain":
            return [name, phone, report.at, report.agent, f"{channel}{roll % 9 + 1}店"]
        if layout == "title":
            return [index, name, phone, report.at.date(), report.at.time(), report.agent, None]
        if layout == "sheets":
            return [name, phone, report.at, report.agent]
        if layout == "gbk":
            return [p.polite, phone, report.at, report.agent, channel]
        return [
            index,
            name,
            phone,
            report.at.strftime("%Y-%m-%d %H:%M:%S"),
            report.agent,
            report.kind,
        ]

    def report_files(self, inputs: Path, reports: list[Report], tag: str) -> dict[str, str]:
        """One file per agency of `reports`, named by `tag`; returns rel path → CSV encoding."""
        encodings: dict[str, str] = {}
        for agency, channel in enumerate(AGENCIES):
            own = [r for r in reports if r.agency == agency]
            if not own:
                continue
            layout = LAYOUTS[agency]
            folder = inputs / "channels" / channel
            rows = [self._cells(layout, r, i + 1) for i, r in enumerate(own)]
            if layout == "plain":
                header = ["客户姓名", "客户电话", "报备时间", "经纪人", "门店"]
                write_xlsx(folder / f"{channel}报备_{tag}.xlsx", [Sheet("报备", header, rows)])
            elif layout == "title":
                header = ["序号", "客户姓名", "客户电话", "报备日期", "报备时间", "经纪人", "备注"]
                title: list[list[object]] = [[f"基准家园 {channel}报备客户 {tag}"], []]
                footer: list[list[object]] = [[], ["合计", f"{len(rows)}组"]]
                sheet = Sheet("报备明细", header, rows, title, footer)
                write_xlsx(folder / f"{channel}_{tag}_报备明细.xlsx", [sheet])
            elif layout == "sheets":
                header = ["客户姓名", "客户联系方式", "报备时间", "经纪人"]
                sheets = [
                    Sheet(
                        kind,
                        header,
                        [row for row, r in zip(rows, own, strict=True) if r.kind == kind],
                    )
                    for kind in ("预报备", "临报")
                ]
                sheets.append(Sheet("填写说明", ["说明"], [["隐藏号码请按 138****1234 填写"]]))
                write_xlsx(folder / f"{channel}报备{tag}.xlsx", sheets)
            else:
                if layout == "gbk":
                    header, encoding = ["客户", "联系方式", "报备时间", "报备人", "分销商"], "gbk"
                else:
                    header = ["序号", "客户姓名", "手机号", "报备时间", "经纪人", "报备类型"]
                    encoding = "utf-8-sig"
                path = folder / f"{channel}_report_{tag}.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(csv_document([header, *rows]).encode(encoding))
                encodings[str(path.relative_to(inputs))] = encoding
        return encodings

    # --- the site's files ---

    def visit_rows(self, visits: list[Visit]) -> list[list[object]]:
        consultants = ("李娜", "张伟", "黄婷", "王芳", "刘洋")
        return [
            [
                v.at.date(),
                v.at.strftime("%H:%M"),
                v.person.name,
                v.person.phone,
                v.bringer[0] if v.bringer else None,
                v.bringer[1] if v.bringer else None,
                consultants[i % len(consultants)],
            ]
            for i, v in enumerate(visits)
        ]

    def write_visits(self, path: Path, visits: list[Visit], caption: str) -> None:
        header = ["到访日期", "时间", "客户姓名", "手机号码", "带看渠道", "带看人", "置业顾问"]
        title: list[list[object]] = [[f"基准家园案场来访登记表（{caption}）"]]
        write_xlsx(path, [Sheet("来访登记", header, self.visit_rows(visits), title)])

    def write_crm(self, path: Path) -> list[list[object]]:
        """The CRM workbook: customers and deals; returns the deal rows."""
        rng = self.rng
        first_visit: dict[str, Visit] = {}
        for visit in self.visits:
            first_visit.setdefault(visit.person.phone, visit)
        visitors = list(first_visit.values())
        wanted = self.count // 4
        customers: list[list[object]] = [
            [v.person.name, v.person.phone, v.at, "来访", "李娜"]
            for v in visitors[: wanted * 3 // 5]
        ]
        for person in self.old[: wanted - len(customers)]:
            created = datetime(2025, 6, 1, 10) + timedelta(days=rng.randrange(420))
            customers.append([person.name, person.phone, created, "老带新", "张伟"])
        deals: list[list[object]] = []
        self.brought: dict[str, list[list[object]]] = {}
        buyers = rng.sample(visitors, min(len(visitors), self.count // 25))
        for index, visit in enumerate(buyers):
            subscribed = visit.at.date() + timedelta(days=rng.randint(1, 30))
            if subscribed > NIGHT_1:
                continue
            signed = subscribed + timedelta(days=rng.randint(7, 20))
            signed_on = signed if signed <= NIGHT_1 else None
            refunded = signed_on is not None and index % 33 == 0
            amount = rng.randint(150, 450) * 10_000
            room = f"{index // 400 + 1}-{(index % 400) // 4 + 2:02d}{index % 4 + 1:02d}"
            row: list[object] = [
                f"JZ-2026-{index + 1:05d}",
                room,
                visit.person.name,
                visit.person.phone,
                "退房" if refunded else ("签约" if signed_on else "认购"),
                subscribed,
                signed_on,
                signed_on + timedelta(days=3) if refunded else None,
                f"{amount:,}.00",
            ]
            deals.append(row)
            if visit.bringer and signed_on and not refunded:
                self.brought.setdefault(visit.bringer[0], []).append(row)
        header = ["客户姓名", "手机", "创建时间", "客户来源", "置业顾问"]
        deal_header = [
            "认购编号",
            "房号",
            "客户姓名",
            "客户电话",
            "状态",
            "认购日期",
            "签约日期",
            "退房日期",
            "成交总价",
        ]
        write_xlsx(path, [Sheet("客户", header, customers), Sheet("成交", deal_header, deals)])
        return deals

    def write_money(self, inputs: Path) -> None:
        """Finance's 付款记录 for a quarter of the brought deals; the three biggest
        agencies' 请款单 for theirs, one line in ten asking a different amount."""
        payments: list[list[object]] = []
        for channel, rows in sorted(self.brought.items()):
            for row in rows[::4]:
                commission = int(str(row[8]).replace(",", "")[:-3]) // 100
                paid_on = min(NIGHT_1, row[6] + timedelta(days=10))  # type: ignore[operator]
                payments.append(
                    [
                        channel,
                        f"{commission:,}.00",
                        paid_on,
                        row[0],
                        f"FK-{len(payments):05d}",
                        None,
                    ]
                )
        header = ["收款单位", "付款金额", "付款日期", "认购编号", "凭证号", "备注"]
        write_xlsx(inputs / "payments/佣金付款记录.xlsx", [Sheet("付款记录", header, payments)])
        header = [
            "序号",
            "房号",
            "客户姓名",
            "客户电话",
            "成交总价",
            "佣金比例",
            "请款金额",
            "备注",
        ]
        for channel in AGENCIES[:3]:
            lines: list[list[object]] = []
            for index, row in enumerate(self.brought.get(channel, [])[:400]):
                person_phone = str(row[3])
                commission = int(str(row[8]).replace(",", "")[:-3]) // 100
                asked = commission * (12 if index % 10 == 3 else 10) // 10
                masked = person_phone[:3] + "****" + person_phone[7:]
                lines.append(
                    [index + 1, row[1], row[2], masked, row[8], "1%", f"{asked:,}.00", None]
                )
            total = sum(float(str(line[6]).replace(",", "")) for line in lines)
            sheet = Sheet(
                "请款明细",
                header,
                lines,
                [[f"基准家园 {channel} 2026年11月 佣金请款单"]],
                [["合计", None, None, None, None, None, f"{total:,.2f}", None]],
            )
            write_xlsx(inputs / "statements" / channel / f"{channel}_11月请款单.xlsx", [sheet])


def write_xlsx(path: Path, sheets: list[Sheet]) -> Path:
    """A workbook written row by row (xlsxwriter constant_memory), reproducible bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    workbook.set_properties({"created": FIXED_CREATED})
    formats = {
        datetime: workbook.add_format({"num_format": "yyyy/mm/dd hh:mm"}),
        date: workbook.add_format({"num_format": "yyyy/mm/dd"}),
    }
    clock = workbook.add_format({"num_format": "hh:mm"})
    for spec in sheets:
        sheet = workbook.add_worksheet(spec.name)
        rows = [*(spec.title or []), spec.header, *spec.rows, *(spec.footer or [])]
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(r, c, value)
                elif isinstance(value, int | float):
                    sheet.write_number(r, c, value)
                elif isinstance(value, datetime):
                    sheet.write_datetime(r, c, value, formats[datetime])
                elif isinstance(value, date):
                    sheet.write_datetime(r, c, value, formats[date])
                else:
                    sheet.write_datetime(r, c, value, clock)
    workbook.close()
    return path


def generate(reports: int) -> Path:
    """The cached workspace: base/ (night 1's rules and inputs), next/ (the files the next
    night adds or replaces) and manifest.json (written last: the cache is complete)."""
    root = CACHE / f"night_v{DATA_VERSION}_{reports}"
    if (root / "manifest.json").exists():
        return root
    print(f"generating {root} …", flush=True)
    started = time.perf_counter()
    building = Path(tempfile.mkdtemp(prefix=root.name + ".", dir=CACHE))
    gen = Generator(reports)
    base, later = building / "base" / "inputs", building / "next" / "inputs"
    encodings: dict[str, str] = {}
    months = {m: [r for r in gen.reports if r.at.month == m] for m in MONTHS}
    for month, chunk in months.items():
        encodings |= gen.report_files(base, chunk, f"2026-{month:02d}")
        gen.write_visits(
            base / f"visits/来访登记_2026-{month:02d}.xlsx",
            [v for v in gen.visits if v.at.month == month],
            f"2026年{month}月",
        )
    gen.write_crm(base / "crm/明源导出_2026-11-30.xlsx")
    gen.write_money(base)
    # The next night: three agencies re-export November with the new day appended, a
    # fourth starts December, and the site's register of the day.
    appended = [r for r in gen.new_reports if r.agency in APPENDERS]
    november = [r for r in months[11] if r.agency in APPENDERS]
    encodings |= gen.report_files(later, november + appended, "2026-11")
    gen.report_files(later, [r for r in gen.new_reports if r.agency == NEW_FILE], "2026-12")
    gen.write_visits(later / "visits/来访登记_2026-12-01.xlsx", gen.new_visits, "2026年12月1日")
    channels = "\n".join(
        f"    {name}: [jiesuan{i:02d}@agency.example.com]" for i, name in enumerate(AGENCIES)
    )
    (building / "base" / "rules.yaml").write_text(RULES % channels, encoding="utf-8")
    new_rows = len(appended) + sum(r.agency == NEW_FILE for r in gen.new_reports)
    manifest = {
        "reports": len(gen.reports),
        "visits": len(gen.visits),
        "crm": gen.count // 4,
        "new_reports": new_rows,
        "new_visits": len(gen.new_visits),
        "encodings": encodings,
    }
    (building / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    if root.exists():
        shutil.rmtree(root)
    building.rename(root)
    print(f"generated in {time.perf_counter() - started:.1f} s", flush=True)
    return root


# --- measuring -------------------------------------------------------------------------

RAW_READ = """
import json, sys, time
from pathlib import Path
import fastexcel, polars as pl
inputs, encodings = Path(sys.argv[1]), json.loads(sys.argv[2])
start = time.perf_counter()
rows = cells = sheets = 0
for path in sorted(p for p in inputs.rglob("*") if p.is_file()):
    rel = str(path.relative_to(inputs))
    if path.suffix == ".csv":
        encoding = "utf8" if encodings[rel] == "utf-8-sig" else encodings[rel]
        frames = [pl.read_csv(path, encoding=encoding, has_header=False, infer_schema=False,
                              truncate_ragged_lines=True)]
    else:
        reader = fastexcel.read_excel(path)
        frames = [reader.load_sheet(name, header_row=None).to_polars()
                  for name in reader.sheet_names]
    for frame in frames:
        sheets += 1
        rows += frame.height
        cells += frame.height * frame.width
print(json.dumps({"seconds": time.perf_counter() - start, "rows": rows, "cells": cells,
                  "sheets": sheets}))
"""


@dataclass
class Measure:
    wall: float
    peak: int  # bytes
    stdout: str
    stderr: str
    returncode: int
    cpu: float = 0.0  # user + system seconds, the children it waited for included

    def steps(self) -> list[tuple[str, float]]:
        """The run's own step timings, from its `step.done` log lines."""
        found = re.findall(r"step\.done name=(.+?) seconds=([\d.]+)", self.stderr)
        return [(name, float(seconds)) for name, seconds in found]

    def peaks(self) -> dict[str, float]:
        """The process's peak memory (MiB) when each step ended, from `step.done` lines."""
        found = re.findall(r"step\.done name=(.+?) seconds=.* peak_mib=(\d+)", self.stderr)
        return {name: float(peak) for name, peak in found}

    def cpus(self) -> dict[str, float]:
        """Each step's CPU seconds (its children's included), from `step.done` lines."""
        found = re.findall(r"step\.done name=(.+?) seconds=[\d.]+ cpu=([\d.]+)", self.stderr)
        return {name: float(cpu) for name, cpu in found}

    def run_seconds(self) -> float:
        """The run's own time, from its `run.ok` log line (start-up and imports excluded)."""
        found = re.findall(r"run\.ok .*seconds=([\d.]+)", self.stderr)
        return float(found[-1]) if found else float("nan")


def freeze_code(scratch: Path) -> dict[str, str]:
    """The environment of a process that imports a compiled copy of the `reconcile`
    package as it is now: the three nights run one version of the code even when the
    tree is edited meanwhile (a changed file would also change the nights' reuse key)."""
    import reconcile

    target = scratch / "code" / "reconcile"
    shutil.copytree(
        Path(reconcile.__file__).parent, target, ignore=shutil.ignore_patterns("__pycache__")
    )
    compileall.compile_dir(target, quiet=1)  # bytecode is no part of a night's cost
    return {**os.environ, "PYTHONPATH": str(target.parent)}


def code_version() -> str:
    """The commit the package was copied from, when it is a git checkout."""
    root = Path(__file__).resolve().parent.parent
    git = ["git", "-C", str(root)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode:
        return "not a git checkout"
    status = [*git, "status", "--porcelain", "--", "reconcile"]
    dirty = subprocess.run(status, capture_output=True, text=True).stdout.strip()
    return head.stdout.strip() + (" with uncommitted changes" if dirty else "")


def measure(command: list[str], scratch: Path, env: dict[str, str] | None = None) -> Measure:
    """Run `command` in a fresh process: wall time and its own peak RSS (wait4)."""
    out, err = scratch / "stdout", scratch / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measure(
        wall,
        usage.ru_maxrss * 1024,
        out.read_text(encoding="utf-8"),
        err.read_text(encoding="utf-8", errors="replace"),
        process.returncode,
        usage.ru_utime + usage.ru_stime,
    )


def product_program() -> Path:
    """`reconcile` as `make demo` installs it (.venv): the nights are timed there, not in
    the bench environment that runs this script, whose extras are no part of the product
    (pyarrow imports numpy at every start wherever it is installed: ~75 ms a night).
    Without .venv, this environment's."""
    installed = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "reconcile"
    return installed if installed.is_file() else Path(sys.executable).with_name("reconcile")


def night(workspace: Path, as_of: date, scratch: Path, env: dict[str, str]) -> Measure:
    command = [str(product_program()), "run", "--workspace", str(workspace)]
    result = measure([*command, "--as-of", as_of.isoformat(), "--no-email"], scratch, env)
    if result.returncode not in (0, 1):
        sys.exit(f"reconcile run failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="leave the nights' workspace in this folder")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = generate(args.reports)
    manifest = json.loads((cached / "manifest.json").read_text())
    base = cached / "base"
    files = [p for p in (base / "inputs").rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files) / 2**20
    print(
        f"workspace: {manifest['reports']:,} reports from {len(AGENCIES)} agencies, "
        f"{manifest['visits']:,} visits, {manifest['crm']:,} CRM customers, deals, payments "
        f"and 请款单: {len(files)} files, {size:.1f} MiB; next night +{manifest['new_reports']:,} "
        f"reports, +{manifest['new_visits']:,} visits",
        flush=True,
    )
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="reconcile-night-") as temp:
        scratch = Path(temp)
        workspace = args.keep or scratch / "workspace"
        if workspace.exists():
            shutil.rmtree(workspace)
        shutil.copytree(base, workspace)
        age_past_settle(workspace / "inputs")

        raw_command = [sys.executable, "-c", RAW_READ, str(base / "inputs")]
        raw_command.append(json.dumps(manifest["encodings"], ensure_ascii=False))
        raws = [measure(raw_command, scratch) for _ in range(3)]
        raw = min(raws, key=lambda m: json.loads(m.stdout)["seconds"])
        raw_read = json.loads(raw.stdout)

        env = freeze_code(scratch)
        print(
            f"code: {code_version()}, copied for all three nights, run by {product_program()}",
            flush=True,
        )
        first = night(workspace, NIGHT_1, scratch, env)
        again = night(workspace, NIGHT_1, scratch, env)
        for path in (cached / "next" / "inputs").rglob("*"):
            if path.is_file():
                target = workspace / "inputs" / path.relative_to(cached / "next" / "inputs")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        age_past_settle(workspace / "inputs")
        following = night(workspace, NIGHT_2, scratch, env)

    report(args.reports, raw, raw_read, first, again, following)
    print(
        f"\nload average before / after: {load[0]:.2f} / {os.getloadavg()[0]:.2f} on "
        f"{os.cpu_count()} CPUs (above the CPU count, other work shared the machine)"
    )


def pad(text: str, width: int) -> str:
    """`text` left-aligned in `width` terminal columns (a Chinese character takes two)."""
    wide = sum(unicodedata.east_asian_width(char) in "WF" for char in text)
    return text + " " * max(0, width - len(text) - wide)


def report(
    reports: int, raw: Measure, raw_read: dict, first: Measure, again: Measure, nxt: Measure
) -> None:
    yardstick = raw_read["seconds"]
    print(
        f"\n(a) raw read: {raw_read['sheets']} sheets, {raw_read['rows']:,} rows, "
        f"{raw_read['cells']:,} cells in {yardstick:.2f} s (best of 3; its process "
        f"{raw.wall:.2f} s with imports)"
    )
    print(
        f"\n{'':34}{'wall s':>8}{'in run':>8}{'peak MiB':>10}{'× raw read':>12}"
        f"{'of night 1':>12}  target"
    )
    print(f"{'(a) raw read (fastexcel/polars)':34}{yardstick:8.2f}{'':8}{raw.peak / 2**20:10.0f}")
    rows = (
        ("(b) night 1", first, TARGETS["raw"]),
        ("(c) same night again, nothing new", again, TARGETS["again"]),
        ("(d) next night, 1% new rows", nxt, TARGETS["next"]),
    )
    for label, result, target in rows:
        share = result.wall / first.wall
        print(
            f"{label:34}{result.wall:8.2f}{result.run_seconds():8.1f}{result.peak / 2**20:10.0f}"
            f"{result.wall / yardstick:11.1f}×{share:11.1%}  {target}"
            + ("" if result.returncode == 0 else f"  (exit {result.returncode})")
        )
    publish = next((s for n, s in first.steps() if n.startswith("生成日报")), None)
    if publish is not None:
        print(
            f"{'publishing in night 1':34}{publish:8.2f}{'':18}{publish / yardstick:11.1f}×"
            f"{publish / first.wall:11.1%}  {TARGETS['publish']}"
        )
    print(
        f"{'peak memory of night 1':34}{'':16}{first.peak / 2**20:10.0f}"
        f"{'':24}  {TARGETS['peak']} (this run: {reports:,} reports)"
    )
    print(
        "wall s: the whole `reconcile run` process, start-up included; in run: its own "
        "run.ok seconds; ratios use wall s"
    )
    print(
        "CPU seconds (children included) and the cores they kept busy: "
        + "; ".join(
            f"{label} {result.cpu:.1f} ({result.cpu / result.wall:.2f} cores)"
            for label, result in (("night 1", first), ("again", again), ("next", nxt))
        )
    )
    print("\nthe nights' own steps (seconds, from their step.done log lines):")
    names: list[str] = []
    for result in (first, again, nxt):
        names += [name for name, _ in result.steps() if name not in names]
    print(
        f"  {pad('step', 44)}{'night 1':>9}{'again':>9}{'next':>9}  night 1: CPU s, peak MiB so far"
    )
    peaks, cpus = first.peaks(), first.cpus()
    for name in names:
        cells = []
        for result in (first, again, nxt):
            seconds = [s for n, s in result.steps() if n == name]
            cells.append(f"{sum(seconds):9.2f}" if seconds else f"{'—':>9}")
        cpu = f"{cpus[name]:10.2f}" if name in cpus else f"{'':10}"
        peak = f"{peaks[name]:10.0f}" if name in peaks else ""
        print(f"  {pad(name, 44)}{''.join(cells)}{cpu}{peak}")
    other = [r.wall - sum(s for _, s in r.steps()) for r in (first, again, nxt)]
    print(f"  {pad('start-up, ledger and the rest', 44)}" + "".join(f"{s:9.2f}" for s in other))


if __name__ == "__main__":
    main()
