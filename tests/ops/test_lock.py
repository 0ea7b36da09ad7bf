"""One run at a time: real processes compete for the lock; a dead holder's lock is taken over."""

from __future__ import annotations

import json
import signal
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from reconcile.cli.main import main
from reconcile.ops.lock import RunLocked, lock_state, read_holder, run_lock
from reconcile.store.ledger import Ledger
from tests.ops.support import demo_workspace, spawn, text, wait_for

NIGHT = "2026-11-20"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _runs(ws) -> list[tuple[str, str]]:
    with Ledger(ws / ".reconcile/ledger.sqlite") as ledger:
        return ledger.execute("SELECT as_of, status FROM runs ORDER BY run_id")


def test_of_two_runs_started_together_exactly_one_runs(tmp_path):
    # The files were just written, so the winner waits out a 3 s settle interval
    # holding the lock: the loser certainly arrives while it is held.
    ws = demo_workspace(tmp_path / "ws", "schedule:\n  settle: 3s\n")
    args = ("run", "--workspace", str(ws), "--as-of", NIGHT, "--no-email")
    first = spawn(*args, log=tmp_path / "a.log")
    second = spawn(*args, log=tmp_path / "b.log")
    codes = sorted((first.wait(60), second.wait(60)))
    assert codes == [0, 1]
    loser = text(tmp_path / "a.log") if first.returncode else text(tmp_path / "b.log")
    winner = first if first.returncode == 0 else second
    assert "另一个对账任务正在运行" in loser and f"进程 {winner.pid}" in loser
    assert _runs(ws) == [(NIGHT, "ok")]
    assert not (ws / ".reconcile/run.json").exists(), "the holder cleans up after itself"


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path, capsys):
    ws = demo_workspace(tmp_path / "ws", "schedule:\n  settle: 60s\n")
    victim = spawn("run", "--workspace", str(ws), "--as-of", NIGHT, log=tmp_path / "victim.log")
    wait_for(
        lambda: "step.start name=确认文件已传完" in text(tmp_path / "victim.log"),
        what="the run to start and wait for its files",
    )
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    assert read_holder(ws / ".reconcile").pid == victim.pid, "a killed process leaves run.json"
    state = lock_state(ws / ".reconcile")
    assert state.running is None and state.died.pid == victim.pid

    assert main(["run", "--workspace", str(ws), "--as-of", NIGHT, "--no-email"]) == 0
    out = capsys.readouterr().out
    assert f"上次运行未正常结束（进程 {victim.pid}" in out and "已接管运行锁" in out
    assert "1 次中断的运行已标记为“中断”" in out
    assert _runs(ws) == [(NIGHT, "interrupted"), (NIGHT, "ok")]
    assert lock_state(ws / ".reconcile").died is None


def test_a_held_lock_refuses_at_once_and_names_its_holder(tmp_path, capsys):
    ws = demo_workspace(tmp_path / "ws")
    started = datetime(2026, 11, 21, 2, 0, tzinfo=SHANGHAI)
    with run_lock(ws / ".reconcile", "serve", started) as stale:
        assert stale is None
        holder = json.loads((ws / ".reconcile/run.json").read_text(encoding="utf-8"))
        assert holder["command"] == "serve" and holder["started_at"] == "2026-11-21T02:00:00+08:00"
        with pytest.raises(RunLocked) as refused:
            with run_lock(ws / ".reconcile", "run", started):
                pass
        assert refused.value.holder.command == "serve"
        assert "开始于 2026-11-21 02:00:00" in str(refused.value)
        assert main(["run", "--workspace", str(ws), "--as-of", NIGHT]) == 1
        assert "另一个对账任务正在运行" in capsys.readouterr().err
        assert lock_state(ws / ".reconcile").running.command == "serve"
    assert not (ws / ".reconcile/ledger.sqlite").exists(), "the refused run touched nothing"


def test_ctrl_c_stops_a_manual_run_at_a_safe_point(tmp_path):
    ws = demo_workspace(tmp_path / "ws", "schedule:\n  settle: 60s\n")
    job = spawn("run", "--workspace", str(ws), "--as-of", NIGHT, log=tmp_path / "run.log")
    wait_for(
        lambda: "step.start name=确认文件已传完" in text(tmp_path / "run.log"), what="the wait"
    )
    job.send_signal(signal.SIGINT)
    assert job.wait(15) == 1
    assert "运行已按要求中止" in text(tmp_path / "run.log")
    assert "run.abandoned run=1" in text(tmp_path / "run.log")
    assert _runs(ws) == [(NIGHT, "abandoned")]
    assert lock_state(ws / ".reconcile").running is None
