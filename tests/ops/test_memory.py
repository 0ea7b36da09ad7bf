"""Memory as a promise (issue 12): `reconcile check` and `reconcile run` stay within
`limits.memory_gb` (2 GiB by default) on every hostile shape, in real processes whose
memory is capped, so that a regression fails here and not on the office server.

- `check` runs with its address space capped (`RLIMIT_AS`, set in the child): the
  budget plus the address space a plain `check` already takes (polars, pyarrow and
  their thread pools reserve about 1.8 GB they never touch), measured first.
- `run` cannot run under any address-space cap: the ledger's SQLite driver (ADBC,
  queried with `adbc.sqlite.query.batch_rows` = 2**30) reserves 8 GiB of untouched
  address space per result column, 500 GB in all, and dies of SIGSEGV when it cannot
  (`RLIMIT_DATA` counts those reservations too). So `run` is held to its resident
  memory instead: a watchdog kills it the moment it passes the budget, and the peak
  the kernel reports for it when it ends (`wait4`) must be within the budget.

Each hostile file sits in a workspace beside a normal file: the run must exit 0,
quarantine the hostile file with its Chinese reason and keep the normal file's rows.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconcile.config.rules import Limits
from reconcile.testing import SheetSpec, write_xlsx
from tests.ingest.test_limits import cell, far_cells, sheet_workbook, sheet_xml, zip_bomb

GiB = 2**30
BUDGET = int(Limits().memory_gb * GiB)
CHECK_UNREADABLE = 2
NORMAL = SheetSpec(
    "报备",
    ["客户姓名", "客户电话", "报备时间"],
    [["张三", "13812345678", "2026-11-18 10:00"], ["李四", "13912345678", "2026-11-18 11:00"]],
)
_VM_PEAK = (
    "import sys\n"
    "from reconcile.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    "peak = [l for l in open('/proc/self/status') if l.startswith('VmPeak')][0]\n"
    "print('VMPEAK', int(peak.split()[1]) * 1024)\n"
)


_CAPPED = (
    "import os, resource, sys\n"
    "cap = int(sys.argv[1])\n"
    "resource.setrlimit(resource.RLIMIT_AS, (cap, cap))\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


@dataclass
class Finished:
    code: int
    output: str
    peak: int  # bytes of resident memory at the most
    killed: bool  # by the watchdog, past the budget


def _run(args: list[str], log: Path, address_space: int | None = None) -> Finished:
    """`python ARGS` in a child, its resident memory watched (and its address space
    capped when asked); killed at the budget or after two minutes."""

    # The cap is set by a small Python that then execs the real command (limits survive
    # exec), not by a `preexec_fn`: that would fork this process, whose address space (a
    # test worker's, with the ADBC driver's reservations) the kernel may refuse to copy.
    command = [sys.executable, *args]
    if address_space is not None:
        command = [sys.executable, "-c", _CAPPED, str(address_space), *command]
    with log.open("wb") as out:
        child = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    killed, reaped = threading.Event(), threading.Event()
    deadline = time.monotonic() + 120

    def watch() -> None:
        status = Path(f"/proc/{child.pid}/status")
        while not reaped.is_set():
            try:
                lines = status.read_text().splitlines()
            except OSError:
                return
            rss = next((line for line in lines if line.startswith("VmRSS")), None)
            if rss is None:  # a zombie: it has ended
                return
            if int(rss.split()[1]) * 1024 > BUDGET or time.monotonic() > deadline:
                killed.set()
                child.kill()
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(child.pid, 0)
    reaped.set()
    child.returncode = os.waitstatus_to_exitcode(status)
    watcher.join()
    return Finished(
        child.returncode, log.read_text("utf-8", "replace"), usage.ru_maxrss * 1024, killed.is_set()
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    """Each hostile shape, a few MiB on disk at most."""
    folder = tmp_path_factory.mktemp("hostile")
    rows = folder / "百万行.csv"
    rows.write_bytes("客户姓名,客户电话\n".encode() + b"a,1\n" * 2_500_000)
    body = f'<row r="1">{cell("A1", "客户姓名")}{cell("B1", "客户电话")}'
    body += f'{cell("C1", "报备时间")}</row><row r="2">{cell("A2", "王五")}'
    body += f"{cell('B2', '13712345678')}{cell('C2', '2026-11-18 12:00')}</row>"
    return {
        "bomb": zip_bomb(folder / "压缩炸弹.xlsx", 2 * GiB),
        "liar": zip_bomb(folder / "伪装大小.xlsx", 2 * GiB, declared=60_000, crc=False),
        "rows": rows,
        "far": far_cells(folder / "远处的格.xlsx"),
        "dimension": sheet_workbook(folder / "虚报范围.xlsx", sheet_xml(body, "A1:XFD1048576")),
    }


# What each shape must come to: quarantined with a reason naming the limit, or read.
EXPECTED = {
    "bomb": "limits.max_inflated_mb",
    "liar": "limits.max_inflated_mb",
    "rows": "limits.memory_gb",
    "far": "limits.max_cells",
    "dimension": None,
}


@pytest.fixture(scope="module")
def check_address_space(tmp_path_factory) -> int:
    """The budget plus the address space of a plain `check` of a normal file."""
    folder = tmp_path_factory.mktemp("baseline")
    normal = write_xlsx(folder / "normal.xlsx", [NORMAL])
    done = _run(["-c", _VM_PEAK, "check", str(normal)], folder / "log.txt")
    baseline = int(done.output.split("VMPEAK")[1].split()[0])
    assert 0 < baseline < 8 * GiB, done.output
    return baseline + BUDGET


@pytest.mark.parametrize("shape", list(EXPECTED))
def test_check_stays_within_the_budget(hostile, check_address_space, tmp_path, shape):
    path = hostile[shape]
    done = _run(
        ["-m", "reconcile.cli", "check", str(path)], tmp_path / "check.txt", check_address_space
    )
    assert not done.killed and done.peak < BUDGET, (done.peak, done.output[-2000:])
    if EXPECTED[shape] is None:
        assert done.code in (0, 1), done.output[-2000:]
        assert "无法读取" not in done.output
    else:
        assert done.code == CHECK_UNREADABLE, done.output[-2000:]
        assert "无法读取" in done.output and EXPECTED[shape] in done.output


@pytest.mark.parametrize("shape", list(EXPECTED))
def test_run_stays_within_the_budget_and_publishes_the_rest(hostile, tmp_path, shape):
    root = tmp_path / "ws"
    channel = root / "inputs" / "channels" / "链家"
    channel.mkdir(parents=True)
    (root / "rules.yaml").write_text("schedule: {settle: 0s}\n", encoding="utf-8")
    write_xlsx(channel / "正常.xlsx", [NORMAL])
    (channel / hostile[shape].name).write_bytes(hostile[shape].read_bytes())
    done = _run(
        [
            "-m",
            "reconcile.cli.main",
            "run",
            "--workspace",
            str(root),
            "--as-of",
            "2026-11-20",
            "--no-email",
        ],
        tmp_path / "run.txt",
    )
    assert not done.killed and done.peak < BUDGET, (done.peak, done.output[-2000:])
    assert done.code == 0, done.output[-3000:]
    with sqlite3.connect(f"file:{root / '.reconcile' / 'ledger.sqlite'}?mode=ro", uri=True) as db:
        files = {
            Path(path).name: (status, code, reason, added)
            for path, status, code, reason, added in db.execute(
                "SELECT path, status, reason_code, reason, rows_added FROM files"
            )
        }
    assert files["正常.xlsx"][0] == "ingested" and files["正常.xlsx"][3] == 2
    status, code, reason, added = files[hostile[shape].name]
    if EXPECTED[shape] is None:
        assert status == "ingested" and added == 1, reason
    else:
        assert (status, code) == ("quarantined", "over_limit"), reason
        assert EXPECTED[shape] in reason
        moved = root / "inputs" / "_quarantine" / "channels" / "链家" / hostile[shape].name
        assert moved.exists()


def test_a_bomb_and_a_degenerate_file_among_twenty_normal_ones(hostile, tmp_path):
    """Issue 12's night: one zip bomb and 100,000 reports of one masked number (one
    channel, a minute apart — ten weeks of them — plus that customer's visit) among 20
    normal agency files.
    Everything else is published, the bomb is quarantined with its reason, and the
    degenerate file is judged completely, within the budget."""
    import csv
    from datetime import datetime, timedelta

    import xlsxwriter

    root = tmp_path / "ws"
    channels = root / "inputs" / "channels"
    (root / "inputs" / "visits").mkdir(parents=True)
    (root / "rules.yaml").write_text("schedule: {settle: 0s}\n", encoding="utf-8")
    for i in range(20):
        rows = [[f"客户{i}-{j}", f"13{i:02d}***{j:04d}"[:3] + "****" + f"{i:02d}{j:02d}",
                 f"2026-11-1{j % 9} 10:{j:02d}"] for j in range(5)]  # fmt: skip
        write_xlsx(
            channels / f"渠道{i:02d}" / "报备.xlsx", [SheetSpec("报备", NORMAL.header, rows)]
        )
    (channels / "渠道00" / hostile["bomb"].name).write_bytes(hostile["bomb"].read_bytes())
    start = datetime(2026, 11, 1, 8, 0)
    (channels / "刷单渠道").mkdir()
    book = xlsxwriter.Workbook(str(channels / "刷单渠道" / "报备.xlsx"), {"constant_memory": True})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet = book.add_worksheet("报备")
    sheet.write_row(0, 0, ["客户姓名", "客户电话", "报备时间", "经纪人"])
    for k in range(100_000):
        sheet.write_row(k + 1, 0, ["王先生", "158****8888"])
        sheet.write_datetime(k + 1, 2, start + timedelta(minutes=k), stamp)
        sheet.write_string(k + 1, 3, "赵六")
    book.close()
    write_xlsx(
        root / "inputs" / "visits" / "来访.xlsx",
        [SheetSpec("来访", ["客户姓名", "客户电话", "到访时间"],
                   [["王五", "15800008888", "2026-11-19 15:00"]])],
    )  # fmt: skip
    done = _run(
        ["-m", "reconcile.cli", "run", "--workspace", str(root), "--as-of", "2027-01-31",
         "--no-email"],
        tmp_path / "run.txt",
    )  # fmt: skip
    assert not done.killed and done.peak < BUDGET, (done.peak, done.output[-2000:])
    assert done.code == 0, done.output[-3000:]
    moved = root / "inputs" / "_quarantine" / "channels" / "渠道00" / hostile["bomb"].name
    assert moved.exists()
    reports = root / "outputs" / "2027-01-31" / "reports.csv"
    with reports.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    flood = [row for row in rows if row["channel"] == "刷单渠道"]
    assert len(flood) == 100_000 and all(row["status"] for row in flood)
    assert sum(row["status"] == "valid" for row in flood) == 1  # the first report holds
    assert len([row for row in rows if row["channel"].startswith("渠道")]) == 100
    receipts = root / "outputs" / "2027-01-31" / "channels"
    assert len(list(receipts.glob("*.xlsx"))) == 21
