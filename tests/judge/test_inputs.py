"""The judge's inputs read from a real ledger: a slice of the rows at a time (`load`)
gives what all of them at once give (`build`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from reconcile.config.workspace import Workspace
from reconcile.judge import inputs
from reconcile.judge.inputs import build, load, night_end
from reconcile.ops.demo import DEMO_AS_OF, generate_workspace
from reconcile.ops.pipeline import run
from reconcile.store.ledger import Ledger

FRAMES = (
    "reports", "report_errors", "visits", "crm", "deals", "deal_changes", "rulings",
    "payments", "statements", "followups", "roster",
)  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("demo")
    generate_workspace(root)
    rules = root / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + "\nschedule:\n  settle: 0s\n", "utf-8")
    workspace = Workspace.open(Path(root))
    run(workspace, DEMO_AS_OF, send=False)
    return workspace


@pytest.mark.parametrize("slice_rows", [1, 7, 10_000])
def test_reading_the_ledger_in_slices_gives_the_inputs_of_all_its_rows(
    demo: Workspace, monkeypatch: pytest.MonkeyPatch, slice_rows: int
):
    seen_by = night_end(demo.rules, DEMO_AS_OF).isoformat()
    with Ledger(demo.ledger, read_only=True) as ledger:
        whole = build(
            demo.rules,
            DEMO_AS_OF,
            ledger.judge_rows(seen_by),
            ledger.judge_report_errors(seen_by),
            ledger.first_run(),
        )
        monkeypatch.setattr(inputs, "SLICE_ROWS", slice_rows)
        sliced = load(ledger, demo.rules, DEMO_AS_OF)
    assert whole.reports.height > 50 and whole.visits.height and whole.crm.height
    for name in FRAMES:
        assert_frame_equal(getattr(sliced, name), getattr(whole, name), check_exact=True)
    assert (sliced.as_of, sliced.as_of_end, sliced.first_run) == (
        whole.as_of,
        whole.as_of_end,
        whole.first_run,
    )


def test_an_earlier_night_reads_only_what_it_had_seen(demo: Workspace):
    """Slices cut the table by place, not by night: a night before the first leaves
    every slice empty."""
    with Ledger(demo.ledger, read_only=True) as ledger:
        before = load(ledger, demo.rules, date(2020, 1, 1))
        night = load(ledger, demo.rules, DEMO_AS_OF)
    for name in FRAMES:
        assert getattr(before, name).height == 0
        assert getattr(before, name).schema == getattr(night, name).schema, name


def test_the_sorted_frames_are_in_submission_order(demo: Workspace):
    with Ledger(demo.ledger, read_only=True) as ledger:
        night = load(ledger, demo.rules, DEMO_AS_OF)
    keys = ["path", "sheet", "row_no", "phone_pattern"]
    frame = night.reports.select(keys)
    assert frame.equals(frame.sort(keys, nulls_last=True, maintain_order=True))
    assert night.reports.filter(pl.col("at") > night.as_of_end).height == 0
