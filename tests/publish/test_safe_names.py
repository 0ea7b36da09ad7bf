"""File names made from channel names: harmless on any shell, share and file system.

A receipt's name is `<stem>.xlsx` with the stem from `safe_filename`. The stem never
starts with `-` or `.` (an option to `rm`, a hidden file), never ends with a dot or a
space (Windows drops them, so two names would meet), is never a Windows device name,
holds no path separator, control or format character, and stays within
`MAX_NAME_BYTES`. Names that meet — also where case or Unicode forms do not count,
as on Windows, macOS and SMB shares — get distinct files, and each receipt says in
full whose it is.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.publish.receipts import receipt_channels, write_receipts
from reconcile.publish.text import MAX_NAME_BYTES, is_device_name, name_key, safe_filename
from reconcile.publish.workbook import cell_text
from tests.publish.conftest import Night, sheets
from tests.publish.hostile import CHANNELS

DEVICES = ["CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10))]
DEVICES += [f"LPT{i}" for i in range(1, 10)]
# Windows refuses these in names; `/` and NUL everywhere else too.
FORBIDDEN = set('<>:"/\\|?*') | {chr(c) for c in range(32)} | {"\x7f"}


def assert_harmless(stem: str) -> None:
    """Every promise of the module's docstring about one stem."""
    assert stem, stem
    assert not stem.startswith(("-", ".", " ")), stem
    assert not stem.endswith((".", " ")), stem
    assert not FORBIDDEN & set(stem), stem
    assert all(unicodedata.category(c)[0] not in "CZ" or c == " " for c in stem), stem
    assert len(stem.encode("utf-8")) <= MAX_NAME_BYTES, stem
    assert unicodedata.is_normalized("NFC", stem), stem
    for name in (stem, f"{stem}.xlsx"):
        first = name.split(".")[0].rstrip(" ")
        assert first.upper() not in DEVICES, name
        assert not is_device_name(name), name
    path = Path("/receipts") / f"{stem}.xlsx"
    assert path.resolve().parent == Path("/receipts") and path.name == f"{stem}.xlsx"


# Table ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["链家", "我爱我家", "Fang Duo-duo", "自有渠道（北区）", "A.B", "房多多·北区", "x", "4"]
)
def test_ordinary_names_are_kept_as_they_are(name):
    assert safe_filename(name) == name


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        # Options to a shell command and hidden files.
        ("-rf", "rf_"),
        ("-ZQX9", "ZQX9_"),
        ("--", "未命名_"),
        (".hidden", "hidden_"),
        ("..", "未命名_"),
        ("../../evil", "evil_"),
        # Windows drops a trailing dot or space.
        ("链家.", "链家_"),
        ("链家 ", "链家_"),
        ("链家. .", "链家_"),
        # Device names, in any case, with an extension, a space or superscript digits.
        ("CON", "CON_"),
        ("con", "con_"),
        ("Nul.tar.gz", "Nul_tar.gz_"),
        ("con.txt", "con_txt_"),
        ("CON .x", "CON _x_"),
        ("COM1", "COM1_"),
        ("com9.xlsx", "com9_xlsx_"),
        ("LPT1", "LPT1_"),
        ("lpt9 .x", "lpt9 _x_"),
        ("COM¹", "COM¹_"),
        ("ＣＯＮ", "ＣＯＮ_"),
        # Separators, Windows' forbidden marks, control and format characters.
        ("a/b", "a_b_"),
        ("a\\b", "a_b_"),
        ('a<>:"|?*b', "a_b_"),
        ("a\x00b", "a_b_"),
        ("a\nb\tc", "a_b_c_"),
        ("\u202eslx.exe", "slx.exe_"),
        ("a\u200bb", "a_b_"),
        ("链家*", "链家_"),
        ("<5", "5_"),
        ("~x", "x_"),
        ('=HYPERLINK("http://x","y")', "HYPERLINK(_http_x_y_)_"),
        # Nothing left.
        ("", "未命名_"),
        ("///", "未命名_"),
        ("\x01\x02", "未命名_"),
    ],
)
def test_hostile_names_are_cleaned_and_marked(name, stem):
    safe = safe_filename(name)
    assert_harmless(safe)
    assert re.fullmatch(re.escape(stem) + "[0-9a-f]{8}", safe), safe
    assert safe_filename(name) == safe  # deterministic


@pytest.mark.parametrize("name", ["COM0", "LPT0", "COM²", "LPT³", "aux.tar", "PRN  .x"])
def test_more_device_names(name):
    assert is_device_name(name)
    assert_harmless(safe_filename(name))


@pytest.mark.parametrize("name", ["CONSOLE", "COM10", "LPT", "NULL", "CON_x", "x.CON"])
def test_not_device_names(name):
    assert not is_device_name(name)


def test_long_names_are_cut_by_bytes_not_characters():
    for name in ("链" * 200, "a" * 200, "é" * 100, "a" + "链" * 60):
        safe = safe_filename(name)
        assert_harmless(safe)
        assert len(safe.encode("utf-8")) <= MAX_NAME_BYTES
        assert name.startswith(safe[: -len("_12345678")])
    fits = "链" * (MAX_NAME_BYTES // 3)
    assert safe_filename(fits) == fits


@pytest.mark.parametrize(
    "names",
    [
        ["ABC", "Abc", "abc", "aBC"],
        ["a/b", "a_b", "a:b", "a\\b", "a*b"],
        ["ß", "SS", "ss", "ẞ"],
        ["é", "e\u0301"],  # NFC and NFD: one name on macOS
        ["Ｋ", "K", "k", "\u212a"],  # full-width, Kelvin sign
        ["CON", "con", "CON_c1e04579", "con_c1e04579"],
        ["链家", "链家.", "链家 ", ".链家", "-链家"],
    ],
)
def test_names_that_meet_get_distinct_files(names):
    for order in (names, names[::-1]):
        taken: set[str] = set()
        stems = [safe_filename(name, taken) for name in order]
        for stem in stems:
            assert_harmless(stem)
        assert len({name_key(stem) for stem in stems}) == len(stems), stems
        assert len({stem.casefold() for stem in stems}) == len(stems), stems


def test_a_name_made_to_look_like_a_suffixed_one_still_gets_its_own_file():
    """Channel `a_b_<hash of a/b>` arrives first: `a/b` must not take its file."""
    taken: set[str] = set()
    lookalike = safe_filename("a/b")
    first = safe_filename(lookalike, taken)
    second = safe_filename("a/b", taken)
    assert first == lookalike
    assert second != lookalike and name_key(second) != name_key(first)
    assert_harmless(second)


# Properties ----------------------------------------------------------------------------


@settings(max_examples=500)
@given(st.text(max_size=200))
def test_any_text_gives_a_harmless_name(name):
    safe = safe_filename(name)
    assert_harmless(safe)
    assert safe == safe_filename(name)
    if safe != name:  # changed names are marked with a hash of the original
        assert re.search(r"_[0-9a-f]{8}$", safe)


_NEAR = st.text(st.sampled_from("aAbB.- _/:链家ßSs\u0301éCONconx1¹"), max_size=6)


@settings(max_examples=300)
@given(st.lists(st.one_of(_NEAR, st.text(max_size=20)), unique=True, max_size=25))
def test_any_channels_get_distinct_harmless_files_the_same_each_time(names):
    def assign(order: list[str]) -> dict[str, str]:
        taken: set[str] = set()
        return {name: safe_filename(name, taken) for name in order}

    stems = assign(sorted(names))
    assert stems == assign(sorted(names))  # the same night gives the same files
    assert len({name_key(stem) for stem in stems.values()}) == len(names)
    for stem in stems.values():
        assert_harmless(stem)


# Receipts ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def receipts(hostile_night: Night, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    night = hostile_night
    folder = tmp_path_factory.mktemp("receipts")
    paths = write_receipts(night.judgement, night.rules, night.as_of, folder)
    assert list(paths) == receipt_channels(night.judgement)
    return paths


def test_every_channel_gets_its_own_harmless_file(receipts: dict[str, Path]) -> None:
    assert set(receipts) == set(CHANNELS)
    folder = {path.parent for path in receipts.values()}
    assert len(folder) == 1
    names = [path.name for path in receipts.values()]
    assert sorted(names) == sorted(p.name for p in folder.pop().iterdir())
    assert len({name_key(name) for name in names}) == len(names)
    for path in receipts.values():
        assert path.suffix == ".xlsx"
        assert_harmless(path.stem)
    # Ordinary names keep their file name; the case-twins do not share one.
    assert receipts["链家"].name == "链家.xlsx" and receipts["x"].name == "x.xlsx"
    assert name_key(receipts["ABC"].stem) != name_key(receipts["Abc"].stem)


def test_every_receipt_names_its_channel_in_full(receipts: dict[str, Path]) -> None:
    """The file name may be cleaned or suffixed: 概要 says whose receipt it is."""
    for channel, path in receipts.items():
        overview = sheets(path)["概要"]
        assert overview[1][0] == f"渠道：{cell_text(channel)}", path.name
        others = {f"渠道：{cell_text(c)}" for c in CHANNELS if c != channel}
        assert overview[1][0] not in others


def test_the_night_run_names_receipts_the_same_way(
    hostile_night: Night, receipts: dict[str, Path]
) -> None:
    written = sorted(p.name for p in (hostile_night.outputs / "channels").iterdir())
    assert written == sorted(path.name for path in receipts.values())
