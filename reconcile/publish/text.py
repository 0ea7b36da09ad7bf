"""Text shown to people: masked phones, local times, money, safe cells and file names.

Every value that reaches a person's screen, workbook or mail passes through here,
so the rules (mask phones, neutralise formulas, never trust a cell as a path) live
in one place.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from reconcile.judge.codes import REASONS
from reconcile.normalise.phones import mask

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A run of seven or more digits (a phone number, whole or mistyped), separators inside.
_NUMBER_RUN = re.compile(r"(?<![\d.])(\+?86[\s-]?)?(\d(?:[\s-]?\d){6,})(?![\d.])")
_UNSAFE_NAME = re.compile(r"[^\w\u3400-\u9fff（）() .·-]+")
_MAX_NAME = 60


def masked_phone(phone: str | None) -> str:
    """`138****5678` for a full number, a pattern as stored, '' for nothing."""
    if not phone:
        return ""
    try:
        return mask(phone)
    except ValueError:
        return mask_numbers(phone)


def mask_numbers(text: str | None) -> str:
    """Free text with every phone-like digit run masked (e.g. a row error's reason).

    Mistyped and landline numbers are masked too: they are still someone's number.
    At least four digits are hidden; of an 11-digit number the first three and the
    last four stay, as agencies write them.
    """
    if not text:
        return ""

    def hide(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(2))
        hidden = max(4, len(digits) - 7)
        head = min(3, (len(digits) - hidden) // 2)
        tail = len(digits) - hidden - head
        return (match.group(1) or "") + digits[:head] + "*" * hidden + digits[len(digits) - tail :]

    return _NUMBER_RUN.sub(hide, text)


def neutralise(text: str) -> str:
    """A cell text that a spreadsheet will never evaluate: formula starts get a `'`.

    `=`, `+`, `-`, `@` (and tab/CR, which some programs strip before them) would make
    Excel or LibreOffice run the text as a formula (CSV/formula injection).
    """
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def local_time(moment: datetime | None, zone: ZoneInfo, seconds: bool = False) -> str:
    """`2026-11-20 14:05` in the project's timezone ('' for none)."""
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def until_text(moment: datetime | None, zone: ZoneInfo) -> str:
    """The end of a period as people say it: an end at midnight is `24:00` of the day before.

    Calendar periods end at 24:00 of their last day (SPEC §6.3); `2026-11-24 00:00`
    would make a clerk think the 24th is still protected.
    """
    if moment is None:
        return "长期有效"
    local = moment.astimezone(zone)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return (local - timedelta(days=1)).strftime("%Y-%m-%d") + " 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def yuan(amount: float | None) -> str:
    """`¥12,345.00`; negative amounts as `-¥1,000.00`."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def reason_text(codes: list[str] | tuple[str, ...]) -> str:
    """Chinese reasons for codes, as a clerk reads them: `报备晚于到访；超出报备时段`."""
    return "；".join(REASONS.get(code, code) for code in codes)


def safe_filename(name: str, taken: set[str] | None = None) -> str:
    """A file name (without extension) made from untrusted text such as a channel name.

    Keeps letters, digits, CJK and a few punctuation marks; anything that could steer a
    path (separators, `..`, control characters, reserved device names) is replaced. A
    name that had to change, or that collides with one in `taken`, gets a short hash of
    the original so two channels never share a file.
    """
    cleaned = _UNSAFE_NAME.sub("_", name).strip(" ._")[:_MAX_NAME]
    reserved = cleaned.upper().split(".")[0] in _WINDOWS_RESERVED
    if not cleaned or reserved or cleaned != name or (taken is not None and cleaned in taken):
        digest = hashlib.blake2b(name.encode("utf-8"), digest_size=4).hexdigest()
        cleaned = f"{cleaned or '未命名'}_{digest}"
    if taken is not None:
        taken.add(cleaned)
    return cleaned


_WINDOWS_RESERVED = frozenset(
    {
        "CON",
        "PRN",
        "AUX",
        "NUL",
        *(f"COM{i}" for i in range(1, 10)),
        *(f"LPT{i}" for i in range(1, 10)),
    }
)
