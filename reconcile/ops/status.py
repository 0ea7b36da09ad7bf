"""`reconcile status`: what an operator asks the morning after.

Read-only: the last runs with outcome and duration, whether a run or `serve` is
alive, files waiting to be read, files in quarantine, and mails not yet sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from reconcile.config.workspace import Workspace
from reconcile.ingest.arrival import Snapshot
from reconcile.ingest.files import Waiting, discover
from reconcile.ingest.sheet import describe_unused
from reconcile.normalise.places import MESSAGES
from reconcile.ops.housekeeping import QUARANTINE_DIR, REASON_SUFFIX
from reconcile.ops.lock import Holder, lock_state
from reconcile.ops.serve import last_occurrence
from reconcile.publish.mail import receipt_key
from reconcile.publish.report import receipt_subject
from reconcile.publish.text import safe_filename
from reconcile.store.files import sha256_of
from reconcile.store.ledger import Ledger, RunRow

RECENT_RUNS = 10


@dataclass(frozen=True)
class QueuedMail:
    night: str
    key: str
    recipients: list[str]
    status: str  # outbox | queued | deferred (not composed yet: the day was not over)
    attempts: int
    last_error: str | None
    subject: str = ""  # empty for a deferred mail other than an agency's receipt


@dataclass
class Status:
    running: Holder | None = None  # a run holds the workspace now
    died: Holder | None = None  # the last run's process died holding the lock
    serving: Holder | None = None  # `reconcile serve` is alive
    next_run: datetime | None = None  # when serve runs next (if it is alive)
    runs: list[RunRow] = field(default_factory=list)  # newest first
    waiting: list[Waiting] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # settled, not yet in the ledger
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (path in inputs/, why)
    # (path#sheet, what was not read of it): sheets set aside and columns no field reads
    sheet_notes: list[tuple[str, str]] = field(default_factory=list)
    mails: list[QueuedMail] = field(default_factory=list)


def status(workspace: Workspace) -> Status:
    state = Status()
    run_lock = lock_state(workspace.state_dir)
    state.running, state.died = run_lock.running, run_lock.died
    state.serving = lock_state(workspace.state_dir, "serve").running
    if state.serving is not None:
        now = datetime.now(workspace.rules.zone)
        state.next_run = last_occurrence(now, workspace.rules.schedule.at) + timedelta(days=1)
    known: dict[tuple[str, str], str | None] = {}  # (path, sha256) -> why quarantined, or None
    moved: dict[str, str] = {}  # where a quarantined file is now -> why
    notes: dict[tuple[str, str], list[tuple[str, str]]] = {}
    if Ledger.exists(workspace.ledger):
        with Ledger(workspace.ledger, read_only=True) as ledger:
            state.runs = ledger.recent_runs(RECENT_RUNS)
            state.mails = _deferred(ledger, workspace, state.runs) + _mails(ledger)
            for file in ledger.files():
                known[(file.path, file.sha256)] = (
                    (file.reason or "") if file.status == "quarantined" else None
                )
            for move in ledger.quarantine_moves():
                moved[move.dest] = known.get((move.path, move.sha256)) or ""
            notes = _sheet_notes(ledger)
    _scan_inputs(workspace, state, known, moved, notes)
    return state


def _sheet_notes(ledger: Ledger) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Per stored file, its sheets that were set aside, left columns unused or carry a
    note for the clerk (a 项目 column naming only other projects)."""
    notes: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for row in ledger.sheet_rows():
        if row.file_status != "ingested":
            continue
        found = notes.setdefault((row.path, row.sha256), [])
        where = row.path if row.sheet == MESSAGES else f"{row.path}#{row.sheet}"
        if row.kind is None and row.note:
            found.append((where, f"未读取：{row.note}"))
        elif row.note:
            found.append((where, f"注意：{row.note}"))
        if row.unused:
            found.append((where, f"未使用的列：{describe_unused(row.unused)}"))
    return notes


def _deferred(ledger: Ledger, workspace: Workspace, runs: list[RunRow]) -> list[QueuedMail]:
    """The latest night's mails, if its run left them to the run after the day's end.

    They are in no table yet (a night's mails are composed once, by a run that knows
    the whole day), but they are what the operator waits for the morning after.
    """
    latest = next((r for r in runs if r.mode == "ingest" and r.status == "ok"), None)
    if latest is None or not latest.summary.get("mail_deferred"):
        return []
    rules = workspace.rules
    night = date.fromisoformat(latest.as_of)
    expected = [
        (key, recipients, "")
        for key, recipients in (
            ("dispute_report", rules.notify.admin),
            ("settlement", rules.notify.finance),
        )
    ]
    # The sales manager's workbook, when the run wrote one (`consultant:` set, SPEC 6.7).
    if (workspace.outputs / latest.as_of / "performance.xlsx").is_file():
        expected.append(("performance", rules.notify.sales_manager, ""))
    # An agency is mailed only if it has a receipt that night: the run wrote them.
    receipts = workspace.outputs / latest.as_of / "channels"
    expected += [
        (receipt_key(channel), list(recipients), receipt_subject(rules.project, night, channel))
        for channel, recipients in rules.receipt_recipients.items()
        if (receipts / f"{safe_filename(channel)}.xlsx").is_file()
    ]
    return [
        QueuedMail(latest.as_of, key, list(recipients), "deferred", 0, None, subject)
        for key, recipients, subject in expected
        if recipients and ledger.mail(latest.as_of, key) is None
    ]


def _mails(ledger: Ledger) -> list[QueuedMail]:
    return [
        QueuedMail(
            row["night"],
            row["key"],
            json.loads(row["recipients"]),
            row["status"],
            row["attempts"],
            row["last_error"],
            row["subject"],
        )
        for row in ledger.unsent_mails()
    ]


def _scan_inputs(
    workspace: Workspace,
    state: Status,
    known: dict[tuple[str, str], str | None],
    moved: dict[str, str],
    notes: dict[tuple[str, str], list[tuple[str, str]]],
) -> None:
    files, state.waiting = discover(workspace.inputs)
    settle_ns = workspace.rules.schedule.settle * 1e9
    for item in files:
        snapshot = Snapshot.of(item.path)
        if snapshot is None:
            continue
        key = (item.rel, sha256_of(item.path))
        if key in known:
            if known[key] is not None:  # rejected, and left in place (`quarantine: false`)
                state.quarantined.append((item.rel, known[key] or ""))
            state.sheet_notes += notes.get(key, [])
        elif snapshot.age_ns() < settle_ns:
            state.waiting.append(Waiting(item.rel, "最近有改动，稳定后才会读取"))
        else:
            state.unread.append(item.rel)
    quarantine = workspace.inputs / QUARANTINE_DIR
    if quarantine.is_dir():
        for path in sorted(quarantine.rglob("*")):
            if path.is_file() and not path.name.endswith(REASON_SUFFIX):
                rel = path.relative_to(workspace.inputs).as_posix()
                state.quarantined.append((rel, moved.get(rel, "见旁边的隔离原因说明")))
