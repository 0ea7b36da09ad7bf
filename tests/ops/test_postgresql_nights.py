"""Whole nights with `ledger: postgresql://…`: the same outputs as on SQLite, idempotent,
replayable, and recovered after the run is killed, against a real server."""

from __future__ import annotations

import signal
from datetime import date
from pathlib import Path

from reconcile.cli.main import main
from reconcile.config.workspace import Workspace
from reconcile.ops.lock import lock_state
from reconcile.ops.pipeline import run
from reconcile.store.ledger import Ledger
from reconcile.testing import SheetSpec, write_xlsx
from tests.ops.support import demo_workspace, spawn, text, wait_for
from tests.postgres import Postgres

NIGHT = date(2026, 11, 20)


def _published(root: Path, night: date) -> dict[str, bytes]:
    folder = root / "outputs" / night.isoformat()
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def _ledger_view(ws: Workspace) -> dict[str, object]:
    """What the ledger holds, as its named methods read it (backend-neutral)."""
    with Ledger(ws.ledger, read_only=True) as ledger:
        rows = ledger.judge_rows(ws.end_of_day(NIGHT)).sort("row_id")
        return {
            "files": ledger.files(),
            "sheets": ledger.sheet_rows(),
            "errors": ledger.error_rows(),
            "rows": rows.drop("first_run").rows(),
            "watermark": ledger.watermark().count("|"),
        }


def test_the_demo_night_on_postgresql_matches_sqlite_and_runs_twice(
    tmp_path: Path, postgres: Postgres
):
    on_file = demo_workspace(tmp_path / "sqlite")
    on_server = demo_workspace(tmp_path / "server", postgres.rules_line("演示项目"))
    for root in (on_file, on_server):
        assert main(["run", "--workspace", str(root), "--as-of", str(NIGHT), "--no-email"]) == 0
    assert _published(on_server, NIGHT) == _published(on_file, NIGHT)
    assert set(_published(on_server, NIGHT)) >= {"reports.csv", "settlement.csv"}
    sqlite_ws, server_ws = Workspace.open(on_file), Workspace.open(on_server)
    assert _ledger_view(server_ws) == _ledger_view(sqlite_ws)
    assert not server_ws.ledger_path.exists(), "no SQLite ledger beside a server's"

    again = run(server_ws, NIGHT)
    assert again.reused is not None, "nothing changed: the night's files are reused"
    assert again.rows_added == 0 and again.errors_added == 0 and not again.files_new
    assert again.files_unchanged == run(sqlite_ws, NIGHT).files_unchanged >= 11
    assert _ledger_view(server_ws) == _ledger_view(sqlite_ws)


def test_a_replay_on_postgresql_reproduces_the_night(tmp_path: Path, postgres: Postgres):
    root = demo_workspace(tmp_path / "ws", postgres.rules_line())
    ws = Workspace.open(root)
    run(ws, NIGHT)
    assert main(["run", "--workspace", str(root), "--as-of", str(NIGHT), "--no-email"]) == 0
    first = _published(root, NIGHT)
    replay = run(ws, date(2026, 11, 19))
    assert replay.mode == "replay" and replay.rows_added == 0
    (root / "outputs" / NIGHT.isoformat() / "reports.csv").unlink()
    assert main(["run", "--workspace", str(root), "--as-of", str(NIGHT), "--no-email"]) == 0
    assert _published(root, NIGHT) == first
    with Ledger(ws.ledger) as ledger:
        modes = [(r.as_of, r.mode, r.status) for r in reversed(ledger.recent_runs(10))]
    assert modes[2] == ("2026-11-19", "replay", "ok")
    write_xlsx(
        root / "inputs/channels/链家/补充报备.xlsx",
        [SheetSpec("报备", ["客户姓名", "客户电话", "报备时间", "经纪人"],
                   [["邹先生", "139****0001", "2026-11-20 09:00", "王磊"]])],
    )  # fmt: skip
    added = run(ws, NIGHT)
    assert added.reused is None and added.rows_added == 1, "a new row: judged again"
    assert main(["status", "--workspace", str(root)]) == 0


def test_a_night_killed_on_postgresql_is_recovered(tmp_path: Path, postgres: Postgres, capsys):
    root = demo_workspace(tmp_path / "ws", "schedule:\n  settle: 60s\n" + postgres.rules_line())
    log = tmp_path / "victim.log"
    victim = spawn("run", "--workspace", str(root), "--as-of", str(NIGHT), log=log)
    wait_for(lambda: "step.start name=确认文件已传完" in text(log), what="the run to start")
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    assert lock_state(root / ".reconcile").died is not None

    assert main(["run", "--workspace", str(root), "--as-of", str(NIGHT), "--no-email"]) == 0
    assert "1 次中断的运行已标记为“中断”" in capsys.readouterr().out
    inputs = [path for path in (root / "inputs").rglob("*") if path.is_file()]
    with Ledger(Workspace.open(root).ledger) as ledger:
        runs = [(r.as_of, r.status) for r in reversed(ledger.recent_runs(5))]
        assert ledger.count("files") == len(inputs), "every file read once, none half"
    assert runs == [(str(NIGHT), "interrupted"), (str(NIGHT), "ok")]
