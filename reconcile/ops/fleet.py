"""`reconcile fleet`: every project of a group (group.yaml) runs its night as an isolated
task on Dask distributed, then the group view is published.

Each task is one project's `pipeline.run` in a worker process: a LocalCluster of
processes (one thread each) by default, or the workers of a real cluster when a
scheduler address is given (they must see the workspaces at the same paths). A task
returns a small `Outcome` (status, seconds, counts, the reason of a failure), never
the night itself. A task that fails is not the fleet's failure: the other projects
carry on, and the failed one is tried again at most `retries` times, unless its
configuration is wrong (that fails the same way every time). A worker process that
dies is a failure of the task it ran, tried again the same way.

The group's own state lives in the group ledger (group.yaml's `state_dir`, a SQLite
ledger of the same schema as a project's): each fleet night is a row of `runs` whose
summary holds every project's outcome and duration, and the group mails are keyed
and recorded in its `mails`, so they are never sent twice. Only one fleet night runs
at a time per group (the `fleet` lock in that folder).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from pathlib import Path

from distributed import Client, Future, LocalCluster, as_completed

from reconcile.config.group import Group, Project
from reconcile.config.rules import RulesError
from reconcile.config.workspace import Workspace
from reconcile.ops.lock import Holder, RunLocked, lock_state, run_lock
from reconcile.ops.logs import logging_to
from reconcile.ops.pipeline import run
from reconcile.publish.group import ProjectNight, Published, bounded, publish_group, read_view
from reconcile.publish.stream import SheetTooLong
from reconcile.store.ledger import Ledger, RunRow

log = logging.getLogger(__name__)

WORKERS = 2  # one per core of the machine the group runs on
RECENT_NIGHTS = 30  # fleet status looks this far back for each project's latest night
QUIET = logging.CRITICAL + 1
# A worker is one process on one core: polars there gets one thread, not one per core
# (two processes of two threads each on two cores would only contend).
WORKER_ENV = {"POLARS_MAX_THREADS": "1"}  # a worker's stderr is the cluster's log, not a person's


@dataclass
class Outcome:
    """One project's night as the fleet records it (small: it crosses processes)."""

    name: str
    status: str  # ok | failed
    seconds: float  # the last try's wall time
    attempts: int = 1
    error: str | None = None  # Chinese, bounded
    retry: bool = False  # whether another try could succeed
    mode: str | None = None  # ingest | replay
    outputs: str | None = None  # outputs/<date>/ of a night that ran
    files_new: int = 0
    rows_added: int = 0
    quarantined: int = 0
    failed_files: int = 0
    mails: int = 0
    cpu_seconds: float = 0.0  # the last try's CPU time, every thread of its process

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _failed(project: Project, started: tuple[float, float], error: str, retry: bool) -> Outcome:
    return Outcome(
        project.name,
        "failed",
        time.perf_counter() - started[0],
        error=bounded(error),
        retry=retry,
        cpu_seconds=time.process_time() - started[1],
    )


def project_night(project: Project, as_of: date, pause: float = 0.0) -> Outcome:
    """One project's night, in whichever process runs it, after `pause` seconds (a
    retry gives the cause of the failure, such as a run holding the workspace, time to
    pass). Never raises for the night's own failures: they are the outcome."""
    time.sleep(pause)
    started = _clock()
    if not (project.workspace / "rules.yaml").is_file():
        return _failed(
            project, started, f"工作目录 {project.workspace} 不存在或其中没有 rules.yaml", False
        )
    try:
        workspace = Workspace.open(project.workspace)
    except RulesError as exc:
        return _failed(project, started, f"配置错误：{exc}", False)
    if project.ledger is not None:
        rules = workspace.rules.model_copy(update={"state_dir": str(project.ledger)})
        workspace = Workspace(workspace.root, rules)
    try:
        with logging_to(workspace.state_dir / "logs", "run", workspace.rules.zone, QUIET):
            summary = run(workspace, as_of, send=project.send, command="fleet")
    except RunLocked as exc:
        return _failed(project, started, str(exc), True)
    except Exception as exc:  # the project's ledger recorded the run as failed
        return _failed(project, started, f"运行失败：{type(exc).__name__}: {exc}", True)
    mails = summary.published.deliveries if summary.published else summary.deliveries
    return Outcome(
        project.name,
        "ok",
        time.perf_counter() - started[0],
        mode=summary.mode,
        outputs=str(workspace.outputs / as_of.isoformat()),
        files_new=len(summary.files_new),
        rows_added=summary.rows_added,
        quarantined=len(summary.quarantined),
        failed_files=len(summary.failed),
        mails=len(mails),
        cpu_seconds=time.process_time() - started[1],
    )


class GroupPublishError(OSError):
    """The projects' nights ran, but the group's files could not be written."""


@dataclass
class FleetNight:
    as_of: date
    run_id: int
    outcomes: list[Outcome]  # in group.yaml's order
    seconds: float
    published: Published | None = None
    took_over: Holder | None = None  # a fleet night whose process died holding the lock

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.ok]

    @property
    def status(self) -> str:
        """ok (every project), partial (some failed) or failed (none ran)."""
        if not self.failed:
            return "ok"
        return "failed" if len(self.failed) == len(self.outcomes) else "partial"


@dataclass
class Cluster:
    """Where the tasks run: a scheduler address, or a LocalCluster of `workers` processes."""

    scheduler: str | None = None
    workers: int = WORKERS
    connect_timeout: float = 30.0
    retry_pause: float = 30.0  # seconds a retry waits before it starts


def local_cluster(workers: int) -> LocalCluster:
    """Dask on this machine: `workers` processes of one thread each (a night is one
    task; polars gets one thread per worker), quiet, without a dashboard."""
    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
        env=WORKER_ENV,
    )


def dispatch(
    group: Group,
    as_of: date,
    cluster: Cluster,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Every project's night as a Dask task; a failed one tried again up to its `retries`."""
    local = local_cluster(cluster.workers) if cluster.scheduler is None else None
    try:
        with Client(local or cluster.scheduler, timeout=cluster.connect_timeout) as client:
            return _collect(client, group.projects, as_of, cluster.retry_pause, on_outcome)
    finally:
        if local is not None:
            local.close()


def _collect(
    client: Client,
    projects: tuple[Project, ...],
    as_of: date,
    retry_pause: float,
    on_outcome: Callable[[Outcome], None] | None,
) -> list[Outcome]:
    def submit(index: int, attempt: int) -> Future:
        # A key per try: a resubmitted key would be the finished (failed) task again.
        key = f"night-{as_of.isoformat()}-{index}-{attempt}"
        pause = retry_pause if attempt > 1 else 0.0
        future = client.submit(project_night, projects[index], as_of, pause, key=key, pure=False)
        tries[future.key] = (index, attempt)
        return future

    tries: dict[object, tuple[int, int]] = {}
    results: dict[int, Outcome] = {}
    pending = as_completed([submit(index, 1) for index in range(len(projects))])
    for future in pending:
        index, attempt = tries[future.key]
        project = projects[index]
        try:
            outcome = future.result()
        except Exception as exc:  # the worker died or the task could not be run at all
            outcome = Outcome(
                project.name,
                "failed",
                0.0,
                error=bounded(f"计算节点上的任务出错：{type(exc).__name__}: {exc}"),
                retry=True,
            )
        outcome.attempts = attempt
        if not outcome.ok and outcome.retry and attempt <= project.retries:
            log.warning(
                "fleet.retry project=%s attempt=%d error=%s", project.name, attempt, outcome.error
            )
            pending.add(submit(index, attempt + 1))
            continue
        results[index] = outcome
        log.info(
            "fleet.project project=%s status=%s seconds=%.1f",
            project.name,
            outcome.status,
            outcome.seconds,
        )
        if on_outcome is not None:
            on_outcome(outcome)
    return [results[index] for index in range(len(projects))]


def run_fleet(
    group: Group,
    as_of: date | None = None,
    cluster: Cluster | None = None,
    send: bool = True,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> FleetNight:
    """The group's night: every project's night, then the group view and its mails.

    Without `as_of`, today in the group's timezone, the same day for every project.
    Raises `RunLocked` if a fleet night of this group is already running.
    """
    rules = group.rules
    as_of = as_of or datetime.now(rules.zone).date()
    started = datetime.now(rules.zone)
    clock = time.perf_counter()
    group.state_dir.mkdir(parents=True, exist_ok=True)
    with (
        run_lock(group.state_dir, "fleet", started) as took_over,
        Ledger(group.ledger_path) as ledger,
    ):
        now = datetime.now(rules.zone).isoformat(timespec="seconds")
        ledger.close_dead_runs(now)
        run_id = ledger.start_run(as_of.isoformat(), "fleet", started.isoformat("T", "seconds"))
        arrived: list[Outcome] = []  # recorded even if the fleet night is interrupted

        def arrive(outcome: Outcome) -> None:
            arrived.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)

        try:
            if not send:  # --no-email holds every project's mail too
                group = replace(
                    group, projects=tuple(replace(p, send=False) for p in group.projects)
                )
            outcomes = dispatch(group, as_of, cluster or Cluster(), arrive)
            night = FleetNight(as_of, run_id, outcomes, 0.0, took_over=took_over)
            view = read_view(
                group.name,
                as_of,
                [
                    ProjectNight(
                        outcome.name,
                        None if outcome.outputs is None else Path(outcome.outputs),
                        outcome.error,
                    )
                    for outcome in outcomes
                ],
            )
            notify = group.settings.notify
            folder = group.outputs / as_of.isoformat()
            try:
                night.published = publish_group(
                    view, rules, ledger, folder, (notify.group_finance, notify.group_admin), send
                )
            except (OSError, SheetTooLong) as exc:
                why = getattr(exc, "strerror", None) or exc
                raise GroupPublishError(f"集团结算表与争议汇总无法写入 {folder}（{why}）") from exc
        except BaseException as exc:
            ledger.finish_run(run_id, "failed", _now(group), _summary(arrived, repr(exc)))
            raise
        night.seconds = time.perf_counter() - clock
        ledger.finish_run(run_id, night.status, _now(group), _summary(outcomes, None))
    return night


def _now(group: Group) -> str:
    return datetime.now(group.rules.zone).isoformat(timespec="seconds")


def _summary(outcomes: list[Outcome], error: str | None) -> dict:
    summary: dict = {"projects": [asdict(outcome) for outcome in outcomes]}
    if error is not None:
        summary["error"] = bounded(error)
    return summary


# fleet status -----------------------------------------------------------------------------


@dataclass
class FleetStatus:
    running: Holder | None  # a fleet night holds the group now
    died: Holder | None  # the last one's process died holding the lock
    last: RunRow | None  # the latest fleet night, finished or not
    outcomes: dict[str, Outcome]  # each project's outcome in the latest finished night
    nights: dict[str, str]  # project -> the as-of of that night


def fleet_status(group: Group) -> FleetStatus:
    """Read-only: where each project stands after the latest fleet nights."""
    lock = lock_state(group.state_dir, "fleet")
    state = FleetStatus(lock.running, lock.died, None, {}, {})
    if not group.ledger_path.exists():
        return state
    with Ledger(group.ledger_path, read_only=True) as ledger:
        runs = ledger.recent_runs(RECENT_NIGHTS)
    state.last = runs[0] if runs else None
    for night in reversed(runs):  # the latest night a project ran in wins
        for fields in night.summary.get("projects", []):
            outcome = Outcome(**fields)
            state.outcomes[outcome.name] = outcome
            state.nights[outcome.name] = night.as_of
    return state
