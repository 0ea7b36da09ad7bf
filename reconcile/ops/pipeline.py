"""The night job: ingest → normalise → link → judge → publish.

`run` reads every new or changed input file into the ledger, one transaction per
file, judges the night from the ledger, writes the CSV contract to
`outputs/<as-of>/` and publishes the files and mails people receive, then moves
rejected (and, with `archive: true`, read) files out of the way. A run as of a
day earlier than the latest ingesting run is a replay: it reads no files, so the
past night is reproduced from what the ledger knew then.

Only one run at a time holds the workspace (`reconcile.ops.lock`). A run asked to stop
(`stop` set, by SIGTERM in `serve`) stops between files or before publishing, and
is recorded as abandoned; every file already read was one whole transaction.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconcile.config.workspace import Workspace
from reconcile.ingest.arrival import settled
from reconcile.ingest.files import FileOutcome, Waiting, discover
from reconcile.ingest.headers import AliasTable
from reconcile.ingest.loader import Loaded, load_files
from reconcile.ingest.reread import (
    VOCABULARY_KEY,
    Reread,
    needs_reread,
    reread,
    vocabulary_fingerprint,
)
from reconcile.ops.housekeeping import Move, Processed, tidy
from reconcile.ops.lock import Holder, run_lock
from reconcile.ops.progress import Steps
from reconcile.ops.reuse import (
    keep_decisions,
    night_before,
    night_keys,
    remember,
    remembered_lines,
    reusable,
)
from reconcile.ops.stop import Stop
from reconcile.publish.mail import Delivery, night_deliveries
from reconcile.store.ledger import Ledger

if TYPE_CHECKING:
    # The judge and the publishers are imported when a night is judged: a night with
    # nothing new (ops/reuse.py) costs what its checks cost, not a second of imports.
    from reconcile.judge import Judgement
    from reconcile.publish.night import Published

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    run_id: int
    as_of: date
    mode: str  # ingest | replay
    files_new: list[FileOutcome] = field(default_factory=list)
    files_unchanged: int = 0
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    failed: list[tuple[str, str]] = field(default_factory=list)  # internal errors, retried next run
    waiting: list[Waiting] = field(default_factory=list)
    rows_added: int = 0
    errors_added: int = 0
    judgement: Judgement | None = None
    written: list = field(default_factory=list)  # paths of the night's CSV contract
    published: Published | None = None  # the night's files for people, and its mails
    processed: list[Processed] = field(default_factory=list)  # every settled file read or known
    moves: list[Move] = field(default_factory=list)  # to the quarantine or the archive
    took_over: Holder | None = None  # the previous lock holder, if it died holding the lock
    interrupted: int = 0  # runs of dead processes closed as interrupted by this one
    mail_deferred: bool = False  # the day is not over: its mails wait for the nightly run
    reread: Reread | None = None  # stored sheets re-derived (the vocabulary changed)
    # Nothing changed since a full run of this night: its files, kept (ops/reuse.py), and
    # what became of mails still queued
    reused: list[Path] | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    key: str | None = None  # what a full run's files were made from (ops/reuse.py)
    remembered: list[str] = field(default_factory=list)  # what it said it decided

    @property
    def in_quarantine(self) -> list[tuple[str, str]]:
        """Files found tonight whose content is quarantined (new tonight or earlier)."""
        return [(p.item.rel, p.reason or "") for p in self.processed if p.status == "quarantined"]

    @property
    def ledger_quarantined(self) -> int:
        return len(self.in_quarantine)

    @property
    def rows_in(self) -> int:
        return sum(f.total("rows_in") for f in self.files_new)

    @property
    def accepted(self) -> int:
        return sum(f.total("accepted") for f in self.files_new)

    @property
    def rejected(self) -> int:
        return sum(f.total("rejected") for f in self.files_new)

    @property
    def skipped(self) -> Counter:
        return sum((outcome.skipped for outcome in self.files_new), Counter())

    def as_dict(self) -> dict:
        return {
            "files_new": len(self.files_new),
            "files_unchanged": self.files_unchanged,
            "quarantined": len(self.quarantined),
            "failed": len(self.failed),
            "waiting": [[w.rel, w.reason] for w in self.waiting],
            "rows_in": self.rows_in,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "skipped": sum(self.skipped.values()),
            "rows_added": self.rows_added,
            "errors_added": self.errors_added,
            "quarantined_files": [[path, reason] for path, reason in self.quarantined],
            "failed_files": [[path, reason] for path, reason in self.failed],
            "moved": [[m.rel, m.dest, m.kind, m.problem] for m in self.moves],
            "mail_deferred": self.mail_deferred,
        }


class Abandoned(Exception):
    """The run was asked to stop; it stopped at a point where the ledger is consistent."""


def _check(stop: Stop | None) -> None:
    if stop is not None and stop.is_set():
        raise Abandoned(f"运行被要求停止（{stop.reason}），已在安全位置中止")


def run(
    workspace: Workspace,
    as_of: date | None = None,
    send: bool = True,
    *,
    stop: Stop | None = None,
    steps: Steps | None = None,
    command: str = "run",
    scheduled: bool = False,
) -> RunSummary:
    """One night: ingest (unless a replay), judge, write the contract, publish, tidy.

    `send=False` (`--no-email`) leaves tonight's mails in the outbox folder only.
    A night's mails are composed once, so only by a run that knows the whole day: one
    after the day is over, or the scheduled run (`scheduled`, from `serve`). A run
    during the day it judges writes every file but leaves the mails to that run.
    Raises `RunLocked` if another run holds the workspace, `Abandoned` if `stop` was set.
    """
    as_of = as_of or workspace.today()
    steps = steps or Steps()
    started = datetime.now(workspace.rules.zone)
    with (
        run_lock(workspace.state_dir, command, started) as took_over,
        Ledger(workspace.ledger) as ledger,
    ):
        interrupted = ledger.close_dead_runs(workspace.now())
        latest = ledger.latest_ingest_as_of()
        mode = "replay" if latest is not None and as_of.isoformat() < latest else "ingest"
        run_id = ledger.start_run(as_of.isoformat(), mode, started.isoformat("T", "seconds"))
        summary = RunSummary(run_id, as_of, mode, took_over=took_over, interrupted=interrupted)
        day_over = datetime.now(workspace.rules.zone) > datetime.fromisoformat(
            workspace.end_of_day(as_of)
        )
        summary.mail_deferred = mode == "ingest" and not (scheduled or day_over)
        log.info("run.start run=%d as_of=%s mode=%s", run_id, as_of, mode)
        if took_over is not None:
            log.warning("lock.taken_over previous=%s", took_over.describe())
        try:
            if mode == "ingest":
                ingest(workspace, ledger, summary, stop, steps)
            _check(stop)
            compose = mode == "ingest" and not summary.mail_deferred
            sending = send and workspace.rules.notify.smtp is not None
            # A file that failed to read tonight is news for the report: never reuse then.
            key: str | None = None
            keys: set[str] = set()
            if not summary.failed:
                key, keys = night_keys(workspace, ledger, as_of, compose, sending)
                summary.reused = reusable(workspace, ledger, as_of, keys)
            if summary.reused is not None:
                summary.remembered = remembered_lines(ledger, as_of, keys)
                summary.written = [p for p in summary.reused if p.suffix == ".csv"]
                now = datetime.now(workspace.rules.zone)
                summary.deliveries = night_deliveries(ledger, workspace.rules, as_of, now, send)
            else:
                _judge_and_publish(workspace, ledger, summary, compose, send, stop, steps)
                if key is not None:
                    remember(workspace, ledger, as_of, key, _night_files(workspace, as_of))
                    summary.key = key
            if mode == "ingest":
                summary.moves = tidy(
                    workspace, ledger, run_id, as_of, summary.processed, workspace.now()
                )
        except BaseException as exc:
            status = "abandoned" if isinstance(exc, Abandoned) else "failed"
            ledger.finish_run(run_id, status, workspace.now(), summary.as_dict())
            log.log(
                logging.WARNING if status == "abandoned" else logging.ERROR,
                "run.%s run=%d as_of=%s error=%s",
                status,
                run_id,
                as_of,
                f"{type(exc).__name__}: {exc}",
            )
            raise
        ledger.finish_run(run_id, "ok", workspace.now(), summary.as_dict())
        log.info(
            "run.ok run=%d as_of=%s mode=%s seconds=%.1f",
            run_id,
            as_of,
            mode,
            (datetime.now(workspace.rules.zone) - started).total_seconds(),
        )
    return summary


def _judge_and_publish(
    workspace: Workspace,
    ledger: Ledger,
    summary: RunSummary,
    compose: bool,
    send: bool,
    stop: Stop | None,
    steps: Steps,
) -> None:
    from reconcile.judge import judge, night_frozen
    from reconcile.judge.inputs import load
    from reconcile.publish.contract import write_contract
    from reconcile.publish.night import publish, start_receipts

    as_of = summary.as_of
    with steps.step("判定客户归属"):
        summary.judgement = judge(load(ledger, workspace.rules, as_of), workspace.rules)
    folder = workspace.outputs / as_of.isoformat()
    # The receipts are written beside the CSVs and the rest of publishing (a second core).
    with night_frozen(), start_receipts(summary.judgement, workspace.rules, folder) as receipts:
        with steps.step("写出对账结果（CSV）"):
            summary.written = write_contract(summary.judgement, folder)
        _check(stop)
        with steps.step("生成日报、结算表、渠道回执与邮件"):
            previous = night_before(workspace, ledger, as_of)
            # Kept first: done while the children write, not after them.
            keep_decisions(workspace, ledger, summary.judgement)
            summary.published = publish(
                workspace,
                ledger,
                summary.judgement,
                previous=previous,
                failed=summary.failed,
                compose=compose,
                send=send,
                receipts=receipts,
            )


def _night_files(workspace: Workspace, as_of: date) -> list[Path]:
    """Every file of the night's output and report folders."""
    night = as_of.isoformat()
    return sorted(
        path
        for folder in (workspace.outputs / night, workspace.reports / night)
        for path in folder.rglob("*")
        if path.is_file()
    )


def reread_workspace(workspace: Workspace) -> Reread:
    """`reconcile reread`: re-derive every stored sheet now, holding the run lock.

    Raises `RunLocked` if a run holds the workspace. The next run judges from the
    re-derived rows; nothing is published here.
    """
    started = datetime.now(workspace.rules.zone)
    with (
        run_lock(workspace.state_dir, "reread", started),
        Ledger(workspace.ledger) as ledger,
    ):
        return reread(ledger, workspace.rules)


def judge_night(workspace: Workspace, as_of: date | None = None) -> Judgement:
    """The night's judgement from the ledger alone (read-only): for `reconcile explain`.

    Without `as_of`, the latest night that ran successfully.
    """
    from reconcile.judge import judge
    from reconcile.judge.inputs import load

    with Ledger(workspace.ledger) as ledger:
        if as_of is None:
            latest = ledger.latest_ok_as_of()
            as_of = date.fromisoformat(latest) if latest else workspace.today()
        return judge(load(ledger, workspace.rules, as_of), workspace.rules)


@dataclass(frozen=True)
class LedgerTotals:
    rows_by_kind: dict[str, int]
    errors: int


def ledger_totals(workspace: Workspace) -> LedgerTotals:
    """What the ledger holds in all (for people; the night job itself does not need it)."""
    with Ledger(workspace.ledger) as ledger:
        return LedgerTotals(ledger.rows_by_kind(), ledger.count("row_errors"))


def ingest(
    workspace: Workspace,
    ledger: Ledger,
    summary: RunSummary,
    stop: Stop | None = None,
    steps: Steps | None = None,
) -> None:
    rules = workspace.rules
    steps = steps or Steps()
    aliases = AliasTable.build(rules.columns)
    seen = workspace.end_of_day(summary.as_of)
    if needs_reread(ledger, rules):
        with steps.step("列名对应已变化：按台账保存的原始单元格重新解析"):
            summary.reread = reread(ledger, rules, summary.run_id)
    elif ledger.meta(VOCABULARY_KEY) is None:
        ledger.set_meta(VOCABULARY_KEY, vocabulary_fingerprint(rules))
    files, summary.waiting = discover(workspace.inputs)
    with steps.step(f"确认文件已传完（最多等{rules.schedule.settle:g}秒）"):
        ready, changing = settled(files, rules.schedule.settle, stop)
    summary.waiting += changing
    for late in changing:
        log.info("file.waiting file=%s reason=%s", late.rel, late.reason)
    with steps.step("读取文件", total=len(ready)) as advance:
        stopping = stop.is_set if stop is not None else lambda: False
        for loaded in load_files(ledger, ready, rules, aliases, summary.run_id, seen, stopping):
            _account(summary, loaded)
            advance(loaded.item.rel)
        _check(stop)


def _account(summary: RunSummary, loaded: Loaded) -> None:
    """A file's part in the night's summary."""
    item, outcome = loaded.item, loaded.outcome
    if loaded.status is None:
        summary.failed.append((item.rel, loaded.reason or ""))
        return
    summary.processed.append(
        Processed(item, loaded.snapshot, loaded.sha256, loaded.status, loaded.reason)
    )
    if outcome is None:
        summary.files_unchanged += 1
    elif outcome.rejected is not None:
        log.warning("file.quarantined file=%s reason=%s", item.rel, outcome.rejected.reason)
        summary.quarantined.append((item.rel, outcome.rejected.reason))
    else:
        log.info("file.read file=%s rows=%d", item.rel, outcome.total("rows_in"))
        summary.files_new.append(outcome)
        summary.rows_added += loaded.rows_added
        summary.errors_added += loaded.errors_added
