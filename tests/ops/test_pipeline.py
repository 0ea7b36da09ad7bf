"""The night job against a real ledger, SQLite and PostgreSQL: idempotent, incremental,
atomic, nothing lost."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from reconcile.cli.main import main
from reconcile.config.workspace import Workspace
from reconcile.ingest.limits import Bounds
from reconcile.ingest.wechat import kept_lines, messages_of_lines
from reconcile.ops.demo import generate_workspace
from reconcile.ops.pipeline import ledger_totals, run
from reconcile.store.ledger import Ledger
from reconcile.testing import SheetSpec, write_xlsx
from tests.judge.test_explain import REPORT, write_collision

AS_OF = date(2026, 11, 20)
HEADER = ["客户姓名", "客户电话", "报备时间", "经纪人"]


def _rows(count: int, start: int = 0) -> list[list]:
    return [
        [f"张{i}", f"138****{i:04d}", f"2026-11-18 {8 + i % 10:02d}:{i % 60:02d}", "王五"]
        for i in range(start, start + count)
    ]


def _dump(workspace: Workspace) -> dict[str, list]:
    """Every data table of the ledger, in a stable order (runs are history and excluded)."""
    with Ledger(workspace.ledger) as ledger:
        return {
            table: ledger.execute(f"SELECT * FROM {table} ORDER BY 1, 2")
            for table in ("files", "sheets", "rows", "row_errors")
        }


def _on_backend(request: pytest.FixtureRequest, root: Path) -> None:
    """On the `postgresql` run, the workspace's ledger is a schema of the test server."""
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        with (root / "rules.yaml").open("a", encoding="utf-8") as rules:
            rules.write("\n" + server.rules_line())


@pytest.fixture(params=["sqlite", "postgresql"])
def workspace(request: pytest.FixtureRequest, workspace: Path) -> Path:
    _on_backend(request, workspace)
    return workspace


@pytest.fixture(params=["sqlite", "postgresql"])
def demo(request: pytest.FixtureRequest, tmp_path: Path) -> Workspace:
    generate_workspace(tmp_path)
    _on_backend(request, tmp_path)
    return Workspace.open(tmp_path)


def test_every_input_row_is_accounted_for(demo):
    summary = run(demo, AS_OF)
    assert summary.rows_in == summary.accepted + summary.rejected + sum(summary.skipped.values())
    with Ledger(demo.ledger) as ledger:
        sheets = ledger.query(
            "SELECT s.*, f.path FROM sheets s JOIN files f USING (file_id) WHERE s.kind IS NOT NULL"
        )
        assert sheets.height == 16, "every recognised sheet of the demo's thirteen files"
        for sheet in sheets.iter_rows(named=True):
            cells = ledger.sheet_cells(sheet["file_id"], sheet["sheet"])
            lines = kept_lines(sheet["sheet"], cells)
            if lines is not None:  # a message file keeps its lines; its rows are read anew
                written = (demo.inputs / sheet["path"]).read_text(encoding="utf-8")
                assert lines == written.splitlines(), sheet["path"]
                name = Path(sheet["path"]).name
                read = messages_of_lines(lines, Bounds.of(demo.rules.limits), None, 0, name)
                cells = read.frame.with_columns(pl.Series("__row", read.line_numbers))
            below_header = cells.filter(pl.col("__row") > sheet["header_row"]).height
            skipped = sum(json.loads(sheet["skipped"]).values())
            assert sheet["accepted"] + sheet["rejected"] + skipped == below_header, sheet["path"]
            assert sheet["rows_in"] == below_header, sheet["path"]
        rows = ledger.count("rows")
        errors = ledger.count("row_errors")
    assert errors == summary.rejected == summary.errors_added
    # one report cell names two numbers, so records outnumber accepted rows by one
    assert rows == summary.rows_added == summary.accepted + 1


def test_ingesting_the_same_inputs_twice_leaves_the_ledger_identical(demo):
    run(demo, AS_OF)
    before = _dump(demo)
    second = run(demo, AS_OF)
    assert second.rows_added == 0 and second.errors_added == 0 and not second.files_new
    assert second.files_unchanged == 13
    assert _dump(demo) == before


def test_appended_rows_add_exactly_those_rows(workspace):
    path = workspace / "inputs/channels/链家/报备.xlsx"
    write_xlsx(path, [SheetSpec("报备", HEADER, _rows(5))])
    ws = Workspace.open(workspace)
    assert run(ws, AS_OF).rows_added == 5
    # The agency re-saves the same workbook with three rows appended and one edited.
    edited = _rows(8)
    edited[0][1] = "139****0000"
    write_xlsx(path, [SheetSpec("报备", HEADER, edited)])
    summary = run(ws, AS_OF)
    assert summary.rows_added == 4
    with Ledger(ws.ledger) as ledger:
        assert ledger.count("rows") == 9, "the edited row's old version is kept"
        sources = dict(ledger.execute("SELECT phone_pattern, source FROM ledger_rows"))
    assert sources["138****0001"] == "channels/链家/报备.xlsx#报备!3", "first file seen wins"


def test_a_file_that_disappears_loses_nothing(workspace):
    path = write_xlsx(
        workspace / "inputs/channels/链家/报备.xlsx", [SheetSpec("报备", HEADER, _rows(3))]
    )
    ws = Workspace.open(workspace)
    run(ws, AS_OF)
    path.unlink()
    summary = run(ws, AS_OF)
    assert summary.rows_added == 0
    assert ledger_totals(ws).rows_by_kind == {"report": 3}


def test_a_crash_mid_file_leaves_the_ledger_as_before_that_file(workspace, monkeypatch):
    write_xlsx(workspace / "inputs/channels/链家/a.xlsx", [SheetSpec("报备", HEADER, _rows(3))])
    write_xlsx(
        workspace / "inputs/channels/链家/b.xlsx", [SheetSpec("报备", HEADER, _rows(3, 100))]
    )
    ws = Workspace.open(workspace)
    original = Ledger.record_sheet

    def explode(self, **fields):
        if fields["file_id"] == 2:
            raise RuntimeError("power cut")
        return original(self, **fields)

    monkeypatch.setattr(Ledger, "record_sheet", explode)
    summary = run(ws, AS_OF)
    assert [path for path, _ in summary.failed] == ["channels/链家/b.xlsx"]
    assert "内部错误" in summary.failed[0][1]
    with Ledger(ws.ledger) as ledger:
        assert ledger.count("rows") == 3, "b.xlsx's rows were rolled back with it"
        assert ledger.execute("SELECT path FROM files") == [("channels/链家/a.xlsx",)]
    monkeypatch.setattr(Ledger, "record_sheet", original)
    assert run(ws, AS_OF).rows_added == 3, "the failed file is retried on the next run"


def test_a_bad_file_moves_to_the_quarantine_and_is_read_when_dropped_again_fixed(workspace):
    path = workspace / "inputs/channels/链家/报备.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK\x03\x04 half a zip")
    ws = Workspace.open(workspace)
    first = run(ws, AS_OF)
    assert [p for p, _ in first.quarantined] == ["channels/链家/报备.xlsx"]
    assert [m.dest for m in first.moves] == ["_quarantine/channels/链家/报备.xlsx"]
    assert not path.exists()
    assert run(ws, AS_OF).files_unchanged == 0, "the quarantine is not read"
    write_xlsx(path, [SheetSpec("报备", HEADER, _rows(2))])
    third = run(ws, AS_OF)
    assert third.rows_added == 2 and third.moves == []


def test_a_bad_file_left_in_place_is_not_read_again_until_it_changes(workspace):
    with (workspace / "rules.yaml").open("a", encoding="utf-8") as rules:
        rules.write("quarantine: false\n")
    path = workspace / "inputs/channels/链家/报备.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK\x03\x04 half a zip")
    ws = Workspace.open(workspace)
    first = run(ws, AS_OF)
    assert [p for p, _ in first.quarantined] == ["channels/链家/报备.xlsx"] and first.moves == []
    second = run(ws, AS_OF)
    assert second.quarantined == [] and second.files_unchanged == 1, "not retried unchanged"
    assert second.ledger_quarantined == 1
    write_xlsx(path, [SheetSpec("报备", HEADER, _rows(2))])
    third = run(ws, AS_OF)
    assert third.rows_added == 2 and third.ledger_quarantined == 0


def test_a_replay_of_an_earlier_night_reads_no_files(workspace):
    write_xlsx(workspace / "inputs/channels/链家/a.xlsx", [SheetSpec("报备", HEADER, _rows(2))])
    ws = Workspace.open(workspace)
    run(ws, AS_OF)
    write_xlsx(workspace / "inputs/channels/链家/b.xlsx", [SheetSpec("报备", HEADER, _rows(2, 50))])
    replay = run(ws, date(2026, 11, 19))
    assert replay.mode == "replay" and replay.rows_added == 0
    assert run(ws, AS_OF).rows_added == 2


def test_rows_remember_when_they_were_first_seen(workspace):
    write_xlsx(workspace / "inputs/channels/链家/a.xlsx", [SheetSpec("报备", HEADER, _rows(2))])
    ws = Workspace.open(workspace)
    run(ws, date(2026, 11, 18))
    write_xlsx(workspace / "inputs/channels/链家/a.xlsx", [SheetSpec("报备", HEADER, _rows(3))])
    run(ws, date(2026, 11, 19))
    with Ledger(ws.ledger) as ledger:
        seen = sorted(row[0] for row in ledger.execute("SELECT first_seen FROM ledger_rows"))
    assert seen == ["2026-11-18T23:59:59+08:00"] * 2 + ["2026-11-19T23:59:59+08:00"]


def test_waiting_and_ignored_files_are_not_read(workspace):
    folder = workspace / "inputs/channels/链家"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "~$报备.xlsx").write_bytes(b"lock")
    (folder / "报备.xlsx.part").write_bytes(b"half")
    (folder / "Thumbs.db").write_bytes(b"x")
    summary = run(Workspace.open(workspace), AS_OF)
    assert sorted(w.rel for w in summary.waiting) == [
        "channels/链家/~$报备.xlsx",
        "channels/链家/报备.xlsx.part",
    ]
    assert summary.quarantined == [] and summary.files_new == []


def test_the_ledger_path_is_configurable(workspace, tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    (workspace / "rules.yaml").write_text(f"state_dir: {state}\n", encoding="utf-8")
    write_xlsx(workspace / "inputs/channels/链家/a.xlsx", [SheetSpec("报备", HEADER, _rows(1))])
    run(Workspace.open(workspace), AS_OF)
    assert (state / "ledger.sqlite").is_file()
    assert not (workspace / ".reconcile").exists()


def test_the_raw_cells_of_every_row_stay_in_the_ledger(workspace):
    write_xlsx(workspace / "inputs/channels/链家/a.xlsx", [SheetSpec("报备", HEADER, _rows(2))])
    ws = Workspace.open(workspace)
    run(ws, AS_OF)
    shutil.rmtree(workspace / "inputs")
    with Ledger(ws.ledger) as ledger:
        cells = ledger.sheet_cells(1, "报备")
    assert cells.row(1) == ("张0", "138****0000", "2026-11-18 08:00", "王五", 2)


def test_queries_keep_text_columns_whose_first_rows_are_empty(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.execute("CREATE TABLE t (a TEXT, b TEXT)")
        rows = pl.DataFrame(
            {"a": [None] * 3000 + ["链家"], "b": [None] * 3001},
            schema={"a": pl.String, "b": pl.String},
        )
        # One transaction: committed row by row, each insert would wait for its own fsync.
        with ledger.transaction(), ledger._conn.cursor() as cursor:
            cursor.executemany("INSERT INTO t VALUES (?, ?)", rows.to_arrow())
        frame = ledger.query("SELECT a, b FROM t")
    assert frame["a"].dtype == pl.String and frame["a"][-1] == "链家"
    assert frame["b"].dtype == pl.Null


def test_a_replay_reproduces_the_night_byte_for_byte(workspace):
    """Rows that arrived on a later night, even back-dated ones, stay out of a replay."""
    write_collision(workspace)
    assert main(["run", "--workspace", str(workspace), "--as-of", "2026-11-18"]) == 0
    night = workspace / "outputs" / "2026-11-18"
    first = {p.name: p.read_bytes() for p in night.glob("*.csv")}
    write_xlsx(
        workspace / "inputs/channels/房多多/报备.xlsx",
        [SheetSpec("报备", REPORT, [["张先生", "138****1234", "2026-11-17 09:00", "孙七"]])],
    )
    assert main(["run", "--workspace", str(workspace), "--as-of", "2026-11-20"]) == 0
    assert "房多多" in (workspace / "outputs/2026-11-20/reports.csv").read_text(encoding="utf-8")
    assert main(["run", "--workspace", str(workspace), "--as-of", "2026-11-18"]) == 0
    assert {p.name: p.read_bytes() for p in night.glob("*.csv")} == first
    assert set(first) == {"reports.csv", "attribution.csv", "deals.csv", "settlement.csv"}
