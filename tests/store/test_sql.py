"""All of the ledger's SQL lives in `reconcile/store/`: other modules call named
`Ledger` methods, so a change of schema is a change of one package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "reconcile"

_STATEMENT = re.compile(
    r"\bSELECT\b.*\bFROM\b|\bINSERT\b.*\bINTO\b|\bUPDATE\b.*\bSET\b|\bDELETE\s+FROM\b",
    re.DOTALL,
)


def sql_in(source: str) -> list[str]:
    """The string literals of `source` that hold an SQL statement; an f-string counts
    with its placeholders left as `{}`, so SQL around an interpolated name is found."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if _STATEMENT.search(text):
            found.append(text)
    return found


OUTSIDE_THE_STORE = sorted(
    path for path in PACKAGE.rglob("*.py") if path.relative_to(PACKAGE).parts[0] != "store"
)


@pytest.mark.parametrize(
    "source",
    [
        "ledger.execute(\"SELECT max(as_of) FROM runs WHERE status = 'ok'\")",
        'rows = db.query(\n    """\n    SELECT r.row_id\n    FROM rows r\n    """\n)',
        'ledger.execute(f"UPDATE {table} SET a = ?", (1,))',
        'ledger.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", pair)',
        'ledger.execute(f"DELETE FROM {table} WHERE file_id = ?", (1,))',
    ],
)
def test_an_sql_statement_is_found(source):
    assert sql_in(source)


def test_prose_and_chinese_text_are_not_sql():
    assert not sql_in('"""Select the rows of a file."""\nLABEL = "选择（SELECT）"\n')


@pytest.mark.parametrize("path", OUTSIDE_THE_STORE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_sql_outside_the_store(path):
    assert not sql_in(path.read_text(encoding="utf-8")), "SQL belongs in reconcile/store/"
