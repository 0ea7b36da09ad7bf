"""A night run again with nothing changed reuses its files (reconcile/ops/reuse.py); any
change of input, rules, code or the files themselves makes a full run, byte-exact."""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

import reconcile.judge as judge_module
from reconcile.cli.main import main
from reconcile.config.workspace import Workspace
from reconcile.ops import reuse
from reconcile.ops.demo import DEMO_AS_OF, generate_workspace
from reconcile.ops.pipeline import run
from reconcile.store.ledger import Ledger
from reconcile.testing import SheetSpec, write_xlsx


def _files(root: Path) -> dict[str, tuple[str, int]]:
    """Every output and report file: its hash and modification time (ns)."""
    return {
        str(path.relative_to(root)): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_mtime_ns,
        )
        for folder in ("outputs", "reports")
        for path in sorted((root / folder).rglob("*"))
        if path.is_file()
    }


def _hashes(root: Path) -> dict[str, str]:
    return {name: sha for name, (sha, _) in _files(root).items()}


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    generate_workspace(tmp_path)
    return tmp_path


def test_the_same_night_again_judges_nothing_and_rewrites_nothing(demo):
    first = run(Workspace.open(demo), DEMO_AS_OF, send=False)
    assert first.judgement is not None and first.reused is None
    before = _files(demo)
    second = run(Workspace.open(demo), DEMO_AS_OF, send=False)
    assert second.judgement is None and second.published is None
    assert second.reused is not None and len(second.reused) == len(before)
    assert _files(demo) == before  # same bytes, not even touched
    assert {p.name for p in second.written} == {
        "reports.csv", "attribution.csv", "deals.csv", "settlement.csv",
        "consultants.csv", "performance.csv", "rotation.csv",  # the demo sets consultant:
    }  # fmt: skip
    assert [d.key for d in second.deliveries][:2] == ["dispute_report", "settlement"]


def test_the_command_says_again_what_the_reused_night_decided(demo, capsys):
    command = ["run", "--workspace", str(demo), "--as-of", str(DEMO_AS_OF), "--no-email"]
    assert main(command) == 0
    first = capsys.readouterr().out
    decided = [line for line in first.splitlines() if line.startswith(("报备判定", "本期应付"))]
    assert len(decided) == 2
    assert main(command) == 0
    again = capsys.readouterr().out
    assert "沿用当时的判定与文件" in again and "逐字节核对无误" in again
    assert all(line in again.splitlines() for line in decided)
    assert "已写出" not in again


@pytest.mark.parametrize("change", ["deleted", "edited", "rules", "input", "code"])
def test_any_change_makes_a_full_run_with_the_same_bytes(demo, monkeypatch, change):
    run(Workspace.open(demo), DEMO_AS_OF, send=False)
    before = _hashes(demo)
    night = demo / "outputs" / DEMO_AS_OF.isoformat()
    receipt = night / "channels" / "链家.xlsx"
    if change == "deleted":
        receipt.unlink()
    elif change == "edited":
        receipt.write_bytes(receipt.read_bytes() + b"\0")
    elif change == "rules":
        rules = demo / "rules.yaml"
        rules.write_text(rules.read_text(encoding="utf-8") + "\n# 注释\n", encoding="utf-8")
    elif change == "input":
        path = demo / "inputs/channels/链家/补充报备.xlsx"
        header = ["客户姓名", "客户电话", "报备时间", "经纪人"]
        row = ["邹先生", "139****0001", "2026-11-20 09:00", "王磊"]
        write_xlsx(path, [SheetSpec("报备", header, [row])])
        os.utime(path, (time.time() - 3600,) * 2)  # settled: saved an hour ago
    else:
        monkeypatch.setattr(reuse, "code_digest", lambda: "another version of the product")
    again = run(Workspace.open(demo), DEMO_AS_OF, send=False)
    assert again.reused is None and again.judgement is not None
    after = _hashes(demo)
    if change in ("deleted", "edited", "code"):
        assert after == before  # rewritten exactly as it was
    elif change == "rules":
        assert after.keys() == before.keys()
    else:
        assert (
            after[f"outputs/{DEMO_AS_OF}/reports.csv"]
            != before[f"outputs/{DEMO_AS_OF}/reports.csv"]
        )
    # and now that the files match what they were made from, the next run reuses them
    assert run(Workspace.open(demo), DEMO_AS_OF, send=False).reused is not None


def test_a_replay_after_a_later_night_is_judged_then_reused(demo):
    later = DEMO_AS_OF + timedelta(days=1)
    run(Workspace.open(demo), DEMO_AS_OF, send=False)
    run(Workspace.open(demo), later, send=False)
    before = {k: v for k, v in _hashes(demo).items() if str(DEMO_AS_OF) in k}
    replay = run(Workspace.open(demo), DEMO_AS_OF, send=False)
    assert replay.mode == "replay"
    assert replay.reused is not None  # the ledger did not change since that night's files
    for path in (demo / "outputs" / str(DEMO_AS_OF)).rglob("*.xlsx"):
        path.unlink()
    replay = run(Workspace.open(demo), DEMO_AS_OF, send=False)
    assert replay.reused is None
    assert {k: v for k, v in _hashes(demo).items() if str(DEMO_AS_OF) in k} == before


def test_the_next_night_compares_with_what_the_night_before_kept(demo, monkeypatch):
    """A night keeps what it decided; the next night's report reads that instead of
    judging the night before again, and says exactly what judging it would say."""
    workspace = Workspace.open(demo)
    run(workspace, DEMO_AS_OF - timedelta(days=1), send=False)
    judged: list[str] = []
    real = judge_module.judge

    def counted(inputs, rules):
        if inputs.as_of != DEMO_AS_OF:  # the night before, not the night itself
            judged.append(inputs.as_of.isoformat())
        return real(inputs, rules)

    monkeypatch.setattr(judge_module, "judge", counted)
    run(workspace, DEMO_AS_OF, send=False)
    assert judged == []
    kept = _hashes(demo)
    with Ledger(workspace.ledger_path) as ledger:
        ledger.execute("DELETE FROM night_views")
    (demo / "outputs" / DEMO_AS_OF.isoformat() / "channels" / "链家.xlsx").unlink()
    run(workspace, DEMO_AS_OF, send=False)
    assert judged == [(DEMO_AS_OF - timedelta(days=1)).isoformat()]
    assert _hashes(demo) == kept  # judged again: the very same report and files
    rules = demo / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + "\n# 注释\n", encoding="utf-8")
    run(Workspace.open(demo), DEMO_AS_OF, send=False)
    assert len(judged) == 2  # other rules: what the night before decided is judged anew


def test_a_first_night_reads_no_night_before(demo, monkeypatch):
    """The night before a workspace's first files knew nothing: it is not loaded, nor
    judged, and the report compares with nothing (a tenth of a second at 200,000
    reports). One file seen by then is enough for it to be loaded."""
    import reconcile.judge.inputs as inputs_module

    loaded: list[str] = []
    real = inputs_module.load

    def counted(ledger, rules, as_of):
        loaded.append(as_of.isoformat())
        return real(ledger, rules, as_of)

    monkeypatch.setattr(inputs_module, "load", counted)
    summary = run(Workspace.open(demo), DEMO_AS_OF, send=False)
    assert loaded == [DEMO_AS_OF.isoformat()]  # the night itself only
    assert summary.published is not None
    workspace = Workspace.open(demo)
    with Ledger(workspace.ledger_path) as ledger:
        assert reuse.night_before(workspace, ledger, DEMO_AS_OF) is None
        ledger.execute("DELETE FROM night_views")  # so the night is judged again, not read
        assert reuse.night_before(workspace, ledger, DEMO_AS_OF + timedelta(days=1)) is not None
    assert loaded == [DEMO_AS_OF.isoformat()] * 2


def test_a_night_with_nothing_new_loads_neither_the_judge_nor_the_publishers(demo):
    """What a reused night costs is its checks: the judge, the workbook writers and the
    mail templates are not even imported (a second of a 200,000-report night's again)."""
    command = ["run", "--workspace", str(demo), "--as-of", str(DEMO_AS_OF), "--no-email"]
    assert main(command) == 0
    probe = (
        "import sys\n"
        "from reconcile.cli.main import main\n"
        f"code = main({command!r})\n"
        "print(code, sorted(m.split('.')[0] if not m.startswith('reconcile') else m"
        " for m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True
    )
    said, loaded = done.stdout.splitlines()[:-1], done.stdout.splitlines()[-1]
    assert any("沿用当时的判定与文件" in line for line in said)
    assert loaded.startswith("0 ")
    modules = set(ast.literal_eval(loaded[2:]))
    unneeded = {"openpyxl", "xlsxwriter", "rust_xlsxwriter", "jinja2", "css_inline", "rich"}
    assert not modules & unneeded
    assert "reconcile.ingest.wechat" not in modules
    assert not {m for m in modules if m.startswith(("reconcile.judge", "reconcile.publish."))} - {
        "reconcile.publish.mail"  # the outbox: mails still queued are sent from it
    }
