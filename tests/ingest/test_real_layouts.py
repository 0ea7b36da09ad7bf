"""Golden files for the real export layouts of docs/real-exports.md (SPEC 4.1).

Each fixture in `fixtures/real/` is one real layout (ERP, agency platform or the
developer's own 报备 system) with its header rows exactly as exported, a few
invented rows, and what a clerk expects the export to mean: the sheet kind, the
field every header gives (or `unused`), the row counts and the ledger records of
selected rows. A fixture the product does not read right yet carries
`xfail: <why>` (strict: it fails loudly once the product is fixed).

The property test at the end checks SPEC 4.1's "every header is either mapped or
listed as unused" for any header row drawn from the vocabulary and unknown words.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.config.kinds import FIELD_LIST, FIELDS
from reconcile.config.workspace import Workspace
from reconcile.ingest.files import discover, read_input
from reconcile.ingest.headers import COMBINED_LABELLED, AliasTable
from reconcile.ingest.readers import RawSheet, read_file
from reconcile.ingest.sheet import UnrecognisedSheet, extract_table
from reconcile.normalise.table import SheetTable
from tests.conftest import FIXTURES, load_fixture, write_fixture

REAL = FIXTURES / "real"
UNUSED = "unused"


def _params() -> list:
    params = []
    for path in sorted(REAL.glob("*.yaml")):
        fixture = load_fixture(f"real/{path.name}")
        marks = []
        if fixture.get("xfail"):
            marks.append(pytest.mark.xfail(reason=fixture["xfail"], strict=True))
        params.append(pytest.param(path.name, marks=marks, id=path.stem))
    return params


def _leaf(header: str | None) -> str:
    """A header as the fixture names it: the column's own text, without its group labels."""
    return (header or "").split("·")[-1].strip()


def _fixture_leaves(sheet: dict) -> list[str]:
    """The lowest non-blank header cell of every column, as the fixture writes the file."""
    rows = sheet.get("header_rows") or [sheet["header"]]
    width = max(len(row) for row in rows)
    leaves = []
    for column in range(width):
        cells = [row[column] for row in rows if column < len(row) and row[column] is not None]
        if cells and str(cells[-1]).strip():
            leaves.append(str(cells[-1]).strip())
    return leaves


def column_accounting(table: SheetTable) -> dict[str, str]:
    """Per non-blank header: the field it gives, or `unused`; `MISSING` when the product
    neither maps nor lists it (SPEC 4.1 forbids that)."""
    by_header = {header: field for field, header in table.mapping.items()}
    for field, header in table.mapping.items():
        # a number in two columns is read as one, shown under both (手机前三位+手机后四位)
        parts = header.split("+")
        if len(parts) > 1 and all(part in table.headers for part in parts):
            by_header.update(dict.fromkeys(parts, field))
    accounted: dict[str, str] = {}
    for header in table.headers:
        if not header or not header.strip():
            continue
        if header in by_header:
            value = by_header[header]
        elif header in table.extra_phone_headers:
            value = "phone"
        elif header in table.fallback_headers:
            value = table.fallback_headers[header]
        elif header in table.combined:
            parts = table.combined[header]
            value = COMBINED_LABELLED if parts == [COMBINED_LABELLED] else "+".join(parts)
        elif header in table.unused:
            value = UNUSED
        else:
            value = "MISSING"
        accounted[header] = value
    return accounted


def _tables(path: Path, folder: str | None, aliases: AliasTable) -> dict[str, object]:
    """What header detection makes of each sheet of the written file."""
    tables = {}
    for raw in read_file(path, 2**30):
        table = extract_table(raw, aliases, folder, path.stem)
        if table is not None:
            tables[raw.name] = table
    return tables


def _matches(actual: dict, wanted: dict) -> bool:
    for key, value in wanted.items():
        if key == "data":
            # A field the sheet has no column for is left out of `data`: it reads as null.
            data = json.loads(actual["data"]) if actual["data"] else {}
            if any(data.get(k) != v for k, v in value.items()):
                return False
        elif actual.get(key, "<absent>") != value:
            return False
    return True


def _record_problems(records: pl.DataFrame, expected: dict) -> list[str]:
    problems = []
    for row_no, wanted in expected.items():
        wanted = wanted if isinstance(wanted, list) else [] if wanted is None else [wanted]
        actual = records.filter(pl.col("row_no") == row_no).to_dicts()
        if len(actual) != len(wanted):
            shown = [(r["kind"], r["phone_pattern"], r["event_at"]) for r in actual]
            problems.append(f"row {row_no}: {len(actual)} records, expected {len(wanted)}: {shown}")
        unmatched = list(actual)
        for record in wanted:
            found = next((r for r in unmatched if _matches(r, record)), None)
            if found is None:
                close = [
                    {k: r.get(k) for k in record if k != "data"} | {"data": r["data"]}
                    for r in unmatched
                ]
                problems.append(f"row {row_no}: no record {record}; the product gave {close}")
            else:
                unmatched.remove(found)
    return problems


def _sheet_problems(sheet, table, spec: dict, wanted: dict) -> list[str]:
    """Every way the product's reading of one sheet differs from the clerk's."""
    leaves = _fixture_leaves(spec)
    assert len(set(leaves)) == len(leaves), "the fixture names every column once"
    if sheet.kind != wanted["kind"]:
        return [f"kind {sheet.kind!r}, expected {wanted['kind']!r} ({sheet.note})"]
    if wanted["kind"] is None:  # set aside: its reason names the headers it saw
        problems = [
            f"note lacks {t!r}: {sheet.note}"
            for t in wanted.get("note_contains", [])
            if t not in (sheet.note or "")
        ]
        missing = set(leaves) - {_leaf(h) for h in sheet.headers}
        return problems + ([f"headers not listed: {sorted(missing)}"] if missing else [])

    problems = []
    # Every header is mapped or listed as unused, and gives the field the clerk expects.
    accounted = column_accounting(table)
    if {_leaf(h) for h in accounted} != set(leaves):
        problems.append(f"headers {sorted(_leaf(h) for h in accounted)} != file's {leaves}")
    silent = [h for h, v in accounted.items() if v == "MISSING"]
    if silent:
        problems.append(f"neither mapped nor listed unused: {silent}")
    expected_columns = {str(k).strip(): v for k, v in wanted["columns"].items()}
    assert set(expected_columns) == set(leaves), "the fixture lists every header"
    actual_columns = {_leaf(h): v for h, v in accounted.items()}
    differ = {
        h: (actual_columns.get(h), expected_columns[h])
        for h in leaves
        if actual_columns.get(h) != expected_columns[h]
    }
    if differ:
        problems.append(f"header: (product, expected) {differ}")

    if "header_row" in wanted and sheet.header_row != wanted["header_row"]:
        problems.append(f"header row {sheet.header_row}, expected {wanted['header_row']}")
    records, errors = sheet.normalised.records, sheet.normalised.errors
    accepted = records["row_no"].n_unique()
    skipped = dict(sheet.skipped)
    rejected = {r["row_no"]: r for r in errors.iter_rows(named=True)}
    shown = {n: r["codes"] for n, r in rejected.items()}
    if accepted != wanted["accepted"]:
        problems.append(f"accepted {accepted}, expected {wanted['accepted']}")
    if errors.height != wanted["rejected"]:
        problems.append(f"rejected {errors.height}, expected {wanted['rejected']}: {shown}")
    total = wanted["skipped"] if isinstance(wanted["skipped"], int) else None
    if (sum(skipped.values()) if total is not None else skipped) != (total or wanted["skipped"]):
        problems.append(f"skipped {skipped}, expected {wanted['skipped']}")
    # No row is lost: every row of the file is accepted, rejected or skipped with a reason.
    rows = len(spec.get("rows", [])) + len(spec.get("footer", []))
    if accepted + errors.height + sum(skipped.values()) != rows:
        problems.append(f"{rows} rows, but {accepted} + {errors.height} + {skipped}")
    expected_errors = wanted.get("rejected_rows", {})
    if set(rejected) != set(expected_errors):
        problems.append(f"rejected rows {shown}, expected {expected_errors}")
    for row_no, codes in expected_errors.items():
        if row_no in rejected:
            if rejected[row_no]["codes"].split(";") != codes:
                problems.append(
                    f"row {row_no}: codes {rejected[row_no]['codes']}, expected {codes}"
                )
            assert rejected[row_no]["reason"], "every rejected row has a Chinese reason"
    return problems + _record_problems(records, wanted.get("records", {}))


@pytest.mark.parametrize("name", _params())
def test_real_layout(name, workspace):
    fixture = load_fixture(f"real/{name}")
    path = write_fixture(fixture, workspace)
    ws = Workspace.open(workspace)
    [item], _ = discover(ws.inputs)
    aliases = AliasTable.build(ws.rules.columns)
    outcome = read_input(item, ws.rules, aliases)
    tables = _tables(path, item.folder, aliases)
    expect = fixture["expect"]

    problems = []
    if "quarantined" in expect:
        if outcome.rejected is None or outcome.rejected.code != expect["quarantined"]:
            problems.append(f"file not set aside as {expect['quarantined']}")
    elif outcome.rejected is not None:
        problems.append(f"file set aside: {outcome.rejected.reason}")

    specs = {sheet["name"]: sheet for sheet in fixture["sheets"]}
    outcomes = {sheet.name: sheet for sheet in outcome.sheets}
    assert set(outcomes) == set(expect["sheets"]) == set(specs)
    for sheet_name, wanted in expect["sheets"].items():
        found = _sheet_problems(outcomes[sheet_name], tables[sheet_name], specs[sheet_name], wanted)
        problems += [f"{sheet_name}: {problem}" for problem in found]
    assert not problems, "\n".join(problems)


def test_every_documented_layout_has_a_fixture():
    """docs/real-exports.md names each layout's fixture; each fixture names its layout."""
    docs = (Path(__file__).parents[2] / "docs" / "real-exports.md").read_text(encoding="utf-8")
    fixtures = {load_fixture(f"real/{p.name}")["layout"]: p.name for p in REAL.glob("*.yaml")}
    assert len(fixtures) >= 15
    for layout, file_name in fixtures.items():
        assert f"`{layout}`" in docs, layout
        assert f"tests/ingest/fixtures/real/{file_name}" in docs, file_name


# --- Property: every header is mapped or listed as unused (SPEC 4.1) -------------------

VOCABULARY = sorted({alias for field in FIELD_LIST for alias in (field.name, *field.aliases)})
_UNKNOWN_ALPHABET = st.sampled_from(
    list("客户编号状态备注金额面积楼层序号区域城市类型原因审核人XYZxyz0123456789")
    + list("-/()（）、 ")
)
UNKNOWN = st.text(_UNKNOWN_ALPHABET, min_size=1, max_size=8).filter(lambda t: t.strip() != "")
HEADER = st.one_of(st.sampled_from(VOCABULARY), UNKNOWN)
# Headers that make a header row of any kind: without one, most drawn rows are no header
# at all and the property would hold for want of a table.
ANCHORS = [
    ("客户电话", "报备时间"),
    ("客户电话", "到访时间"),
    ("客户电话", "成交日期", "成交总价"),
    ("手机", "首次接触时间"),
    ("客户电话", "跟进时间"),
]


@st.composite
def header_rows(draw: st.DrawFn) -> list[str]:
    anchor = draw(st.sampled_from(ANCHORS))
    others = draw(st.lists(HEADER, max_size=12, unique=True))
    return draw(st.permutations([*anchor, *(h for h in others if h not in anchor)]))


# One data row that fits most kinds, so that many drawn sheets are recognised.
_CELL = {
    "phone": "13812345678",
    "customer_name": "张三",
    "customer_info": "客户姓名：张三\n客户性别：男",
}


def _cell(header: str, aliases: AliasTable) -> str:
    field = aliases.field_for(header)
    if field is None:
        return "x"
    if field in _CELL:
        return _CELL[field]
    if field.endswith(("_at", "_date")) or field in ("date", "time"):
        return "2026-11-18 10:00"
    return "甲"


def _raw_sheet(rows: list[list[str | None]]) -> RawSheet:
    width = max(len(r) for r in rows)
    columns = {f"c{i}": [r[i] if i < len(r) else None for r in rows] for i in range(width)}
    return RawSheet("Sheet1", True, pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String)))


@settings(max_examples=300, deadline=None)
@given(
    headers=header_rows(),
    folder=st.sampled_from([None, "channels", "visits", "crm"]),
    group_row=st.booleans(),
)
def test_every_header_is_mapped_or_listed_unused(headers, folder, group_row):
    aliases = AliasTable.build()
    rows: list[list[str | None]] = [list(headers), [_cell(h, aliases) for h in headers]]
    if group_row:  # a group row above (客户信息 | 经纪人信息 …) qualifies the headers below
        half = (len(headers) + 1) // 2
        rows.insert(0, ["客户信息"] * half + ["经纪人信息"] * (len(headers) - half))
    table = extract_table(_raw_sheet(rows), aliases, folder, "导出")
    if isinstance(table, SheetTable):
        accounted = column_accounting(table)
        assert "MISSING" not in accounted.values(), accounted
        assert {_leaf(h) for h in accounted} == {h.strip() for h in headers if h.strip()}
        for field, header in table.mapping.items():
            shown = [header] if header in table.headers else header.split("+")  # 前三位+后四位
            assert field in FIELDS and all(part in table.headers for part in shown)
        for header in table.unused:
            assert header not in table.mapping.values(), header
    else:
        # The header row is found (its anchor is one) but the sheet set aside: its reason
        # lists every header.
        assert isinstance(table, UnrecognisedSheet), table
        assert not table.reason.startswith("找不到表头"), table.reason
        listed = {_leaf(h) for h in table.headers}
        assert {h.strip() for h in headers if h.strip()} <= listed


def test_deal_sheet_known_only_by_room_guid_is_set_aside_for_its_missing_phone():
    """A 明源 签约明细 trimmed to 房间编号 (a GUID here), 签约日期, 成交总价: no crash, and
    no guess either: the sheet is set aside naming the column it lacks."""
    rows = [
        ["房间编号", "签约日期", "成交总价"],
        ["3f2a9c1e-7b4d-4e21-9a6f-0c5d2b8e1a01", "2026-11-28", "3250000.00"],
    ]
    table = extract_table(_raw_sheet(rows), AliasTable.build(), "crm", "签约明细表")
    assert isinstance(table, UnrecognisedSheet)
    assert "识别为成交记录" in table.reason and "缺少必需的列“客户电话”" in table.reason
    assert table.headers == ["房间编号", "签约日期", "成交总价"]
