"""Fleet benchmark: a group's nights one after another, then on a Dask LocalCluster.

Copies the night benchmark's cached workspace (benchmarks/night.py: `--reports`
reports in 48 files from 12 agencies, visits, CRM, payments and claims; generated once
under benchmarks/.cache) into `--projects` project folders, twice: one set for the
sequential nights, one for the cluster, so each night is a first night that reads
everything. Inputs are aged past the safe-arrival interval before any clock starts
(benchmarks/aging.py). Then prints, in one run:

  (a) the sequential time: every project's night in this process, one after another,
      through the same function a cluster task runs (ops/fleet.py `project_night`);
  (b) the LocalCluster time with `--workers` processes of one thread each, from
      starting the cluster to the last outcome, and the speed-up over (a);
  (c) the scheduler overhead per task: the round trip of 200 empty tasks on the same
      cluster, and the cluster's time not spent in nights (workers × wall − Σ nights)
      per night;
  (d) per project: mean and slowest night (wall and CPU), a worker's peak memory, and
      the ledger, inputs and night's files on disk;
  (e) the group view of the cluster's nights: reading every project's CSVs, writing
      the group settlement workbook and the digest (publish/group.py, no mail).

    .venv-bench/bin/python benchmarks/fleet.py [--projects 40] [--reports 20000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aging import age_past_settle  # noqa: E402
from distributed import Client  # noqa: E402
from night import NIGHT_1, generate  # noqa: E402

from reconcile.config.group import Group, parse_group  # noqa: E402
from reconcile.ops.fleet import (  # noqa: E402
    Cluster,
    Outcome,
    dispatch,
    local_cluster,
    project_night,
)
from reconcile.publish.group import (  # noqa: E402
    ProjectNight,
    read_view,
    render_digest,
    write_group_settlement,
)

EMPTY_TASKS = 200


def _noop(index: int) -> int:
    return index


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    """This process's CPU time so far (user + system, every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return "load average " + " ".join(f"{value:.1f}" for value in os.getloadavg())


def projects(base: Path, folder: Path, count: int) -> Path:
    """`count` copies of the cached workspace under `folder`, and their group.yaml."""
    entries = []
    for index in range(count):
        name = f"项目{index + 1:03d}"
        shutil.copytree(base, folder / name)
        entries.append(f"  - workspace: {name}\n")
    path = folder / "group.yaml"
    path.write_text("group: 基准集团\ndefaults: {send: false}\nprojects:\n" + "".join(entries))
    return path


def summary(outcomes: list[Outcome]) -> str:
    seconds = [o.seconds for o in outcomes]
    failed = [o for o in outcomes if not o.ok]
    cpu = statistics.mean(o.cpu_seconds for o in outcomes)
    text = f"mean {statistics.mean(seconds):.2f} s, slowest {max(seconds):.2f} s, CPU {cpu:.2f} s"
    if failed:
        text += f"; FAILED {len(failed)}: {failed[0].name}: {failed[0].error}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=40)
    parser.add_argument("--reports", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="keep the projects here")
    args = parser.parse_args()

    cached = generate(args.reports) / "base"
    scratch = Path(tempfile.mkdtemp(prefix="fleet-bench.")) if args.keep is None else args.keep
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        sequential = parse_group_file(projects(cached, scratch / "sequential", args.projects))
        clustered = parse_group_file(projects(cached, scratch / "cluster", args.projects))
        waited = age_past_settle(scratch)
        print(
            f"{args.projects} projects × {args.reports:,} reports (aged, waited {waited:.1f} s), "
            f"night of {NIGHT_1}, {args.workers} workers",
            flush=True,
        )

        started, cpu = time.perf_counter(), _cpu_seconds()
        alone = [project_night(project, NIGHT_1) for project in sequential.projects]
        sequential_seconds = time.perf_counter() - started
        cores = (_cpu_seconds() - cpu) / sequential_seconds
        print(
            f"(a) sequential:  {sequential_seconds:8.1f} s   ({summary(alone)}); "
            f"{cores:.2f} cores busy on average; {_load()}",
            flush=True,
        )
        main_peak = _peak_mib()

        started = time.perf_counter()
        with local_cluster(args.workers) as local:
            startup = time.perf_counter() - started
            # dispatch as `reconcile fleet run --scheduler` does, to this cluster
            together = dispatch(clustered, NIGHT_1, Cluster(scheduler=local.scheduler_address))
            cluster_seconds = time.perf_counter() - started
            with Client(local) as client:
                worker_peak = max(client.run(_peak_mib).values())
                worker_cores = sum(client.run(_cpu_seconds).values()) / cluster_seconds
                round_trip = empty_tasks(client)
        print(
            f"(b) LocalCluster: {cluster_seconds:7.1f} s   ({summary(together)}); "
            f"speed-up {sequential_seconds / cluster_seconds:.2f}× "
            f"(cluster start {startup:.1f} s included); the workers kept "
            f"{worker_cores:.2f} cores busy on average; {_load()}",
            flush=True,
        )
        idle = (args.workers * cluster_seconds - sum(o.seconds for o in together)) / len(together)
        print(
            f"(c) scheduler overhead: {round_trip * 1000:.1f} ms per empty task "
            f"(round trip of {EMPTY_TASKS}); worker time outside nights (start-up included) "
            f"{idle:.2f} s per project",
            flush=True,
        )
        print(
            f"(d) per project: sequential {summary(alone)}; on the cluster {summary(together)}; "
            f"peak memory: this process {main_peak:.0f} MiB, a worker {worker_peak:.0f} MiB; "
            f"{disk(clustered)}"
        )
        started = time.perf_counter()
        nights = [ProjectNight(o.name, Path(o.outputs) if o.outputs else None) for o in together]
        view = read_view(clustered.name, NIGHT_1, nights)
        book = write_group_settlement(view, clustered.rules, scratch / "group.xlsx")
        digest, _ = render_digest(view, book.name)
        print(
            f"(e) group view: {time.perf_counter() - started:.2f} s for {len(nights)} projects, "
            f"{len(view.lines):,} settlement lines ({book.stat().st_size / 1024:.0f} KiB workbook, "
            f"{len(digest) / 1024:.0f} KiB digest)"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)


def _bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def disk(group: Group) -> str:
    """A project's ledger, inputs and night's files on disk (MiB, mean over the group)."""
    ledger = inputs = night = mails = 0
    for project in group.projects:
        path = project.workspace / ".reconcile" / "ledger.sqlite"
        ledger += path.stat().st_size
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
            mails += db.execute("SELECT coalesce(sum(length(raw)), 0) FROM mails").fetchone()[0]
        inputs += _bytes(project.workspace / "inputs")
        night += _bytes(project.workspace / "outputs") + _bytes(project.workspace / "reports")
    count, mib = len(group.projects), 1024 * 1024
    return (
        f"ledger {ledger / count / mib:.1f} MiB (of which the night's mails "
        f"{mails / count / mib:.1f} MiB), inputs {inputs / count / mib:.1f} MiB, "
        f"the night's outputs and reports {night / count / mib:.1f} MiB"
    )


def parse_group_file(path: Path) -> Group:
    return parse_group(path.read_text(encoding="utf-8"), path.parent, source=path.name)


def empty_tasks(client: Client) -> float:
    """Seconds per task of `EMPTY_TASKS` tasks that do nothing: the scheduler's own cost."""
    client.gather(client.map(_noop, range(10)))  # warm
    started = time.perf_counter()
    client.gather([client.submit(_noop, i, pure=False) for i in range(EMPTY_TASKS)])
    return (time.perf_counter() - started) / EMPTY_TASKS


if __name__ == "__main__":
    main()
