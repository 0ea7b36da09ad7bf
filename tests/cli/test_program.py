"""The installed `reconcile` command: after a night it leaves without tearing the heap
down, and still says everything `main` says."""

from __future__ import annotations

import importlib
import shutil
import subprocess
from pathlib import Path

import pytest

from reconcile.cli.main import main
from reconcile.ops.demo import DEMO_AS_OF
from tests.ops.support import RECONCILE, demo_workspace


def test_run_says_everything_through_a_pipe_and_exits_with_mains_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    here, there = tmp_path / "here" / "ws", tmp_path / "there" / "ws"
    demo_workspace(here)
    shutil.copytree(here, there)
    args = ["run", "--workspace", "ws", "--as-of", DEMO_AS_OF.isoformat(), "--no-email"]
    # A pipe buffers the output in the process: it must be flushed before leaving.
    done = subprocess.run(
        [RECONCILE, *args], cwd=there.parent, capture_output=True, timeout=300, check=False
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(here.parent)
        code = main(args)
    said = capsys.readouterr().out
    assert done.returncode == code
    assert done.stdout.decode().splitlines() == said.splitlines()
    log = (there / ".reconcile" / "logs" / "run.log").read_text(encoding="utf-8")
    assert "run.ok" in log.splitlines()[-1]  # the log was flushed to its last line


def test_the_nights_judgement_outlives_main_so_program_never_frees_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Freed as `main` returned, a night's millions of objects cost ~0.7 s at 200,000
    # reports before `program` could leave at once.
    demo_workspace(tmp_path / "ws")
    monkeypatch.chdir(tmp_path)
    main(["run", "--workspace", "ws", "--as-of", DEMO_AS_OF.isoformat(), "--no-email"])
    # The module, not the `main` function that `reconcile.cli` exports under its name.
    kept = importlib.import_module("reconcile.cli.main")._last_night
    assert kept is not None and kept.judgement is not None
    assert kept.judgement.reports
