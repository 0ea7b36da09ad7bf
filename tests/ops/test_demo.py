"""The demo generator is reproducible, and the repository's own inputs/ are its output."""

from __future__ import annotations

from pathlib import Path

from reconcile.ops.demo import generate_workspace

REPO = Path(__file__).resolve().parents[2]


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted((root / "inputs").rglob("*"))
        if p.is_file() and p.name != ".gitkeep"
    }


def test_the_generator_is_byte_for_byte_reproducible(tmp_path):
    generate_workspace(tmp_path / "a")
    generate_workspace(tmp_path / "b")
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert first == second
    assert any(name.endswith(".xls") for name in first)
    assert any(name.endswith(".csv") for name in first)


def test_the_repository_workspace_holds_the_demo_inputs(tmp_path):
    generate_workspace(tmp_path)
    assert _files(REPO) == _files(tmp_path)
    assert (REPO / "rules.yaml").read_text(encoding="utf-8") == (tmp_path / "rules.yaml").read_text(
        encoding="utf-8"
    )
