from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.normalise.phones import (
    MASK_CHARS,
    Phone,
    PhoneParse,
    mask,
    parse_phone,
    parse_phone_series,
)

OK = None

PARSE_CASES = [
    # full numbers in their surface forms
    ("13812345678", ["13812345678"], OK),
    ("13812345678.0", ["13812345678"], OK),
    ("13812345678.00", ["13812345678"], OK),
    ("138 1234 5678", ["13812345678"], OK),
    ("138-1234-5678", ["13812345678"], OK),
    ("138－1234－5678", ["13812345678"], OK),
    ("138—1234—5678", ["13812345678"], OK),
    ("  13812345678\n", ["13812345678"], OK),
    ("+86 138 1234 5678", ["13812345678"], OK),
    ("+86-13812345678", ["13812345678"], OK),
    ("(+86)13812345678", ["13812345678"], OK),
    ("（+86）138 1234 5678", ["13812345678"], OK),
    ("8613812345678", ["13812345678"], OK),
    ("008613812345678", ["13812345678"], OK),
    # the trunk 0 of a mobile dialled from a fixed line in another city
    ("013812345678", ["13812345678"], OK),
    ("0138 1234 5678", ["13812345678"], OK),
    ("0138****5678", ["138****5678"], OK),
    ("01012345678", [], "phone_landline"),  # Beijing's 010: a fixed line
    # masks drawn with dots, circles, squares and blanks; a middle dot parts groups
    ("138••••1234", ["138****1234"], OK),
    ("138○○○○1234", ["138****1234"], OK),
    ("136■■■■7563", ["136****7563"], OK),
    ("138____1234", ["138****1234"], OK),
    ("138·1234·5678", ["13812345678"], OK),
    ("138〇〇〇〇1234", [], "phone_not_mobile"),  # 〇 is the digit zero, not a mask
    ("8613812345678.0", ["13812345678"], OK),
    ("１３８１２３４５６７８", ["13812345678"], OK),
    ("＋８６　１３８１２３４５６７８", ["13812345678"], OK),
    ("19912345678", ["19912345678"], OK),
    ("13812345678\u200b", ["13812345678"], OK),
    # masks in any glyph and any count
    ("138****1234", ["138****1234"], OK),
    ("138＊＊＊＊1234", ["138****1234"], OK),
    ("138xxxx1234", ["138****1234"], OK),
    ("138XXXX1234", ["138****1234"], OK),
    ("138××××1234", ["138****1234"], OK),
    ("138●●●●1234", ["138****1234"], OK),
    ("138????1234", ["138****1234"], OK),
    ("138？？？？1234", ["138****1234"], OK),
    ("138**1234", ["138****1234"], OK),
    ("138*1234", ["138****1234"], OK),
    ("138********1234", ["138****1234"], OK),
    ("1381**12345", ["1381**12345"], OK),
    ("137***12345", ["137***12345"], OK),
    ("138 **** 1234", ["138****1234"], OK),
    ("+86 138****1234", ["138****1234"], OK),
    ("138****", ["138********"], OK),
    ("****1234", ["*******1234"], OK),
    ("1*", ["1**********"], OK),
    ("１３８＊＊＊＊１２３４", ["138****1234"], OK),
    # several numbers in one cell
    ("13812345678/13987654321", ["13812345678", "13987654321"], OK),
    ("13812345678、13987654321", ["13812345678", "13987654321"], OK),
    ("13812345678,13987654321", ["13812345678", "13987654321"], OK),
    ("13812345678，13987654321", ["13812345678", "13987654321"], OK),
    ("13812345678;13987654321", ["13812345678", "13987654321"], OK),
    ("13812345678；13987654321", ["13812345678", "13987654321"], OK),
    ("138****1234 或 139****5678", ["138****1234", "139****5678"], OK),
    ("138****1234或者139****5678", ["138****1234", "139****5678"], OK),
    ("13812345678 13987654321", ["13812345678", "13987654321"], OK),
    ("13812345678\n13987654321", ["13812345678", "13987654321"], OK),
    ("138 1234 5678 139 8765 4321", ["13812345678", "13987654321"], OK),
    ("138 **** 1234 139 **** 5678", ["138****1234", "139****5678"], OK),
    ("138****1234 13987654321", ["138****1234", "13987654321"], OK),
    ("13812345678/13812345678", ["13812345678"], OK),
    ("138****1234/138**1234", ["138****1234"], OK),
    ("13812345678/", ["13812345678"], OK),
    # missing
    ("", [], "phone_missing"),
    (" ", [], "phone_missing"),
    ("\u3000\t", [], "phone_missing"),
    ("——", [], "phone_missing"),
    ("/", [], "phone_missing"),
    (None, [], "phone_missing"),
    # Excel scientific notation
    ("1.38123E+10", [], "phone_scientific"),
    ("1.3812345678e10", [], "phone_scientific"),
    ("1.38E+10", [], "phone_scientific"),
    ("13812345678/1.39876E+10", [], "phone_scientific"),
    # landlines and service numbers
    ("010-12345678", [], "phone_landline"),
    ("021 1234 5678", [], "phone_landline"),
    ("0571-8888888", [], "phone_landline"),
    ("0571-88888888", [], "phone_landline"),
    ("400-800-8888", [], "phone_landline"),
    ("800-820-8820", [], "phone_landline"),
    ("12345678", [], "phone_landline"),
    ("88888888", [], "phone_landline"),
    ("6666666", [], "phone_landline"),
    # A landline beside a mobile (CRM 所有电话号码) is skipped, not fatal to the cell.
    ("13812345678/010-12345678", ["13812345678"], None),
    ("17700006612;021-62001234", ["17700006612"], None),
    ("021-62001234;010-12345678", [], "phone_landline"),
    # not a mobile
    ("23812345678", [], "phone_not_mobile"),
    ("12812345678", [], "phone_not_mobile"),
    ("1381234567", [], "phone_not_mobile"),
    ("138123456789", [], "phone_not_mobile"),
    ("13812345", [], "phone_not_mobile"),
    ("138a1234567", [], "phone_not_mobile"),
    # words beside a number are notes (hand-typed cells), not part of it
    ("无", [], "phone_missing"),
    ("暂无号码", [], "phone_missing"),
    ("张三13812345678", ["13812345678"], None),
    ("13712345678（本人）", ["13712345678"], None),
    ("13712345678本人", ["13712345678"], None),
    ("手机：138****1234", ["138****1234"], None),
    ("138****1234(微信同号)", ["138****1234"], None),
    ("尾号5678", [], "phone_not_mobile"),
    ("13812345678转13912345678", ["13812345678", "13912345678"], None),
    ("座机0755-12345678", [], "phone_landline"),
    ("13812345678.5", [], "phone_not_mobile"),
    ("+8613812345678.0", [], "phone_not_mobile"),
    ("+1 415 555 0100", [], "phone_not_mobile"),
    ("13812345678/1381234567", [], "phone_not_mobile"),
    ("13812345678 1", [], "phone_not_mobile"),
    # masks that cannot be read
    ("****", [], "phone_bad_mask"),
    ("xxxx", [], "phone_bad_mask"),
    ("13*8**1234", [], "phone_bad_mask"),
    ("138****12345678", [], "phone_bad_mask"),
    ("1381234567*8", [], "phone_bad_mask"),
    ("128****1234", [], "phone_bad_mask"),
    ("238****1234", [], "phone_bad_mask"),
    ("010****5678", [], "phone_bad_mask"),
    ("138****1234/****", [], "phone_bad_mask"),
    # Latin labels beside a number are notes too
    ("tel:13812345678", ["13812345678"], None),
    ("Mobile: 138****5678", ["138****5678"], None),
    ("phone13812345678", ["13812345678"], None),
    # a number given as its first three and last four digits, and said so
    ("前三后四 138 5678", ["138****5678"], None),
    ("前三后四：1385678", ["138****5678"], None),
    ("前3后4 138-5678", ["138****5678"], None),
    ("手机前三位后四位1385678", ["138****5678"], None),
    ("前三后四 1385678 / 139****0001", ["138****5678", "139****0001"], None),
    # ... or the words after the digits, in brackets
    ("138 5678（前三后四）", ["138****5678"], None),
    ("1385678(前3后4)", ["138****5678"], None),
    # ... seven digits without saying so are no number (a landline, a slip)
    ("1385678", [], "phone_not_mobile"),
    ("138 5678", [], "phone_not_mobile"),
    ("前三后四 238 5678", [], "phone_landline"),
]


@pytest.mark.parametrize(("value", "patterns", "code"), PARSE_CASES)
def test_parse_phone(value: str | None, patterns: list[str], code: str | None) -> None:
    parsed = parse_phone(value)
    assert [phone.pattern for phone in parsed.phones] == patterns
    assert parsed.error_code == code
    if code is None:
        assert parsed.error is None
    else:
        assert parsed.error


@pytest.mark.parametrize(("value", "patterns", "code"), PARSE_CASES)
def test_series_matches_table(value: str | None, patterns: list[str], code: str | None) -> None:
    frame = parse_phone_series(pl.Series([value], dtype=pl.String))
    assert frame.row(0) == (patterns, code, parse_phone(value).error)


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        (None, ["缺少客户电话"]),
        ("1.38123E+10", ["科学计数法", "1.38123E+10", "文本格式"]),
        ("010-12345678", ["固定电话", "010-12345678", "手机号"]),
        ("1381234567", ["11位手机号", "1381234567", "10位"]),
        ("23812345678", ["11位手机号", "23812345678"]),
        ("13*8**1234", ["隐藏号码", "13*8**1234", "138****1234"]),
        ("13812345678/1381234567", ["1381234567"]),
        ("１３８１２３４５６７", ["1381234567"]),
    ],
)
def test_reason_names_offending_text(value: str | None, fragments: list[str]) -> None:
    error = parse_phone(value).error
    assert error is not None
    for fragment in fragments:
        assert fragment in error


def test_reason_for_bad_part_does_not_echo_good_part() -> None:
    error = parse_phone("13987654321/1381234567").error
    assert error is not None
    assert "13987654321" not in error


def test_reason_truncates_long_text() -> None:
    error = parse_phone("x" * 500).error
    assert error is not None
    assert len(error) < 100


def test_parse_result_shape() -> None:
    assert parse_phone("13812345678") == PhoneParse((Phone("13812345678", ""),), None, None)
    assert parse_phone("1381**12345").phones == (Phone("1381", "12345"),)


def test_full_phone_properties() -> None:
    phone = Phone("13812345678", "")
    assert phone.is_full
    assert phone.full == "13812345678"
    assert phone.pattern == "13812345678"
    assert phone.visible == 11


def test_masked_phone_properties() -> None:
    phone = Phone("138", "1234")
    assert not phone.is_full
    assert phone.full is None
    assert phone.pattern == "138****1234"
    assert phone.visible == 7


@pytest.mark.parametrize(
    ("prefix", "suffix"),
    [("", ""), ("1381234567", "8"), ("138123456789", ""), ("13a", "1"), ("１３８", "1")],
)
def test_phone_rejects_impossible_shapes(prefix: str, suffix: str) -> None:
    with pytest.raises(ValueError):
        Phone(prefix, suffix)


@pytest.mark.parametrize(
    "pattern",
    ["13812345678", "138****1234", "1381**12345", "1**********", "**********8", "1381234567*"],
)
def test_pattern_round_trip(pattern: str) -> None:
    assert Phone.from_pattern(pattern).pattern == pattern


@pytest.mark.parametrize(
    "pattern", ["", "138*1234", "138****12345", "***********", "13*8**12345", "138－－－－1234"]
)
def test_from_pattern_rejects_non_canonical(pattern: str) -> None:
    with pytest.raises(ValueError):
        Phone.from_pattern(pattern)


@pytest.mark.parametrize(
    ("pattern", "number", "expected"),
    [
        ("138****1234", "13800001234", True),
        ("138****1234", "13900001234", False),
        ("138****1234", "13800001235", False),
        ("1381**12345", "13810012345", True),
        ("1381**12345", "13820012345", False),
        ("*******1234", "19900001234", True),
        ("13812345678", "13812345678", True),
        ("13812345678", "13812345679", False),
        ("138****1234", "1380001234", False),
        ("138****1234", "138000012340", False),
        ("138****1234", "138ab001234", False),
    ],
)
def test_fits(pattern: str, number: str, expected: bool) -> None:
    assert Phone.from_pattern(pattern).fits(number) is expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("138****1234", "138****1234", True),
        ("138****1234", "1381***1234", True),
        ("138****1234", "13812341234", True),
        ("138****1234", "139****1234", False),
        ("138****1234", "138****1235", False),
        ("1381**12345", "137***12345", False),
        ("1381**12345", "138****2345", True),
        ("138********", "*******1234", True),
        ("13812345678", "13812345679", False),
        ("13812345678", "13812345678", True),
    ],
)
def test_compatible(left: str, right: str, expected: bool) -> None:
    one, other = Phone.from_pattern(left), Phone.from_pattern(right)
    assert one.compatible(other) is expected
    assert other.compatible(one) is expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("13812345678", "138****5678"),
        ("138****5678", "138****5678"),
        ("1381**12345", "1381**12345"),
        ("138**5678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("１３８１２３４５６７８", "138****5678"),
    ],
)
def test_mask(value: str, shown: str) -> None:
    assert mask(value) == shown


@given(st.text(alphabet="0123456789*", min_size=11, max_size=11))
def test_mask_shows_a_stored_form_as_its_phone_does(text: str) -> None:
    """`mask`'s shortcut for 11 stored characters agrees with the `Phone` they make."""
    try:
        phone = Phone.from_pattern(text)
    except ValueError:
        return  # not a stored form: parse_phone decides, as test_mask shows
    shown = phone.prefix[:3] + "****" + phone.prefix[-4:] if phone.is_full else phone.pattern
    assert mask(text) == shown


@pytest.mark.parametrize("value", ["", "abc", "13812345678/13987654321", "010-12345678"])
def test_mask_refuses_what_is_not_one_phone(value: str) -> None:
    with pytest.raises(ValueError):
        mask(value)


def test_series_schema_and_nulls() -> None:
    frame = parse_phone_series(pl.Series([None, None]))
    assert frame.schema == pl.Schema(
        {
            "phone_patterns": pl.List(pl.String),
            "phone_error_code": pl.String,
            "phone_error": pl.String,
        }
    )
    assert frame["phone_error_code"].to_list() == ["phone_missing", "phone_missing"]


def test_series_empty() -> None:
    assert parse_phone_series(pl.Series([], dtype=pl.String)).height == 0


def test_series_rejects_non_string() -> None:
    with pytest.raises(TypeError):
        parse_phone_series(pl.Series([13812345678]))


# --- property tests ---------------------------------------------------------------

mobiles = st.builds(
    lambda second, rest: "1" + second + rest,
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)
FULL_WIDTH = str.maketrans("0123456789+", "０１２３４５６７８９＋")
COUNTRY_CODES = ["", "+86", "86", "0086", "+86 ", "+86-", "(+86)", "（+86）", "0086 ", "86 "]
GAPS = ["", " ", "-", "－", "—", "  ", " - ", "\u3000"]


@st.composite
def surface_forms(draw: st.DrawFn, number: str) -> str:
    """`number` as a clerk or a spreadsheet export might have written it."""
    if draw(st.booleans()):
        code = draw(st.sampled_from(["", "86", "0086"]))
        text = code + number + draw(st.sampled_from(["", ".0", ".00"]))
    else:
        pieces = [number[0]]
        for digit in number[1:]:
            pieces.append(draw(st.sampled_from(GAPS)) + digit)
        text = draw(st.sampled_from(COUNTRY_CODES)) + "".join(pieces)
    if draw(st.booleans()):
        text = text.translate(FULL_WIDTH)
    padding = st.sampled_from(["", " ", "\t", "\n", "\u3000"])
    return draw(padding) + text + draw(padding)


@st.composite
def masked_forms(draw: st.DrawFn, number: str) -> str:
    prefix = number[: draw(st.integers(1, 4))]
    suffix = number[11 - draw(st.integers(1, 5)) :]
    glyph = draw(st.sampled_from(MASK_CHARS))
    return prefix + glyph * draw(st.integers(1, 8)) + suffix


@given(mobiles.flatmap(lambda number: st.tuples(st.just(number), surface_forms(number))))
def test_any_surface_form_parses_back(case: tuple[str, str]) -> None:
    number, text = case
    parsed = parse_phone(text)
    assert parsed.error_code is None, parsed.error
    assert [phone.full for phone in parsed.phones] == [number]


@given(mobiles.flatmap(lambda number: st.tuples(st.just(number), masked_forms(number))))
def test_masked_number_fits_original(case: tuple[str, str]) -> None:
    number, text = case
    parsed = parse_phone(text)
    assert parsed.error_code is None, parsed.error
    (phone,) = parsed.phones
    assert phone.fits(number)
    assert not phone.is_full
    assert phone.compatible(Phone(number, ""))
    assert Phone.from_pattern(phone.pattern) == phone
    assert mask(phone.pattern) == phone.pattern


PHONE_ALPHABET = "0123456789０１３８*＊xX×●?？#+.-－ /、,或()eE"


@settings(max_examples=300)
@given(st.text() | st.text(alphabet=PHONE_ALPHABET))
def test_parse_phone_never_raises(text: str) -> None:
    parsed = parse_phone(text)
    assert (parsed.error_code is None) == bool(parsed.phones)
    assert (parsed.error_code is None) == (parsed.error is None)
    for phone in parsed.phones:
        assert Phone.from_pattern(phone.pattern) == phone


cells = st.one_of(
    st.none(),
    st.text(),
    st.text(alphabet=PHONE_ALPHABET, max_size=20),
    mobiles.flatmap(surface_forms),
    mobiles.flatmap(masked_forms),
    st.lists(mobiles.flatmap(masked_forms) | mobiles, min_size=2, max_size=3).map(" / ".join),
    mobiles.flatmap(masked_forms).map(lambda text: text.replace("1", "２", 1)),
    mobiles.map(lambda number: number[:10]),
    mobiles.map(lambda number: "+86" + number + ".0"),
)


@settings(max_examples=300)
@given(st.lists(cells, max_size=30))
def test_series_equals_elementwise(values: list[str | None]) -> None:
    frame = parse_phone_series(pl.Series(values, dtype=pl.String))
    expected = []
    for value in values:
        parsed = parse_phone(value)
        expected.append(
            ([phone.pattern for phone in parsed.phones], parsed.error_code, parsed.error)
        )
    assert frame.rows() == expected
