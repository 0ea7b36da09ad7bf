"""Stage "link" (SPEC §5): which customer each masked report is about.

A customer is a full mobile number seen in a visit, deal, ruling or the CRM. A report
fits a customer when every visible digit agrees and the names agree; a customer known
only from the CRM also needs a surname that agrees (one on each side), unless the
report gives the full number. Candidate pairs come from a join on a blocking key (the
visible digits every admitted pattern shows), so nothing compares all pairs.

`link` returns one row per (report, customer) that fit: `row_id`, `phone`, `in_time`
(whether the customer was first seen before the report's protection ended) and
`crm_only` (the customer is known only from the CRM). `self_pairs` finds compatible
pairs among reports (suspected collisions) and `self_duplicates` the reports a channel's
own earlier report still protects (R05); both in time linear in the reports (plus the
pairs found), however many reports one number has (docs/design.md, "Degenerate input").
"""

from __future__ import annotations

import heapq
from collections import defaultdict

import polars as pl

from reconcile.normalise.names import _plain_parts, agree_series, name_series, parse_name

PHONE_LENGTH = 11


def compatible_expr(left: str, right: str) -> pl.Expr:
    """Whether two patterns (or a pattern and a full number) could be the same number."""
    checks = []
    for i in range(PHONE_LENGTH):
        a = pl.col(left).str.slice(i, 1)
        b = pl.col(right).str.slice(i, 1)
        checks.append((a == "*") | (b == "*") | (a == b))
    return pl.all_horizontal(checks)


def customers(
    visits: pl.DataFrame,
    deals: pl.DataFrame,
    rulings: pl.DataFrame,
    crm: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per full number: `phone`, `first_at`, `names`, `crm_only`, `surnames`.

    `first_at` is when the number was first seen: its earliest visit, else deal or
    ruling, or its earliest CRM contact when that is earlier. `names` are the distinct
    names a visit, deal or ruling recorded it under; for a customer known only from
    the CRM (`crm_only`), the CRM names that carry a surname, and `surnames` the
    distinct surnames of those names (null for the other customers).
    """
    frames = [
        frame.select("phone", "at", "customer_name", rank=pl.lit(rank))
        for rank, frame in enumerate((visits, deals, rulings))
    ]
    every = pl.concat(frames).filter(pl.col("phone").is_not_null())
    seen = (
        every.sort("rank", "at", nulls_last=True)
        .group_by("phone", maintain_order=True)
        .agg(
            first_at=pl.col("at").filter(pl.col("rank") == pl.col("rank").min()).min(),
            names=pl.col("customer_name").drop_nulls().unique(maintain_order=True),
        )
        .with_columns(crm_only=pl.lit(False), surnames=pl.lit(None, pl.List(pl.String)))
    )
    if crm is None or crm.height == 0:
        return seen.sort("phone")
    contacts = _crm_customers(crm)
    known = seen.join(contacts, on="phone", how="full", coalesce=True)
    crm_only = pl.col("crm_only").is_null()
    return known.select(
        "phone",
        first_at=pl.when(crm_only)
        .then("crm_at")
        .otherwise(pl.min_horizontal("first_at", "crm_at")),
        names=pl.when(crm_only).then("crm_names").otherwise("names"),
        crm_only=crm_only,
        surnames=pl.when(crm_only).then("crm_surnames"),
    ).sort("phone")


def _crm_customers(crm: pl.DataFrame) -> pl.DataFrame:
    """Per number in the CRM: `crm_at` (earliest dated contact), `crm_names` (the
    names with a surname it was recorded under) and `crm_surnames` (their surnames)."""
    rows = crm.filter(pl.col("phone").is_not_null())
    if "surnames" in rows.columns:
        surnames = rows["surnames"]
    else:
        surnames = name_series(rows["customer_name"])["surnames"]
    named = pl.when(surnames.is_not_null()).then(pl.col("customer_name"))
    return (
        rows.select("phone", "at", named=named, surnames=surnames)
        .group_by("phone")
        .agg(
            crm_at=pl.col("at").min(),
            crm_names=pl.col("named").drop_nulls().unique(maintain_order=True),
            crm_surnames=pl.col("surnames")
            .drop_nulls()
            .str.split(";")
            .explode()
            .unique(maintain_order=True),
        )
    )


# The columns of the reports `link` and `self_pairs` read: a caller filtering admitted
# reports for them copies only these (a million reports' every column is ~250 MiB).
LINK_COLUMNS = ("row_id", "phone_pattern", "customer_name", "surnames", "bucket", "until")
PAIR_COLUMNS = (
    "row_id", "channel", "phone_pattern", "customer_name", "bucket", "at", "until", "path",
    "sheet", "row_no",
)  # fmt: skip


def link(reports: pl.DataFrame, people: pl.DataFrame, bucket_of_phone: pl.Expr) -> pl.DataFrame:
    """Fitting (report, customer) pairs.

    `reports` needs `row_id`, `phone_pattern`, `customer_name`, `bucket`, `until` (and
    may give `surnames`); `people` is `customers()`, where `crm_only` and `surnames`
    may be left out. A customer known only from the CRM fits a masked report only
    with a surname in common, so it is joined on bucket and surname; and only when
    first seen before the report's protection ended: later, it can neither have
    known the customer before the report nor be brought by it.
    """
    empty = {"row_id": pl.String, "phone": pl.String, "in_time": pl.Boolean, "crm_only": pl.Boolean}
    if reports.height == 0 or people.height == 0:
        return pl.DataFrame(schema=empty)
    if "crm_only" not in people.columns:
        people = people.with_columns(crm_only=pl.lit(False))
    if "surnames" in reports.columns:
        surnames = reports["surnames"]
    else:
        surnames = name_series(reports["customer_name"])["surnames"]
    asked = reports.select(
        "row_id",
        "customer_name",
        "bucket",
        "until",
        visible=_nibbles("phone_pattern", mask=True),
        digits=_nibbles("phone_pattern"),
        masked=pl.col("phone_pattern").str.contains("*", literal=True),
        surnames=surnames,
    )
    keyed = people.select(
        "phone", "first_at", "names", "crm_only", bucket=bucket_of_phone, number=_nibbles("phone")
    )
    found = [asked.join(keyed.filter(~pl.col("crm_only")), on="bucket", how="inner")]
    crm = keyed.filter("crm_only")
    if crm.height:
        by_surname = crm.join(_crm_surnames(people), on="phone", how="inner")
        named = asked.filter(pl.col("masked") & pl.col("surnames").is_not_null())
        named = named.with_columns(surname=pl.col("surnames").str.split(";")).explode("surname")
        met = named.join(by_surname, on=["bucket", "surname"]).drop("surname")
        # A couple's two surnames may both meet the same CRM customer: one pair.
        found.append(met.unique(["row_id", "phone"], keep="any"))
        # A full number needs no surname, as with any customer.
        found.append(asked.filter(~pl.col("masked")).join(crm, on="bucket", how="inner"))
    # Every digit the pattern shows agrees with the number.
    shown = (pl.col("number") & pl.col("visible")) == pl.col("digits")
    pairs = pl.concat(found).filter(shown)
    seen = pl.col("first_at") < pl.col("until")
    pairs = pairs.with_columns(
        # An undated CRM contact still counts: rows without a date always count.
        in_time=pl.col("until").is_null() | seen.fill_null(pl.col("crm_only"))
    ).filter(~pl.col("crm_only") | pl.col("in_time"))
    if pairs.height == 0:
        return pl.DataFrame(schema=empty)
    pairs = pairs.select("row_id", "phone", "in_time", "crm_only", "customer_name", "names")
    exploded = pairs.select("customer_name", "names", pair=pl.int_range(pl.len())).explode(
        "names", empty_as_null=True
    )
    # A customer recorded without any name cannot disagree.
    agree = agree_series(exploded["customer_name"], exploded["names"])
    fit = pl.repeat(False, pairs.height, eager=True).scatter(
        exploded["pair"].filter(agree).unique(), True
    )
    return (
        pairs.filter(fit).select("row_id", "phone", "in_time", "crm_only").sort("row_id", "phone")
    )


def _crm_surnames(people: pl.DataFrame) -> pl.DataFrame:
    """`phone`, `surname`: each surname of each customer known only from the CRM."""
    crm = people.filter("crm_only")
    if "surnames" in crm.columns:
        return crm.select("phone", surname="surnames").explode("surname").drop_nulls()
    named = crm.select("phone", name="names").explode("name").drop_nulls()
    split = name_series(named["name"])["surnames"].str.split(";")
    return named.select("phone", surname=split).explode("surname").drop_nulls().unique()


def _nibbles(column: str, *, mask: bool = False) -> pl.Expr:
    """An 11-character number or pattern read as hexadecimal (`*` as 0): one nibble
    per digit, so a bitwise mask compares every visible digit at once. `mask`: `F`
    for each visible digit instead. Null when the text is not 11 digits and stars."""
    text = pl.col(column)
    shown = text.str.replace_all("[0-9]", "F") if mask else text
    value = shown.str.replace_all("*", "0", literal=True).str.to_integer(base=16, strict=False)
    return pl.when(text.str.contains(f"^[0-9*]{{{PHONE_LENGTH}}}$")).then(value)


# Reports of one bucket (and channel) are compared pair by pair, vectorised, while the group
# is this small: at most this many pairs per report. Larger groups (many reports of one
# number) go through `_Keys`, one report at a time, so nothing is ever quadratic.
PAIRWISE_UP_TO = 8
_NEVER = 2**62  # a protection without end, in microseconds


def self_pairs(reports: pl.DataFrame, *, same_channel: bool) -> pl.DataFrame:
    """Ordered pairs of compatible reports with agreeing names: `first`, `second`.

    `first` is the earlier report (报备时间, then its row in `reports`) and `second` was
    made while `first` still protected the customer. `same_channel` selects pairs of one
    channel (self-duplicates) or of two different channels (suspected collisions).
    Pairs come ordered by `first`, then `second`.

    Time and memory grow with the reports plus the pairs found: small groups are joined
    with themselves, large ones indexed by `_Keys` in time order, where a report meets
    only earlier ones that share a key and still protect.
    """
    small, large = _split(reports, same_channel)
    found = [_pairwise(small, same_channel)]
    if large.height:
        found.append(_keyed_pairs(large, same_channel))
    pairs = pl.concat(found)
    if pairs.height == 0:
        return pl.DataFrame(schema={"first": pl.String, "second": pl.String})
    lookup = pl.concat([small, large]).select("rank", "row_id", "at_us")
    return (
        pairs.join(lookup.rename(lambda c: f"{c}_1"), left_on="first", right_on="rank_1")
        .join(lookup.rename(lambda c: f"{c}_2"), left_on="second", right_on="rank_2")
        .sort("at_us_1", "first", "at_us_2", "second")
        .select(first="row_id_1", second="row_id_2")
    )


def self_duplicates(reports: pl.DataFrame, *, invalidate_all: bool) -> set[str]:
    """Row ids of the self-duplicates (R05) among admitted `reports`.

    Reports are taken in submission order (报备时间, file, sheet, row). A report that the
    channel's own kept earlier report (a pair of `self_pairs(same_channel=True)`) still
    protects is a duplicate. `keep_first`: a duplicate is not kept, so it protects
    nothing. `invalidate_all`: it is kept, and the kept reports protecting it become
    duplicates too.

    Large groups are walked without listing their pairs (100,000 reports of one number
    are billions of pairs): each report asks, per key of `_Keys`, for the earliest kept
    report that still protects (a heap from which those that stopped are dropped).
    """
    small, large = _split(reports, same_channel=True)
    found = _walk(small, _pairwise(small, same_channel=True), invalidate_all)
    if large.height:
        found |= _keyed_duplicates(large, invalidate_all)
    return found


def _split(reports: pl.DataFrame, same_channel: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Reports that may pair (a group of two or more with a key, a time and a pattern),
    in small groups of standard patterns and the rest; `rank` is the row in `reports`,
    `at_us` and `until_us` the times in microseconds (`_NEVER` for no end)."""
    group = ["bucket", "channel"] if same_channel else ["bucket"]
    frame = reports.select(PAIR_COLUMNS).with_columns(rank=pl.int_range(pl.len()))
    # A null key, time or pattern never pairs (the join and the comparisons drop it).
    needed = ("bucket", "channel", "at", "phone_pattern")
    frame = frame.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in needed))
    frame = frame.filter(pl.len().over(group) > 1)
    if not same_channel:
        frame = frame.filter(pl.col("channel").n_unique().over(group) > 1)
    frame = frame.with_columns(
        at_us=pl.col("at").dt.epoch("us"),
        until_us=pl.col("until").dt.epoch("us").fill_null(_NEVER),
        digits=_nibbles("phone_pattern"),
        visible=_nibbles("phone_pattern", mask=True),
    )
    small = (pl.len().over(group) <= PAIRWISE_UP_TO) & pl.col("digits").is_not_null().all().over(
        group
    )
    return frame.filter(small), frame.filter(~small)


def _pairwise(frame: pl.DataFrame, same_channel: bool) -> pl.DataFrame:
    """`first`, `second` (ranks) of the pairs of small groups, joined pair by pair; the
    digits compared as nibbles under both patterns' masks (`compatible_expr`)."""
    empty = pl.DataFrame(schema={"first": pl.Int64, "second": pl.Int64})
    if frame.height == 0:
        return empty
    group = ["bucket", "channel"] if same_channel else ["bucket"]
    side = frame.select(
        *group, "rank", "at_us", "until_us", "digits", "visible", "customer_name",
        *([] if same_channel else ["channel"]),
    )  # fmt: skip
    joined = side.join(side, on=group, how="inner", suffix="_2")
    if not same_channel:
        joined = joined.filter(pl.col("channel") != pl.col("channel_2"))
    both = pl.col("visible") & pl.col("visible_2")
    joined = joined.filter(
        (
            (pl.col("at_us") < pl.col("at_us_2"))
            | ((pl.col("at_us") == pl.col("at_us_2")) & (pl.col("rank") < pl.col("rank_2")))
        )
        & (pl.col("at_us_2") < pl.col("until_us"))
        & ((pl.col("digits") & both) == (pl.col("digits_2") & both))
    )
    if joined.height == 0:
        return empty
    agree = agree_series(joined["customer_name"], joined["customer_name_2"])
    return joined.filter(agree).select(first="rank", second="rank_2")


def _walk(frame: pl.DataFrame, pairs: pl.DataFrame, invalidate_all: bool) -> set[str]:
    """Self-duplicates from the pairs of one channel, in submission order."""
    earlier: dict[int, list[int]] = defaultdict(list)
    for first, second in pairs.iter_rows():
        earlier[second].append(first)
    involved = frame.filter(
        pl.col("rank").is_in(pl.concat([pairs["first"], pairs["second"]]).implode())
    )
    kept: set[int] = set()
    duplicates: set[int] = set()
    order = involved.sort("at_us", "path", "sheet", "row_no", "rank")
    for rank in order["rank"].to_list():
        holders = [f for f in earlier.get(rank, []) if f in kept]
        if not holders:
            kept.add(rank)
            continue
        duplicates.add(rank)
        if invalidate_all:
            kept.add(rank)
            duplicates.update(holders)
    row_id = dict(zip(order["rank"].to_list(), order["row_id"].to_list(), strict=True))
    return {row_id[rank] for rank in duplicates}


def _keyed_pairs(frame: pl.DataFrame, same_channel: bool) -> pl.DataFrame:
    """`first`, `second` (ranks) of the pairs of large groups, one report at a time."""
    keyed = _Keys(frame, same_channel, ("at_us", "rank"))
    # key -> channel -> reports that emitted it: (protection end, rank)
    index: dict[int, dict[str, list[tuple[int, int]]]] = {}
    firsts: list[int] = []
    seconds: list[int] = []
    for at, rank, channel, cls in zip(keyed.at, keyed.rank, keyed.channel, keyed.cls, strict=True):
        met: set[int] = set()
        for key in keyed.probe[cls]:
            by_channel = index.get(key)
            if not by_channel:
                continue
            for other in list(by_channel):
                if (other == channel) != same_channel:
                    continue
                # Reports in time order: one that no longer protects never will again.
                alive = [member for member in by_channel[other] if at < member[0]]
                if alive:
                    by_channel[other] = alive
                    met.update(first for _, first in alive)
                else:
                    del by_channel[other]
        firsts.extend(met)
        seconds.extend([rank] * len(met))
        for key in keyed.emit[cls]:
            index.setdefault(key, {}).setdefault(channel, []).append((keyed.until_of[rank], rank))
    return pl.DataFrame(
        {"first": firsts, "second": seconds}, schema={"first": pl.Int64, "second": pl.Int64}
    )


def _keyed_duplicates(frame: pl.DataFrame, invalidate_all: bool) -> set[str]:
    """Self-duplicates of large groups, in submission order, without their pairs."""
    keyed = _Keys(frame, True, ("at_us", "path", "sheet", "row_no", "rank"))
    kept: dict[int, list[tuple[int, int, int]]] = {}  # key -> heap of (at, rank, until)
    # invalidate_all: kept reports of a key not yet duplicates, (at, rank, until)
    unmarked: dict[int, list[tuple[int, int, int]]] = {}
    duplicates: set[int] = set()
    for at, rank, cls in zip(keyed.at, keyed.rank, keyed.cls, strict=True):
        mine = (at, rank)
        held = False
        for key in keyed.probe[cls]:
            heap = kept.get(key)
            while heap and heap[0][2] <= at:
                heapq.heappop(heap)  # no longer protects, nor will it for later reports
            if heap and heap[0][:2] < mine:
                held = True
                break
        if held and not invalidate_all:
            duplicates.add(rank)
            continue
        entry = (at, rank, keyed.until_of[rank])
        for key in keyed.emit[cls]:
            heapq.heappush(kept.setdefault(key, []), entry)
        if not invalidate_all:
            continue
        if not held:
            for key in keyed.emit[cls]:
                unmarked.setdefault(key, []).append(entry)
            continue
        duplicates.add(rank)
        for key in keyed.probe[cls]:
            waiting = unmarked.get(key)
            if not waiting:
                continue
            rest = []
            for member in waiting:
                if member[1] in duplicates or member[2] <= at:
                    continue  # marked through another key, or protects no more
                if member[:2] < mine:
                    duplicates.add(member[1])
                else:
                    rest.append(member)  # the same 报备时间, later in `reports`
            unmarked[key] = rest
    return {keyed.row_id_of[rank] for rank in duplicates}


class _Keys:
    """Reports of large groups in `order` (lists of `at`, `rank`, `channel` and class),
    and for each class of report (group, pattern, name cell) the keys it `emit`s and
    `probe`s: two reports of a group are compatible (`compatible_expr`) with agreeing
    names (`agree_series`) exactly when a key one emits is a key the other probes. So
    no pair is ever compared.

    - Numbers: `M` ranges over the sets of hidden positions of the group's patterns. A
      pattern emits, for each M, (M, itself with M hidden too) and probes (its own
      hidden set, itself with M hidden too). Two patterns meet exactly on (the second's
      hidden set, both with the union of both hidden sets hidden), that is when every
      position that both show agrees. Positions 0–10 count, as in `compatible_expr`
      (a missing character is a character of its own).
    - Names (`names_agree`): a cell without surname emits and probes `ALL` and `ANY`;
      any other emits `ALL` and probes `ANY`, and each of its people with surname S
      emits `S` and `S:given` (`S:?` without a given name) and probes `S:given` and
      `S:?` (just `S` without a given name).
    """

    def __init__(self, frame: pl.DataFrame, same_channel: bool, order: tuple[str, ...]):
        group = ["bucket", "channel"] if same_channel else ["bucket"]
        described = [*group, "phone_pattern", "customer_name"]
        classes = frame.select(described).unique(maintain_order=True).with_row_index("cls")
        frame = frame.sort(order).join(
            classes, on=described, how="left", nulls_equal=True, maintain_order="left"
        )
        self.at: list[int] = frame["at_us"].to_list()
        self.rank: list[int] = frame["rank"].to_list()
        self.channel: list[str] = frame["channel"].to_list()
        self.cls: list[int] = frame["cls"].to_list()
        self.until_of = dict(zip(self.rank, frame["until_us"].to_list(), strict=True))
        self.row_id_of = dict(zip(self.rank, frame["row_id"].to_list(), strict=True))
        self.emit: list[tuple[int, ...]] = []
        self.probe: list[tuple[int, ...]] = []
        self._classes(classes, group)

    def _classes(self, classes: pl.DataFrame, group: list[str]) -> None:
        groups = classes.select(pl.struct(group).rank("dense").alias("group"))["group"]
        rows = list(zip(groups, classes["phone_pattern"], classes["customer_name"], strict=True))
        hidden: dict[int, dict[int, None]] = {}  # group -> hidden sets of its patterns
        for g, pattern, _ in rows:
            hidden.setdefault(g, {})[_stars(pattern)] = None
        numbers: dict[tuple, int] = {}  # (group, hidden set, starred pattern) -> number
        patterns: dict[tuple[int, str], tuple[tuple[int, ...], tuple[int, ...]]] = {}
        names: dict[str | None, tuple[tuple, tuple]] = {}
        people = _people_with_surname(classes["customer_name"])
        keys: dict[tuple, int] = {}
        for g, pattern, name in rows:
            numbered = patterns.get((g, pattern))
            if numbered is None:
                text = pattern[:PHONE_LENGTH].ljust(PHONE_LENGTH, "\x00")
                stars = _stars(pattern)
                emit = [(g, mask, _hide(text, stars | mask)) for mask in hidden[g]]
                probe = [(g, stars, _hide(text, stars | mask)) for mask in hidden[g]]
                numbered = patterns[(g, pattern)] = (
                    tuple(dict.fromkeys(numbers.setdefault(k, len(numbers)) for k in emit)),
                    tuple(dict.fromkeys(numbers.setdefault(k, len(numbers)) for k in probe)),
                )
            named = names.get(name)
            if named is None:
                named = names[name] = _name_keys(people.get(name, ()))
            for found, by_number, by_name in (
                (self.emit, numbered[0], named[0]),
                (self.probe, numbered[1], named[1]),
            ):
                found.append(
                    tuple(keys.setdefault((n, k), len(keys)) for n in by_number for k in by_name)
                )


def _stars(pattern: str) -> int:
    """The hidden positions (0–10) of a pattern, as bits."""
    return sum(1 << i for i, ch in enumerate(pattern[:PHONE_LENGTH]) if ch == "*")


def _hide(text: str, positions: int) -> str:
    return "".join("*" if positions >> i & 1 else ch for i, ch in enumerate(text))


def _name_keys(people: tuple[tuple[str, str | None], ...]) -> tuple[tuple, tuple]:
    """What a name cell emits and probes (see `_Keys`), from its (surname, given) people."""
    if not people:
        return ("ALL", "ANY"), ("ALL", "ANY")
    emit: list = ["ALL"]
    probe: list = ["ANY"]
    for surname, given in people:
        emit += [("S", surname), ("G", surname, given)]
        probe += [("G", surname, given), ("G", surname, None)] if given else [("S", surname)]
    return tuple(emit), tuple(probe)


def _people_with_surname(names: pl.Series) -> dict[str | None, tuple]:
    """Each distinct cell's people with a surname, as (surname, given or None), read as
    `parse_name` reads them (plain cells in polars, as `agree_series` does)."""
    distinct = names.drop_nulls().unique()
    found: dict[str | None, tuple] = {None: ()}
    parts = _plain_parts(distinct)
    for text, plain, surname, given in parts.select(
        "text", "plain", "surname", "given"
    ).iter_rows():
        if plain:
            found[text] = ((surname, given),) if surname is not None else ()
        else:
            found[text] = tuple(
                dict.fromkeys(
                    (p.surname, p.given) for p in parse_name(text).people if p.surname is not None
                )
            )
    return found
