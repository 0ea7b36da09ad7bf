"""Safe arrival: a file still being written is not read until it has settled."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

import reconcile.ingest.arrival as arrival
from reconcile.config.workspace import Workspace
from reconcile.ingest.arrival import Snapshot, settled
from reconcile.ingest.files import OFFICE_LOCK_REASON, TEMPORARY_REASON, discover
from reconcile.ops.pipeline import run
from reconcile.store.ledger import Ledger
from reconcile.testing import SheetSpec, write_xlsx
from tests.ops.support import wait_for

HEADER = ["客户姓名", "客户电话", "报备时间", "经纪人"]
ROWS = [[f"客户{i}", f"138****{i:04d}", "2026-11-20 10:00", "王五"] for i in range(200)]


def _pauses(monkeypatch, during=lambda: None) -> list[float]:
    """Record the waits instead of sleeping; `during` runs as if in the middle of one."""
    waited: list[float] = []

    def pause(seconds, stop):
        waited.append(seconds)
        during()
        return False

    monkeypatch.setattr(arrival, "pause", pause)
    return waited


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("~$报备.xlsx", OFFICE_LOCK_REASON),
        ("报备.xlsx.tmp", TEMPORARY_REASON),
        ("报备.xlsx.part", TEMPORARY_REASON),
        ("报备.XLSX.crdownload", TEMPORARY_REASON),
        ("报备.xlsx.partial", TEMPORARY_REASON),
    ],
)
def test_temporary_and_office_lock_files_wait_with_a_reason(tmp_path, name, reason):
    (tmp_path / "channels/链家").mkdir(parents=True)
    (tmp_path / "channels/链家" / name).write_bytes(b"x")
    files, waiting = discover(tmp_path)
    assert files == []
    assert [(w.rel, w.reason) for w in waiting] == [(f"channels/链家/{name}", reason)]


def test_a_fresh_file_that_stays_the_same_is_ready_after_one_short_wait(tmp_path, monkeypatch):
    (tmp_path / "a.csv").write_text("x", encoding="utf-8")
    (tmp_path / "b.csv").write_text("y", encoding="utf-8")
    waited = _pauses(monkeypatch)
    files, _ = discover(tmp_path)
    ready, waiting = settled(files, 10.0)
    assert [item.rel for item, _ in ready] == ["a.csv", "b.csv"] and waiting == []
    assert len(waited) == 1 and 0 < waited[0] <= 10.0, "one wait for all, never longer than settle"


def test_a_file_that_changes_during_the_wait_is_left_for_later(tmp_path, monkeypatch):
    growing = tmp_path / "growing.csv"
    growing.write_text("客户姓名\n", encoding="utf-8")
    (tmp_path / "done.csv").write_text("x", encoding="utf-8")
    _pauses(monkeypatch, during=lambda: growing.open("a", encoding="utf-8").write("张三\n"))
    ready, waiting = settled(discover(tmp_path)[0], 5.0)
    assert [item.rel for item, _ in ready] == ["done.csv"]
    assert [w.rel for w in waiting] == ["growing.csv"] and "仍在写入" in waiting[0].reason


def test_a_file_removed_during_the_wait_is_simply_gone(tmp_path, monkeypatch):
    (tmp_path / "gone.csv").write_text("x", encoding="utf-8")
    _pauses(monkeypatch, during=lambda: (tmp_path / "gone.csv").unlink())
    assert settled(discover(tmp_path)[0], 5.0) == ([], [])


def test_without_a_settle_interval_nothing_waits(tmp_path, monkeypatch):
    (tmp_path / "a.csv").write_text("x", encoding="utf-8")
    waited = _pauses(monkeypatch)
    ready, _ = settled(discover(tmp_path)[0], 0.0)
    assert len(ready) == 1 and waited == []


def test_the_snapshot_sees_size_and_time(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"12345")
    first = Snapshot.of(path)
    assert first.size == 5 and first.changed_ns >= first.mtime_ns
    path.write_bytes(b"123456")
    assert Snapshot.of(path) != first
    assert Snapshot.of(tmp_path / "missing") is None


SLOW_WRITER = """
import os, sys, time
data = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb") as out:
    step = max(1, len(data) // 12)
    for start in range(0, len(data), step):
        out.write(data[start:start + step])
        out.flush()
        os.fsync(out.fileno())
        time.sleep(0.25)
"""


@pytest.mark.real_settle
def test_a_file_written_slowly_by_another_process_is_read_only_once_complete(tmp_path):
    ws = tmp_path / "ws"
    (ws / "inputs/channels/链家").mkdir(parents=True)
    (ws / "rules.yaml").write_text("schedule: {settle: 1s}\n", encoding="utf-8")
    source = write_xlsx(tmp_path / "source.xlsx", [SheetSpec("报备", HEADER, ROWS)])
    target = ws / "inputs/channels/链家/报备.xlsx"
    writer = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(source), str(target)])
    try:
        wait_for(target.exists, what="the writer to create the file")
        workspace = Workspace.open(ws)
        during = run(workspace, date(2026, 11, 20))
        assert writer.poll() is None, "the copy must still run for this test to mean anything"
        assert [w.rel for w in during.waiting] == ["channels/链家/报备.xlsx"]
        assert during.files_new == [] and during.quarantined == [], "not read, not rejected"
    finally:
        assert writer.wait(30) == 0
    with Ledger(workspace.ledger_path) as ledger:
        assert ledger.count("files") == 0
    time.sleep(1.0)  # the settle interval passes with the file complete
    after = run(workspace, date(2026, 11, 20))
    assert after.waiting == []
    assert [o.file.rel for o in after.files_new] == ["channels/链家/报备.xlsx"]
    assert after.rows_added == len(ROWS)
    assert target.read_bytes() == Path(source).read_bytes()
