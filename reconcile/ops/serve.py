"""`reconcile serve`: run the night job every day at `schedule.at`, project time.

The scheduling is the `schedule` package's; this module adds what a server left
alone at 2 a.m. needs:
- **Which night.** A run before noon settles the day before (02:00 on the 21st
  settles the 20th); a run from noon on settles its own day (`night_of`).
- **Catch-up.** On start, if no ingesting run succeeded since the last scheduled
  time (the machine was off at 02:00), that night runs once, now.
- **Busy.** If a manual run holds the workspace, the night is retried every minute
  until it gets its turn.
- **Stopping.** `stop` (set by SIGTERM/SIGINT) ends the wait at once; a run in
  progress stops at its next safe point (`pipeline.Abandoned`) and `serve` returns.
- **Edits.** `rules.yaml` is read again before every run and whenever it changes,
  so a new `schedule.at` takes effect without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path

import schedule

from reconcile.config.rules import Rules, RulesError
from reconcile.config.workspace import Workspace
from reconcile.ops.lock import RunLocked, run_lock
from reconcile.ops.pipeline import Abandoned, run
from reconcile.ops.progress import LogSteps
from reconcile.ops.stop import Stop
from reconcile.store.ledger import Ledger

log = logging.getLogger(__name__)

NOON = time(12)
RETRY_BUSY_SECONDS = 60.0
# The longest single wait: rules.yaml edits are noticed within this.
WAKE_SECONDS = 60.0


def night_of(moment: datetime) -> date:
    """The night a run at `moment` (project time) settles."""
    return moment.date() - timedelta(days=1) if moment.time() < NOON else moment.date()


def last_occurrence(now: datetime, at: time) -> datetime:
    """The latest scheduled time at or before `now` (aware, in `now`'s zone)."""
    zone = now.tzinfo
    today = datetime.combine(now.date(), at, zone)
    return today if today <= now else datetime.combine(now.date() - timedelta(days=1), at, zone)


def last_success(workspace: Workspace) -> datetime | None:
    """When the latest successful ingesting run started."""
    if not Ledger.exists(workspace.ledger):
        return None
    with Ledger(workspace.ledger) as ledger:
        starts = ledger.ingest_starts()
    return max((datetime.fromisoformat(started) for started in starts), default=None)


class Server:
    """One workspace served until a stop is requested. `wait(seconds)` returns True on
    a stop; tests pass one that moves a fake clock instead of sleeping."""

    def __init__(
        self,
        root: Path,
        stop: Stop | None = None,
        wait: Callable[[float], bool] | None = None,
        announce: Callable[[Rules], None] | None = None,
    ) -> None:
        self.root = root
        self.stop = stop or Stop()
        self.wait = wait or self.stop.wait
        self.announce = announce  # told once this server holds the workspace
        self.scheduler = schedule.Scheduler()
        self.due: datetime | None = None  # the scheduled time whose night has yet to run
        self.rules_stamp: float | None = None
        self.rules: Rules | None = None
        self.attempted: list[date] = []  # nights run (ok, failed or abandoned), in order

    def serve(self) -> int:
        """Serve until stopped; returns the exit code (0). Raises RulesError at start if
        rules.yaml is unusable, and RunLocked if another `serve` has this workspace."""
        workspace = Workspace.open(self.root)
        now = datetime.now(workspace.rules.zone)
        with run_lock(workspace.state_dir, "serve", now, name="serve"):
            if self.announce is not None:
                self.announce(workspace.rules)
            self._use(workspace.rules)
            last = last_occurrence(now, workspace.rules.schedule.at)
            succeeded = last_success(workspace)
            log.info(
                "serve.start workspace=%s at=%s timezone=%s last_success=%s",
                workspace.root,
                workspace.rules.schedule.at.strftime("%H:%M"),
                workspace.rules.timezone,
                succeeded.isoformat() if succeeded else "never",
            )
            if succeeded is None or succeeded < last:
                log.info("serve.catch_up scheduled=%s night=%s", last.isoformat(), night_of(last))
                self.due = last
            self._loop()
        log.info("serve.stop reason=%s nights=%d", self.stop.reason, len(self.attempted))
        return 0

    def _loop(self) -> None:
        while not self.stop.is_set():
            self._reload_if_edited()
            self.scheduler.run_pending()
            if self.due is not None and not self._run_due():
                if self.wait(RETRY_BUSY_SECONDS):
                    break
                continue
            idle = self.scheduler.idle_seconds
            if self.wait(min(max(idle or 0.0, 0.0), WAKE_SECONDS)):
                break

    def _use(self, rules: Rules) -> None:
        self.rules = rules
        self.rules_stamp = self._stamp()
        self.scheduler.clear()
        job = self.scheduler.every().day.at(rules.schedule.at.strftime("%H:%M:%S"), rules.timezone)
        job.do(self._scheduled)
        log.info("serve.schedule at=%s next=%s", rules.schedule.at.strftime("%H:%M"), self._next())

    def _next(self) -> str:
        upcoming = self.scheduler.next_run  # naive, in the machine's local time
        if upcoming is None or self.rules is None:
            return "?"
        return upcoming.astimezone(self.rules.zone).isoformat(timespec="seconds")

    def _stamp(self) -> float | None:
        try:
            return (self.root / "rules.yaml").stat().st_mtime
        except FileNotFoundError:
            return None

    def _reload_if_edited(self) -> None:
        if self._stamp() == self.rules_stamp:
            return
        try:
            rules = Workspace.open(self.root).rules
        except RulesError as exc:
            self.rules_stamp = self._stamp()  # say it once per edit, keep the old schedule
            log.error("rules.invalid keeping_schedule=yes error=%s", str(exc).replace("\n", "；"))
            return
        if self.rules is None or rules.schedule != self.rules.schedule:
            self._use(rules)
        self.rules, self.rules_stamp = rules, self._stamp()

    def _scheduled(self) -> None:
        assert self.rules is not None
        now = datetime.now(self.rules.zone)
        self.due = last_occurrence(now, self.rules.schedule.at)

    def _run_due(self) -> bool:
        """Run the due night; False if it has to wait for another run to finish."""
        assert self.due is not None
        night = night_of(self.due)
        try:
            workspace = Workspace.open(self.root)
        except RulesError as exc:
            log.error("run.skipped night=%s error=%s", night, str(exc).replace("\n", "；"))
            self.due = None
            return True
        try:
            run(
                workspace,
                night,
                stop=self.stop,
                steps=LogSteps(log),
                command="serve",
                scheduled=True,
            )
        except RunLocked as busy:
            log.warning("run.busy night=%s holder=%s retry_in=%ds", night, busy, RETRY_BUSY_SECONDS)
            return False
        except Abandoned:
            log.warning("run.abandoned night=%s", night)
        except Exception:  # a failed night must not end the server; the log has the cause
            log.exception("run.failed night=%s", night)
        self.attempted.append(night)
        self.due = None
        log.info("serve.next at=%s", self._next())
        return True
