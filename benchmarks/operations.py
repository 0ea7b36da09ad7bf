"""Benchmark of nightly operation: what safe arrival, locking, archiving and status cost.

A workspace of `--files` one-row report files over 50 agency folders (a busy shared
folder after a month without archiving). Timed: the lock round trip; the stat pass of
safe arrival over every file (no wait: the files are aged past the settle interval,
as a 02:00 night finds them, benchmarks/aging.py); the first night that reads them
all; a night with nothing new (every file hashed, the price of never archiving);
moving them all into the archive; and `reconcile status`, which hashes every file to
tell new from known.

    .venv-bench/bin/python benchmarks/operations.py [--files 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import reconcile.ops.pipeline as pipeline
from reconcile.config.workspace import Workspace
from reconcile.ingest.arrival import settled
from reconcile.ingest.files import discover
from reconcile.ops.lock import run_lock
from reconcile.ops.status import status
from reconcile.testing import SheetSpec, write_xlsx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aging import age_past_settle  # noqa: E402

NIGHT = date(2026, 11, 20)
HEADER = ["客户姓名", "客户电话", "报备时间", "经纪人"]
RULES = "project: 基准花园\n"


def make_workspace(root: Path, files: int) -> Workspace:
    root.mkdir(parents=True)
    (root / "rules.yaml").write_text(RULES, encoding="utf-8")
    for index in range(files):
        rows = [[f"客户{index}", f"138****{index % 10_000:04d}", "2026-11-19 10:00", "王五"]]
        path = root / "inputs/channels" / f"渠道{index % 50:02d}" / f"报备_{index:05d}.xlsx"
        write_xlsx(path, [SheetSpec("报备", HEADER, rows)])
    return Workspace.open(root)


def best(repeat: int, work) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    zone = ZoneInfo("Asia/Shanghai")
    with tempfile.TemporaryDirectory(prefix="reconcile-ops-") as temp:
        base = Path(temp)
        source = make_workspace(base / "source", args.files)
        # The archive nights' copies are made now, so one untimed wait ages them all.
        copies = [base / f"archived{attempt}" for attempt in range(args.repeat)]
        for root in copies:
            shutil.copytree(source.root, root)
            (root / "rules.yaml").write_text(RULES + "archive: true\n", encoding="utf-8")
        age_past_settle(base, source.rules.schedule.settle)
        state = base / "state"

        def lock_round_trip() -> None:
            for _ in range(100):
                with run_lock(state, "run", datetime.now(zone)):
                    pass

        lock = best(args.repeat, lock_round_trip) / 100

        def arrival() -> None:
            files, _ = discover(source.inputs)
            settled(files, source.rules.schedule.settle)

        stat_pass = best(args.repeat, arrival)

        started = time.perf_counter()
        pipeline.run(source, NIGHT, send=False)
        first_night = time.perf_counter() - started
        unchanged = best(args.repeat, lambda: pipeline.run(source, NIGHT, send=False))
        status_time = best(args.repeat, lambda: status(source))

        moves: list[float] = []
        tidy = pipeline.tidy

        def timed_tidy(*tidy_args):
            started = time.perf_counter()
            moved = tidy(*tidy_args)
            moves.append(time.perf_counter() - started)
            return moved

        pipeline.tidy = timed_tidy
        for root in copies:
            summary = pipeline.run(Workspace.open(root), NIGHT, send=False)
            assert len([m for m in summary.moves if m.dest]) == args.files
        pipeline.tidy = tidy

    print(f"nightly operation, {args.files} files in 50 agency folders, best of {args.repeat}")
    print(f"  lock taken and released          {lock * 1e3:8.2f} ms")
    print(f"  safe-arrival stat pass           {stat_pass:8.3f} s")
    print(f"  first night, every file new      {first_night:8.3f} s")
    print(f"  next night, nothing new          {unchanged:8.3f} s")
    print(f"  archive moves (archive: true)    {min(moves):8.3f} s")
    print(f"  reconcile status (hashes files)  {status_time:8.3f} s")


if __name__ == "__main__":
    main()
