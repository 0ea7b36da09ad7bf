"""People-facing text: masking, formula neutralising, safe file names, periods and money."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.normalise.phones import mask
from reconcile.publish.text import (
    MAX_NAME_BYTES,
    mask_numbers,
    masked_phone,
    neutralise,
    safe_filename,
    until_text,
    yuan,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("13812345678", "138****5678"),
        ("138****5678", "138****5678"),
        ("1564**20893", "1564**20893"),
        ("", ""),
        (None, ""),
        ("不是号码", "不是号码"),
    ],
)
def test_masked_phone(text, shown):
    assert masked_phone(text) == shown


@given(*(st.text(alphabet="0123456789٣３*x", min_size=n, max_size=n) for n in (3, 4)))
def test_a_number_as_agencies_mask_it_is_shown_as_mask_shows_it(head: str, tail: str) -> None:
    phone = f"{head}****{tail}"
    try:
        expected = mask(phone)
    except ValueError:
        expected = mask_numbers(phone)
    assert masked_phone(phone) == expected


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "不是有效的11位手机号（1380013800），共10位数字",
            "不是有效的11位手机号（138****800），共10位数字",
        ),
        ("固定电话或座机号码（010-62345678）", "固定电话或座机号码（010****5678）"),
        ("138 0013 8000 与 +86 13800138000", "138****8000 与 +86 138****8000"),
        ("号码被截断（1.38123E+10）", "号码被截断（1.38123E+10）"),
        ("共 123456 行", "共 123456 行"),
        ("座机 6234567", "座机 6****67"),
    ],
)
def test_mask_numbers(text, shown):
    assert mask_numbers(text) == shown


@given(st.text(alphabet=st.sampled_from("0123456789 -+（）号码abc"), max_size=60))
def test_mask_numbers_leaves_no_run_of_seven_digits(text):
    masked = mask_numbers(text)
    assert not re.search(r"\d(?:[\s-]?\d){6}", masked.replace("+86", ""))


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+86", "'+86"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("链家", "链家"),
        ("a=b", "a=b"),
    ],
)
def test_neutralise(text, safe):
    assert neutralise(text) == safe


@given(st.text(max_size=30))
def test_neutralised_text_never_starts_a_formula(text):
    assert not neutralise(text).startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize("name", ["链家", "我爱我家", "Fang Duo-duo", "自有渠道（北区）"])
def test_ordinary_channel_names_are_file_names_as_they_are(name):
    assert safe_filename(name) == name


@given(st.text(max_size=80))
def test_any_text_becomes_a_harmless_file_name(name):
    safe = safe_filename(name)
    assert safe and len(safe.encode("utf-8")) <= MAX_NAME_BYTES  # tests/publish/test_safe_names.py
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(".")  # never hidden, never `..`
    assert (Path("/receipts") / f"{safe}.xlsx").resolve().parent == Path("/receipts")


def test_file_names_never_collide():
    taken: set[str] = set()
    names = [safe_filename(n, taken) for n in ("a/b", "a_b", "a:b", "../../evil", "CON")]
    assert len(set(names)) == len(names)
    assert all("/" not in n for n in names) and not any(n.upper() == "CON" for n in names)


def test_period_ends_read_as_the_last_day():
    assert until_text(datetime(2026, 11, 24, 0, 0, tzinfo=SHANGHAI), SHANGHAI) == "2026-11-23 24:00"
    assert (
        until_text(datetime(2026, 11, 21, 10, 30, tzinfo=SHANGHAI), SHANGHAI) == "2026-11-21 10:30"
    )
    assert until_text(None, SHANGHAI) == "长期有效"


def test_yuan():
    assert yuan(1234.5) == "¥1,234.50"
    assert yuan(-35520) == "-¥35,520.00"
    assert yuan(None) == ""
