"""Every file the product writes follows the umask: finance opens the workbook on a shared
folder (0644 under the usual 022), a private setup (077) keeps everything to its owner."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconcile.cli.main import main
from reconcile.ops.demo import DEMO_AS_OF, generate_workspace
from reconcile.ops.housekeeping import REASON_SUFFIX


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def _modes(root: Path) -> dict[str, int]:
    return {
        path.relative_to(root).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in root.rglob("*")
    }


@pytest.mark.parametrize("umask", [0o022, 0o077], indirect=True)
def test_a_night_and_every_command_write_with_the_umasks_modes(tmp_path: Path, umask: int):
    root = tmp_path / "workspace"
    generate_workspace(root)
    rules = root / "rules.yaml"
    # The demo keeps its damaged file in place; a real project quarantines it with a note.
    rules.write_text(
        rules.read_text(encoding="utf-8").replace("quarantine: false", "quarantine: true"),
        encoding="utf-8",
    )
    night = ["run", "--workspace", str(root), "--as-of", DEMO_AS_OF.isoformat()]
    assert main(night) == 0
    template = root / "outputs" / "报备登记表.xlsx"
    assert main(["template", "--workspace", str(root), "--out", str(template)]) == 0
    assert main(["init", str(tmp_path / "new")]) == 0

    modes = _modes(tmp_path)
    written = {name for name in modes if not (tmp_path / name).is_dir()}
    # Each kind of file a user receives is there, so no kind passes by being absent.
    night_dir = f"workspace/outputs/{DEMO_AS_OF.isoformat()}"
    expected = {
        f"{night_dir}/reports.csv",
        f"{night_dir}/settlement.xlsx",
        f"{night_dir}/channels/链家.xlsx",
        f"{night_dir}/outbox/settlement.eml",
        f"workspace/reports/{DEMO_AS_OF.isoformat()}/dispute_report.html",
        "workspace/outputs/报备登记表.xlsx",
        "workspace/.reconcile/logs/run.log",
        "workspace/.reconcile/ledger.sqlite",
        "workspace/rules.yaml",
        "workspace/inputs/crm/明源导出_2026-11-20.xlsx",
        "new/rules.yaml",
    }
    assert expected <= written
    notes = [name for name in written if name.endswith(REASON_SUFFIX)]
    assert notes and notes[0].startswith("workspace/inputs/_quarantine/")
    file_mode, folder_mode = 0o666 & ~umask, 0o777 & ~umask
    assert {name: oct(mode) for name, mode in modes.items() if name in written} == {
        name: oct(file_mode) for name in written
    }
    assert {name: oct(mode) for name, mode in modes.items() if name not in written} == {
        name: oct(folder_mode) for name in modes if name not in written
    }
