"""Re-reading stored sheets when the vocabulary or `columns:` changes (SPEC 4.1).

A real workspace, a real ledger (SQLite, and a PostgreSQL server), real workbooks: an
alias added to rules.yaml changes the verdict of rows already read, while the ledger
keeps one row per source row, each with its source and first-seen time, and old ids
stay findable.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from reconcile.cli.main import main
from reconcile.config.workspace import Workspace, init_workspace
from reconcile.ingest.reread import VOCABULARY_KEY
from reconcile.ops.pipeline import run
from reconcile.store.ledger import Ledger
from reconcile.testing import SheetSpec, write_xlsx

NIGHT_1 = date(2026, 11, 20)
NIGHT_2 = date(2026, 11, 21)
HEADER = ["客户姓氏", "客户电话", "报备时间", "经纪人"]
ROWS = [
    ["张先生", "138****0001", "2026-11-18 10:00", "王五"],
    ["李女士", "139****0002", "2026-11-18 11:00", "王五"],
    ["赵先生", "137****0003", "2026-11-19 09:30", "王五"],
]


@pytest.fixture(params=["sqlite", "postgresql"])
def workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    init_workspace(tmp_path)
    ledger = request.getfixturevalue("postgres").rules_line() if request.param != "sqlite" else ""
    (tmp_path / "rules.yaml").write_text(f"project: 测试项目\n{ledger}", encoding="utf-8")
    write_xlsx(tmp_path / "inputs/channels/链家/报备.xlsx", [SheetSpec("报备", HEADER, ROWS)])
    return tmp_path


def _reports(root: Path, night: date) -> list[dict]:
    with (root / "outputs" / night.isoformat() / "reports.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _ledger_rows(root: Path) -> list[tuple]:
    ws = Workspace.open(root)
    with Ledger(ws.ledger) as ledger:
        return ledger.execute(
            "SELECT row_id, source, first_seen FROM ledger_rows WHERE kind = 'report' "
            "ORDER BY source"
        )


def _add_alias(root: Path) -> None:
    with (root / "rules.yaml").open("a", encoding="utf-8") as rules:
        rules.write("columns:\n  customer_name: [客户姓氏]\n")


def test_an_added_alias_rereads_stored_rows_without_a_second_copy(workspace: Path):
    first = run(Workspace.open(workspace), NIGHT_1, send=False)
    assert first.reread is None
    before = _ledger_rows(workspace)
    assert {r["reason_codes"] for r in _reports(workspace, NIGHT_1)} == {"R01"}

    _add_alias(workspace)
    second = run(Workspace.open(workspace), NIGHT_2, send=False)

    assert second.reread is not None and second.reread.files == 1
    assert second.reread.rows_before == second.reread.rows_after == 3
    assert second.reread.renamed == 3, "the surname is part of a report's id"
    after = _ledger_rows(workspace)
    assert [(s, seen) for _, s, seen in after] == [(s, seen) for _, s, seen in before]
    assert {r["status"] for r in _reports(workspace, NIGHT_2)} == {"pending"}
    assert {r["reason_codes"] for r in _reports(workspace, NIGHT_2)} == {""}
    old_to_new = dict(zip(sorted(i for i, *_ in before), sorted(i for i, *_ in after), strict=True))
    with Ledger(Workspace.open(workspace).ledger) as ledger:
        resolved = {old: ledger.resolve_alias(old) for old in old_to_new}
    assert set(resolved.values()) == {i for i, *_ in after}


def test_a_resaved_file_after_the_alias_adds_only_its_new_row(workspace: Path):
    run(Workspace.open(workspace), NIGHT_1, send=False)
    _add_alias(workspace)
    resaved = [*ROWS, ["钱先生", "136****0004", "2026-11-20 15:00", "王五"]]
    write_xlsx(
        workspace / "inputs/channels/链家/报备_更新.xlsx", [SheetSpec("报备", HEADER, resaved)]
    )
    summary = run(Workspace.open(workspace), NIGHT_2, send=False)
    assert summary.rows_added == 1
    assert len(_ledger_rows(workspace)) == 4


def test_an_unchanged_vocabulary_rereads_nothing(workspace: Path):
    run(Workspace.open(workspace), NIGHT_1, send=False)
    again = run(Workspace.open(workspace), NIGHT_2, send=False)
    assert again.reread is None


def test_reread_command_is_idempotent(workspace: Path, capsys):
    run(Workspace.open(workspace), NIGHT_1, send=False)
    _add_alias(workspace)
    assert main(["reread", "--workspace", str(workspace)]) == 0
    out = capsys.readouterr().out
    assert "重新解析 1 个文件" in out and "3 条记录内容有变" in out
    before = _ledger_rows(workspace)
    assert main(["reread", "--workspace", str(workspace)]) == 0
    assert "0 条记录内容有变" in capsys.readouterr().out
    assert _ledger_rows(workspace) == before
    with Ledger(Workspace.open(workspace).ledger) as ledger:
        assert ledger.meta(VOCABULARY_KEY) is not None
    # The run after a reread finds the vocabulary current: nothing to redo.
    assert run(Workspace.open(workspace), NIGHT_2, send=False).reread is None


def test_a_quarantined_file_is_read_once_the_alias_makes_it_readable(workspace: Path):
    with (workspace / "rules.yaml").open("a", encoding="utf-8") as rules:
        rules.write("quarantine: false\n")
    write_xlsx(
        workspace / "inputs/visits/登记.xlsx",
        [
            SheetSpec(
                "登记",
                ["姓名", "手机号", "登记时刻"],
                [["张三", "13800000001", "2026-11-19 10:00"]],
            )
        ],
    )
    first = run(Workspace.open(workspace), NIGHT_1, send=False)
    assert [path for path, _ in first.quarantined] == ["visits/登记.xlsx"]
    with (workspace / "rules.yaml").open("a", encoding="utf-8") as rules:
        rules.write("columns:\n  visited_at: [登记时刻]\n")
    second = run(Workspace.open(workspace), NIGHT_2, send=False)
    assert second.reread is not None and second.reread.now_read == ["visits/登记.xlsx"]
    with Ledger(Workspace.open(workspace).ledger) as ledger:
        assert ledger.execute("SELECT count(*) FROM rows WHERE kind = 'visit'")[0][0] == 1


def test_explain_finds_a_report_by_the_id_it_had_before_the_reread(workspace: Path, capsys):
    run(Workspace.open(workspace), NIGHT_1, send=False)
    old_id = _reports(workspace, NIGHT_1)[0]["report_id"]
    _add_alias(workspace)
    run(Workspace.open(workspace), NIGHT_2, send=False)
    assert main(["explain", old_id, "--workspace", str(workspace)]) == 0
    out = capsys.readouterr().out
    assert f"报备 {old_id} 重新解析后的编号为" in out
    assert "待到访" in out and "channels/链家/报备.xlsx#报备!" in out


def test_the_fingerprint_is_the_same_in_every_process():
    """A night is a new process: a fingerprint that followed the string-hash seed (the
    order of a frozenset) would re-read the whole ledger every night."""
    import os
    import subprocess
    import sys

    code = (
        "from reconcile.ingest.reread import vocabulary_fingerprint\n"
        "from reconcile.config.rules import Rules\n"
        "print(vocabulary_fingerprint(Rules()))\n"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(seen) == 1


MESSAGES_TEXT = """链家-王五  2026-11-18 10:15
客户姓名：张先生
客户电话：138****0001

链家-王五  2026-11-18 10:20
客户姓名：李女士
客户电话：139****0002
"""


def _message_agents(root: Path) -> list[str]:
    with Ledger(Workspace.open(root).ledger) as ledger:
        return [
            agent
            for (agent,) in ledger.execute(
                "SELECT agent FROM ledger_rows WHERE kind = 'report' AND source LIKE '%.txt#%' "
                "ORDER BY source"
            )
        ]


def test_a_message_file_is_read_again_by_a_later_reader(workspace: Path, monkeypatch):
    """The ledger keeps a message file's lines, not the rows one reader made of them, so a
    re-read (a new version, or `reconcile reread`) runs tonight's reader on them."""
    from reconcile.ingest import wechat

    (workspace / "inputs/channels/链家/报备群.txt").write_text(MESSAGES_TEXT, encoding="utf-8")
    right = wechat.read_message

    def misread(message, project=None):  # an earlier reader with a bug in the agent
        reading = right(message, project)
        reading.fields["agent"] = "旧读法"
        return reading

    monkeypatch.setattr(wechat, "read_message", misread)
    run(Workspace.open(workspace), NIGHT_1, send=False)
    assert _message_agents(workspace) == ["旧读法", "旧读法"]
    # archived, say: only the ledger has it now
    (workspace / "inputs/channels/链家/报备群.txt").unlink()

    monkeypatch.setattr(wechat, "read_message", right)
    assert main(["reread", "--workspace", str(workspace)]) == 0
    assert _message_agents(workspace) == ["王五", "王五"]
    with Ledger(Workspace.open(workspace).ledger) as ledger:
        (file_id,) = ledger.execute("SELECT file_id FROM files WHERE path LIKE '%.txt'")[0]
        kept = ledger.sheet_cells(file_id, "")
    assert wechat.kept_lines("", kept) == MESSAGES_TEXT.splitlines()


def test_messages_kept_as_rows_by_an_older_version_keep_their_rows(workspace: Path, monkeypatch):
    from reconcile.ingest import wechat

    (workspace / "inputs/channels/链家/报备群.txt").write_text(MESSAGES_TEXT, encoding="utf-8")
    monkeypatch.setattr(wechat, "text_cells", lambda written: None)  # kept its rows
    run(Workspace.open(workspace), NIGHT_1, send=False)
    before = _message_agents(workspace)
    monkeypatch.undo()
    assert main(["reread", "--workspace", str(workspace)]) == 0
    assert _message_agents(workspace) == before == ["王五", "王五"]


def test_kept_messages_over_a_lowered_limit_quarantine_their_file(workspace: Path, capsys):
    (workspace / "inputs/channels/链家/报备群.txt").write_text(MESSAGES_TEXT, encoding="utf-8")
    run(Workspace.open(workspace), NIGHT_1, send=False)
    with (workspace / "rules.yaml").open("a", encoding="utf-8") as rules:
        rules.write("limits: {max_rows: 2}\n")
    assert main(["reread", "--workspace", str(workspace)]) == 0
    assert "channels/链家/报备群.txt" in capsys.readouterr().out
    assert _message_agents(workspace) == []
    with Ledger(Workspace.open(workspace).ledger) as ledger:
        [(status, code)] = ledger.execute(
            "SELECT status, reason_code FROM files WHERE path LIKE '%.txt'"
        )
    assert (status, code) == ("quarantined", "over_limit")
