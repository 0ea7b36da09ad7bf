"""No cell, file name or message reaches the terminal as a control sequence
(reconcile/cli/terminal.py): what the commands print is spelled out instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.cli.main import main
from reconcile.cli.terminal import _UNSAFE, visible


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("张三 138****1234", "张三 138****1234"),
        ("a\tb\nc", "a\tb\nc"),  # tabs and line breaks stay
        ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),  # retitling the terminal
        ("\x1b[2J", "\\x1b[2J"),  # clearing the screen
        ("付款\r退款", "付款\\x0d退款"),  # a return that would overwrite the line
        ("\u202eexe.txt", "\\u202eexe.txt"),  # a right-to-left override
        ("a\u200bb\ufeff", "a\\u200bb\\ufeff"),  # zero-width characters
        ("\x9b31m", "\\x9b31m"),  # the one-byte CSI of C1
    ],
)
def test_visible_spells_out_what_would_steer_a_terminal(text: str, shown: str) -> None:
    assert visible(text) == shown


@given(st.text())
def test_visible_text_holds_nothing_unsafe_and_leaves_safe_text_as_it_is(text: str) -> None:
    assert not _UNSAFE.search(visible(text))
    if not _UNSAFE.search(text):
        assert visible(text) == text


def test_check_prints_a_hostile_header_spelled_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "报备.csv"
    path.write_text(
        "客户姓名,客户电话,报备时间,经纪人,备注\x1b[2J\u202e\n"
        "张三,138****1234,2026-11-20 09:00,王磊,x\n",
        encoding="utf-8",
    )
    main(["check", str(path)])
    out, err = capsys.readouterr()
    assert "备注\\x1b[2J\\u202e" in out  # the unused column, named as it is
    assert not _UNSAFE.search(out + err)
