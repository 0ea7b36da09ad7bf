"""Quarantine and archive: files move out of the way, nothing is ever deleted or lost."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from reconcile.cli.main import main
from reconcile.config.workspace import Workspace
from reconcile.ingest.arrival import Snapshot
from reconcile.ingest.files import discover
from reconcile.ops.housekeeping import Processed, tidy
from reconcile.ops.pipeline import run
from reconcile.store.ledger import Ledger
from reconcile.testing import SheetSpec, write_xlsx

HEADER = ["客户姓名", "客户电话", "报备时间", "经纪人"]
VISITS = ["客户姓名", "客户电话", "到访时间"]
NIGHT_1, NIGHT_2 = date(2026, 11, 19), date(2026, 11, 20)
BROKEN = b"PK\x03\x04 half a zip"


def _workspace(root: Path, rules: str = "") -> Workspace:
    for folder in ("channels/链家", "channels/房多多", "visits"):
        (root / "inputs" / folder).mkdir(parents=True)
    (root / "rules.yaml").write_text("project: 测试花园\n" + rules, encoding="utf-8")
    return Workspace.open(root)


def _reports(path: Path, first: int, count: int, day: int = 19) -> None:
    rows = [
        [f"客户{i}", f"138****{i:04d}", f"2026-11-{day} 10:00", "王五"]
        for i in range(first, first + count)
    ]
    write_xlsx(path, [SheetSpec("报备", HEADER, rows)])


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _moves(ws: Workspace) -> list[tuple]:
    with Ledger(ws.ledger_path) as ledger:
        return ledger.execute("SELECT path, kind, dest FROM file_moves ORDER BY rowid")


def test_a_rejected_file_moves_to_the_quarantine_with_a_chinese_note(tmp_path):
    ws = _workspace(tmp_path)
    (ws.inputs / "channels/链家/报备.xlsx").write_bytes(BROKEN)
    _reports(ws.inputs / "channels/房多多/报备.xlsx", 0, 2)
    summary = run(ws, NIGHT_1)
    moved = ws.inputs / "_quarantine/channels/链家/报备.xlsx"
    note = moved.with_name("报备.xlsx.隔离原因.txt")
    assert moved.read_bytes() == BROKEN and not (ws.inputs / "channels/链家/报备.xlsx").exists()
    text = note.read_bytes().decode("utf-8-sig")
    assert "测试花园" in text and "原来的位置：inputs/channels/链家/报备.xlsx" in text
    assert "文件已损坏或不完整" in text and "重新放回 inputs/channels/链家/" in text
    assert "\r\n" in text, "agencies open it in Windows Notepad"
    assert [(m.rel, m.kind) for m in summary.moves] == [("channels/链家/报备.xlsx", "quarantine")]
    assert (ws.inputs / "channels/房多多/报备.xlsx").exists(), "good files stay without archive"
    assert _moves(ws) == [
        ("channels/链家/报备.xlsx", "quarantine", "_quarantine/channels/链家/报备.xlsx")
    ]


def test_re_dropping_the_same_bad_file_replaces_its_copy_and_a_different_one_is_kept_beside(
    tmp_path,
):
    ws = _workspace(tmp_path)
    source = ws.inputs / "channels/链家/报备.xlsx"
    source.write_bytes(BROKEN)
    run(ws, NIGHT_1)
    source.write_bytes(BROKEN)  # the agency drops the very same file again
    run(ws, NIGHT_2)
    source.write_bytes(BROKEN + b" another try")
    run(ws, NIGHT_2)
    quarantine = ws.inputs / "_quarantine/channels/链家"
    tree = _tree(quarantine)
    assert sorted(tree) == [
        "报备.xlsx",
        "报备.xlsx.隔离原因.txt",
        "报备（2）.xlsx",
        "报备（2）.xlsx.隔离原因.txt",
    ]
    assert tree["报备.xlsx"] == hashlib.sha256(BROKEN).hexdigest()
    assert tree["报备（2）.xlsx"] == hashlib.sha256(BROKEN + b" another try").hexdigest()
    for note in ("报备.xlsx.隔离原因.txt", "报备（2）.xlsx.隔离原因.txt"):
        text = (quarantine / note).read_bytes().decode("utf-8-sig")
        assert "原来的位置：inputs/channels/链家/报备.xlsx" in text, note
    assert [dest for _, _, dest in _moves(ws)] == [
        "_quarantine/channels/链家/报备.xlsx",
        "_quarantine/channels/链家/报备.xlsx",
        "_quarantine/channels/链家/报备（2）.xlsx",
    ]


def test_archive_moves_read_files_by_night_and_channel_and_replays_stay_exact(tmp_path):
    ws = _workspace(tmp_path, "archive: true\n")
    _reports(ws.inputs / "channels/链家/报备.xlsx", 0, 3)
    write_xlsx(
        ws.inputs / "visits/来访.xlsx",
        [SheetSpec("来访", VISITS, [["客户1", "13800000001", "2026-11-19 15:00"]])],
    )
    first = run(ws, NIGHT_1)
    night_1 = _tree(ws.outputs / "2026-11-19")
    assert sorted(m.dest for m in first.moves) == [
        "_archive/2026-11-19/visits/来访.xlsx",
        "_archive/2026-11-19/链家/报备.xlsx",
    ]
    assert discover(ws.inputs)[0] == [], "nothing left to read"

    _reports(ws.inputs / "channels/链家/报备.xlsx", 0, 5, day=20)  # re-saved, with new rows
    second = run(ws, NIGHT_2)
    assert second.rows_added == 5 and [m.dest for m in second.moves] == [
        "_archive/2026-11-20/链家/报备.xlsx"
    ]
    again = run(ws, NIGHT_2)
    assert again.rows_added == 0 and again.moves == [], "re-running a night is idempotent"

    for path in (ws.outputs / "2026-11-19").rglob("*.csv"):
        path.unlink()
    replay = run(ws, NIGHT_1)
    assert replay.mode == "replay" and replay.moves == []
    assert _tree(ws.outputs / "2026-11-19") == night_1, "archived inputs replay exactly"
    assert len(_tree(ws.inputs / "_archive")) == 3


def test_a_file_changed_after_it_was_read_stays_for_the_next_run(tmp_path):
    ws = _workspace(tmp_path, "archive: true\n")
    path = ws.inputs / "channels/链家/报备.xlsx"
    _reports(path, 0, 1)
    item = discover(ws.inputs)[0][0]
    read = Processed(item, Snapshot.of(path), "sha", "ingested", None)
    _reports(path, 0, 2)  # the agency saved again after the night read it
    with Ledger(ws.ledger_path) as ledger:
        run_id = ledger.start_run("2026-11-19", "ingest", ws.now())
        moves = tidy(ws, ledger, run_id, NIGHT_1, [read], ws.now())
    assert moves[0].dest is None and "又有改动" in moves[0].problem
    assert path.exists() and not (ws.inputs / "_archive").exists()


def test_with_quarantine_off_rejected_files_stay_and_status_lists_them(tmp_path, capsys):
    ws = _workspace(tmp_path, "quarantine: false\n")
    (ws.inputs / "channels/链家/报备.xlsx").write_bytes(BROKEN)
    assert run(ws, NIGHT_1).moves == []
    assert (ws.inputs / "channels/链家/报备.xlsx").exists()
    assert main(["status", "--workspace", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "隔离的文件：1 个" in out and "channels/链家/报备.xlsx：文件已损坏或不完整" in out


def test_the_cli_tells_where_files_went(tmp_path, capsys):
    _workspace(tmp_path, "archive: true\n")
    _reports(tmp_path / "inputs/channels/链家/报备.xlsx", 0, 1)
    (tmp_path / "inputs/channels/房多多/坏.xlsx").write_bytes(BROKEN)
    assert main(["run", "--workspace", str(tmp_path), "--as-of", "2026-11-19"]) == 0
    out = capsys.readouterr().out
    assert "归档 1 个文件（inputs/ 下）：" in out
    assert "  channels/链家/报备.xlsx → _archive/2026-11-19/链家/报备.xlsx" in out
    assert "移入隔离区 1 个文件" in out and "_quarantine/channels/房多多/坏.xlsx" in out
