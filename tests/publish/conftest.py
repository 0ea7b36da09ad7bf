"""A real workspace whose night has every kind of deal line, for the workbook tests.

Channels 链家, 我爱我家, 房多多, 安居客 (only an unreadable phone) and, named by a 渠道
column, a hostile `=HYPERLINK(…)` channel, `../../evil`, `a/b`, `房*`, `Abc`, `ABC`:

- C1 138****0001: 链家 brings, 我爱我家 lost (C01); signed → 链家 payable.
- C2 139****0002: 房多多 brings, 链家 lost; signed inside the appeal window → held H01.
- C3 137****0003: walk-in, 链家 and 我爱我家 reported 30 min apart (min_gap 1h) → disputed
  D01; signed → one held line without a channel.
- C4 136****0004: 我爱我家 / 房多多 tie, no deal: nothing may tell of it (pre-signing).
- C5 135****0005: ruling split 链家:0.5;房多多:0.5, signed → two payable J01 lines.
- C6 134****0006: 我爱我家, signed then refunded → clawback X01.
- C7 132****0007: 房多多, only 认购 → not_payable S01.
- C8 133****0008: 我爱我家 brings, 链家 lost; only 认购 → pre-signing for both.
- C9 131****0009: the hostile channel's walk-in, signed → payable.
- C10 130****0010, 130****0011: `../../evil` and `a/b` reported, never visited.
- 150****0011, 151****0012, 152****0013: walk-ins of channels `房*`, `Abc` and `ABC`,
  signed → payable (names a SUMIFS criterion would confuse with other channels).

链家's agent on C1 is `=HYPERLINK("http://x","y")`.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment
from openpyxl.utils import column_index_from_string
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook

from reconcile.config.rules import Rules
from reconcile.config.workspace import Workspace
from reconcile.judge import Judgement
from reconcile.ops.demo import DEMO_AS_OF, generate_workspace
from reconcile.ops.pipeline import run
from reconcile.testing import SheetSpec, write_xlsx
from tests.publish.browser import require_tool
from tests.publish.hostile import AS_OF as HOSTILE_AS_OF
from tests.publish.hostile import write_hostile_inputs

AS_OF = date(2026, 11, 30)
HOSTILE_AGENT = '=HYPERLINK("http://x","y")'
HOSTILE_CHANNEL = '=HYPERLINK("http://x","链*")'
# `房*` would also match 房多多 as a SUMIFS wildcard; Abc and ABC are equal to SUMIFS.
WILDCARD_CHANNEL = "房*"
RULES = """\
project: 测试花园
conflict: {min_gap: 1h, appeal_window: 7d}
"""
REPORT_HEADER = ["客户姓名", "客户电话", "报备时间", "经纪人"]
REPORTS = {
    "channels/链家/报备.xlsx": [
        ["张先生", "138****0001", "2026-11-01 10:00", HOSTILE_AGENT],
        ["李先生", "139****0002", "2026-11-25 10:00", "王五"],
        ["王女士", "137****0003", "2026-11-10 10:00", "王五"],
        ["钱先生", "135****0005", "2026-11-03 10:00", "王五"],
        ["吴女士", "133****0008", "2026-11-15 10:00", "王五"],
    ],
    "channels/我爱我家/报备.xlsx": [
        ["张先生", "138****0001", "2026-11-01 12:00", "赵六"],
        ["王女士", "137****0003", "2026-11-10 10:30", "赵六"],
        ["赵女士", "136****0004", "2026-11-20 10:00", "赵六"],
        ["孙先生", "134****0006", "2026-11-02 10:00", "赵六"],
        ["吴女士", "133****0008", "2026-11-15 11:00", "赵六"],
    ],
    "channels/房多多/报备.xlsx": [
        ["李先生", "139****0002", "2026-11-25 09:00", "孔七"],
        ["赵女士", "136****0004", "2026-11-20 10:20", "孔七"],
        ["钱先生", "135****0005", "2026-11-04 10:00", "孔七"],
        ["周先生", "132****0007", "2026-11-15 10:00", "孔七"],
    ],
    "channels/安居客/报备.xlsx": [["郑先生", "010-62345678", "2026-11-16 10:00", "郑十"]],
}
# One file naming its channels in a column, as a distributor's combined list does.
NAMED_REPORTS = [
    ["冯先生", "131****0009", "2026-11-05 10:00", "冯八", HOSTILE_CHANNEL],
    ["陈先生", "130****0010", "2026-11-26 10:00", "陈九", "../../evil"],
    ["褚先生", "130****0011", "2026-11-26 11:00", "褚十", "a/b"],
    ["卫先生", "150****0011", "2026-11-05 10:00", "卫一", WILDCARD_CHANNEL],
    ["蒋先生", "151****0012", "2026-11-05 10:00", "蒋二", "Abc"],
    ["沈先生", "152****0013", "2026-11-05 10:00", "沈三", "ABC"],
]
VISITS = [
    ["张三", "13800000001", "2026-11-02 15:00", "链家", HOSTILE_AGENT],
    ["李四", "13900000002", "2026-11-28 15:00", "房多多", "孔七"],
    ["王芳", "13700000003", "2026-11-12 15:00", None, None],
    ["赵敏", "13600000004", "2026-11-21 15:00", None, None],
    ["钱进", "13500000005", "2026-11-06 15:00", "房多多", "孔七"],
    ["孙悟", "13400000006", "2026-11-03 15:00", "我爱我家", "赵六"],
    ["周通", "13200000007", "2026-11-16 15:00", "房多多", "孔七"],
    ["吴梅", "13300000008", "2026-11-16 15:00", "我爱我家", "赵六"],
    ["冯伟", "13100000009", "2026-11-06 15:00", None, None],
    ["卫东", "15000000011", "2026-11-07 15:00", None, None],
    ["蒋涛", "15100000012", "2026-11-07 15:00", None, None],
    ["沈洋", "15200000013", "2026-11-07 15:00", None, None],
]
DEALS = [
    ["D-1", "1-101", "张三", "13800000001", "签约", "2026-11-04", "2026-11-05", None, 2000000],
    ["D-2", "1-102", "李四", "13900000002", "签约", "2026-11-29", "2026-11-29", None, 3000000],
    ["D-3", "1-103", "王芳", "13700000003", "签约", "2026-11-19", "2026-11-20", None, 2500000],
    ["D-5", "1-105", "钱进", "13500000005", "签约", "2026-11-14", "2026-11-15", None, 1800000],
    ["D-6", "1-106", "孙悟", "13400000006", "签约", "2026-11-04", "2026-11-05", None, 1500000],
    ["D-6", "1-106", "孙悟", "13400000006", "退房", None, None, "2026-11-20", None],
    ["D-7", "1-107", "周通", "13200000007", "认购", "2026-11-18", None, None, 1200000],
    ["D-8", "1-108", "吴梅", "13300000008", "认购", "2026-11-20", None, None, 1000000],
    ["D-9", "1-109", "冯伟", "13100000009", "签约", "2026-11-10", "2026-11-12", None, 900000],
    ["D-11", "1-111", "卫东", "15000000011", "签约", "2026-11-10", "2026-11-12", None, 800000],
    ["D-12", "1-112", "蒋涛", "15100000012", "签约", "2026-11-10", "2026-11-12", None, 700000],
    ["D-13", "1-113", "沈洋", "15200000013", "签约", "2026-11-10", "2026-11-12", None, 600000],
]
RULINGS = [
    ["13500000005", None, "链家:0.5;房多多:0.5", None, date(2026, 11, 7), "双方均有带看证据"]
]
# Customers whose contract is signed by the night (C1, C2, C3, C5, C6, C9 and the last three).
SIGNED = frozenset(
    {"13800000001", "13900000002", "13700000003", "13500000005", "13400000006", "13100000009"}
    | {"15000000011", "15100000012", "15200000013"}
)


@dataclass
class Night:
    root: Path
    as_of: date
    rules: Rules
    judgement: Judgement

    @property
    def outputs(self) -> Path:
        return self.root / "outputs" / self.as_of.isoformat()

    def contract(self, name: str) -> list[dict[str, str]]:
        """Rows of the night's `reports.csv`, `attribution.csv` or `deals.csv`."""
        text = (self.outputs / f"{name}.csv").read_text(encoding="utf-8")
        return list(csv.DictReader(io.StringIO(text, newline="")))


def sheets(path: Path) -> dict[str, list[list]]:
    """Every sheet's rows, read by python-calamine (a second reader, not openpyxl)."""
    book = CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def column_width(sheet: Worksheet, letter: str) -> float:
    """A column's width as openpyxl reads it, wherever the file stored it.

    xlsxwriter writes one `<col min max>` for neighbouring columns of one width, and
    openpyxl keys that under its first column only.
    """
    index = column_index_from_string(letter)
    for dimension in sheet.column_dimensions.values():
        if dimension.min is not None and dimension.min <= index <= (dimension.max or index):
            return dimension.width
    return sheet.column_dimensions[letter].width


def alignment(sheet: Worksheet, cell: Cell) -> Alignment:
    """A cell's alignment as a viewer shows it: its own, or else its column's.

    The fast engine (publish/stream.py) styles whole columns and writes no empty cell,
    so an empty cell shows its column's look.
    """
    if cell.has_style:
        return cell.alignment
    index = cell.column
    for dimension in sheet.column_dimensions.values():
        if dimension.min is not None and dimension.min <= index <= (dimension.max or index):
            return dimension.alignment
    return cell.alignment


SOFFICE_TIMEOUT = 180


def recalculate(paths: dict[str, Path], folder: Path) -> dict[str, dict[str, list[list]]]:
    """The workbooks after LibreOffice opened, recalculated and saved them (one soffice
    run), read back by calamine.

    openpyxl writes formulas without cached values; LibreOffice computes them on load
    and stores the results.
    """
    soffice = require_tool("soffice")
    inputs = []
    for name, path in paths.items():
        inputs.append(folder / f"{name}.xlsx")
        shutil.copyfile(path, inputs[-1])
    out = folder / "out"
    profile = f"-env:UserInstallation={(folder / 'profile').as_uri()}"
    command = [
        soffice, "--headless", "--norestore", profile,
        "--convert-to", "xlsx", "--outdir", str(out), *map(str, inputs),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=SOFFICE_TIMEOUT)
    assert done.returncode == 0, done.stderr
    return {name: sheets(out / f"{name}.xlsx") for name in paths}


def _cell(value):
    if isinstance(value, str) and len(value) == 16 and value[4] == "-" and value[13] == ":":
        return datetime.fromisoformat(value)
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        return date.fromisoformat(value)
    return value


def _sheet(name: str, header: list[str], rows: list[list]) -> list[SheetSpec]:
    return [SheetSpec(name, header, [[_cell(v) for v in row] for row in rows])]


def write_inputs(root: Path) -> Path:
    """A workspace at `root` with the scenario's rules and input files."""
    for folder in ("inputs/channels", "inputs/visits", "inputs/crm", "inputs/rulings"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    inputs = root / "inputs"
    (root / "rules.yaml").write_text(RULES, encoding="utf-8")
    for rel, rows in REPORTS.items():
        write_xlsx(inputs / rel, _sheet("报备", REPORT_HEADER, rows))
    write_xlsx(
        inputs / "channels/汇总/报备.xlsx", _sheet("报备", [*REPORT_HEADER, "渠道"], NAMED_REPORTS)
    )
    visit_header = ["客户姓名", "客户电话", "到访时间", "渠道", "经纪人"]
    write_xlsx(inputs / "visits/来访登记.xlsx", _sheet("来访", visit_header, VISITS))
    deal_header = ["成交编号", "房号", "客户姓名", "客户电话", "成交阶段", "认购日期", "签约日期"]
    deal_header += ["退房日期", "成交金额"]
    write_xlsx(inputs / "crm/成交.xlsx", _sheet("成交", deal_header, DEALS))
    ruling_header = ["客户电话", "归属渠道", "分成", "经纪人", "裁决日期", "备注"]
    write_xlsx(inputs / "rulings/裁决.xlsx", _sheet("裁决", ruling_header, RULINGS))
    return root


def run_night(root: Path, as_of: date = AS_OF) -> Night:
    workspace = Workspace.open(root)
    summary = run(workspace, as_of)
    assert summary.judgement is not None
    return Night(root, as_of, workspace.rules, summary.judgement)


@pytest.fixture(scope="session")
def night(tmp_path_factory: pytest.TempPathFactory) -> Night:
    """The scenario's night, run once for the whole session (read it, do not change it)."""
    return run_night(write_inputs(tmp_path_factory.mktemp("garden")))


@pytest.fixture(scope="session")
def demo_night(tmp_path_factory: pytest.TempPathFactory) -> Night:
    """`reconcile demo`'s workspace (a refund, natural deals, a collision), run once."""
    root = tmp_path_factory.mktemp("demo")
    generate_workspace(root)
    return run_night(root, DEMO_AS_OF)


@pytest.fixture(scope="session")
def hostile_night(tmp_path_factory: pytest.TempPathFactory) -> Night:
    """tests/publish/hostile.py's night: channel names made to break formulas and files."""
    return run_night(write_hostile_inputs(tmp_path_factory.mktemp("hostile")), HOSTILE_AS_OF)


@pytest.fixture(scope="session")
def tame_night(tmp_path_factory: pytest.TempPathFactory) -> Night:
    """The same night with every hostile text replaced by a plain one."""
    root = write_hostile_inputs(tmp_path_factory.mktemp("tame"), tame=True)
    return run_night(root, HOSTILE_AS_OF)
