"""Customer-name normalisation for agency registration sheets.

Agencies type customer names in every conceivable way: honorifics instead of given
names (张先生), masked given names for privacy (张**), couples in one cell
(张三/李四), traditional characters, gender notes and phone numbers glued on.
``parse_name`` turns such a cell into a structured :class:`Name`;
``names_agree`` decides whether two cells can refer to the same customer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

import opencc
import polars as pl

COMPOUND_SURNAMES: frozenset[str] = frozenset(
    {
        "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
        "宇文", "司徒", "夏侯", "轩辕", "令狐", "钟离", "独孤", "南宫", "西门", "端木",
        "申屠", "太史", "百里", "呼延", "万俟", "闻人", "澹台", "公冶", "宗政", "濮阳",
        "淳于", "单于", "太叔", "仲孙", "司空", "拓跋", "赫连", "第五", "东郭", "羊舌",
        "巫马", "公西", "漆雕", "壤驷", "公良", "亓官", "司寇", "颛孙", "子车", "公羊",
        "微生",
    }
)  # fmt: skip

# Ranges holding every ideograph OpenCC's t2s tables know about; converting each
# code point in isolation yields a context-free, character-level mapping.
_IDEOGRAPH_RANGES = (
    (0x3400, 0x4DC0),
    (0x4E00, 0xA000),
    (0xF900, 0xFB00),
    (0x20000, 0x2A6E0),
    (0x2A700, 0x2EBF0),
    (0x2F800, 0x2FA20),
    (0x30000, 0x31350),
)
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK_RE = re.compile(f"[{_CJK}]")

# 某 is a real character but never a surname or given name in these sheets: it is
# how agents write "unknown" (张某, 某先生).
_MASKS = frozenset("*×○〇xX某")
_MASK_CHARS = "".join(sorted(_MASKS))
_LATIN_MASKS = frozenset("*×○〇")
_NAME_DOT = "·"
# What a CJK name part keeps: ideographs, masks and the name dot (阿卜杜·热合曼).
_NOT_IN_CJK_NAME_RE = re.compile(f"[^{_CJK}{re.escape(''.join(sorted(_MASKS)))}{_NAME_DOT}]")

# Tried before the one-character honorifics, so that 小姐 wins over 姐 and 大哥 over 哥.
_HONORIFIC_GENDER: dict[str, str | None] = {
    "先生": "M",
    "男士": "M",
    "大哥": "M",
    "哥哥": "M",
    "叔叔": "M",
    "女士": "F",
    "小姐": "F",
    "太太": "F",
    "夫人": "F",
    "大姐": "F",
    "姐姐": "F",
    "阿姨": "F",
    "老师": None,
    "老板": None,
    "老总": None,
    "经理": None,
    "总监": None,
    "主任": None,
    "医生": None,
    "律师": None,
    "教授": None,
    "师傅": None,
}
# These characters also end ordinary given names (李建工, 王志董), so they count as
# honorifics only right after a bare surname: 李工, 王董.
_SHORT_HONORIFIC_GENDER: dict[str, str | None] = {
    "哥": "M",
    "叔": "M",
    "姐": "F",
    "姨": "F",
    "总": None,
    "董": None,
    "工": None,
}
# 老王 / 小王 address someone by surname alone. Only two-character forms whose second
# character is a common surname qualify, so a nickname such as 小明 is not read as 明.
_FAMILIAR_PREFIXES = frozenset("老小")
_COMMON_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞"
    "左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧"
    "闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩佘池查麻苑迟邝"
)
_GROUP_SUFFIXES = ("两口子", "夫妇", "夫妻", "一家", "全家")

_OPENERS = "([{【〔〖《〈「『"
_CLOSERS = ")]}】〕〗》〉」』"
_OPEN, _CLOSE = re.escape(_OPENERS), re.escape(_CLOSERS)
# An unclosed bracket (张三(男) still holds a note up to the end of the cell.
_NOTE_RE = re.compile(f"[{_OPEN}]([^{_CLOSE}]*)(?:[{_CLOSE}]|$)")
# Private-use code points carry a bracketed gender note through splitting into the
# part it belongs to; they can never occur in real names.
_MALE_MARK = "\ue000"
_FEMALE_MARK = "\ue001"
_NOTE_GENDER_WORDS = (
    ("女", _FEMALE_MARK),
    ("小姐", _FEMALE_MARK),
    ("男", _MALE_MARK),
    ("先生", _MALE_MARK),
)

# Phone numbers and ids, including masked ones such as 138****1234.
_NUMBER_RE = re.compile(r"[*×]*[0-9][0-9*×xX\-]*")
_HARD_SEPARATOR_RE = re.compile(r"[/\\、,;&+|]+")
_SOFT_SEPARATOR_RE = re.compile("[和与及跟]")
_DOTS = str.maketrans({"•": _NAME_DOT, "・": _NAME_DOT, "‧": _NAME_DOT})


@cache
def _t2s_table() -> dict[int, str]:
    """The fold as a `str.translate` table, filled a character at a time as texts ask:
    converting all 94,000 ideographs up front cost every run ~50 ms at its start, the
    night that reuses its files included."""
    return _Fold(opencc.OpenCC("t2s"))


class _Fold(dict[int, str]):
    def __init__(self, converter: opencc.OpenCC) -> None:
        super().__init__()
        self._converter = converter

    def __missing__(self, code: int) -> str:
        found = self[code] = self._chain(chr(code))
        return found

    def _step(self, char: str) -> str | None:
        """OpenCC's simplified form of an ideograph, None when it has none of its own."""
        if not any(start <= ord(char) < stop for start, stop in _IDEOGRAPH_RANGES):
            return None
        out = self._converter.convert(char)
        return out if out != char else None

    def _chain(self, char: str) -> str:
        # A few t2s targets are themselves traditional (薴→苧→苎); following the chain
        # makes the fold idempotent.
        out = self._step(char)
        if out is None:
            return char
        seen = {char}
        while out not in seen and (further := self._step(out)) is not None:
            seen.add(out)
            out = further
        return out


def to_simplified(text: str | None) -> str:
    """Fold traditional characters to simplified, character by character.

    Character-level folding (rather than OpenCC's phrase conversion) keeps every
    name the same length and makes the function idempotent; ``None`` gives ``''``.
    """
    if not text:
        return ""
    return text.translate(_t2s_table())


@dataclass(frozen=True, slots=True)
class Person:
    """One customer named in a cell."""

    surname: str | None
    given: str | None
    honorific: str | None
    gender: str | None


@dataclass(frozen=True, slots=True)
class Name:
    """A parsed name cell: its cleaned text and the people it names."""

    display: str
    people: tuple[Person, ...]

    @property
    def surnames(self) -> tuple[str, ...]:
        """Known surnames in order of appearance, without repeats."""
        return tuple(dict.fromkeys(p.surname for p in self.people if p.surname is not None))

    @property
    def has_surname(self) -> bool:
        """Whether any person in the cell has a known surname."""
        return any(p.surname is not None for p in self.people)


_BLANK = Name(display="", people=())


def _mark_note(match: re.Match[str]) -> str:
    note = match.group(1)
    for word, mark in _NOTE_GENDER_WORDS:
        if word in note:
            return mark
    return ""


def _split_people(text: str) -> list[str]:
    parts: list[str] = []
    for piece in _HARD_SEPARATOR_RE.split(text):
        # 和/与 also occur inside given names (王和平), so split only when every
        # side is long enough to be a name of its own.
        soft = _SOFT_SEPARATOR_RE.split(piece)
        if len(soft) > 1 and all(len(_clean(s)) >= 2 for s in soft):
            parts.extend(soft)
        else:
            parts.append(piece)
    return parts


def _clean(part: str) -> str:
    if _CJK_RE.search(part):
        return _NOT_IN_CJK_NAME_RE.sub("", part)
    kept = "".join(ch if ch.isalpha() or ch in _LATIN_MASKS or ch in "'-." else " " for ch in part)
    return " ".join(kept.split()).strip("'-. ")


_HONORIFIC_END_RE = re.compile(
    "(?:" + "|".join(sorted(map(re.escape, _HONORIFIC_GENDER), key=len, reverse=True)) + ")$"
)


def _split_honorific(body: str) -> tuple[str, str | None]:
    found = _HONORIFIC_END_RE.search(body)
    if found:
        return body[: found.start()], found.group()
    if body and body[-1] in _SHORT_HONORIFIC_GENDER:
        head = body[:-1].rstrip(_MASK_CHARS)
        if len(head) <= 1 or head in COMPOUND_SURNAMES:
            return body[:-1], body[-1]
    return body, None


def _honorific_gender(honorific: str | None) -> str | None:
    if honorific is None:
        return None
    return _HONORIFIC_GENDER.get(honorific) or _SHORT_HONORIFIC_GENDER.get(honorific)


def _person(raw: str) -> Person | None:
    note_gender = "F" if _FEMALE_MARK in raw else "M" if _MALE_MARK in raw else None
    part = _clean(raw)
    if not part:
        return None if note_gender is None else Person(None, None, None, note_gender)
    if not _CJK_RE.search(part):
        if all(ch in _MASKS or not ch.isalpha() for ch in part):
            return None if note_gender is None else Person(None, None, None, note_gender)
        given = None if any(ch in _LATIN_MASKS for ch in part) else part
        return Person(None, given, None, note_gender)

    for suffix in _GROUP_SUFFIXES:
        if part.endswith(suffix) and len(part) > len(suffix):
            part = part[: -len(suffix)]
            break
    body, honorific = _split_honorific(part)
    gender = _honorific_gender(honorific) or note_gender
    body = body.strip(_NAME_DOT)
    if not body or body[0] in _MASKS:
        if honorific is None and gender is None:
            return None
        return Person(None, None, honorific, gender)
    familiar = len(body) == 2 and body[0] in _FAMILIAR_PREFIXES and body[1] in _COMMON_SURNAMES
    if familiar and honorific is None:
        return Person(body[1], None, body[0], gender)
    surname_len = 2 if body[:2] in COMPOUND_SURNAMES else 1
    surname, rest = body[:surname_len], body[surname_len:]
    given = rest if rest and not any(ch in _MASKS for ch in rest) else None
    return Person(surname, given, honorific, gender)


# Most cells are a bare name or surname + honorific in common ideographs: no brackets,
# numbers, masks, separators or width variants, so the full clean-up can be skipped.
_PLAIN_RE = re.compile(r"[\u4e00-\u9fff]{1,4}")
_SOFT_SEPARATORS = frozenset("和与及跟")


@lru_cache(maxsize=1 << 16)
def parse_name(value: str | None) -> Name:
    """Parse a customer-name cell into its cleaned display text and people.

    Never raises; a blank or junk-only cell gives an empty :class:`Name`.
    """
    if value is not None and _PLAIN_RE.fullmatch(value) and not _SOFT_SEPARATORS & set(value):
        text = to_simplified(value)
        person = _person(text)
        return Name(display=text, people=(person,) if person is not None else ())
    return parse_name_in_full(value)


def parse_name_in_full(value: str | None) -> Name:
    """:func:`parse_name` without its shortcut for plain names (the reference it must match)."""
    if value is None:
        return _BLANK
    text = to_simplified(unicodedata.normalize("NFKC", value)).translate(_DOTS)
    text = _NOTE_RE.sub(_mark_note, text)
    text = _NUMBER_RE.sub("", text)
    raw_parts = _split_people(text)
    display = "/".join(cleaned for cleaned in map(_clean, raw_parts) if cleaned)
    people = tuple(p for p in map(_person, raw_parts) if p is not None)
    return Name(display=display, people=people)


def names_agree(a: Name, b: Name) -> bool:
    """Whether two name cells can name the same customer.

    A side without any surname cannot contradict the other. Otherwise some person
    on each side must share the surname, and their given names must not both be
    known and different (张伟 vs 张强 are different people).
    """
    if not a.has_surname or not b.has_surname:
        return True
    return any(
        pa.surname is not None
        and pa.surname == pb.surname
        and (pa.given is None or pb.given is None or pa.given == pb.given)
        for pa in a.people
        for pb in b.people
    )


def _alternation(words) -> str:
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


def _plain_parts(unique: pl.Series) -> pl.DataFrame:
    """Distinct name cells → `text`, `plain`, `display`, `surname`, `given`.

    Plain cells (1–4 common ideographs, one person) are read with polars expressions,
    element-wise equal to `parse_name`; the other columns are null for the rest.
    Staged so that each intermediate column is computed once.
    """
    table = _t2s_table()  # `to_simplified` of each non-blank cell
    frame = pl.DataFrame(
        {"text": unique, "display": [t.translate(table) if t else t for t in unique.to_list()]},
        schema={"text": pl.String, "display": pl.String},
    )
    text, display = pl.col("text"), pl.col("display")
    group = f"(?:{_alternation(_GROUP_SUFFIXES)})$"
    # One query: each staged column is still computed once.
    lookup = frame.lazy().with_columns(
        plain=(
            text.str.contains(f"^{_PLAIN_RE.pattern}$") & ~text.str.contains("[和与及跟]")
        ).fill_null(False),
        part=pl.when(display.str.contains(f"^.+{group}"))
        .then(display.str.replace(group, ""))
        .otherwise(display),
    )
    part = pl.col("part")
    head = part.str.slice(0, part.str.len_chars() - 1)
    lookup = (
        lookup.with_columns(
            long_honorific=part.str.extract(f"({_alternation(_HONORIFIC_GENDER)})$").is_not_null(),
            head=head,
            bare_head=head.str.replace(f"[{re.escape(_MASK_CHARS)}]+$", ""),
        )
        .with_columns(
            short_honorific=part.str.slice(-1).is_in(list(_SHORT_HONORIFIC_GENDER))
            & (
                (pl.col("bare_head").str.len_chars() <= 1)
                | pl.col("bare_head").is_in(list(COMPOUND_SURNAMES))
            ),
        )
        .with_columns(
            body=pl.when("long_honorific")
            .then(part.str.slice(0, part.str.len_chars() - 2))
            .when("short_honorific")
            .then("head")
            .otherwise(part),
        )
    )
    body = pl.col("body")
    first = body.str.slice(0, 1)
    familiar = (
        (body.str.len_chars() == 2)
        & first.is_in(list(_FAMILIAR_PREFIXES))
        & body.str.slice(1, 1).is_in(list(_COMMON_SURNAMES))
        & ~pl.col("long_honorific")
        & ~pl.col("short_honorific")
    )
    no_surname = (body.str.len_chars() == 0) | first.is_in(list(_MASKS))
    surname_length = pl.when(body.str.slice(0, 2).is_in(list(COMPOUND_SURNAMES))).then(2)
    lookup = lookup.with_columns(surname_length=surname_length.otherwise(1))
    rest = body.str.slice(pl.col("surname_length"))
    plain = pl.col("plain")
    return lookup.select(
        "text",
        "plain",
        "display",
        surname=pl.when(plain & ~no_surname).then(
            pl.when(familiar)
            .then(body.str.slice(1, 1))
            .otherwise(body.str.slice(0, pl.col("surname_length")))
        ),
        given=pl.when(
            plain
            & ~no_surname
            & ~familiar
            & (rest.str.len_chars() > 0)
            & ~rest.str.contains(f"[{re.escape(_MASK_CHARS)}]")
        ).then(rest),
    ).collect()


def name_series(values: pl.Series) -> pl.DataFrame:
    """Vectorised `parse_name` for the ledger: columns `customer_name` (display text, null
    when empty) and `surnames` (`;`-joined, null when none), element-wise equal to
    `parse_name`. Each distinct cell is read once: plain cells (1–4 common ideographs)
    with polars expressions, the rest through `parse_name`.
    """
    lookup = _plain_parts(values.cast(pl.String).unique())
    others = lookup.filter(~pl.col("plain"))["text"].to_list()
    parsed = [parse_name(value) for value in others]
    fallback = pl.DataFrame(
        {
            "text": others,
            "slow_name": [p.display or None for p in parsed],
            "slow_surnames": [";".join(p.surnames) or None for p in parsed],
        },
        schema={"text": pl.String, "slow_name": pl.String, "slow_surnames": pl.String},
    )
    lookup = lookup.join(fallback, on="text", how="left", nulls_equal=True).select(
        "text",
        customer_name=pl.when("plain").then("display").otherwise("slow_name"),
        surnames=pl.when("plain").then("surname").otherwise("slow_surnames"),
    )
    return (
        values.cast(pl.String)
        .alias("text")
        .to_frame()
        .join(lookup, on="text", how="left", nulls_equal=True, maintain_order="left")
        .drop("text")
    )


@lru_cache(maxsize=1 << 16)
def _cells_agree(left: str | None, right: str | None) -> bool:
    return names_agree(parse_name(left), parse_name(right))


def agree_series(left: pl.Series, right: pl.Series) -> pl.Series:
    """Element-wise `names_agree(parse_name(a), parse_name(b))`.

    Pairs of plain names (one person each) are compared with polars; the rest, a small
    share in practice, through the pure function, once per distinct pair.
    """
    parts = _plain_parts(pl.concat([left.cast(pl.String), right.cast(pl.String)]).unique())
    pairs = pl.DataFrame({"a": left.cast(pl.String), "b": right.cast(pl.String)})
    for side in ("a", "b"):
        pairs = pairs.join(
            parts.select(
                pl.col("text").alias(side),
                pl.col("plain").alias(f"plain_{side}"),
                pl.col("surname").alias(f"surname_{side}"),
                pl.col("given").alias(f"given_{side}"),
            ),
            on=side,
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
    fast = (
        pl.col("surname_a").is_null()
        | pl.col("surname_b").is_null()
        | (
            (pl.col("surname_a") == pl.col("surname_b"))
            & (
                pl.col("given_a").is_null()
                | pl.col("given_b").is_null()
                | (pl.col("given_a") == pl.col("given_b"))
            )
        )
    )
    plain_pair = pl.col("plain_a").fill_null(False) & pl.col("plain_b").fill_null(False)
    # A blank cell has no surname and never disagrees.
    blank = pl.col("a").is_null() | pl.col("b").is_null()
    pairs = pairs.with_columns(
        ok=pl.when(blank).then(True).when(plain_pair).then(fast), slow=~blank & ~plain_pair
    ).with_row_index("i")
    slow = pairs.filter("slow")
    if slow.height == 0:
        return pairs["ok"].alias("agree")
    results = pl.Series(
        [_cells_agree(a, b) for a, b in slow.select("a", "b").iter_rows()], dtype=pl.Boolean
    )
    return pairs["ok"].scatter(slow["i"], results).alias("agree")


# An agent written with the agency's name beside it (a 报备群 nickname 链家-李四, a cell
# 李四（链家）or 北京链家 李四): the agency is the row's channel already, so the agent is
# the rest. Only a part naming the row's own channel (or a variant of it) is taken off.
_AGENT_PARTS_RE = re.compile(r"[-—–_·|/\\\s()（）【】\[\]<>《》]+")


def name_parts(text: str) -> list[str]:
    """The parts of a cell or nickname that joins an agency and a person (链家-李四,
    李四（链家）, 北京链家 李四)."""
    return [part for part in _AGENT_PARTS_RE.split(text) if part]


_GLUED_NAME_RE = re.compile(f"[{_CJK}]{{2,4}}")


def agent_name(agent: str, channel_words: Iterable[str]) -> str:
    """The agent of a cell, less the words naming its channel (`链家-李四` → `李四`);
    the cell as written when nothing else would be left."""
    text = agent.strip()
    words = sorted({w for w in channel_words if w}, key=len, reverse=True)
    if not text or not words:
        return agent
    parts = name_parts(text)
    kept = [part for part in parts if part not in words]
    if len(parts) > 1 and 0 < len(kept) < len(parts):
        return "-".join(kept)
    for word in words:  # 链家李四: the agency glued on before a name
        rest = text.removeprefix(word)
        if rest != text and _GLUED_NAME_RE.fullmatch(rest):
            return rest
    return agent


_PROJECT_NOISE = re.compile(r"[\s【】\[\]()（）「」“”\"'·]")


def same_project(named: str, project: str) -> bool:
    """Whether a cell's or a message's 项目 names the project: one name holds the other,
    once spaces and brackets are gone (杭州山湖一号 is 山湖一号; 云栖府 is not 山湖一号)."""
    a = _PROJECT_NOISE.sub("", unicodedata.normalize("NFKC", named))
    b = _PROJECT_NOISE.sub("", unicodedata.normalize("NFKC", project))
    return bool(a) and bool(b) and (a in b or b in a)


def named_channel(written: str, known: frozenset[str]) -> str:
    """The channel a cell names. A bank's or finance's ledger names a payee by its legal
    name (北京链家房地产经纪有限公司) and a register may write 链家地产: that is the one known
    channel whose name it contains (the longest of nested names: 德佑链家 before 链家);
    with none, or two apart, it stays as written, a channel of its own."""
    if written in known:
        return written
    inside = [name for name in known if len(name) >= 2 and name in written]
    outermost = [name for name in inside if not any(name != m and name in m for m in inside)]
    return outermost[0] if len(outermost) == 1 else written


def channels_named(column: pl.Series, known: frozenset[str]) -> pl.Series:
    """`named_channel` of each cell of a column, worked out once per distinct text."""
    written = [text for text in column.drop_nulls().unique().to_list() if text not in known]
    named = {text: named_channel(text, known) for text in written}
    renamed = {text: channel for text, channel in named.items() if channel != text}
    return column.replace(renamed) if renamed else column
