"""Text shown to people: masked phones, local times, money, safe cells and file names.

Every value that reaches a person's screen, workbook or mail passes through here,
so the rules (mask phones, neutralise formulas, never trust a cell as a path) live
in one place.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from reconcile.judge.reasons import REASONS
from reconcile.judge.vocabulary import Code
from reconcile.normalise.phones import mask

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A run of seven or more digits (a phone number, whole or mistyped), separators inside.
_NUMBER_RUN = re.compile(r"(?<![\d.])(\+?86[\s-]?)?(\d(?:[\s-]?\d){6,})(?![\d.])")
_UNSAFE_NAME = re.compile(r"[^\w\u3400-\u9fff（）() .·-]+")
# Stripped from both ends of a file name (and `-` from its start).
_NAME_EDGES = " ._"
_UNNAMED = "未命名"
# Bytes of UTF-8 in a file name stem (40 CJK characters): far inside the 255 of ext4,
# NTFS and SMB and the 143 of an encrypted home folder, with room for `.xlsx`, and short
# enough that `outputs/<date>/channels/<stem>.xlsx` stays inside Windows' 260-character
# paths from any sensible base folder.
MAX_NAME_BYTES = 120


def masked_phone(phone: str | None) -> str:
    """`138****5678` for a full number, a pattern as stored, '' for nothing."""
    if not phone:
        return ""
    if len(phone) == 11 and phone[3:7] == "****":
        shown = phone[:3] + phone[7:]
        if shown.isascii() and shown.isdigit():
            return phone  # how agencies write a number: `mask` leaves it as it is
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
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def local_time(moment: datetime | None, zone: ZoneInfo, seconds: bool = False) -> str:
    """`2026-11-20 14:05` in the project's timezone ('' for none)."""
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def until_text(moment: datetime | None, zone: tzinfo | None) -> str:
    """The end of a period as people say it: an end at midnight is `24:00` of the day before.

    Calendar periods end at 24:00 of their last day (SPEC §6.3); `2026-11-24 00:00`
    would make a clerk think the 24th is still protected. Without a `zone`, the moment's
    own.
    """
    if moment is None:
        return "长期有效"
    local = moment.astimezone(zone) if zone is not None else moment
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return (local - timedelta(days=1)).strftime("%Y-%m-%d") + " 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def yuan(amount: float | None) -> str:
    """`¥12,345.00`; negative amounts as `-¥1,000.00`."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def reason_text(codes: Iterable[Code]) -> str:
    """Chinese reasons for codes, as a clerk reads them: `报备晚于到访；超出报备时段`."""
    return "；".join(REASONS[code].label for code in codes)


def safe_filename(name: str, taken: set[str] | None = None) -> str:
    """A file name stem (the caller adds `.xlsx`) made from untrusted text such as a channel.

    Keeps letters, digits, CJK and a few harmless marks (NFC-normalised); every other
    run of characters becomes `_` (path separators, control and format characters,
    Windows' `<>:"|?*`). The stem never starts with `-`, `.`, `_` or a space (an option
    to a shell command, a hidden file), never ends with `.`, `_` or a space (Windows
    drops those), is never a Windows device name (`CON`, `nul.txt`, `COM¹` …) and stays
    within `MAX_NAME_BYTES` of UTF-8.

    A name that had to change gets `_` and a hash of the original, so two channels that
    clean to the same text still differ. With `taken` (the keys of the names given so
    far, filled in by this function), a name whose `name_key` is already there also
    gets a suffix, and a further one until it is free: `ABC` and `Abc` are one file on
    Windows, macOS and SMB shares. The result depends only on `name` and on `taken`,
    so the same channels in the same order always get the same files.
    """
    base = _clean_name(name)
    plain = [base] if base and base == name and not is_device_name(base) else []
    suffixed = (_suffixed(base, name, attempt) for attempt in itertools.count())
    for stem in itertools.chain(plain, suffixed):
        if taken is None or name_key(stem) not in taken:
            break
    if taken is not None:
        taken.add(name_key(stem))
    return stem


def name_key(stem: str) -> str:
    """What file systems compare: case and Unicode forms folded (coarser than any of them).

    NTFS and SMB compare upper-cased names, APFS and HFS+ fold case and canonical
    forms: NFKC then upper then casefold equates everything either would (ß and SS
    too, which is merely cautious).
    """
    folded = unicodedata.normalize("NFKC", stem).upper().casefold()
    return unicodedata.normalize("NFKC", folded)


def is_device_name(stem: str) -> bool:
    """True for a stem Windows opens as a device: `CON`, `nul.txt`, `Com1 .x`, `LPT¹` …"""
    first = unicodedata.normalize("NFKC", stem).split(".")[0].rstrip(" ")
    return first.upper() in _WINDOWS_DEVICES


def _clean_name(name: str) -> str:
    cleaned = _UNSAFE_NAME.sub("_", unicodedata.normalize("NFC", name))
    cleaned = cleaned.lstrip(_NAME_EDGES + "-").rstrip(_NAME_EDGES)
    return _cut(cleaned, MAX_NAME_BYTES)


def _suffixed(base: str, name: str, attempt: int) -> str:
    key = name if attempt == 0 else f"{name}\x00{attempt}"
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()
    head = _cut(base, MAX_NAME_BYTES - len(digest) - 1).rstrip(_NAME_EDGES) or _UNNAMED
    first, dot, rest = head.partition(".")
    if dot and is_device_name(first):
        # Windows reads `con.txt_1a2b3c4d.xlsx` as CON too: only what precedes a dot counts.
        head = f"{first}_{rest}"
    return f"{head}_{digest}"


def _cut(text: str, limit: int) -> str:
    """`text` shortened to at most `limit` bytes of UTF-8, never inside a character."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore").rstrip(_NAME_EDGES)


_WINDOWS_DEVICES = frozenset(
    {
        "CON",
        "PRN",
        "AUX",
        "NUL",
        *(f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789¹²³"),
    }
)
