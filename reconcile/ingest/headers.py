"""Header rows, column aliases and sheet kinds.

A sheet's header row is found among its first rows, its headers are mapped to
canonical fields through the vocabulary of `reconcile.config.kinds` (extended by
`rules.yaml` `columns:`), and its kind is recognised by scoring the fields it
carries against every kind's declaration; the folder and the sheet or file name
are only hints.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache
from itertools import product

from reconcile.config.kinds import FIELDS as FIELDS_BY_NAME
from reconcile.config.kinds import (
    HEADER_ATTRIBUTES,
    HEADER_PAIRINGS,
    HEADER_QUALIFIERS,
    HEADER_SUBJECTS,
    KINDS,
    MONEY_FIELDS,
    Kind,
)
from reconcile.normalise.names import to_simplified

FIELDS: tuple[str, ...] = tuple(FIELDS_BY_NAME)

HEADER_SCAN_ROWS = 30
# A unit of yuan says nothing the amount parser needs (本次结算金额(元) is 本次结算金额);
# 万元 stays: its cells are in ten thousands, and reading them as yuan would be wrong.
_HEADER_NOISE = re.compile(r"[\s*※★:：]|[(（](必填|选填|必须|可选|元|格式[^)）]*)[)）]")


def normalise_header(text: str | None) -> str:
    if text is None:
        return ""
    folded = unicodedata.normalize("NFKC", str(text))
    return to_simplified(_HEADER_NOISE.sub("", folded)).lower()


@dataclass(frozen=True)
class AliasTable:
    lookup: dict[str, str]

    @classmethod
    def build(cls, extra: dict[str, list[str]] | None = None) -> AliasTable:
        lookup: dict[str, str] = {}
        for declared in FIELDS_BY_NAME.values():
            for alias in (declared.name, *declared.aliases):
                lookup.setdefault(normalise_header(alias), declared.name)
        # Project aliases win over built-in ones: the project knows its own sheets.
        for name, aliases in (extra or {}).items():
            for alias in aliases:
                lookup[normalise_header(alias)] = name
        return cls(lookup)

    def field_for(self, header: str | None) -> str | None:
        """The field a header names; a trailing note in brackets that names no field
        itself (客户电话(全号), 手机号（后四位）, 报备时间(yyyy-mm-dd hh:mm)) is read past.
        A note that names a field (姓名(手机)) makes a combined header instead. A unit of
        ten thousand (万元) changes what the cells mean: it is read past only on a field
        of yuan, whose cells `in_wan` then scales."""
        text = normalise_header(header)
        found = self._find(text)
        if found is None:
            noted = _TRAILING_NOTE.fullmatch(text)
            if noted is not None and self._find(noted["note"]) is None:
                found = self._find(noted["base"])
                if "万" in noted["note"] and found not in MONEY_FIELDS:
                    found = None
                if "大写" in noted["note"] and found in MONEY_FIELDS:
                    # 金额（大写） beside 金额（小写）: the words 叁佰万元整, which no amount
                    # reader reads; the figures' column is the amount, whichever comes first
                    found = None
        return found

    def _find(self, text: str) -> str | None:
        """The field of a normalised header: an alias, else a composed header."""
        found = self.lookup.get(text)
        return found if found is not None else composed_headers().get(text)

    def in_wan(self, header: str | None) -> bool:
        """Whether a header gives its field of yuan in 万元 (成交总价（万元）, 金额(万))."""
        noted = _TRAILING_NOTE.fullmatch(normalise_header(header))
        return (
            noted is not None
            and "万" in noted["note"]
            and self.lookup.get(noted["base"]) in MONEY_FIELDS
        )


@cache
def composed_headers() -> dict[str, str]:
    """Every [qualifier] subject attribute header (`kinds.HEADER_PAIRINGS`) and its field,
    made when a header is first no alias (a night that reads no file never needs them).
    The lists are written as `normalise_header` leaves them."""
    return {
        qualifier + who + what: name
        for (subject, attribute), name in HEADER_PAIRINGS.items()
        for qualifier, who, what in product(
            HEADER_QUALIFIERS, HEADER_SUBJECTS[subject], HEADER_ATTRIBUTES[attribute]
        )
    }


_TRAILING_NOTE = re.compile(r"(?P<base>.+?)[(（\[【](?P<note>[^()（）\[\]【】]*)[)）\]】]")


# A group label over sub-headers (易居's 客户信息 | 经纪人信息 over 姓名 | 电话) qualifies
# them: 经纪人 + 姓名 reads as 经纪人姓名. The label's generic tail is dropped first.
_GROUP_TAIL = re.compile(r"(信息|资料|情况|详情|明细)$")
# A header naming several fields at once: 姓名(手机), 渠道来源-机构-渠道人员-渠道人员手机.
PART_SEPARATORS = re.compile(r"\s*[-—/|()（）、]\s*")
COMBINED_LABELLED = (
    "customer_info"  # a cell of `label：value` lines (客户姓名：张三⏎客户性别：先生)
)


@dataclass(frozen=True)
class HeaderMatch:
    row_index: int  # 0-based index into the sheet frame
    headers: list[str | None]  # header text per column (group-qualified: 经纪人信息·姓名)
    mapping: dict[str, str]  # canonical field -> frame column
    duplicates: dict[str, str]  # frame column -> field it repeats (kept only as raw text)
    # frame column -> the fields its cells hold in order (a header naming several fields)
    combined: dict[str, tuple[str, ...]]
    raw_headers: list[str | None]  # the header row as written (to spot repeated header rows)
    in_wan: frozenset[str] = frozenset()  # frame columns of yuan given in 万元
    # frame column -> the customer's field its sub-header would name, were it not under a
    # group label naming someone else (置业顾问信息·电话): not read, and said why
    withheld: dict[str, str] = dataclasses.field(default_factory=dict)


def _groups(rows: list[list[str | None]], index: int) -> list[str | None]:
    """Per column, the group label above the header row, when that row is a group row.

    A title above the table (one text across the sheet) is not a group row; a row of
    two or more distinct labels (merged cells already spread over their columns) is.
    """
    if index == 0:
        return []
    above = list(rows[index - 1])
    if len({cell for cell in above if cell}) < 2:
        return []
    return above


def _field_of(
    aliases: AliasTable, text: str | None, group: str | None
) -> tuple[str | None, str | None]:
    """The field a sub-header names under its group label, and the customer's field it
    would name were the group not someone else's (then the first is None)."""
    if group and text:
        label = _GROUP_TAIL.sub("", normalise_header(group))
        qualified = aliases.field_for(label + str(text))
        if qualified is not None:
            return qualified, None
        if label in _SOMEONE_ELSE:
            # 置业顾问信息 over 电话: the consultant's number, not the customer's (read bare,
            # it was a second number of the customer, and a report of its own); 经纪公司 over
            # 业务员姓名 is still the agency's agent
            bare = aliases.field_for(text)
            return (None, bare) if bare in _CUSTOMERS_OWN else (bare, None)
    if not text and group:
        return aliases.field_for(group), None  # one header cell merged over both rows
    return aliases.field_for(text), None


def _subject_words(*subjects: str) -> frozenset[str]:
    """Every [qualifier] subject word of `subjects` (报备客户, 所属置业顾问 …)."""
    return frozenset(
        qualifier + who
        for subject in subjects
        for who in HEADER_SUBJECTS[subject]
        for qualifier in HEADER_QUALIFIERS
    )


_SUBJECT_WORDS = _subject_words(*HEADER_SUBJECTS)
_ATTRIBUTE_WORDS = frozenset(word for words in HEADER_ATTRIBUTES.values() for word in words if word)
# Group labels that speak of someone other than the customer (经纪人, 置业顾问, 渠道 …,
# with their qualifiers): a sub-header under them names none of the customer's own fields.
_SOMEONE_ELSE = _subject_words(*(subject for subject in HEADER_SUBJECTS if subject != "customer"))
_CUSTOMERS_OWN = frozenset(
    {field for (subject, _), field in HEADER_PAIRINGS.items() if subject == "customer"}
    | {"phone_head", "customer_info"}
)


def _parts(aliases: AliasTable, text: str | None) -> tuple[str, ...] | None:
    """The fields a header names when it joins several (姓名(手机)), else None."""
    if not text:
        return None
    pieces = [normalise_header(p) for p in PART_SEPARATORS.split(str(text)) if p]
    if len(pieces) < 2:
        return None
    fields = []
    whom = ""  # the person or agency the pieces so far spoke of
    for piece in pieces:
        if whom and piece in _ATTRIBUTE_WORDS:
            # 经纪人/电话: the agent's number, not the customer's
            fields.append(aliases.field_for(whom + piece))
        else:
            fields.append(aliases.field_for(piece))
            whom = next(
                (piece[:n] for n in range(len(piece), 0, -1) if piece[:n] in _SUBJECT_WORDS), ""
            )
    if None in fields or len(set(fields)) != len(fields):
        return None
    return tuple(fields)  # type: ignore[arg-type]


def _is_time(field: str) -> bool:
    return field in ("date", "time") or field.endswith(("_at", "_date"))


def find_header(rows: list[list[str | None]], aliases: AliasTable) -> HeaderMatch | None:
    """The first row among the top rows that names the most known fields (at least two)."""
    best: tuple[int, int] | None = None
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        fields: set[str | None] = set()
        for cell in row:
            if cell is not None:
                fields.add(aliases.field_for(cell))
                fields.update(_parts(aliases, cell) or ())
        fields.discard(None)
        score = len(fields)
        if score >= 2 and (best is None or score > best[1]):
            best = (index, score)
    if best is None:
        return None
    index = best[0]
    raw = list(rows[index])
    groups = _groups(rows, index)
    headers: list[str | None] = []
    mapping: dict[str, str] = {}
    duplicates: dict[str, str] = {}
    combined: dict[str, tuple[str, ...]] = {}
    withheld: dict[str, str] = {}
    for position, text in enumerate(raw):
        group = groups[position] if position < len(groups) else None
        field, theirs = _field_of(aliases, text, group)
        if theirs is not None:
            withheld[f"c{position}"] = theirs
        shown = text if not group or group == text else f"{group}·{text}" if text else group
        headers.append(shown)
        column = f"c{position}"
        parts = None if field is not None else _parts(aliases, text)
        if parts is not None and all(_is_time(part) for part in parts):
            field = parts[0]  # 报备日期/时间: one date-time column, not two fields
        elif parts is not None:
            combined[column] = parts
            continue
        if field is None:
            continue
        if field == COMBINED_LABELLED:
            combined[column] = (COMBINED_LABELLED,)
        elif field in mapping:
            duplicates[column] = field
        else:
            mapping[field] = column
    in_wan = frozenset(f"c{position}" for position, text in enumerate(raw) if aliases.in_wan(text))
    return HeaderMatch(index, headers, mapping, duplicates, combined, raw, in_wan, withheld)


@dataclass(frozen=True)
class Recognition:
    kind: str | None
    guesses: tuple[str, ...]  # the two best kinds when none fits clearly, best first


# Which kind a sheet or file name hints at, most specific words first: a 客户跟进 sheet
# is follow-ups, a 报备客户 sheet is reports.
_HINT_ORDER = (
    "ruling", "payment", "statement", "deal_change", "crm_followup", "deal", "visit", "report",
    "crm_customer",
)  # fmt: skip
# A report ledger stays a report sheet when it also carries the agency's own 带看/成交
# columns: those are its claims, not the office's records (SPEC 4.1).
_REPORT_OUTRANKS = frozenset({"visit", "deal"})


def recognise(fields: set[str], folder: str | None, names: tuple[str, ...]) -> Recognition:
    """The kind whose declaration the sheet's fields fit best (SPEC 4.1).

    `names` is (sheet name, file name). The sheet name, then the file name, then how
    many of a kind's characteristic fields the sheet carries, then the folder decide
    between kinds the fields admit. A tie, or no kind admitted, gives no kind and
    the two best guesses.
    """
    hints = [_name_hint(name) for name in names]
    seen = {kind.name: _dated(kind, fields, hints, folder) for kind in KINDS.values()}
    possible = [k for k in KINDS.values() if _fits(k, seen[k.name])]
    # An agency's 请款单 lists its 报备/到访/成交 dates beside each claimed deal; in the
    # agency's statements folder it is a claim, whatever else it carries.
    if folder == "statements" and any(k.name == "statement" for k in possible):
        return Recognition("statement", ())
    if any(k.name == "statement" for k in possible) and any(k.name == "deal" for k in possible):
        # A claimed amount beside a deal's numbers and price is an agency's claim on the
        # deal (易居's 结算书 lists 订单编号, 楼室号, 签约总价); in the CRM's folder a 渠道佣金
        # column is the deal record's own.
        drop = "statement" if folder == "crm" else "deal"
        possible = [k for k in possible if k.name != drop]
    if any(k.name == "report" for k in possible):
        outranked = _REPORT_OUTRANKS
        # A developer system's channel-customer list (泰禾 带看确认单列表) carries CRM-ish
        # columns (渠道来源, 最近跟进) beside 报备时间; it is the CRM's customer list only
        # when it has its own 创建时间 or calls itself a customer list (客户管理列表).
        if "first_contact_at" not in fields and "crm_customer" not in hints:
            outranked = outranked | {"crm_customer"}
        possible = [k for k in possible if k.name not in outranked]

    def score(kind: Kind) -> tuple[int, ...]:
        return (
            *(int(kind.name == hint) for hint in hints),
            len(seen[kind.name] & kind.characteristic),
            int(folder in kind.folders),
        )

    ranked = sorted(possible, key=score, reverse=True)
    if len(ranked) == 1 or (ranked and score(ranked[0]) != score(ranked[1])):
        return Recognition(ranked[0].name, ())
    if len(ranked) > 1:
        return Recognition(None, (ranked[0].name, ranked[1].name))

    def partial(kind: Kind) -> tuple[int, ...]:
        met = sum(any(f in fields for f in group) for group in kind.signature)
        return (met, len(fields & kind.characteristic), int(folder in kind.folders))

    near = sorted(KINDS.values(), key=partial, reverse=True)
    return Recognition(None, tuple(k.name for k in near[:2] if partial(k)[0] > 0))


def recognise_kind(fields: set[str], folder: str | None, names: tuple[str, ...]) -> str | None:
    return recognise(fields, folder, names).kind


def _fits(kind: Kind, fields: set[str]) -> bool:
    return all(any(field in fields for field in group) for group in kind.signature)


# The folder a kind alone calls its own (visits/ holds visit registers; crm/ holds four
# kinds, so it hints at none).
_FIRST_FOLDERS = Counter(kind.folders[0] for kind in KINDS.values() if kind.folders)
_OWN_FOLDER = {
    kind.folders[0]: kind.name
    for kind in KINDS.values()
    if kind.folders and _FIRST_FOLDERS[kind.folders[0]] == 1
}


def _dated(kind: Kind, fields: set[str], hints: list[str | None], folder: str | None) -> set[str]:
    """The fields as `kind` sees them: a plain 日期 column is its time (its first time
    field) when the sheet's or file's name says it is that kind, in a folder the kind may
    be in, or when the folder is the kind's own and the names say nothing else. A
    hand-made 来访登记 headed 日期 | 时间 | 客户姓名 | 电话 is a visit register, and a 付款表
    in payments/ headed 收款单位 | 金额 | 日期 is payments; an agency's 回访记录 in its
    channel folder is neither CRM follow-ups nor reports dated by their 日期."""
    if "date" not in fields or not (set(kind.time) - {"date"}).isdisjoint(fields):
        return fields
    named = kind.name in hints and (folder is None or folder in kind.folders)
    own = (
        folder is not None
        and _OWN_FOLDER.get(folder) == kind.name
        and all(hint in (None, kind.name) for hint in hints)
    )
    return fields | {kind.time[0]} if named or own else fields


def _name_hint(name: str) -> str | None:
    for kind in _HINT_ORDER:
        if any(word in name for word in KINDS[kind].name_hints):
            return kind
    return None
