"""Customer mobile numbers: full numbers from sales offices, masked ones from agencies.

A cell is parsed into zero or more `Phone` values.  A `Phone` keeps only the digits
that were visible; a masked number is anchored on the 11 positions of a Chinese
mobile, so the number of mask glyphs a clerk typed never matters.

`parse_phone` is the reference implementation; `parse_phone_series` must agree with
it on every input and only takes polars shortcuts for forms it can decide exactly.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl

from reconcile.normalise.errors import RowError

# The glyphs people hide digits with: stars, crosses, dots and circles (138••••1234,
# 138○○○○1234), squares, question marks, hashes and blanks to fill (138____1234). Not the
# ideographic zero 〇, a digit, nor a middle dot, which may part groups of digits.
MASK_CHARS = "*＊﹡∗⁎✱★☆⋆xXｘＸ×●•○◯■□?？#＃_＿"

_MOBILE_LENGTH = 11
# A stored pattern hides at least one position, so at most 10 digits can be visible.
_MAX_MASKED_VISIBLE = _MOBILE_LENGTH - 1
# Splitting a part on whitespace is quadratic in its chunks; real cells hold a handful
# of numbers of at most a few chunks each.
_MAX_CHUNKS = 20
_SHOWN_LIMIT = 40

FOLDED_MASKS = frozenset(unicodedata.normalize("NFKC", glyph) for glyph in MASK_CHARS)
_MASK_TABLE = str.maketrans(dict.fromkeys(FOLDED_MASKS, "*"))
# Excel and web exports smuggle zero-width characters into cells that look clean.
_INVISIBLE_TABLE = str.maketrans(dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff"))

_HARD_SEPARATOR = re.compile(r"或者|或|[/、,;]")
_SOFT_SEPARATOR = re.compile(r"[\s\-‐‑‒–—―−·・()\[\]'\"‘’“”]+")
# Words beside a number in a hand-typed cell (`13712345678（本人）`, `手机:138****1234`,
# `微信同号`, `tel:`): notes, not part of it. No mask glyph is an ideograph or such a word.
_NOTE = re.compile(r"[\u3400-\u9fff]+:?|(?i:\b(?:tel|mobile|phone|mob|cell))\.?:?")
_SCIENTIFIC = re.compile(r"[0-9]+(?:\.[0-9]*)?[eE]\+?[0-9]+")
_FLOAT_INTEGER = re.compile(r"([0-9]+)\.0+")
_COUNTRY_CODE = re.compile(r"(?:\+86|0086|86)(1[3-9][0-9]{9}|[0-9]*\*[0-9*]*)")
# A mobile as dialled from a fixed line in another city: the trunk 0 before it
# (`013812345678`, `0138 1234 5678`). No fixed-line number starts 01 then 3 to 9.
_TRUNK = re.compile(r"0(1[3-9][0-9]{9}|1[3-9][0-9]*\*[0-9*]*)")
_DIGITS = re.compile(r"[0-9]+")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(
    r"0(?:10|2[0-9])[0-9]{7,8}"  # Beijing and the 02x cities
    r"|0[3-9][0-9]{2}[0-9]{7,8}"  # four-digit area codes
    r"|[48]00[0-9]{7}"  # 400/800 service numbers
    # Local numbers without area code; 7-8 digits starting like a mobile are far more
    # likely a mobile with digits missing, so those are reported as not a mobile.
    r"|[02-9][0-9]{6,7}|1[0-2][0-9]{5,6}"
)
_DIGITS_AND_MASKS = re.compile(r"[0-9*]+")
_ONE_GAP = re.compile(r"([0-9]*)\*+([0-9]*)")
_MOBILE_PREFIX = re.compile(r"1(?:[3-9][0-9]*)?")


_MISSING_REASON = "缺少客户电话"
_EXAMPLE_MASK = "138****1234"


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


@dataclass(frozen=True, slots=True)
class Phone:
    """A mobile number, or the visible digits of a masked one.

    A full number keeps all 11 digits in `prefix`.  A masked number keeps the digits
    before and after its hidden run; at least one position is hidden.
    """

    prefix: str
    suffix: str

    def __post_init__(self) -> None:
        digits = self.prefix + self.suffix
        if digits and not _is_digits(digits):
            raise ValueError(f"phone digits must be ASCII: {self.prefix!r}, {self.suffix!r}")
        visible = len(self.prefix) + len(self.suffix)
        full = len(self.prefix) == _MOBILE_LENGTH and not self.suffix
        if not full and not 1 <= visible <= _MAX_MASKED_VISIBLE:
            raise ValueError(
                f"a masked phone shows 1 to {_MAX_MASKED_VISIBLE} digits, got {visible}"
            )

    @property
    def is_full(self) -> bool:
        return len(self.prefix) == _MOBILE_LENGTH and not self.suffix

    @property
    def full(self) -> str | None:
        return self.prefix if self.is_full else None

    @property
    def pattern(self) -> str:
        if self.is_full:
            return self.prefix
        return self.prefix + "*" * (_MOBILE_LENGTH - self.visible) + self.suffix

    @property
    def visible(self) -> int:
        return len(self.prefix) + len(self.suffix)

    @classmethod
    def from_pattern(cls, pattern: str) -> Phone:
        """Rebuild a `Phone` from its canonical `.pattern` (11 characters, '*' hidden)."""
        if len(pattern) == _MOBILE_LENGTH:
            if _is_digits(pattern):
                return cls(pattern, "")
            match = _ONE_GAP.fullmatch(pattern)
            if match is not None:
                return cls(match[1], match[2])
        raise ValueError(f"not a canonical phone pattern: {pattern!r}")

    def fits(self, full_number: str) -> bool:
        """Whether every visible digit agrees with the 11-digit `full_number`."""
        return (
            len(full_number) == _MOBILE_LENGTH
            and _is_digits(full_number)
            and full_number.startswith(self.prefix)
            and full_number.endswith(self.suffix)
        )

    def compatible(self, other: Phone) -> bool:
        """Whether both could be the same number: no aligned visible digits disagree."""
        return all(
            mine == theirs or mine == "*" or theirs == "*"
            for mine, theirs in zip(self.pattern, other.pattern, strict=True)
        )


@dataclass(frozen=True, slots=True)
class PhoneParse:
    """The numbers found in one cell, or why the cell cannot be used (`phones` empty)."""

    phones: tuple[Phone, ...]
    error_code: str | None
    error: str | None


class _Failure(NamedTuple):
    code: str
    detail: str


def _reason(failure: _Failure, shown: str) -> str:
    if failure.code == RowError.PHONE_SCIENTIFIC:
        return (
            f"号码被Excel科学计数法截断（{shown}），有效数字已丢失，"
            "请将该列设为文本格式后重新填写完整号码"
        )
    if failure.code == RowError.PHONE_LANDLINE:
        return f"固定电话或座机号码（{shown}），请填写客户手机号"
    if failure.code == RowError.PHONE_NOT_MOBILE:
        return f"不是有效的11位手机号（{shown}），{failure.detail}"
    return f"隐藏号码格式无法识别（{shown}），{failure.detail}，应为如{_EXAMPLE_MASK}"


def _shown(part: str) -> str:
    text = part.strip()
    if len(text) > _SHOWN_LIMIT:
        return text[:_SHOWN_LIMIT] + "…"
    return text


def _classify_masked(token: str) -> Phone | _Failure:
    gap = _ONE_GAP.fullmatch(token)
    if gap is None:
        return _Failure(RowError.PHONE_BAD_MASK, "号码中有多处被隐藏")
    prefix, suffix = gap[1], gap[2]
    visible = len(prefix) + len(suffix)
    if visible == 0:
        return _Failure(RowError.PHONE_BAD_MASK, "没有露出任何数字")
    if visible > _MAX_MASKED_VISIBLE:
        return _Failure(RowError.PHONE_BAD_MASK, f"露出了{visible}位数字，隐藏号码最多露出10位")
    if prefix and _MOBILE_PREFIX.fullmatch(prefix) is None:
        return _Failure(RowError.PHONE_BAD_MASK, "开头不是手机号段（手机号以13至19开头）")
    return Phone(prefix, suffix)


def _classify(token: str) -> Phone | _Failure:
    """Classify one number with separators already removed (NFKC-folded text)."""
    if _SCIENTIFIC.fullmatch(token):
        return _Failure(RowError.PHONE_SCIENTIFIC, "")
    as_float = _FLOAT_INTEGER.fullmatch(token)
    if as_float is not None:
        token = as_float[1]
    token = token.translate(_MASK_TABLE)
    international = _COUNTRY_CODE.fullmatch(token) or _TRUNK.fullmatch(token)
    if international is not None:
        token = international[1]
    if _DIGITS.fullmatch(token):
        if _MOBILE.fullmatch(token):
            return Phone(token, "")
        if _LANDLINE.fullmatch(token):
            return _Failure(RowError.PHONE_LANDLINE, "")
        if len(token) == _MOBILE_LENGTH:
            return _Failure(RowError.PHONE_NOT_MOBILE, "手机号应以13至19开头")
        return _Failure(RowError.PHONE_NOT_MOBILE, f"共{len(token)}位数字")
    if _DIGITS_AND_MASKS.fullmatch(token):
        return _classify_masked(token)
    return _Failure(RowError.PHONE_NOT_MOBILE, "含有数字以外的字符")


def _segment(chunks: list[str]) -> tuple[Phone, ...] | None:
    """Split whitespace-separated chunks into consecutive valid numbers, if possible.

    Among all splits, the one whose earliest numbers are shortest wins, so
    `138 **** 1234 139 **** 5678` becomes two numbers rather than `138****1234139`.
    """
    count = len(chunks)
    tails: list[tuple[Phone, ...] | None] = [None] * count + [()]
    for start in range(count - 1, -1, -1):
        token = ""
        for end in range(start + 1, count + 1):
            token += chunks[end - 1]
            rest = tails[end]
            if rest is None:
                continue
            found = _classify(token)
            if isinstance(found, Phone):
                tails[start] = (found, *rest)
                break
    return tails[0]


# An agency giving only a number's first three and last four digits says so (前三后四
# 138 5678, 前3后4：1385678): those seven digits are the masked number 138****5678.
# The words may follow the digits too (138 5678（前三后四）).
_SAYS_FRONT_BACK = r"(?:手机|电话|号码)?前\s*[三3]\s*(?:位)?\s*后\s*[四4]\s*(?:位)?"
_FRONT_BACK = re.compile(
    rf"{_SAYS_FRONT_BACK}\s*[:：]?\s*(1[3-9][0-9])[\s\-]*([0-9]{{4}})(?![0-9])"
    rf"|(?<![0-9])(1[3-9][0-9])[\s\-]*([0-9]{{4}})\s*[(（]\s*{_SAYS_FRONT_BACK}\s*[)）]"
)


def front_and_back(text: str) -> str:
    """`text` with each number given as its first three and last four digits (前三后四
    138 5678, 138 5678（前三后四）) written as the masked number it is (138****5678)."""
    if "后" not in text:
        return text
    return _FRONT_BACK.sub(lambda m: f"{m[1] or m[3]}****{m[2] or m[4]}", text)


def parse_phone(value: str | None) -> PhoneParse:
    """Parse one cell into its mobile numbers, or say in Chinese why it cannot be used."""
    if value is None:
        return PhoneParse((), RowError.PHONE_MISSING, _MISSING_REASON)
    text = front_and_back(unicodedata.normalize("NFKC", value).translate(_INVISIBLE_TABLE))
    phones: dict[str, Phone] = {}
    landline: PhoneParse | None = None
    for part in _HARD_SEPARATOR.split(text):
        chunks = [chunk for chunk in _SOFT_SEPARATOR.split(_NOTE.sub(" ", part)) if chunk]
        if not chunks:
            continue
        found = _classify("".join(chunks))
        if isinstance(found, Phone):
            several: tuple[Phone, ...] = (found,)
        else:
            segmented = _segment(chunks) if 1 < len(chunks) <= _MAX_CHUNKS else None
            if segmented is None and found.code == RowError.PHONE_LANDLINE:
                # CRM exports list every number of a customer (手机;家庭座机): a landline
                # beside a mobile is not the customer's mobile, but does not void it.
                landline = landline or PhoneParse((), found.code, _reason(found, _shown(part)))
                continue
            if segmented is None:
                return PhoneParse((), found.code, _reason(found, _shown(part)))
            several = segmented
        for phone in several:
            phones.setdefault(phone.pattern, phone)
    if not phones:
        return landline or PhoneParse((), RowError.PHONE_MISSING, _MISSING_REASON)
    return PhoneParse(tuple(phones.values()), None, None)


def mask(full_or_pattern: str) -> str:
    """Text safe to show people: `138****5678` for a full number, a pattern as stored.

    Anything else that parses to exactly one number is accepted too; text that does not
    raises `ValueError` rather than risk echoing an unmasked number.
    """
    if len(full_or_pattern) == _MOBILE_LENGTH:  # a stored form: no `Phone` needed
        if _is_digits(full_or_pattern):
            return full_or_pattern[:3] + "****" + full_or_pattern[-4:]
        gap = _ONE_GAP.fullmatch(full_or_pattern)
        if gap is not None and gap[1] + gap[2]:
            return full_or_pattern
    try:
        phone = Phone.from_pattern(full_or_pattern)
    except ValueError:
        parsed = parse_phone(full_or_pattern)
        if len(parsed.phones) != 1:
            raise ValueError(f"not a single phone number: {full_or_pattern!r}") from None
        phone = parsed.phones[0]
    if phone.is_full:
        return phone.prefix[:3] + "****" + phone.prefix[-4:]
    return phone.pattern


# The fast path accepts only ASCII digits, '+', '.', ASCII spaces, ASCII and full-width
# hyphens, and the mask glyphs: characters that NFKC leaves alone or maps to a character
# with the same role in `parse_phone`.  Everything else fails `_FAST_FULL` and
# `_FAST_MASKED` and goes to `parse_phone` itself.
_FAST_DROPPED = r"[ \-－]"
_FAST_FULL = (
    r"^(?:(?:\+86|0086|86)?1[3-9][0-9]{9}"
    r"|(?:0086|86)?1[3-9][0-9]{9}\.0+)$"
)
_MASK_CLASS = "[" + "".join("\\" + c if c in "\\[]^-&~" else c for c in MASK_CHARS) + "]"
# A visible prefix must start like a mobile, so a leading 86 or 0086 can only be the
# country code: the regex and `parse_phone` necessarily strip the same characters.
_FAST_MASKED = r"^(?:\+86|0086|86)?(?:1[3-9][0-9]*|1)?" + _MASK_CLASS + r"+[0-9]*$"
_RESULT_SCHEMA = pl.Schema(
    {
        "phone_patterns": pl.List(pl.String),
        "phone_error_code": pl.String(),
        "phone_error": pl.String(),
    }
)


def _parse_residual(values: pl.Series) -> pl.DataFrame:
    # Building a List column from Python lists costs microseconds per row; a joined
    # string split by polars does not.  Patterns never contain a space.
    patterns: list[str | None] = []
    codes: list[str | None] = []
    errors: list[str | None] = []
    for value in values:
        parsed = parse_phone(value)
        patterns.append(" ".join(phone.pattern for phone in parsed.phones) or None)
        codes.append(parsed.error_code)
        errors.append(parsed.error)
    return pl.DataFrame(
        {"value": values, "slow_patterns": patterns, "slow_code": codes, "slow_error": errors},
        schema={
            "value": pl.String,
            "slow_patterns": pl.String,
            "slow_code": pl.String,
            "slow_error": pl.String,
        },
    )


def parse_phone_series(values: pl.Series) -> pl.DataFrame:
    """`parse_phone` over a String column, one output row per input row.

    Columns: `phone_patterns` (each `Phone.pattern`, empty on error),
    `phone_error_code` and `phone_error` (null when the cell parsed).
    """
    if values.dtype == pl.Null:
        values = values.cast(pl.String)
    if values.dtype != pl.String:
        raise TypeError(f"parse_phone_series expects a String series, got {values.dtype}")

    compact = pl.col("compact")
    country_code = (
        pl.when(compact.str.starts_with("+86"))
        .then(3)
        .when(compact.str.starts_with("0086"))
        .then(4)
        .when(compact.str.starts_with("86"))
        .then(2)
        .otherwise(0)
    )
    # Outside the mask glyphs every accepted character is ASCII, so byte counts of the
    # leading and trailing digit runs are also character counts.
    length = compact.str.len_bytes()
    leading = length - compact.str.strip_chars_start("+0123456789").str.len_bytes()
    trailing = length - compact.str.strip_chars_end("0123456789").str.len_bytes()
    prefix_length = pl.col("leading") - pl.col("country_code")
    visible = prefix_length + pl.col("trailing")
    masked = pl.concat_str(
        compact.str.slice(pl.col("country_code"), prefix_length),
        pl.lit("*" * _MAX_MASKED_VISIBLE).str.slice(0, _MOBILE_LENGTH - visible),
        compact.str.tail(pl.col("trailing")),
    )
    frame = (
        pl.DataFrame({"value": values})
        .lazy()
        .with_columns(pl.col("value").str.replace_all(_FAST_DROPPED, "").alias("compact"))
        .with_columns(
            country_code.alias("country_code"),
            leading.cast(pl.Int64).alias("leading"),
            trailing.cast(pl.Int64).alias("trailing"),
        )
        .select(
            "value",
            pl.when(compact.str.contains(_FAST_FULL))
            .then(compact.str.replace(r"\.0+$", "").str.tail(_MOBILE_LENGTH))
            .when(compact.str.contains(_FAST_MASKED) & visible.is_between(1, _MAX_MASKED_VISIBLE))
            .then(masked)
            .alias("fast_pattern"),
            (pl.col("value").is_null() | (compact == "")).alias("missing"),
        )
        .collect()
    )

    residual = pl.col("fast_pattern").is_null() & ~pl.col("missing")
    slow = _parse_residual(frame.filter(residual).get_column("value").unique())
    # Most sheets have no cell the fast path leaves: then there is nothing to join.
    joined = (
        frame.lazy().join(slow.lazy(), on="value", how="left", maintain_order="left")
        if slow.height
        else frame.lazy().with_columns(
            pl.lit(None, dtype=pl.String).alias(name) for name in slow.columns[1:]
        )
    )
    return (
        joined.select(
            pl.when(pl.col("fast_pattern").is_not_null())
            .then(pl.concat_list("fast_pattern"))
            .when(pl.col("slow_patterns").is_not_null())
            .then(pl.col("slow_patterns").str.split(" "))
            .otherwise(pl.lit([], dtype=pl.List(pl.String)))
            .alias("phone_patterns"),
            pl.when(pl.col("missing"))
            .then(pl.lit(RowError.PHONE_MISSING))
            .otherwise(pl.col("slow_code"))
            .alias("phone_error_code"),
            pl.when(pl.col("missing"))
            .then(pl.lit(_MISSING_REASON))
            .otherwise(pl.col("slow_error"))
            .alias("phone_error"),
        )
        .cast(_RESULT_SCHEMA)
        .collect()
    )
