"""Messy input files written by the product's own generator from YAML fixtures.

For every fixture: rows in = rows accepted + rows rejected, each rejected row
carries the expected reason codes and a Chinese reason, and selected records
carry the expected normalised values.
"""

from __future__ import annotations

import json

import pytest

from reconcile.config.workspace import Workspace
from reconcile.ingest.files import discover, read_input
from reconcile.ingest.headers import AliasTable
from tests.conftest import fixture_names, load_fixture, write_fixture


@pytest.mark.parametrize("name", fixture_names())
def test_fixture(name, workspace):
    fixture = load_fixture(name)
    write_fixture(fixture, workspace)
    ws = Workspace.open(workspace)
    [item], _ = discover(ws.inputs)
    outcome = read_input(item, ws.rules, AliasTable.build(ws.rules.columns))
    expect = fixture["expect"]
    if "quarantined" in expect:
        assert outcome.rejected is not None and outcome.rejected.code == expect["quarantined"]
        assert expect["reason_contains"] in outcome.rejected.reason
        return
    assert outcome.rejected is None, outcome.rejected and outcome.rejected.reason
    sheets = {sheet.name: sheet for sheet in outcome.sheets}
    assert set(sheets) == set(expect["sheets"])
    for name_, wanted in expect["sheets"].items():
        sheet = sheets[name_]
        assert sheet.kind == wanted["kind"], name_
        if sheet.kind is None:
            assert sheet.note and sheet.headers is not None
            continue
        # Every row below the header, counted from the cells as read, is accepted,
        # rejected or skipped with a reason: none vanishes between reading and the ledger.
        seen_rows = sheet.normalised.records["row_no"].n_unique() + sheet.normalised.errors.height
        assert seen_rows == sheet.accepted + sheet.rejected
        assert sheet.rows_in == seen_rows + sum(sheet.skipped.values()), name_
        for key in ("accepted", "rejected", "header_row", "hidden"):
            if key in wanted:
                assert getattr(sheet, key) == wanted[key], (name_, key)
        assert dict(sheet.skipped) == wanted.get("skipped", {}), name_

    rejected_by_sheet = expect.get("rejected_by_sheet") or (
        {next(iter(expect["sheets"])): expect.get("rejected", {})}
    )
    for sheet_name, rows in rejected_by_sheet.items():
        errors = {
            r["row_no"]: r for r in sheets[sheet_name].normalised.errors.iter_rows(named=True)
        }
        assert set(errors) == set(rows), sheet_name
        for row_no, codes in rows.items():
            assert errors[row_no]["codes"].split(";") == codes, (sheet_name, row_no)
            assert errors[row_no]["reason"], "every rejected row has a Chinese reason"
            assert errors[row_no]["source"].endswith(f"#{sheet_name}!{row_no}")

    for key, by_sheet in (("records", "records_by_sheet"), ("data", "data_by_sheet")):
        checks = expect.get(by_sheet) or (
            {next(iter(expect["sheets"])): expect[key]} if key in expect else {}
        )
        for sheet_name, rows in checks.items():
            records = sheets[sheet_name].normalised.records
            for row_no, fields in rows.items():
                found = records.filter(records["row_no"] == row_no).row(0, named=True)
                actual = json.loads(found["data"]) if key == "data" else found
                for field, value in fields.items():
                    assert actual.get(field) == value, (sheet_name, row_no, field)
    for sheet_name, wanted in expect.get("mapping", {}).items():
        mapped = {header: field for field, header in sheets[sheet_name].mapping.items()}
        assert {h: mapped.get(h) for h in wanted} == wanted, sheet_name
    for sheet_name, wanted in expect.get("unused", {}).items():
        assert list(sheets[sheet_name].unused) == wanted, sheet_name
    if "record_count" in expect:
        assert (
            sum(s.normalised.records.height for s in outcome.sheets if s.normalised)
            == expect["record_count"]
        )
