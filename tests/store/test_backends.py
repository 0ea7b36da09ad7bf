"""The ledger behaves the same on SQLite and on a PostgreSQL server (`ledger:` in
rules.yaml): every test here runs once per backend, against a real server."""

from __future__ import annotations

import pickle
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import polars as pl
import pytest

from reconcile.config.ledger_url import PASSWORD_VARIABLE, LedgerServer
from reconcile.normalise.records import ERROR_COLUMNS, RECORD_COLUMNS
from reconcile.store.ledger import Ledger, LedgerError
from tests.postgres import PASSWORD, Postgres

SEEN = "2026-11-20T23:59:59+08:00"
LATER = "2026-11-21T23:59:59+08:00"


def _records(keys: list[str], sheet: str = "报备") -> pl.DataFrame:
    """Report records as the normaliser yields them, one per key."""
    text = {c: [f"{c}-{k}" for k in keys] for c in RECORD_COLUMNS if c not in ("row_no",)}
    text.update(row_key=keys, kind=["report"] * len(keys), sheet=[sheet] * len(keys))
    text.update(report_type=[None] * len(keys))
    return pl.DataFrame({**text, "row_no": list(range(2, len(keys) + 2))}).select(RECORD_COLUMNS)


def _errors(keys: list[str]) -> pl.DataFrame:
    columns = {c: [f"{c}-{k}" for k in keys] for c in ERROR_COLUMNS if c != "row_no"}
    columns.update(error_key=keys, kind=["report"] * len(keys), sheet=["报备"] * len(keys))
    return pl.DataFrame({**columns, "row_no": [7] * len(keys)}).select(ERROR_COLUMNS)


def _file(ledger: Ledger, run_id: int, path: str, seen: str = SEEN) -> int:
    return ledger.record_file(run_id, seen, path=path, sha256=f"sha-{path}", size=1,
                              status="ingested")  # fmt: skip


def test_reading_the_same_rows_again_adds_nothing(ledger_location):
    with Ledger(ledger_location) as ledger:
        run = ledger.start_run("2026-11-20", "ingest", SEEN)
        first = _file(ledger, run, "channels/链家/a.xlsx")
        assert ledger.add_records(_records(["a", "b", "c"]), first) == 3
        assert ledger.add_errors(_errors(["x"]), first) == 1
        mark = ledger.watermark()
        second = _file(ledger, run, "channels/链家/a (1).xlsx")
        assert ledger.add_records(_records(["b", "c", "d"]), second) == 1, "only d is new"
        assert ledger.add_errors(_errors(["x"]), second) == 0
        assert ledger.watermark() != mark
        mark = ledger.watermark()
        assert ledger.add_records(_records(["a", "d"]), second) == 0
        assert ledger.watermark() == mark, "adding nothing changes nothing"
        assert ledger.rows_by_kind() == {"report": 4}
        rows = ledger.judge_rows(SEEN)
        assert sorted(rows["row_id"].to_list()) == sorted(set(rows["row_id"].to_list()))
        assert set(rows.select("path", "sheet", "row_no").rows()) >= {
            ("channels/链家/a.xlsx", "报备", 2)
        }
        assert rows["row_no"].dtype == pl.Int64 and rows["report_type"].dtype == pl.Null


def test_a_file_is_written_whole_or_not_at_all(ledger_location):
    with Ledger(ledger_location) as ledger:
        run = ledger.start_run("2026-11-20", "ingest", SEEN)
        with pytest.raises(RuntimeError), ledger.transaction():
            file_id = _file(ledger, run, "channels/链家/a.xlsx")
            ledger.add_records(_records(["a", "b"]), file_id)
            ledger.store_cells(file_id, "报备", pl.DataFrame({"__row": [1], "c0": ["x"]}))
            raise RuntimeError("the reader failed mid-file")
        assert ledger.files() == [] and ledger.count("rows") == 0
        assert ledger.count("sheet_cells") == 0
        with ledger.transaction():
            file_id = _file(ledger, run, "channels/链家/a.xlsx")
            ledger.add_records(_records(["a", "b"]), file_id)
        assert [f.path for f in ledger.files()] == ["channels/链家/a.xlsx"]
        assert ledger.count("rows") == 2


def test_ids_runs_and_dead_runs(ledger_location):
    with Ledger(ledger_location) as ledger:
        first = ledger.start_run("2026-11-20", "ingest", SEEN)
        second = ledger.start_run("2026-11-21", "replay", LATER)
        assert second > first
        ledger.finish_run(first, "ok", LATER, {"行": 3})
        assert ledger.close_dead_runs(LATER) == 1
        runs = ledger.recent_runs(5)
        assert [(r.run_id, r.status, r.summary) for r in runs] == [
            (second, "interrupted", {}),
            (first, "ok", {"行": 3}),
        ]
        assert runs[1].seconds == 86400.0
        assert ledger.latest_ok_as_of() == "2026-11-20"
        assert ledger.latest_ingest_as_of() == "2026-11-20"


def test_files_sheets_and_their_order(ledger_location):
    with Ledger(ledger_location) as ledger:
        run = ledger.start_run("2026-11-20", "ingest", SEEN)
        # Byte order, as SQLite compares: ASCII before Chinese, 链 (U+94FE) after 房 (U+623F).
        paths = ["channels/链家/b.xlsx", "channels/房多多/a.xlsx", "crm/明源.xlsx", "Z.csv"]
        ids = [_file(ledger, run, path) for path in paths]
        ledger.touch_file(paths[0], f"sha-{paths[0]}", LATER)
        ledger.touch_file(paths[0], f"sha-{paths[0]}", SEEN)  # never moves back
        files = ledger.files()
        assert [f.path for f in files] == paths and files[0].last_seen == LATER
        assert files[1].last_seen == SEEN
        for file_id, sheet in zip(ids, ["表二", "Sheet1", "表一", "b"], strict=True):
            ledger.record_sheet(file_id=file_id, sheet=sheet, kind="report", hidden=False,
                                header_row=1, mapping="{}", headers="[]", rows_in=1, accepted=1,
                                rejected=0, skipped="{}", unused=None, ref_date=None)  # fmt: skip
            ledger.add_errors(_errors([f"e{file_id}"]).with_columns(sheet=pl.lit(sheet)), file_id)
        assert [s.path for s in ledger.sheet_rows()] == sorted(paths, key=str.encode)
        assert [e.path for e in ledger.error_rows()] == sorted(paths, key=str.encode)
        cells = pl.DataFrame({"__row": [1, 2], "c0": ["甲", None]})
        for sheet in ("乙", "甲", "A"):
            ledger.store_cells(ids[0], sheet, cells)
        stored = ledger.stored_sheets(ids[0])
        assert [s[0] for s in stored] == ["乙", "甲", "A"], "in the order they were read"
        assert stored[0][3].equals(cells) and ledger.sheet_cells(ids[0], "甲").equals(cells)
        assert ledger.stored_files() == [(ids[0], paths[0], f"sha-{paths[0]}", "ingested", SEEN)]
        assert ledger.first_run() == run


def test_watermark_sees_only_the_files_first_seen_by_then(ledger_location):
    with Ledger(ledger_location) as ledger:
        run = ledger.start_run("2026-11-20", "ingest", SEEN)
        ledger.add_records(_records(["a"]), _file(ledger, run, "a.xlsx", SEEN))
        night = ledger.watermark(SEEN)
        everything = ledger.watermark()
        ledger.add_records(_records(["b"]), _file(ledger, run, "b.xlsx", LATER))
        assert ledger.watermark(SEEN) == night
        assert ledger.watermark() != everything
        assert ledger.judge_rows(SEEN).height == 1 and ledger.judge_rows(LATER).height == 2
        ledger.record_move("a.xlsx", "sha-a.xlsx", run, "quarantine", "_quarantine/a.xlsx", SEEN)
        assert ledger.watermark(SEEN) != night
        assert [m.dest for m in ledger.quarantine_moves()] == ["_quarantine/a.xlsx"]


def test_meta_aliases_mails_and_nights(ledger_location):
    with Ledger(ledger_location) as ledger:
        ledger.set_meta("k", "1")
        ledger.set_meta("k", "2")
        assert ledger.meta("k") == "2" and ledger.meta("missing") is None
        ledger.add_aliases([("a", "b")], None)
        ledger.add_aliases([("b", "c")], 7)
        assert ledger.resolve_alias("a") == "c" and ledger.resolve_alias("c") == "c"
        for key in ("settlement", "dispute_report"):
            ledger.add_mail(message_id=f"<{key}@x>", night="2026-11-20", key=key,
                            recipients="[]", subject="主题", eml_path=f"{key}.eml",
                            raw=b"\x00raw", status="outbox", created_at=SEEN)  # fmt: skip
        ledger.update_mail("<settlement@x>", attempted=True, status="queued", last_error="超时")
        assert [m["key"] for m in ledger.night_mails("2026-11-20")] == [
            "settlement",
            "dispute_report",
        ]
        queued = ledger.queued_mails()
        assert [(m["attempts"], m["raw"], m["last_error"]) for m in queued] == [
            (1, b"\x00raw", "超时")
        ]
        ledger.record_outputs("2026-11-20", "key1", [("b.csv", "s2"), ("a.csv", "s1")])
        ledger.record_outputs("2026-11-20", "key2", [("a.csv", "s3")])
        assert ledger.night_outputs("2026-11-20") == [("a.csv", "s3", "key2")]
        ledger.record_night_lines("2026-11-20", "key2", ["一行"])
        assert ledger.night_lines("2026-11-20") == ("key2", ["一行"])
        ledger.record_night_view("2026-11-20", "key2", b"\x01view")
        assert ledger.night_view("2026-11-20") == ("key2", b"\x01view")


def test_a_read_only_ledger_reads_and_refuses_writes(ledger_location):
    assert not Ledger.exists(ledger_location)
    with Ledger(ledger_location) as ledger:
        ledger.start_run("2026-11-20", "ingest", SEEN)
    assert Ledger.exists(ledger_location)
    with Ledger(ledger_location, read_only=True) as ledger:
        assert [r.as_of for r in ledger.recent_runs(3)] == ["2026-11-20"]
        with pytest.raises(Exception, match="(?i)read.?only"):
            ledger.start_run("2026-11-21", "ingest", LATER)


# A child that dies by SIGKILL in the middle of writing a file, holding the write lock.
_VICTIM = """
import sys, pickle, time
import polars as pl
from reconcile.store.ledger import Ledger
location = pickle.loads(bytes.fromhex(sys.argv[1]))
ledger = Ledger(location)
run = ledger.start_run("2026-11-20", "ingest", "2026-11-20T23:59:59+08:00")
with ledger.transaction():
    ledger.record_file(run, "2026-11-20T23:59:59+08:00", path="half.xlsx", sha256="s", size=1,
                       status="ingested")
    print("writing", flush=True)
    time.sleep(60)
"""


def test_a_writer_killed_mid_file_leaves_the_ledger_as_before(ledger_location):
    with Ledger(ledger_location) as ledger:
        ledger.finish_run(ledger.start_run("2026-11-19", "ingest", SEEN), "ok", SEEN, {})
    victim = subprocess.Popen(
        [sys.executable, "-c", _VICTIM, pickle.dumps(ledger_location).hex()],
        stdout=subprocess.PIPE,
    )
    try:
        assert victim.stdout is not None and victim.stdout.readline() == b"writing\n"
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    started = time.monotonic()
    with Ledger(ledger_location) as ledger, ledger.transaction():
        assert time.monotonic() - started < 5, "the dead writer's lock was released"
        assert ledger.files() == []
        assert ledger.close_dead_runs(LATER) == 1
    with Ledger(ledger_location) as ledger:
        assert [r.status for r in ledger.recent_runs(5)] == ["interrupted", "ok"]


def test_two_writers_take_turns(ledger_location):
    with Ledger(ledger_location) as first, Ledger(ledger_location) as second:
        run = first.start_run("2026-11-20", "ingest", SEEN)
        order: list[str] = []

        def other_writer() -> None:
            with second.transaction():
                order.append("second")
                _file(second, run, "b.xlsx")

        with first.transaction():
            _file(first, run, "a.xlsx")
            thread = threading.Thread(target=other_writer)
            thread.start()
            thread.join(0.5)
            assert thread.is_alive(), "the second writer waits for the first"
            order.append("first")
        thread.join(10)
        assert order == ["first", "second"]
        assert [f.path for f in first.files()] == ["a.xlsx", "b.xlsx"]


def test_each_project_has_its_own_schema(postgres: Postgres):
    one, other = postgres.ledger("西溪项目"), postgres.ledger("滨江项目")
    with Ledger(one) as ledger:
        ledger.start_run("2026-11-20", "ingest", SEEN)
    with Ledger(other) as ledger:
        assert ledger.recent_runs(5) == []
        tables = ledger.execute(
            "SELECT table_schema, count(*) FROM information_schema.tables "
            "WHERE table_schema IN (?, ?) GROUP BY table_schema ORDER BY table_schema",
            (one.schema, other.schema),
        )
    assert [schema for schema, _ in tables] == sorted([one.schema, other.schema])
    assert tables[0][1] == tables[1][1] >= 14
    with Ledger(one, read_only=True) as ledger:
        assert len(ledger.recent_runs(5)) == 1


def test_the_password_comes_from_the_environment_and_is_never_shown(
    postgres: Postgres, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv(PASSWORD_VARIABLE, "falsch-密码")
    with pytest.raises(LedgerError) as refused:
        Ledger(postgres.ledger())
    message = str(refused.value)
    assert "无法连接台账服务器" in message and "password" in message
    assert "falsch" not in message
    monkeypatch.delenv(PASSWORD_VARIABLE)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(LedgerError):
        Ledger(postgres.ledger())
    monkeypatch.setenv("PGPASSWORD", PASSWORD)  # libpq's own variable serves as well
    with Ledger(postgres.ledger()) as ledger:
        assert ledger.recent_runs(1) == []


def test_a_role_given_only_its_schema_writes_and_a_viewer_only_reads(
    postgres: Postgres, monkeypatch: pytest.MonkeyPatch
):
    # As docs/postgresql.md sets it up: a DBA makes the schema for the product's role,
    # which may not create schemas itself; an auditor may only look.
    suffix = uuid.uuid4().hex[:8]
    writer, viewer, schema = f"writer_{suffix}", f"viewer_{suffix}", f"项目_{suffix}"
    with Ledger(postgres.ledger()) as admin:
        for role in (writer, viewer):
            admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{role}-pw'")
        admin.execute(f'CREATE SCHEMA "{schema}" AUTHORIZATION {writer}')
        admin.execute(f"REVOKE CREATE ON DATABASE postgres FROM PUBLIC, {writer}")
    server = postgres.url.replace("postgres@", "{}@")
    monkeypatch.setenv(PASSWORD_VARIABLE, f"{writer}-pw")
    with Ledger(LedgerServer(server.format(writer), schema)) as ledger:
        ledger.start_run("2026-11-20", "ingest", SEEN)
        ledger.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {viewer}')
        ledger.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO {viewer}')
    monkeypatch.setenv(PASSWORD_VARIABLE, f"{viewer}-pw")
    looking = LedgerServer(server.format(viewer), schema)
    assert Ledger.exists(looking)
    with Ledger(looking, read_only=True) as ledger:
        assert [r.as_of for r in ledger.recent_runs(1)] == ["2026-11-20"]
    with Ledger(looking) as ledger, pytest.raises(Exception, match="permission denied"):
        ledger.start_run("2026-11-21", "ingest", LATER)


def test_a_ledger_made_by_an_older_version_gains_the_columns_added_since(ledger_location):
    with Ledger(ledger_location) as ledger:
        ledger.execute("ALTER TABLE sheets DROP COLUMN ref_date")
        ledger.execute("DELETE FROM meta WHERE key = 'layout'")
    with Ledger(ledger_location) as ledger:
        run = ledger.start_run("2026-11-20", "ingest", SEEN)
        file_id = _file(ledger, run, "a.xlsx")
        ledger.record_sheet(file_id=file_id, sheet="表", kind=None, hidden=True, header_row=None,
                            mapping="{}", headers="[]", rows_in=0, accepted=0, rejected=0,
                            skipped="{}", ref_date="2026-11-20")  # fmt: skip
        assert ledger.stored_sheets(file_id) == []
        assert ledger.execute("SELECT hidden, ref_date FROM sheets") == [(1, "2026-11-20")]
        assert ledger.meta("layout") is not None


def test_of_equal_rows_in_one_chunk_the_first_is_kept(ledger_location):
    # A sheet holding the same report twice: the ledger points at its first row.
    keys = [f"k{i % 500}" for i in range(3000)]
    with Ledger(ledger_location) as ledger:
        run = ledger.start_run("2026-11-20", "ingest", SEEN)
        assert ledger.add_records(_records(keys), _file(ledger, run, "a.xlsx")) == 500
        rows = ledger.judge_rows(SEEN)
    assert sorted(rows["row_no"].to_list()) == list(range(2, 502))


def test_the_judge_reads_the_rows_in_slices_of_their_places(ledger_location):
    with Ledger(ledger_location) as ledger:
        run = ledger.start_run("2026-11-20", "ingest", SEEN)
        assert ledger.row_places() == range(0)
        ledger.add_records(_records(["a", "b", "c"]), _file(ledger, run, "a.xlsx"))
        ledger.add_records(_records(["d", "e"]), _file(ledger, run, "b.xlsx", LATER))
        places = ledger.row_places()
        whole = ledger.judge_rows(LATER).sort("row_id")
        slices = [
            ledger.judge_rows(LATER, range(s, s + 2)) for s in range(places.start, places.stop, 2)
        ]
        seen = [
            ledger.judge_rows(SEEN, range(s, s + 2)) for s in range(places.start, places.stop, 2)
        ]
    assert len(places) == 5 and [s.height for s in slices] == [2, 2, 1]
    assert pl.concat(slices).sort("row_id").equals(whole)
    assert sorted(row for part in seen for row in part["row_id"].to_list()) == sorted(
        whole.filter(pl.col("first_seen") == SEEN)["row_id"].to_list()
    )


def test_a_later_file_reading_a_row_otherwise_is_its_version_from_that_night(ledger_location):
    """A re-saved register correcting a row's other fields (SPEC 6.7's 接待顾问): the judge
    reads the latest version the night's files give, a replay what its night read, and the
    row keeps its first file."""
    last = "2026-11-22T23:59:59+08:00"
    corrected = '{"consultant":"刘强"}'
    with Ledger(ledger_location) as ledger:
        run = ledger.start_run("2026-11-20", "ingest", SEEN)
        first = _file(ledger, run, "a.xlsx")
        ledger.add_records(_records(["k1", "k2"]), first)
        same = _file(ledger, run, "a (1).xlsx")
        assert ledger.add_records(_records(["k1", "k2"]), same) == 0
        assert ledger.count("row_versions") == 0, "a row read alike adds no version"
        later = _file(ledger, run, "b.xlsx", LATER)
        edited = _records(["k1", "k2"]).with_columns(data=pl.Series([corrected, "data-k2"]))
        assert ledger.add_records(edited, later) == 0
        assert ledger.count("row_versions") == 1
        assert ledger.execute("SELECT path, data FROM ledger_row_versions") == [
            ("b.xlsx", corrected)
        ]
        last_file = _file(ledger, run, "c.xlsx", last)
        ledger.add_records(_records(["k1", "k2"]), last_file)  # the correction undone

        def data(seen: str) -> dict[str, str]:
            rows = ledger.judge_rows(seen)
            assert set(rows["path"]) == {"a.xlsx"}, "the row keeps its first file"
            named = rows["data"].str.replace(corrected, "corrected", literal=True)
            return dict(zip(named, rows["row_id"], strict=True))

        original = data(SEEN)
        assert set(original) == {"data-k1", "data-k2"}
        assert data(LATER) == {"corrected": original["data-k1"], "data-k2": original["data-k2"]}
        assert data(last) == original
        # Re-deriving the later file forgets its version with its rows.
        ledger.forget_derived(later)
        assert data(LATER) == original
