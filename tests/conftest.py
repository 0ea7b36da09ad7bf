"""Shared test support: build input files from clerk-readable YAML fixtures."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

from reconcile.ingest import arrival
from reconcile.testing import SheetSpec, write_csv, write_xls, write_xlsx
from tests.postgres import ledger_location, postgres  # noqa: F401 - fixtures for every test folder

# Timing belongs to benchmarks: a loaded 2-core CI machine must not fail a property
# test because one example was slow.
settings.register_profile("reconcile", deadline=None)
settings.load_profile("reconcile")

FIXTURES = Path(__file__).parent / "ingest" / "fixtures"


def _cell(value):
    if isinstance(value, dict) and set(value) == {"time"}:
        return time.fromisoformat(value["time"])
    if isinstance(value, list | dict):
        raise ValueError(f"unsupported fixture cell: {value!r}")
    return value


def excel_range(ref: str) -> tuple[int, int, int, int]:
    """`B1:Q1` (or a single `A1`) as 0-based r1, c1, r2, c2."""

    def one(cell: str) -> tuple[int, int]:
        match = re.fullmatch(r"([A-Z]+)(\d+)", cell.strip().upper())
        if match is None:
            raise ValueError(f"not an Excel cell reference: {cell!r}")
        column = 0
        for letter in match.group(1):
            column = column * 26 + ord(letter) - ord("A") + 1
        return int(match.group(2)) - 1, column - 1

    first, _, last = ref.partition(":")
    (r1, c1), (r2, c2) = one(first), one(last or first)
    return r1, c1, r2, c2


def sheet_specs(fixture: dict) -> list[SheetSpec]:
    """One spec per fixture sheet.

    A multi-row header is `header_rows:` (group rows first, the row of column names
    last) with `header_merges:` as Excel ranges of the sheet (`A1:A2`, `B1:Q1`); the
    labels a merge covers may be repeated in the YAML for readability, they are not
    written (Excel keeps a merged range's value in its top-left cell only).
    """
    specs = []
    for sheet in fixture["sheets"]:
        header_rows = [[_cell(v) for v in row] for row in sheet.get("header_rows", [])]
        specs.append(
            SheetSpec(
                name=sheet["name"],
                header=header_rows[-1] if header_rows else sheet["header"],
                rows=[[_cell(v) for v in row] for row in sheet.get("rows", [])],
                title=[[_cell(v) for v in row] for row in sheet.get("title", [])],
                merges=[tuple(m) for m in sheet.get("merges", [])],
                footer=[[_cell(v) for v in row] for row in sheet.get("footer", [])],
                hidden=sheet.get("hidden", False),
                header_above=header_rows[:-1],
                header_merges=[excel_range(ref) for ref in sheet.get("header_merges", [])],
            )
        )
    return specs


def write_fixture(fixture: dict, workspace: Path) -> Path:
    """Write the fixture's file under `workspace/inputs/` with the product's own generator."""
    path = workspace / "inputs" / fixture["file"]
    specs = sheet_specs(fixture)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        write_csv(path, specs[0], fixture.get("encoding", "utf-8"))
    elif suffix == ".xls":
        write_xls(path, specs)
    else:
        write_xlsx(path, specs)
    if "truncate" in fixture:  # cut the written file, as an interrupted upload leaves it
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fixture["truncate"])])
    if "rules" in fixture:
        (workspace / "rules.yaml").write_text(fixture["rules"], encoding="utf-8")
    return path


def load_fixture(name: str) -> dict:
    return yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))


def fixture_names() -> list[str]:
    return sorted(p.name for p in FIXTURES.glob("*.yaml"))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    for folder in ("inputs/channels", "inputs/visits", "inputs/crm", "inputs/rulings"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "rules.yaml").write_text("project: 示例项目\n", encoding="utf-8")
    return tmp_path


__all__ = ["date", "datetime", "load_fixture", "fixture_names", "write_fixture"]


_REAL_PAUSE = arrival.pause


@pytest.fixture(autouse=True, scope="session")
def _files_are_complete():
    """Files the tests write are complete: the settle wait passes at once (nothing changes
    meanwhile), also for the nights that module and session fixtures run before any test."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(arrival, "pause", lambda seconds, stop: False)
        yield


@pytest.fixture(autouse=True)
def _real_settle(request, monkeypatch):
    """Tests of safe arrival mark themselves `real_settle` and really wait."""
    if "real_settle" in request.keywords:
        monkeypatch.setattr(arrival, "pause", _REAL_PAUSE)
