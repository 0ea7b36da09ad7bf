"""No input text inside any formula, and 汇总's figures right for any channel name.

The night is tests/publish/hostile.py's: channel names that COUNTIFS/SUMIFS criteria
misread (`链家*`, `A?B`, `~x`, `<5`, `Abc`/`ABC`), formula text (`=HYPERLINK(…)`), a
leading quote, names shaped like the settlement's own sheet and references (`明细`,
`$A$2`, `0)*0+(1`), and agents, customer names and remarks of the same kind.

What "a formula contains input text" means here
-----------------------------------------------
Input texts are the values of every cell of every input file (read back with
python-calamine) and every folder and file name under `inputs/` (a folder names a
channel). Formulas are everything a spreadsheet evaluates, read from the saved XML of
every workbook the night writes (settlement, every receipt) and of the template:
cell formulas `<f>`, data-validation `<formula1>`/`<formula2>`, conditional-format
`<formula>` and defined names.

A formula leaks input if some substring `s` of an input text, with

- at least 2 characters, and
- at least one character that is not an ASCII digit, ASCII punctuation or a space,

occurs in the formula touching a character that is not the product's own vocabulary.
Pure digits and punctuation are left out because every formula is made of them (`$2:`,
`),`, `=0`): an input `1-101` or `2026-11-05` shares them by necessity. The product's
vocabulary is what openpyxl's formula tokenizer finds as: a function from
`FUNCTIONS` (the ones the product's formulas use), a reference whose sheet, if any,
is one of the workbook's own sheets (`'明细'!$H$2:$H$9`, `$A2`, `D$1`), a number, an
operator, separator, parenthesis or space. Everything else — above all every
character of a text constant `"…"`, and any name or function the product does not use
— is payload. So a formula may say `'明细'!` although an agency's cell reads 报备明细,
but `"=链家~*"` (the old criterion) leaks 链家, and `HYPERLINK(` is never vocabulary.

Two more checks close the gaps of that definition: the settlement and the receipts
have no text constant at all, and their formulas are identical, cell for cell, when
every input text is replaced by a plain one (`tame_night`), so no name — not even one
made of digits and punctuation like `0)*0+(1` — shapes a formula.
"""

from __future__ import annotations

import re
import string
import zipfile
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.formula.tokenizer import Token, Tokenizer
from python_calamine import CalamineWorkbook

from reconcile.publish.settlement import NO_CHANNEL, write_settlement
from reconcile.publish.template import write_template
from reconcile.publish.workbook import cell_text
from tests.publish.conftest import Night, recalculate, sheets
from tests.publish.hostile import CHANNELS, HELD_LOSER, HELD_WINNER, ISSUE_CHANNELS
from tests.publish.test_settlement import COMMISSION, SUMMARY_HEADER, expected_summary

# Functions the product's formulas call (settlement, template validation).
FUNCTIONS = frozenset(
    {"SUM", "SUMPRODUCT", "EXACT", "LEN"}
    | {"AND", "ABS", "LEFT", "RIGHT", "MID", "FIND", "ISERR", "REPT", "INT", "SUBSTITUTE"}
    | {"DATE"}
)
FORMULA_TAGS = {"f", "formula", "formula1", "formula2", "definedName"}
PLAIN = frozenset(string.digits + string.punctuation + " ")
_CELL = r"\$?[A-Z]{1,3}\$?[0-9]+"
_REFERENCE = re.compile(
    rf"(?:'(?P<quoted>(?:[^']|'')+)'!|(?P<bare>[^'!:$()\s,]+)!)?"
    rf"(?:{_CELL}(?::{_CELL})?|\$?[A-Z]{{1,3}}:\$?[A-Z]{{1,3}}|\$?[0-9]+:\$?[0-9]+)"
)


# Reading formulas and inputs --------------------------------------------------------


def workbook_formulas(path: Path) -> list[tuple[str, str, str]]:
    """(xml part, place, formula text) of everything `path` evaluates, read from its XML.

    The place is the cell (`r`), the validated or formatted range (`sqref`) or the
    defined name (`name`) the formula belongs to.
    """
    found = []
    with zipfile.ZipFile(path) as archive:
        for part in sorted(n for n in archive.namelist() if n.endswith(".xml")):
            root = ElementTree.fromstring(archive.read(part))
            parents = {child: parent for parent in root.iter() for child in parent}
            for element in root.iter():
                if element.tag.rsplit("}", 1)[-1] not in FORMULA_TAGS or not element.text:
                    continue
                where, node = None, element
                while where is None and node is not None:
                    where = node.get("r") or node.get("sqref") or node.get("name")
                    node = parents.get(node)
                found.append((part, where or "", element.text))
    return found


def sheet_names(path: Path) -> set[str]:
    return set(CalamineWorkbook.from_path(str(path)).sheet_names)


def input_texts(root: Path) -> set[str]:
    """Every cell value and every folder and file name under `root/inputs`."""
    texts: set[str] = set()
    for path in (root / "inputs").rglob("*"):
        texts.update(path.relative_to(root / "inputs").parts)
        if path.suffix in (".xlsx", ".xls"):
            for rows in sheets(path).values():
                texts.update(str(cell) for row in rows for cell in row if cell not in ("", None))
    return texts


def meaningful_substrings(texts: set[str]) -> set[str]:
    """Substrings of 2+ characters with at least one that is not a digit, punctuation, space."""
    found = set()
    for text in texts:
        for start in range(len(text)):
            for end in range(start + 2, len(text) + 1):
                piece = text[start:end]
                if not set(piece) <= PLAIN:
                    found.add(piece)
    return found


def _vocabulary(token: Token, own_sheets: set[str]) -> bool:
    """Whether a token is the product's own: see the module's docstring."""
    if token.type == Token.FUNC:
        return token.subtype == Token.CLOSE or token.value[:-1].upper() in FUNCTIONS
    if token.type == Token.OPERAND:
        if token.subtype == Token.TEXT:
            return False
        if token.subtype == Token.RANGE:
            match = _REFERENCE.fullmatch(token.value)
            if not match:
                return False
            sheet = match["bare"] or (match["quoted"] or "").replace("''", "'")
            return not sheet or sheet in own_sheets
        return True  # NUMBER, LOGICAL, ERROR
    return True  # operators, separators, parentheses, white space


def payload(formula: str, own_sheets: set[str]) -> list[bool]:
    """For each character of `formula`: True where it is not the product's vocabulary."""
    body = formula.removeprefix("=")
    tokens = Tokenizer("=" + body).items
    assert "".join(token.value for token in tokens) == body, formula
    marks = [False] * (len(formula) - len(body))
    for token in tokens:
        marks += [not _vocabulary(token, own_sheets)] * len(token.value)
    return marks


def leaks(formula: str, own_sheets: set[str], pieces: set[str]) -> list[str]:
    """The input substrings found in `formula` touching a payload character."""
    marks = payload(formula, own_sheets)
    if not any(marks):
        return []
    longest = max(map(len, pieces), default=0)
    found = []
    for start in range(len(formula)):
        for end in range(start + 2, min(len(formula), start + longest) + 1):
            if any(marks[start:end]) and formula[start:end] in pieces:
                found.append(formula[start:end])
    return found


def night_workbooks(night: Night, folder: Path) -> dict[str, Path]:
    """Every workbook the night wrote (settlement, receipts) and its template."""
    books = {str(p.relative_to(night.outputs)): p for p in sorted(night.outputs.rglob("*.xlsx"))}
    books["template"] = write_template(night.rules, folder / "template.xlsx")
    return books


# The detector itself ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "inputs", "found"),
    [
        # The old criteria: the channel's name inside a text constant.
        ("=COUNTIFS('明细'!$H:$H,\"=链家~*\")", {"链家*"}, {"链家"}),
        ("=SUMIFS('明细'!$L:$L,'明细'!$H:$H,\"=A~?B\")", {"A?B"}, {"?B"}),
        # A function or a sheet the product does not have is payload.
        ('=HYPERLINK("http://x","y")', {'=HYPERLINK("http://x","y")'}, {"HYPERLINK("}),
        ("=SUM('链家'!A1:A9)", {"链家"}, {"链家"}),
        ("=SUM(链家!A1)", {"报备链家"}, {"链家"}),
        # The product's vocabulary is not input text, however an input cell reads.
        ("=SUMPRODUCT(EXACT('明细'!$H$2:$H$9,$A2)*1)", {"报备明细", "EXACT(", "$A2"}, set()),
        ("=SUM(B2:B9)", {"1-101", "2026-11-05", "B2:"}, set()),
    ],
)
def test_the_detector_tells_input_text_from_the_products_own(formula, inputs, found):
    pieces = meaningful_substrings(inputs)
    assert set(leaks(formula, {"明细", "汇总"}, pieces)) >= found
    assert bool(leaks(formula, {"明细", "汇总"}, pieces)) == bool(found)


# The night's workbooks ----------------------------------------------------------------


@pytest.fixture(scope="module")
def books(hostile_night: Night, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return night_workbooks(hostile_night, tmp_path_factory.mktemp("hostile_template"))


@pytest.fixture(scope="module")
def tame_books(tame_night: Night, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return night_workbooks(tame_night, tmp_path_factory.mktemp("tame_template"))


def test_the_night_is_as_hostile_as_meant(hostile_night: Night, books: dict[str, Path]) -> None:
    deals = hostile_night.contract("deals")
    assert {d["channel"] for d in deals} - {""} == set(CHANNELS)
    statuses = Counter((d["channel"] in CHANNELS, d["status"]) for d in deals)
    for status in ("payable", "held", "clawback", "not_payable"):
        assert statuses[True, status], status
    assert statuses[False, "held"] and statuses[False, "not_payable"]  # D01, natural
    assert any(d["share"] not in ("", "1") for d in deals)
    held = [d for d in deals if d["status"] == "held" and d["channel"]]
    assert [d["channel"] for d in held] == [HELD_WINNER]
    assert HELD_LOSER in {d["channel"] for d in deals}
    receipts = [name for name in books if name.startswith("channels/")]
    assert len(receipts) == len(CHANNELS)


def test_no_formula_holds_any_input_text(hostile_night: Night, books: dict[str, Path]) -> None:
    pieces = meaningful_substrings(input_texts(hostile_night.root))
    assert {"链家", "A?", "HYPERLINK", "明细", "$A", "quote"} <= pieces
    found = {}
    counted = Counter()
    for name, path in books.items():
        own = sheet_names(path)
        for part, where, formula in workbook_formulas(path):
            counted[name.split("/")[0]] += 1
            if hits := leaks("=" + formula.removeprefix("="), own, pieces):
                found[name, part, where] = (formula, sorted(set(hits)))
    assert not found
    # Not vacuous: 汇总's formulas, the print titles and the template's validations.
    assert counted["settlement.xlsx"] > 6 * len(CHANNELS)
    assert counted["template"] > 0


def test_settlement_and_receipt_formulas_have_no_text_at_all(books: dict[str, Path]) -> None:
    for name, path in books.items():
        # Validations of blank or pre-filled forms test typed text (`:` in 分成); they hold
        # no input text, which the test above checks for every workbook.
        if name == "template" or name.startswith("裁决表_"):
            continue
        own = sheet_names(path)
        for part, where, formula in workbook_formulas(path):
            tokens = Tokenizer("=" + formula.removeprefix("=")).items
            assert not [t.value for t in tokens if t.subtype == Token.TEXT], (name, where)
            assert not any(payload(formula, own)), (name, part, where, formula)
            functions = {t.value[:-1] for t in tokens if t.type == Token.FUNC and t.value != ")"}
            assert functions <= {"SUM", "SUMPRODUCT", "EXACT", "LEN"}, (name, where)


def test_formulas_are_the_same_whatever_the_names(
    books: dict[str, Path], tame_books: dict[str, Path]
) -> None:
    """A formula is a function of the night's shape, never of its text."""

    def placed(book: dict[str, Path], receipts: bool) -> Counter:
        found: Counter = Counter()
        for name, path in book.items():
            if name.startswith("channels/") == receipts:
                # Receipts are named after their channel: compare them as one bag.
                key = "receipt" if receipts else name
                found.update((key, part, where, f) for part, where, f in workbook_formulas(path))
        return found

    assert placed(books, receipts=False) == placed(tame_books, receipts=False)
    assert placed(books, receipts=True) == placed(tame_books, receipts=True)
    assert len(books) == len(tame_books)


def test_summary_names_every_channel_once_as_its_cells_show_it(books: dict[str, Path]) -> None:
    book = sheets(books["settlement.xlsx"])
    names = [name for name in _summary(book["汇总"]) if name != "合计"]
    assert sorted(names) == sorted([*(cell_text(c) for c in CHANNELS), NO_CHANNEL])
    assert len(set(names)) == len(names)  # `=x` and `'=x` do not share a row
    detail = {row[7] for row in book["明细"][1:]}
    assert detail - {""} == {cell_text(c) for c in CHANNELS}


# LibreOffice --------------------------------------------------------------------------


def _summary(rows: list[list]) -> dict[str, list]:
    assert rows[0] == SUMMARY_HEADER
    by_name = {}
    for row in rows[1:]:
        if row[0] == "合计":
            by_name["合计"] = row
            break
        by_name[row[0]] = row
    return by_name


def _shown(name: str) -> str:
    return name if name == NO_CHANNEL else cell_text(name)


def _edited(settlement: Path, folder: Path, deals: list[dict[str, str]]) -> tuple[Path, list]:
    """A copy where finance moved one line to another channel and held a payable one.

    Returns the copy and deals.csv as the edits make it, for the expected sums.
    """
    book = openpyxl.load_workbook(settlement)
    detail = book["明细"]
    payable = [(i, d["channel"]) for i, d in enumerate(deals) if d["status"] == "payable"]
    moved = next(i for i, channel in payable if channel == "链家")
    held = next(i for i, channel in payable if channel == "A?B")
    detail.cell(row=moved + 2, column=8).value = cell_text("链家*")
    detail.cell(row=held + 2, column=13).value = "暂缓结佣"
    path = folder / "finance_edited.xlsx"
    book.save(path)
    changed = [dict(d) for d in deals]
    changed[moved]["channel"] = "链家*"
    changed[held]["status"] = "held"
    return path, changed


def test_libreoffice_totals_agree_with_deals_csv_for_any_name(
    hostile_night: Night, books: dict[str, Path], tmp_path: Path
) -> None:
    deals = hostile_night.contract("deals")
    edited, edited_deals = _edited(books["settlement.xlsx"], tmp_path, deals)
    done = recalculate({"night": books["settlement.xlsx"], "edited": edited}, tmp_path)
    for which, lines in (("night", deals), ("edited", edited_deals)):
        expected = expected_summary(lines)
        got = _summary(done[which]["汇总"])
        assert set(got) - {"合计"} == {_shown(name) for name in expected}, which
        for name in (*ISSUE_CHANNELS, "链家", "链家地产", "AxB", "x", "4", "Abc", "ABC"):
            assert name in expected, name
        for name, sums in expected.items():
            assert got[_shown(name)][COMMISSION] == pytest.approx(sums, abs=0.005), (which, name)
        columns = list(zip(*expected.values(), strict=True))
        totals = got["合计"][COMMISSION]
        assert totals == pytest.approx([sum(c) for c in columns], abs=0.005), which
    # The edits moved money: the summary follows 明细 (live formulas, not numbers).
    before, after = _summary(done["night"]["汇总"]), _summary(done["edited"]["汇总"])
    assert after["链家*"][1] == before["链家*"][1] + 1
    assert after["A?B"][4] > before["A?B"][4] == 0


# One cell text per value ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=x", "'=x"),
        ("'=x", "''=x"),
        ("'quote", "''quote"),
        ("''", "'''"),
        ("quote", "quote"),
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ],
)
def test_a_leading_quote_is_kept_apart_from_a_neutralised_formula(text, cell):
    assert cell_text(text) == cell


_CELL_CHARS = st.characters(blacklist_categories=("Cs", "Cc"))


@given(st.text(_CELL_CHARS, max_size=12), st.text(_CELL_CHARS, max_size=12))
def test_distinct_texts_give_distinct_cells(one, other):
    if one != other:
        assert cell_text(one) != cell_text(other)


def test_settlement_written_again_from_the_judgement_is_identical(
    hostile_night: Night, books: dict[str, Path], tmp_path: Path
) -> None:
    again = write_settlement(
        hostile_night.judgement, hostile_night.rules, hostile_night.as_of, tmp_path
    )
    assert again.read_bytes() == books["settlement.xlsx"].read_bytes()
