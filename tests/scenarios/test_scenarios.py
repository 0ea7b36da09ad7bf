"""Scenarios: clerk-readable YAML cases, judged in memory and, a handful, end to end.

Every `cases/*.yaml` is one scenario: a project's rules.yaml, one or more nights
(`runs`), the files dropped into `inputs/` before each night and the rows the
night must write to `outputs/<as_of>/{reports,attribution,deals,settlement}.csv`. The format
is described in `README.md` next to this file.

Every case runs in memory (`reconcile.testing.nights`: the product's reading,
normalising, judging and CSV writing, without files or a ledger). The cases of
`END_TO_END` also run through real files and `reconcile run`, with the same
expectations, and must give the same bytes as in memory.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import sqlite3
from contextlib import closing
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconcile.cli.main import main as reconcile_main
from reconcile.config.rules import RulesError, parse_rules
from reconcile.config.workspace import Workspace
from reconcile.judge.vocabulary import ClaimCheck, Code, DealStatus, OwnerType, ReportStatus
from reconcile.normalise.places import place_text
from reconcile.testing import Cell, SheetSpec, write_csv, write_xls, write_xlsx
from reconcile.testing.nights import MemoryWorkspace, Night

CASES = Path(__file__).parent / "cases"
CASE_FILES = sorted(CASES.glob("*.yaml"))

# SPEC §7: the integration contract, header rows exactly as written.
HEADERS: dict[str, tuple[str, ...]] = {
    "reports": (
        "report_id",
        "channel",
        "agent",
        "customer_name",
        "phone_pattern",
        "reported_at",
        "report_type",
        "status",
        "reason_codes",
        "customer_phone",
        "source",
    ),
    "attribution": (
        "customer_phone",
        "customer_name",
        "first_visit_at",
        "owner_type",
        "channel",
        "agent",
        "report_id",
        "protection_until",
        "reason_codes",
        "flags",
    ),
    "deals": (
        "deal_id",
        "customer_phone",
        "stage",
        "deal_date",
        "amount",
        "owner_type",
        "channel",
        "agent",
        "share",
        "commission",
        "status",
        "reason_codes",
    ),
    "settlement": (
        "deal_id",
        "channel",
        "agent",
        "share",
        "commission",
        "paid",
        "outstanding",
        "status",
        "claimed",
        "check",
    ),
    # SPEC 6.7: written only when the rules set `consultant:` / `rotation:`
    "consultants": (
        "customer_phone",
        "customer_name",
        "consultant",
        "valid_from",
        "valid_until",
        "reason_codes",
        "source",
    ),
    "performance": (
        "deal_id",
        "customer_phone",
        "consultant",
        "share",
        "crm_consultant",
        "reason_codes",
    ),
    "rotation": (
        "visit_at",
        "customer_phone",
        "consultant",
        "in_turn",
        "verdict",
        "reason_codes",
        "source",
    ),
    # SPEC 6.8: extension requests are no reports and have no CSV; the scenario reads them
    # from the judgement (in memory only), as the receipts and the dispute report show them
    "requests": (
        "source",
        "channel",
        "requested_at",
        "customer_phone",
        "status",
        "reason_codes",
        "protection_until",
    ),
}
# Files a night writes only when its rules turn them on.
OPTIONAL = frozenset({"consultants", "performance", "rotation", "requests"})
# An expected row is found by its first key field, narrowed by the second when given.
KEYS: dict[str, tuple[str, str]] = {
    "reports": ("source", "phone_pattern"),
    "attribution": ("customer_phone", "first_visit_at"),
    "deals": ("deal_id", "channel"),
    "settlement": ("deal_id", "channel"),
    "consultants": ("customer_phone", "valid_from"),
    "performance": ("deal_id", "consultant"),
    "rotation": ("source", "customer_phone"),
    "requests": ("source", "customer_phone"),
}
SET_FIELDS = frozenset({"reason_codes", "flags"})  # `;`-separated lists: order does not matter
# yuan with exactly 2 decimals
MONEY_FIELDS = frozenset({"amount", "commission", "paid", "outstanding", "claimed"})
REASON_CODES = tuple(code.value for code in Code)
RULES_SECTIONS = frozenset(
    {
        "project",
        "timezone",
        "opening_date",
        "report",
        "existing_customer",
        "visit",
        "conflict",
        "deal",
        "commission",
        "notify",
        "consultant",
        "rotation",
        "schedule",
        "columns",
        "state_dir",
        "archive",
        "max_file_mb",
    }
)
# Outcomes a scenario may also name in `covers`: statuses, owner types, ledger counters.
COVER_WORDS = frozenset(
    {
        *(
            word.value
            for vocabulary in (ReportStatus, OwnerType, DealStatus, ClaimCheck)
            for word in vocabulary
        ),
        *("row_errors", "quarantined", "unrecognised_sheets"),
    }
)
CASE_KEYS = frozenset({"title", "covers", "seed", "rules", "runs"})
RUN_KEYS = frozenset({"as_of", "files", "expect"})
# Ingestion counters (ledger totals after the night): each defaults to 0, so a
# scenario's inputs must be clean unless it says otherwise.
LEDGER_COUNTERS = ("row_errors", "quarantined", "unrecognised_sheets")
EXPECT_KEYS = frozenset({*HEADERS, "counts", *LEDGER_COUNTERS})
FILE_SUFFIXES = (".xlsx", ".xls", ".csv", ".txt")  # a .txt holds WeChat messages, as text
# Run through real files and `reconcile run` as well: workbooks old and new, CSV, several
# nights, re-saved files, rejected rows, a replay of an earlier night.
END_TO_END = (
    "seed_damuzhi",  # .xlsx and .xls, four nights, re-saved workbooks
    "seed_fenxiao",  # .xlsx, .xls and .csv, rulings, deals, a re-saved deal sheet
    "seed_ziyou",  # three nights, re-saved report and visit sheets
    "asof_replay",  # a night replayed after a later one
    "phone_landline_r02_row_error",  # rows ingestion rejects, reported as R02
    "date_only_report_skips_hours",  # .csv report sheet
    "deal_room_change",  # a 交易变更 sheet on a second night
    "unrecognised_sheet_and_file",  # a sheet not recognised, a file quarantined
    "payments_partial_lump_sum_credit",  # 付款记录 over three nights, copied into a second file
    "claims_three_way_checks",  # 请款单 in inputs/statements/<渠道>/, a later one replacing it
    "seed_003_rotation_forfeit",  # 轮排表 in inputs/roster/, consultants, follow-ups (SPEC 6.7)
    "wechat_messages_types",  # a .txt of WeChat messages: report types, a rejected message
    "visit_register_corrected_consultant",  # a re-saved register corrects a row: row_versions
)

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CODE = re.compile(r"[A-Z]\d{2}")


# Loading ---------------------------------------------------------------------


def load_case(path: Path) -> dict[str, Any]:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(case, dict):
        raise AssertionError(f"{path.name}: the top level must be a mapping (title: …, runs: …)")
    return case


def as_of_text(value: Any) -> str:
    """`as_of: 2026-11-20` reads as a date with YAML's timestamp resolver, as text without."""
    return value.isoformat() if isinstance(value, date) else str(value)


# Writing inputs ----------------------------------------------------------------


def excel_cell(value: Any) -> Any:
    """A YAML cell as a clerk's workbook holds it: real datetime/date cells, numbers, text."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return value
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    if _DATETIME.fullmatch(text):
        return datetime.fromisoformat(text)
    if _DATE.fullmatch(text):
        return date.fromisoformat(text)
    return text


def csv_cell(value: Any) -> Any:
    """A YAML cell as CSV text: written as it stands in the case file."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def typed_sheets(
    rel: str, sheets: dict[str, list[list[Any]]] | str
) -> dict[str, list[list[Cell]]] | str:
    """A case file's sheets as a clerk's file holds them: header text, typed cells (a
    .txt of WeChat messages is its text)."""
    if isinstance(sheets, str):
        return sheets
    cell = csv_cell if rel.lower().endswith(".csv") else excel_cell
    return {
        str(name): [
            ["" if v is None else str(v) for v in rows[0]],
            *([cell(v) for v in row] for row in rows[1:]),
        ]
        for name, rows in sheets.items()
    }


def write_input(inputs: Path, rel: str, sheets: dict[str, list[list[Any]]] | str) -> Path:
    path = inputs / rel
    if isinstance(sheets, str):  # WeChat messages, saved as the site's PC client saves them
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sheets, encoding="utf-8")
        return path
    specs = [
        SheetSpec(name=name, header=[str(v) for v in rows[0]], rows=rows[1:])
        for name, rows in typed_sheets(rel, sheets).items()
    ]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_csv(path, specs[0], encoding="utf-8")
    if suffix == ".xls":
        return write_xls(path, specs)
    return write_xlsx(path, specs)


def make_workspace(root: Path, rules: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "rules.yaml").write_text(rules, encoding="utf-8")
    for folder in ("inputs/channels", "inputs/visits", "inputs/crm", "inputs/rulings"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "outputs").mkdir(exist_ok=True)
    (root / "reports").mkdir(exist_ok=True)
    return root


# Reading what the night wrote --------------------------------------------------


def read_outputs(ws: Path, as_of: str) -> dict[str, str | None]:
    folder = ws / "outputs" / as_of
    texts: dict[str, str | None] = {}
    for name in HEADERS:
        path = folder / f"{name}.csv"
        texts[name] = path.read_bytes().decode("utf-8") if path.is_file() else None
    return texts


def parse_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    lines = list(csv.reader(io.StringIO(text, newline="")))
    if not lines:
        return [], []
    header, body = lines[0], lines[1:]
    return header, [dict(zip(header, row, strict=False)) for row in body]


def ledger_facts(ws: Path) -> dict[str, Any]:
    """Ingestion totals from the ledger, opened read-only with the stdlib."""
    path = Workspace.open(ws).ledger_path
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
        errors = db.execute(
            "SELECT f.path, e.sheet, e.row_no, e.reason FROM row_errors e"
            " JOIN files f USING (file_id) ORDER BY 1, 2, 3"
        ).fetchall()
        quarantined = db.execute(
            "SELECT path, reason FROM files WHERE status = 'quarantined' ORDER BY 1"
        ).fetchall()
        unrecognised = db.execute(
            "SELECT f.path, s.sheet, s.note FROM sheets s JOIN files f USING (file_id)"
            " WHERE s.kind IS NULL ORDER BY 1, 2"
        ).fetchall()
    return {
        "row_errors": [f"{place_text((p, s, r))}: {reason}" for p, s, r, reason in errors],
        "quarantined": [f"{p}: {reason}" for p, reason in quarantined],
        "unrecognised_sheets": [f"{p}#{s}: {note}" for p, s, note in unrecognised],
    }


# Comparing -------------------------------------------------------------------


def expected_text(value: Any, field: str = "") -> str | None:
    """An expected value as the CSV writes it; None means the cell must be empty.

    Unquoted YAML numbers are written the way the CSV formats them: `commission: 3000`
    is `3000.00`, `share: 1.0` is `1`.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float) and field in MONEY_FIELDS:
        return f"{value:.2f}"
    if isinstance(value, int | float) and field == "share":
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def as_set(text: str) -> set[str]:
    return {item.strip() for item in text.split(";") if item.strip()}


def field_problem(field: str, expected: Any, actual: str) -> str | None:
    want = expected_text(expected, field)
    if field in SET_FIELDS:
        if as_set(want or "") != as_set(actual):
            return f"{field}: expected {sorted(as_set(want or ''))}, got {sorted(as_set(actual))}"
        return None
    if (want or "") != actual:
        shown = "(empty)" if want is None else repr(want)
        return f"{field}: expected {shown}, got {actual!r}"
    return None


def check_rows(name: str, expected_rows: list[dict], rows: list[dict[str, str]]) -> list[str]:
    problems = []
    for index, expected in enumerate(expected_rows, start=1):
        keys = [key for key in KEYS[name] if key in expected]
        found = [
            row
            for row in rows
            if all(row.get(key, "") == (expected_text(expected[key], key) or "") for key in keys)
        ]
        label = f"{name}.csv expectation #{index} {_flow(expected)}"
        if len(found) != 1:
            where = ", ".join(f"{key}={expected_text(expected[key], key)!r}" for key in keys)
            problems.append(f"{label}: {len(found)} rows with {where} (need exactly 1)")
            continue
        row = found[0]
        for field, value in expected.items():
            if field in keys:
                continue
            problem = field_problem(field, value, row.get(field, ""))
            if problem:
                problems.append(f"{label}: {problem}")
    return problems


def _flow(mapping: dict) -> str:
    """An expectation as one line of YAML, in the order the case file gives it."""
    text = yaml.safe_dump(
        mapping, allow_unicode=True, default_flow_style=True, sort_keys=False, width=10_000
    )
    return text.strip()


def failure(case: dict, night: str, problems: list[str], texts: dict, output: str = "") -> str:
    parts = [f"Scenario {case['title']!r}, night as_of {night}:"]
    parts += [f"  - {problem}" for problem in problems]
    if output:
        parts += ["", "--- reconcile run output ---", output.rstrip()]
    for name, text in texts.items():
        parts += ["", f"--- {name}.csv ---", "(not written)" if text is None else text.rstrip()]
    return "\n".join(parts)


def check_night(
    case: dict, night: dict, texts: dict[str, str | None], facts: dict[str, list[str]], output: str
) -> None:
    """The night's expectations against the CSV texts it wrote and the ledger's totals."""
    as_of = as_of_text(night["as_of"])
    expect = night.get("expect") or {}

    # Ingestion first: a scenario whose inputs are misread says so before any verdict.
    problems = []
    for counter in LEDGER_COUNTERS:
        want = expect.get(counter, 0)
        if len(facts[counter]) != want:
            problems.append(
                f"{counter}: expected {want}, the ledger has {len(facts[counter])}"
                + "".join(f"\n      {line}" for line in facts[counter])
            )
    if problems:
        pytest.fail(failure(case, as_of, problems, texts, output), pytrace=False)

    parsed = {}
    for name, header in HEADERS.items():
        text = texts[name]
        if text is None and name in OPTIONAL and name not in expect:
            continue
        if text is None:
            problems.append(f"outputs/{as_of}/{name}.csv was not written")
            continue
        got, rows = parse_csv(text)
        if tuple(got) != header:
            problems.append(f"{name}.csv header is {got!r}, SPEC §7 says {list(header)!r}")
            continue
        parsed[name] = rows
    for name, rows in parsed.items():
        problems += check_rows(name, expect.get(name) or [], rows)
        want = (expect.get("counts") or {}).get(name)
        if want is not None and len(rows) != want:
            problems.append(f"counts.{name}: expected {want} rows, got {len(rows)}")
    if problems:
        pytest.fail(failure(case, as_of, problems, texts, output), pytrace=False)


def differences(
    first: dict[str, str | None], second: dict[str, str | None], names: tuple[str, str]
) -> list[str]:
    """Each CSV whose text differs between two runs of a night, as a unified diff."""
    problems = []
    for name in HEADERS:
        if first[name] != second[name]:
            diff = difflib.unified_diff(
                (first[name] or "").splitlines(),
                (second[name] or "").splitlines(),
                *names,
                lineterm="",
            )
            problems.append(f"{name}.csv differs:\n" + "\n".join(diff))
    return problems


def memory_texts(night: Night) -> dict[str, str | None]:
    texts = {
        name: data.decode("utf-8") if (data := night.contract.get(f"{name}.csv")) else None
        for name in HEADERS
    }
    texts["requests"] = _request_text(night)
    return texts


def _request_text(night: Night) -> str | None:
    """The night's extension requests (SPEC 6.8) as a table, None when there are none."""
    requests = night.judgement.requests
    if not requests:
        return None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS["requests"])
    for request in requests:
        writer.writerow(
            (
                request.source,
                request.channel,
                _iso(request.at),
                request.phone or "",
                "honoured" if request.honoured else "invalid",
                ";".join(request.codes),
                _iso(request.until),
            )
        )
    return out.getvalue()


def _iso(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else ""


def memory_facts(night: Night) -> dict[str, list[str]]:
    return {counter: getattr(night, counter) for counter in LEDGER_COUNTERS}


def run_in_memory(ws: MemoryWorkspace, night: dict) -> Night:
    for rel, sheets in (night.get("files") or {}).items():
        ws.put(rel, typed_sheets(rel, sheets))
    return ws.run(date.fromisoformat(as_of_text(night["as_of"])))


def run_night(ws: Path, as_of: str, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    code = reconcile_main(["run", "--workspace", str(ws), "--as-of", as_of, "--no-email"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# Tests -----------------------------------------------------------------------


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_scenario(path: Path) -> None:
    case = load_case(path)
    ws = MemoryWorkspace(case["rules"])
    texts: dict[str, str | None] = {}
    for night in case["runs"]:
        texts = memory_texts(result := run_in_memory(ws, night))
        check_night(case, night, texts, memory_facts(result), "")

    # The same night again changes nothing: byte-identical CSVs.
    again = memory_texts(ws.run(result.as_of))
    problems = differences(texts, again, ("first run", "second run"))
    if problems:
        pytest.fail(failure(case, result.as_of.isoformat(), problems, again), pytrace=False)


@pytest.mark.parametrize("stem", END_TO_END)
def test_scenario_end_to_end(stem: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Real files through `reconcile run`: the same expectations, and every night's CSVs
    and ledger totals exactly as judged in memory."""
    case = load_case(CASES / f"{stem}.yaml")
    ws = make_workspace(tmp_path, case["rules"])
    memory = MemoryWorkspace(case["rules"])
    texts: dict[str, str | None] = {}
    as_of = ""
    for night in case["runs"]:
        as_of = as_of_text(night["as_of"])
        for rel, sheets in (night.get("files") or {}).items():
            write_input(ws / "inputs", rel, sheets)
        code, output = run_night(ws, as_of, capsys)
        texts = read_outputs(ws, as_of)
        if code != 0:
            problems = [f"reconcile run exited with {code}"]
            pytest.fail(failure(case, as_of, problems, texts, output), pytrace=False)
        facts = ledger_facts(ws)
        check_night(case, night, texts, facts, output)
        in_memory = run_in_memory(memory, night)
        problems = differences(texts, memory_texts(in_memory), ("reconcile run", "in memory"))
        problems += [
            f"{counter}: the ledger has {facts[counter]}, in memory {getattr(in_memory, counter)}"
            for counter in LEDGER_COUNTERS
            if facts[counter] != getattr(in_memory, counter)
        ]
        if problems:
            pytest.fail(failure(case, as_of, problems, texts, output), pytrace=False)

    # The same night again changes nothing: byte-identical CSVs.
    code, output = run_night(ws, as_of, capsys)
    again = read_outputs(ws, as_of)
    problems = [] if code == 0 else [f"re-running as_of {as_of} exited with {code}"]
    problems += differences(texts, again, ("first run", "second run"))
    if problems:
        pytest.fail(failure(case, as_of, problems, again, output), pytrace=False)


def _sheet_problems(rel: str, sheets: Any) -> list[str]:
    problems = []
    if not isinstance(rel, str) or rel.startswith("/") or ".." in Path(rel).parts:
        problems.append(f"file {rel!r}: give a path relative to inputs/")
    elif not rel.lower().endswith(FILE_SUFFIXES):
        problems.append(f"file {rel!r}: must end in {', '.join(FILE_SUFFIXES)}")
    if str(rel).lower().endswith(".txt"):
        if not isinstance(sheets, str) or not sheets.strip():
            problems.append(f"file {rel!r}: give the messages' text (a YAML block, |)")
        return problems
    if not isinstance(sheets, dict) or not sheets:
        return [*problems, f"file {rel!r}: map sheet names to rows"]
    if str(rel).lower().endswith(".csv") and len(sheets) != 1:
        problems.append(f"file {rel!r}: a CSV file has exactly one sheet")
    for name, rows in sheets.items():
        if not isinstance(rows, list) or not rows or not all(isinstance(r, list) for r in rows):
            problems.append(f"file {rel!r} sheet {name!r}: a list of rows, the header row first")
    return problems


def _expect_problems(where: str, expect: Any) -> list[str]:
    if not isinstance(expect, dict):
        return [f"{where}: expect must be a mapping"]
    problems = [f"{where}: unknown expect key {key!r}" for key in expect if key not in EXPECT_KEYS]
    for name, header in HEADERS.items():
        rows = expect.get(name) or []
        if not isinstance(rows, list):
            problems.append(f"{where}: expect.{name} must be a list of rows")
            continue
        for index, row in enumerate(rows, start=1):
            if not isinstance(row, dict) or KEYS[name][0] not in row:
                problems.append(f"{where}: {name} #{index} needs {KEYS[name][0]}")
                continue
            unknown = [field for field in row if field not in header]
            if unknown:
                problems.append(f"{where}: {name} #{index} has unknown columns {unknown}")
    counts = expect.get("counts") or {}
    if not isinstance(counts, dict) or any(
        key not in HEADERS or not isinstance(value, int) for key, value in counts.items()
    ):
        problems.append(f"{where}: counts maps reports/attribution/deals/settlement to row counts")
    for counter in LEDGER_COUNTERS:
        if counter in expect and not isinstance(expect[counter], int):
            problems.append(f"{where}: {counter} must be a whole number")
    return problems


def _clock_numbers(text: str) -> list[str]:
    """Unquoted `10:00`: YAML 1.1 reads it as the number 600 (base 60), not a clock time."""
    found: list[str] = []

    def walk(node: yaml.Node) -> None:
        if isinstance(node, yaml.ScalarNode):
            numeric = node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
            if node.style is None and numeric and ":" in node.value:
                found.append(
                    f'line {node.start_mark.line + 1}: quote {node.value} as "{node.value}"'
                )
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(key)
                walk(value)

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root)
    return found


def _expected_codes(case: dict) -> set[str]:
    """Every reason code some expected row of the case requires."""
    found: set[str] = set()
    for night in case.get("runs") or []:
        expect = night.get("expect") if isinstance(night, dict) else None
        for name in HEADERS:
            for row in (expect.get(name) or []) if isinstance(expect, dict) else []:
                if isinstance(row, dict) and row.get("reason_codes"):
                    found |= as_set(str(row["reason_codes"]))
    return found


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case_file_is_well_formed(path: Path) -> None:
    case = load_case(path)
    problems = [f"unknown top-level key {key!r}" for key in case if key not in CASE_KEYS]
    problems += _clock_numbers(path.read_text(encoding="utf-8"))
    if not isinstance(case.get("title"), str) or not case["title"].strip():
        problems.append("title: a Chinese sentence saying what the scenario shows")
    covers = case.get("covers")
    if not isinstance(covers, list) or not covers:
        problems.append("covers: a non-empty list of reason codes, rules.yaml keys, outcomes")
    else:
        expected = _expected_codes(case)
        for item in map(str, covers):
            if _CODE.fullmatch(item):
                if item not in REASON_CODES:
                    problems.append(f"covers: unknown reason code {item}")
                elif item not in expected:
                    problems.append(
                        f"covers: {item}, but no expected row has it in its reason_codes"
                    )
            elif item not in COVER_WORDS and item.split(".")[0] not in RULES_SECTIONS:
                problems.append(
                    f"covers: {item!r} is not a reason code, a rules.yaml key or an outcome"
                )
    if not isinstance(case.get("rules"), str):
        problems.append("rules: the project's rules.yaml as a block (rules: |)")
    else:
        try:
            parse_rules(case["rules"])
        except RulesError as exc:
            problems.append(f"rules: {exc}")
    runs = case.get("runs")
    if not isinstance(runs, list) or not runs:
        problems.append("runs: a list of nights, each with as_of and expect")
        runs = []
    for number, night in enumerate(runs, start=1):
        where = f"runs[{number}]"
        if not isinstance(night, dict):
            problems.append(f"{where}: a mapping with as_of, files and expect")
            continue
        problems += [f"{where}: unknown key {key!r}" for key in night if key not in RUN_KEYS]
        if not _DATE.fullmatch(as_of_text(night.get("as_of", ""))):
            problems.append(f"{where}: as_of must be a date like 2026-11-20")
        if "expect" not in night:
            problems.append(f"{where}: expect is missing")
        else:
            problems += _expect_problems(where, night["expect"])
        files = night.get("files") or {}
        if not isinstance(files, dict):
            problems.append(f"{where}: files maps paths under inputs/ to sheets")
            continue
        for rel, sheets in files.items():
            problems += [f"{where}: {p}" for p in _sheet_problems(rel, sheets)]
    if problems:
        pytest.fail(f"{path.name}:\n  " + "\n  ".join(problems), pytrace=False)


def test_cases_cover_every_reason_code() -> None:
    covered: set[str] = set()
    for path in CASE_FILES:
        covered |= {str(item) for item in load_case(path).get("covers") or []}
    missing = [code for code in REASON_CODES if code not in covered]
    missing += [check.value for check in ClaimCheck if check.value not in covered]
    if missing:
        pytest.fail(f"no scenario in {CASES} covers {', '.join(missing)}", pytrace=False)
