"""`reconcile serve`: driven by a controllable clock in-process, and stopped by real signals."""

from __future__ import annotations

import signal
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine

from reconcile.ops.lock import read_holder, run_lock
from reconcile.ops.serve import RETRY_BUSY_SECONDS, Server, last_occurrence, night_of
from reconcile.publish.mail import receipt_key
from reconcile.store.ledger import Ledger
from tests.ops.support import demo_workspace, spawn, text, wait_for

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def _runs(ws: Path) -> list[tuple[str, str, str]]:
    with Ledger(ws / ".reconcile/ledger.sqlite") as ledger:
        return ledger.execute("SELECT as_of, status, started_at FROM runs ORDER BY run_id")


def serve_until(ws: Path, start: datetime, end: datetime, during=None) -> Server:
    """Serve from `start` until the clock reaches `end`; every wait moves the clock on
    instead of sleeping. `during(server, now)` runs at each wait."""
    with time_machine.travel(start, tick=False) as clock:
        server = Server(ws)

        def wait(seconds: float) -> bool:
            now = datetime.now(SHANGHAI)
            if during is not None:
                during(server, now)
            if now >= end:
                return True
            clock.shift(timedelta(seconds=max(seconds, 1.0)))
            return False

        server.wait = wait
        assert server.serve() == 0
    return server


def test_the_night_is_the_day_before_when_run_before_noon():
    assert night_of(at(21, 2)) == date(2026, 11, 20)
    assert night_of(at(21, 11, 59)) == date(2026, 11, 20)
    assert night_of(at(21, 12)) == date(2026, 11, 21)
    assert night_of(at(21, 23, 30)) == date(2026, 11, 21)
    assert last_occurrence(at(21, 1, 59), at(1, 2).time()) == at(20, 2)
    assert last_occurrence(at(21, 2), at(1, 2).time()) == at(21, 2)


def test_runs_exactly_once_per_scheduled_time(tmp_path):
    ws = demo_workspace(tmp_path / "ws")
    # First start ever: it catches up the last scheduled night, then keeps the schedule.
    server = serve_until(ws, at(20, 9), at(22, 23))
    assert server.attempted == [date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21)]
    runs = _runs(ws)
    assert [(as_of, status) for as_of, status, _ in runs] == [
        ("2026-11-19", "ok"),
        ("2026-11-20", "ok"),
        ("2026-11-21", "ok"),
    ]
    assert [started[:16] for *_, started in runs] == [
        "2026-11-20T09:00",
        "2026-11-21T02:00",
        "2026-11-22T02:00",
    ]
    log = text(ws / ".reconcile/logs/serve.log")
    assert log == "", "in-process tests log through pytest; the CLI adds the file"


def test_catches_up_once_after_downtime_and_not_when_up_to_date(tmp_path):
    ws = demo_workspace(tmp_path / "ws")
    serve_until(ws, at(17, 9), at(17, 10))  # a first night, then the machine is off
    assert [as_of for as_of, *_ in _runs(ws)] == ["2026-11-16"]
    # Back on the 21st at 09:00: nights 17-20 were missed; one catch-up covers them.
    server = serve_until(ws, at(21, 9), at(21, 23))
    assert server.attempted == [date(2026, 11, 20)]
    # Restarted the same day after a good run: nothing to catch up until 02:00.
    server = serve_until(ws, at(21, 23, 30), at(22, 1, 59))
    assert server.attempted == []
    assert [as_of for as_of, *_ in _runs(ws)] == ["2026-11-16", "2026-11-20"]


def test_waits_for_a_manual_run_to_finish(tmp_path):
    ws = demo_workspace(tmp_path / "ws")
    manual = run_lock(ws / ".reconcile", "run", at(21, 1, 50))
    manual.__enter__()
    busy_since: list[datetime] = []

    def during(server: Server, now: datetime) -> None:
        if server.due is not None and not busy_since:
            busy_since.append(now)
        elif (
            busy_since
            and now >= busy_since[0] + timedelta(minutes=5)
            and read_holder(ws / ".reconcile")
        ):
            manual.__exit__(None, None, None)  # the manual run ends

    serve_until(ws, at(21, 1), at(21, 3), during)
    # Started at 01:00 with nothing run yet: the catch-up is due at once but the
    # manual run holds the workspace until 01:05.
    (night, status, started), scheduled = _runs(ws)
    assert busy_since == [at(21, 1)] and (night, status) == ("2026-11-19", "ok")
    released = busy_since[0] + timedelta(minutes=5)
    late = datetime.fromisoformat(started) - released
    assert timedelta(0) <= late <= timedelta(seconds=RETRY_BUSY_SECONDS), "retried every minute"
    assert scheduled[:2] == ("2026-11-20", "ok") and scheduled[2].startswith("2026-11-21T02:00")


def test_a_new_schedule_in_rules_yaml_applies_without_a_restart(tmp_path):
    ws = demo_workspace(tmp_path / "ws")
    rules = ws / "rules.yaml"

    def during(server: Server, now: datetime) -> None:
        if now >= at(21, 12) and "03:30" not in rules.read_text(encoding="utf-8"):
            rules.write_text(
                rules.read_text(encoding="utf-8") + '\nschedule:\n  at: "03:30"\n', encoding="utf-8"
            )

    serve_until(ws, at(21, 1), at(22, 12), during)
    # 01:00 is the first start's catch-up; then 02:00, and 03:30 once the edit is seen.
    assert [started[11:16] for *_, started in _runs(ws)] == ["01:00", "02:00", "03:30"]


def test_sigterm_while_idle_exits_zero(tmp_path):
    ws = demo_workspace(tmp_path / "ws", "schedule:\n  settle: 0s\n")
    first = spawn("run", "--workspace", str(ws), log=tmp_path / "run.log")
    assert first.wait(60) == 0, text(tmp_path / "run.log")
    server = spawn("serve", "--workspace", str(ws), log=tmp_path / "serve.out")
    log = ws / ".reconcile/logs/serve.log"
    wait_for(lambda: "serve.start" in text(log), what="serve to start")
    server.send_signal(signal.SIGTERM)
    assert server.wait(15) == 0
    assert "serve.stop reason=SIGTERM nights=0" in text(log)
    assert "serve.catch_up" not in text(log), "today's run already happened"
    assert "每天 02:00（Asia/Shanghai）" in text(tmp_path / "serve.out")


def test_sigterm_during_a_run_abandons_it_cleanly_and_exits_zero(tmp_path):
    # Never run before, so serve catches up at once; the fresh files make the run wait
    # out a long settle interval, where the signal finds it.
    ws = demo_workspace(tmp_path / "ws", "schedule:\n  settle: 120s\n")
    server = spawn("serve", "--workspace", str(ws), log=tmp_path / "serve.out")
    log = ws / ".reconcile/logs/serve.log"
    wait_for(lambda: "step.start name=确认文件已传完" in text(log), what="the catch-up run")
    server.send_signal(signal.SIGTERM)
    assert server.wait(15) == 0, "stopped without waiting out the interval"
    assert "run.abandoned" in text(log) and "serve.stop" in text(log)
    assert [status for _, status, _ in _runs(ws)] == ["abandoned"]
    assert read_holder(ws / ".reconcile") is None, "the lock was released"
    with Ledger(ws / ".reconcile/ledger.sqlite") as ledger:
        assert ledger.count("files") == 0 and ledger.count("rows") == 0
    again = spawn("serve", "--workspace", str(ws), log=tmp_path / "again.out")
    wait_for(lambda: text(log).count("serve.catch_up") == 2, what="a second catch-up")
    again.send_signal(signal.SIGINT)
    assert again.wait(15) == 0


def _mails(ws: Path) -> list[tuple[str, str]]:
    with Ledger(ws / ".reconcile/ledger.sqlite") as ledger:
        return ledger.execute("SELECT night, key FROM mails ORDER BY night, key")


def test_a_daytime_run_leaves_the_nights_mails_to_the_nightly_run(tmp_path, capsys):
    from reconcile.cli.main import main

    ws = demo_workspace(tmp_path / "ws")
    args = ["run", "--workspace", str(ws), "--as-of", "today"]
    with time_machine.travel(at(20, 15), tick=False):
        assert main(args) == 0
    assert "判定日当天尚未结束" in capsys.readouterr().out
    assert _mails(ws) == [] and not (ws / "outputs/2026-11-20/outbox").exists()
    assert (ws / "reports/2026-11-20/dispute_report.html").exists(), "the files are written"
    serve_until(ws, at(21, 1), at(21, 3))  # the night's run composes them, from all of the day
    keys = [
        "dispute_report",
        "settlement",
        "performance",
        receipt_key("链家"),
        receipt_key("房多多"),
    ]
    assert _mails(ws) == [("2026-11-20", key) for key in sorted(keys)]


def test_an_evening_schedule_mails_its_own_day(tmp_path):
    ws = demo_workspace(tmp_path / "ws", 'schedule:\n  at: "23:30"\n')
    serve_until(ws, at(20, 13), at(20, 23, 45))
    # 13:00 catches up the 19th (its 23:30 passed); 23:30 runs the 20th before it ends.
    assert [as_of for as_of, *_ in _runs(ws)] == ["2026-11-19", "2026-11-20"]
    assert ("2026-11-20", "dispute_report") in _mails(ws)
