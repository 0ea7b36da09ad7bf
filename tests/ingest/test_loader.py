"""The night's files into the ledger, each written while the next is read: every file is
still all or nothing, the files come back in order, and the night's summary keeps
counts and rejected rows, not the rows themselves."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reconcile.config.workspace import Workspace
from reconcile.ingest import files, loader
from reconcile.ingest.arrival import Snapshot
from reconcile.ingest.files import Opened, discover
from reconcile.ingest.headers import AliasTable
from reconcile.ingest.loader import Loaded, load_files
from reconcile.ops.pipeline import run
from reconcile.store.ledger import Ledger
from reconcile.testing import SheetSpec, write_xlsx

AS_OF = date(2026, 11, 20)
HEADER = ["客户姓名", "客户电话", "报备时间", "经纪人"]


def _write(workspace: Path, name: str, count: int, start: int = 0) -> None:
    rows = [
        [f"张{i}", f"138****{i:04d}", f"2026-11-18 {8 + i % 10:02d}:{i % 60:02d}", "王五"]
        for i in range(start, start + count)
    ]
    write_xlsx(workspace / "inputs/channels/链家" / name, [SheetSpec("报备", HEADER, rows)])


def _two_files(workspace: Path, b_rows: int = 4) -> Workspace:
    """a.xlsx (3 reports) and b.xlsx (`b_rows` others): the second is where a failure is
    injected."""
    _write(workspace, "a.xlsx", 3)
    _write(workspace, "b.xlsx", b_rows, 100)
    return Workspace.open(workspace)


def _three_files(workspace: Path, b_rows: int = 4) -> Workspace:
    """`_two_files` and c.xlsx (5 more), read after the failing one."""
    _write(workspace, "c.xlsx", 5, 200)
    return _two_files(workspace, b_rows)


def _paths(workspace: Workspace) -> list[str]:
    with Ledger(workspace.ledger) as ledger:
        return [path for (path,) in ledger.execute("SELECT path FROM files ORDER BY file_id")]


def test_a_file_that_fails_after_its_rows_were_queued_is_rolled_back_alone(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _three_files(workspace)
    derive = Opened.derive

    def fails_after_reading_b(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        outcome = derive(self, *args, **kwargs)  # b's rows and cells go to the writer
        if self.outcome.file.path.name == "b.xlsx":
            raise RuntimeError("a bug once b.xlsx was read")
        return outcome

    monkeypatch.setattr(Opened, "derive", fails_after_reading_b)
    summary = run(ws, AS_OF)
    assert [path for path, _ in summary.failed] == ["channels/链家/b.xlsx"]
    assert "RuntimeError" in summary.failed[0][1]
    assert [p.item.rel for p in summary.processed] == [
        "channels/链家/a.xlsx",
        "channels/链家/c.xlsx",
    ]
    assert summary.rows_added == 8
    assert _paths(ws) == ["channels/链家/a.xlsx", "channels/链家/c.xlsx"]
    with Ledger(ws.ledger) as ledger:
        assert ledger.count("rows") == 8 and ledger.count("sheet_cells") == 2
    monkeypatch.setattr(Opened, "derive", derive)
    again = run(ws, AS_OF)
    assert again.rows_added == 4 and again.files_unchanged == 2, "b.xlsx is retried, alone"


def test_a_file_that_fails_while_read_ahead_fails_alone(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _two_files(workspace)
    open_input = loader.open_input

    def fails_on_b(item, *args, **kwargs):  # type: ignore[no-untyped-def]
        if item.path.name == "b.xlsx":
            raise MemoryError("calamine gave up on b.xlsx")
        return open_input(item, *args, **kwargs)

    monkeypatch.setattr(loader, "open_input", fails_on_b)
    summary = run(ws, AS_OF)
    assert [(path, "MemoryError" in why) for path, why in summary.failed] == [
        ("channels/链家/b.xlsx", True)
    ]
    assert summary.rows_added == 3 and _paths(ws) == ["channels/链家/a.xlsx"]


def test_a_chunk_that_fails_to_stage_fails_its_file_alone(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of two rows: b.xlsx's chunks outnumber the chunks staged ahead, so the
    # night only ends if a chunk that failed still makes room for the next.
    ws = _three_files(workspace, b_rows=9)
    monkeypatch.setattr(files, "CHUNK_ROWS", 2)
    stage_part = loader.stage_part

    def fails_in_b(part):  # type: ignore[no-untyped-def]
        if part.records["source"].str.contains("b.xlsx").any():
            raise RuntimeError("a bug while staging b.xlsx")
        return stage_part(part)

    monkeypatch.setattr(loader, "stage_part", fails_in_b)
    summary = run(ws, AS_OF)
    assert [path for path, _ in summary.failed] == ["channels/链家/b.xlsx"]
    assert summary.rows_added == 8
    assert _paths(ws) == ["channels/链家/a.xlsx", "channels/链家/c.xlsx"]


def test_an_interrupted_file_is_rolled_back_and_the_run_recorded_as_failed(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _two_files(workspace)
    derive = Opened.derive

    def interrupted_in_b(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        outcome = derive(self, *args, **kwargs)
        if self.outcome.file.path.name == "b.xlsx":
            raise KeyboardInterrupt
        return outcome

    monkeypatch.setattr(Opened, "derive", interrupted_in_b)
    with pytest.raises(KeyboardInterrupt):
        run(ws, AS_OF)
    assert _paths(ws) == ["channels/链家/a.xlsx"]
    with Ledger(ws.ledger) as ledger:
        assert ledger.count("rows") == 3
        assert [r.status for r in ledger.recent_runs(1)] == ["failed"], "recorded, not lost"


def test_the_summary_keeps_counts_and_rejected_rows_not_the_rows(workspace: Path) -> None:
    _write(workspace, "a.xlsx", 3)
    bad = [["李四", "不是号码", "2026-11-18 10:00", "王五"]]
    write_xlsx(workspace / "inputs/channels/链家/b.xlsx", [SheetSpec("报备", HEADER, bad)])
    summary = run(Workspace.open(workspace), AS_OF)
    assert [o.file.rel for o in summary.files_new] == [
        "channels/链家/a.xlsx",
        "channels/链家/b.xlsx",
    ]
    a, b = (outcome.sheets[0] for outcome in summary.files_new)
    assert a.cells is None and b.cells is None
    assert a.normalised is not None and a.normalised.records.height == 0
    assert (a.accepted, a.rejected, b.accepted, b.rejected) == (3, 0, 0, 1)
    assert b.normalised is not None and b.normalised.errors["row_no"].to_list() == [2]
    assert summary.as_dict()["accepted"] == 3 and summary.as_dict()["rejected"] == 1


def test_once_stopping_no_further_file_is_read_and_those_read_are_committed(
    workspace: Path,
) -> None:
    for index, name in enumerate(("a.xlsx", "b.xlsx", "c.xlsx")):
        _write(workspace, name, 2, 100 * index)
    ws = Workspace.open(workspace)
    files, _ = discover(ws.inputs)
    ready = [(item, snapshot) for item in files if (snapshot := Snapshot.of(item.path))]
    aliases = AliasTable.build(ws.rules.columns)
    loaded: list[Loaded] = []
    asked: list[bool] = []

    def stopping() -> bool:  # asked to stop once two files were taken
        asked.append(len(asked) >= 2)
        return asked[-1]

    with Ledger(ws.ledger) as ledger:
        run_id = ledger.start_run(AS_OF.isoformat(), "ingest", "2026-11-20T20:00:00+08:00")
        seen = ws.end_of_day(AS_OF)
        for done in load_files(ledger, ready, ws.rules, aliases, run_id, seen, stopping):
            loaded.append(done)
    assert [done.item.rel for done in loaded] == ["channels/链家/a.xlsx", "channels/链家/b.xlsx"]
    assert [done.rows_added for done in loaded] == [2, 2]
    assert _paths(ws) == ["channels/链家/a.xlsx", "channels/链家/b.xlsx"]


def test_a_commit_that_fails_fails_every_file_it_held(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Files written within a second are committed together: when that commit does not
    # reach the disk, none of them is in the ledger, and each is retried next run.
    ws = _two_files(workspace)
    commit = Ledger.commit
    failing = [True]

    def disk_full(self: Ledger) -> None:
        if failing and self.execute("SELECT count(*) FROM files")[0][0]:
            failing.clear()
            raise OSError("database or disk is full")
        commit(self)

    monkeypatch.setattr(Ledger, "commit", disk_full)
    summary = run(ws, AS_OF)
    assert [(path, "disk is full" in why) for path, why in summary.failed] == [
        ("channels/链家/a.xlsx", True),
        ("channels/链家/b.xlsx", True),
    ]
    assert summary.rows_added == 0 and _paths(ws) == []
    again = run(ws, AS_OF)
    assert again.rows_added == 7 and not again.failed
