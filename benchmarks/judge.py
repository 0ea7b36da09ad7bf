"""Judge benchmark: link + judge on synthetic data, against the same join in DuckDB.

Generates 1,000,000 reports, 300,000 visits, 1,000,000 CRM customers and 50,000
deals over 50 projects (cached as Parquet under benchmarks/.cache), then measures,
each in a fresh subprocess so peak memory is its own:
  (a) `reconcile.link.link`: the admitted reports against the customers (visitors,
      buyers, ruled numbers and every CRM customer, as `link.customers` gives them),
  (b) DuckDB: the same masked-bucket join (bucket = first 3 + last 4 digits, then
      every visible digit; `in_time` = first_at < until; CRM-only customers first
      seen after the report's protection dropped) over the same frames; it does not
      check names, which `link` does with polars and, for odd cells, in Python,
  (c) `reconcile.judge.judge`: admission → link → timelines → rulings → deals.
Ingestion and `load()` are bypassed: the frames have the schema `load()` returns.

Layouts (`--layout`):
  project  (default) one workspace is one project, as the product runs: 50 judges of
           1/50 of the data, one after another in one process; times are summed,
           memory is the process peak;
  single   one judge over everything (a stress test: one project 50 times as big).

    python benchmarks/judge.py [--layout project|single|both] [--repeat 3] [--scale 1]
                               [--tasks link,duckdb,judge]
    python benchmarks/judge.py --profile single     # cProfile of judge(), top functions
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

CACHE = Path(__file__).resolve().parent / ".cache"
DATA_VERSION = 3  # bump when the generator changes: the cache key includes it
SEED = 20261130
PROJECTS = 50
TOTALS = {"reports": 1_000_000, "visits": 300_000, "crm": 1_000_000, "deals": 50_000}
KINDS = ("reports", "report_errors", "visits", "crm", "deals", "rulings")

ZONE = "Asia/Shanghai"
AS_OF = date(2026, 11, 30)
WORKSPACE_START = date(2026, 7, 15)  # the workspace's first nightly run (run 1)
REPORTS_FROM = date(2026, 8, 1)  # reports about people who never visit
VISITS_FROM = date(2026, 9, 1)
CRM_FROM = date(2025, 6, 1)

RULES = """\
project: 基准项目
timezone: Asia/Shanghai
report:
  hours: {start: "08:00", end: "22:00"}
  lead_time: 30m
  validity: 30d
  max_delay: 3d
  quota: {per: agent, limit: 30}
existing_customer:
  released_after: 14d
visit:
  protection: 30d
  renewal: {window: 7d, extend: 30d}
conflict:
  order: [first_visit, first_report]
  appeal_window: 72h
commission:
  default: {rate: 0.01}
  channels:
    自有渠道: {fixed: 3000}
"""

CHANNELS = (
    ("链家", 0.24),
    ("贝壳", 0.15),
    ("我爱我家", 0.13),
    ("房多多", 0.10),
    ("中原地产", 0.08),
    ("21世纪不动产", 0.07),
    ("麦田房产", 0.06),
    ("太平洋房屋", 0.06),
    ("居理新房", 0.06),
    ("自有渠道", 0.05),
)
AGENTS_PER_CHANNEL = 12
# 1[3-9]x, weighted by how common each second digit is among Chinese mobiles.
SECOND_DIGIT = {3: 0.30, 4: 0.02, 5: 0.22, 6: 0.03, 7: 0.10, 8: 0.25, 9: 0.08}

US = 1_000_000
MINUTE = 60 * US
HOUR = 60 * MINUTE
DAY = 24 * HOUR
UTC_OFFSET = 8 * HOUR  # Asia/Shanghai has no daylight saving time
AS_OF_END = (AS_OF - date(1970, 1, 1)).days * DAY - UTC_OFFSET + DAY - US  # 23:59:59


# --- synthetic data ---------------------------------------------------------------------


def _midnight(day: date) -> int:
    """Local midnight of `day` as microseconds since the Unix epoch."""
    return (day - date(1970, 1, 1)).days * DAY - UTC_OFFSET


def _day_index(at_us):
    """Local calendar day as days since the Unix epoch (numpy array in, array out)."""
    return (at_us + UTC_OFFSET) // DAY


def _datetimes(at_us) -> pl.Series:
    return (
        pl.Series(at_us, dtype=pl.Int64)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(ZONE)
    )


def _where(present, values) -> pl.Series:
    """`values` where `present`, else null (a String series)."""
    values = pl.Series(values, dtype=pl.String)
    return pl.select(pl.when(pl.Series(present)).then(values)).to_series()


def _ids(rng, n: int) -> pl.Series:
    """Row ids as the ledger writes them: 20 hex digits."""
    high = rng.integers(0, 2**63, size=n, dtype="int64")
    low = rng.integers(0, 2**16, size=n, dtype="int64")
    return pl.Series([f"{a:016x}{b:04x}" for a, b in zip(high.tolist(), low.tolist(), strict=True)])


def _phones(rng, n: int):
    """`n` distinct 11-digit mobiles 1[3-9]x (int64), in random order."""
    import numpy as np

    prefixes = np.array([100 + 10 * d + u for d in SECOND_DIGIT for u in range(10)])
    weights = np.repeat([w / 10 for w in SECOND_DIGIT.values()], 10)
    weights = weights / weights.sum()
    found = np.empty(0, dtype=np.int64)
    while found.size < n:
        more = rng.choice(prefixes, size=n, p=weights) * 10**8 + rng.integers(0, 10**8, size=n)
        found = np.unique(np.concatenate([found, more]))
    return rng.permutation(found)[:n]


def _people(rng, n: int) -> pl.DataFrame:
    """`n` people: phone, surname, full name, polite name (张先生), traditional polite."""
    import numpy as np

    from reconcile.ops.demo import COMPOUND, GIVEN, SURNAMES, TRADITIONAL

    common = list(SURNAMES)
    zipf = 1 / (np.arange(len(common)) + 4)
    surname = np.where(
        rng.random(n) < 0.03,
        np.array(COMPOUND)[rng.integers(0, len(COMPOUND), n)],
        np.array(common)[rng.choice(len(common), size=n, p=zipf / zipf.sum())],
    )
    given = np.array(list(GIVEN))
    first = given[rng.integers(0, len(given), n)]
    second = np.where(rng.random(n) < 0.7, given[rng.integers(0, len(given), n)], "")
    honorific = np.where(rng.random(n) < 0.5, "先生", "女士")
    frame = pl.DataFrame(
        {
            "phone": pl.Series(_phones(rng, n)).cast(pl.String),
            "surname": surname,
            "given": pl.Series(first) + pl.Series(second),
            "honorific": honorific,
        }
    )
    return frame.with_columns(
        full=pl.col("surname") + pl.col("given"),
        polite=pl.col("surname") + pl.col("honorific"),
        traditional=pl.col("surname").replace(TRADITIONAL) + pl.col("honorific"),
    )


def _stamp(frame: pl.DataFrame, at_us, seen_delay_days=None) -> pl.DataFrame:
    """`at`, `first_seen_at` (end of the night that first read the row) and `first_run`."""
    import numpy as np

    at_us = np.minimum(at_us, AS_OF_END)  # `load()` gives nothing dated after the night
    day = _day_index(at_us)
    seen = day + (0 if seen_delay_days is None else seen_delay_days)
    seen = np.minimum(seen, _day_index(np.int64(_midnight(AS_OF))))
    start = _day_index(np.int64(_midnight(WORKSPACE_START)))
    seen = np.maximum(seen, start)
    return frame.with_columns(
        at=_datetimes(at_us),
        first_seen_at=_datetimes(seen * DAY - UTC_OFFSET + DAY - US),
        first_run=pl.Series(seen - start + 1, dtype=pl.Int64),
    )


def _numbered(frame: pl.DataFrame, sheet: str) -> pl.DataFrame:
    """Row numbers in submission order within each file, and `source`."""
    return (
        frame.with_columns(sheet=pl.lit(sheet))
        .sort("path", "at", "row_id")
        .with_columns(row_no=(pl.int_range(pl.len()).over("path") + 2).cast(pl.Int64))
        .with_columns(
            source=pl.col("path") + "#" + pl.col("sheet") + "!" + pl.col("row_no").cast(pl.String),
        )
    )


def _month_path(template: str) -> pl.Expr:
    return pl.format(template, pl.col("at").dt.strftime("%Y-%m"))


REPORT_COLUMNS = (
    "row_id", "channel", "agent", "customer_name", "surnames", "phone", "phone_pattern",
    "report_type", "source", "path", "sheet", "row_no", "first_run", "at", "first_seen_at",
)  # fmt: skip


def generate_project(p: int, counts: dict[str, int]) -> dict[str, pl.DataFrame]:
    """One project's inputs, shaped like `reconcile.judge.inputs.load()` returns them."""
    import numpy as np

    rng = np.random.default_rng([SEED, DATA_VERSION, p])
    tag = f"P{p:02d}"
    names = np.array([name for name, _ in CHANNELS])
    weights = np.array([w for _, w in CHANNELS])
    weights = weights / weights.sum()
    agent_people = _people(rng, len(CHANNELS) * AGENTS_PER_CHANNEL)["full"].to_numpy()
    agents = agent_people.reshape(len(CHANNELS), AGENTS_PER_CHANNEL)
    end = AS_OF_END

    def agent_of(channel):
        return agents[channel, rng.integers(0, AGENTS_PER_CHANNEL, channel.size)]

    # Visitors: most visit once; some come back; a few come with a second agency.
    n_visits = counts["visits"]
    n_visitors = round(n_visits * 0.92)
    visitors = _people(rng, n_visitors)
    visit_days = (AS_OF - VISITS_FROM).days + 1
    first_at = (
        _midnight(VISITS_FROM)
        + rng.integers(0, visit_days, n_visitors) * DAY
        + 9 * HOUR
        + rng.integers(0, 11 * 60, n_visitors) * MINUTE
    )
    reported = rng.random(n_visitors) < 0.70
    n_channels = np.where(
        reported, rng.choice([1, 2, 3, 4], n_visitors, p=[0.65, 0.25, 0.07, 0.03]), 0
    )
    # Distinct channels per visitor, weighted (Gumbel top-k).
    keys = np.log(weights) + rng.gumbel(size=(n_visitors, len(CHANNELS)))
    ranked = np.argsort(-keys, axis=1)[:, :4]
    chosen = np.arange(4) < n_channels[:, None]
    report_person = np.repeat(np.arange(n_visitors), n_channels)
    report_channel = ranked[chosen]

    # The first visit's bringer: mostly the first reporter, sometimes another reporter,
    # a walk-in, or an agency that never reported.
    draw = rng.random(n_visitors)
    other_reporter = ranked[np.arange(n_visitors), rng.integers(0, np.maximum(n_channels, 1))]
    random_channel = rng.choice(len(CHANNELS), n_visitors, p=weights)
    bringer = np.where(
        reported,
        np.select(
            [draw < 0.72, draw < 0.80, draw < 0.92],
            [ranked[:, 0], other_reporter, -1],
            random_channel,
        ),
        np.where(draw < 0.70, -1, random_channel),
    )
    # Revisits (8% of visit rows); a tenth of them are a second agency within minutes.
    n_revisits = n_visits - n_visitors
    again = rng.integers(0, n_visitors, n_revisits)
    together = rng.random(n_revisits) < 0.10
    left = np.maximum((end - first_at[again]) // DAY, 1)
    later = (
        first_at[again]
        - (first_at[again] + UTC_OFFSET) % DAY
        + (1 + rng.integers(0, left)) * DAY
        + 9 * HOUR
        + rng.integers(0, 11 * 60, n_revisits) * MINUTE
    )
    revisit_at = np.where(
        together, first_at[again] + rng.integers(1, 20, n_revisits) * MINUTE, np.minimum(later, end)
    )
    revisit_by = np.where(
        together,
        random_channel[again],
        np.where(rng.random(n_revisits) < 0.7, bringer[again], -1),
    )
    visit_person = np.concatenate([np.arange(n_visitors), again])
    visit_at = np.concatenate([first_at, revisit_at])
    visit_by = np.concatenate([bringer, revisit_by])
    households = rng.random(n_visits) < 0.02
    relative = np.where(households, rng.integers(0, n_visitors, n_visits), -1)
    vp = visitors[visit_person]
    brought = visit_by >= 0
    visits = _stamp(
        pl.DataFrame(
            {
                "row_id": _ids(rng, n_visits),
                "channel": _where(brought, names[np.maximum(visit_by, 0)]),
                "agent": _where(brought, agent_of(np.maximum(visit_by, 0))),
                "customer_name": np.where(rng.random(n_visits) < 0.85, vp["full"], vp["polite"]),
                "surnames": vp["surname"],
                "phone": vp["phone"],
                "relative_phone": _where(relative >= 0, visitors["phone"].to_numpy()[relative]),
                "time_known": np.ones(n_visits, dtype=bool),
            }
        ).with_columns(phone_pattern=pl.col("phone"), report_type=pl.lit(None, pl.String)),
        visit_at,
    )
    visits = _numbered(
        visits.with_columns(path=_month_path(f"visits/{tag}_来访登记表_{{}}.xlsx")), "来访登记"
    ).select(*REPORT_COLUMNS, "relative_phone", "time_known")

    # Reports about visitors (about 30% of all reports): lead times of hours to weeks,
    # some too late (< 30 min, after the visit) and some expired before the visit.
    n_linked = report_person.size
    f_at = first_at[report_person]
    f_midnight = f_at - (f_at + UTC_OFFSET) % DAY
    f_clock = (f_at + UTC_OFFSET) % DAY
    kind = rng.choice(4, n_linked, p=[0.84, 0.05, 0.05, 0.06])
    lag = np.where(kind == 2, rng.integers(31, 46, n_linked), rng.integers(0, 26, n_linked))
    clock = np.where(
        lag == 0,
        8 * HOUR + (rng.random(n_linked) * (f_clock - 9 * HOUR)).astype(np.int64),
        8 * HOUR + (rng.random(n_linked) * 14 * HOUR).astype(np.int64),
    )
    linked_at = f_midnight - lag * DAY + clock // MINUTE * MINUTE
    linked_at = np.select(
        [kind == 1, kind == 3],
        [
            f_at - rng.integers(1, 30, n_linked) * MINUTE,
            f_at + rng.integers(60, 10 * 24 * 60, n_linked) * MINUTE,
        ],
        linked_at,
    )
    linked_at = np.where(linked_at > end, f_at - 2 * HOUR, linked_at)

    # Reports about people who never visit fill up the rest: mostly one agency each,
    # some reported by two or three (suspected collisions).
    n_other = counts["reports"] - n_linked
    n_prospects = n_other
    prospects = _people(rng, n_prospects)
    per_prospect = rng.choice([1, 2, 3], n_prospects, p=[0.90, 0.08, 0.02])
    keys = np.log(weights) + rng.gumbel(size=(n_prospects, len(CHANNELS)))
    ranked_p = np.argsort(-keys, axis=1)[:, :3]
    chosen_p = np.arange(3) < per_prospect[:, None]
    other_person = np.repeat(np.arange(n_prospects), per_prospect)[:n_other]
    other_channel = ranked_p[chosen_p][:n_other]
    report_days = (AS_OF - REPORTS_FROM).days + 1
    other_at = (
        _midnight(REPORTS_FROM)
        + rng.integers(0, report_days, n_other) * DAY
        + 8 * HOUR
        + rng.integers(0, 14 * 60, n_other) * MINUTE
    )

    crowd = pl.concat([visitors, prospects])
    person = np.concatenate([report_person, n_visitors + other_person])
    channel = np.concatenate([report_channel, other_channel])
    at = np.concatenate([linked_at, other_at])
    # The same agency reports the same customer again (3%): R05 while still protected.
    again = rng.choice(person.size, round(person.size * 0.03), replace=False)
    re_at = (
        at[again]
        + rng.integers(1, 21, again.size) * DAY
        + rng.integers(-90, 90, again.size) * MINUTE
    )
    person = np.concatenate([person, person[again]])
    channel = np.concatenate([channel, channel[again]])
    agent = agent_of(channel)
    agent[-again.size :] = agent[again]
    at = np.concatenate([at, np.minimum(re_at, end)])
    keep = rng.permutation(person.size)[: counts["reports"]]
    person, channel, agent, at = person[keep], channel[keep], agent[keep], at[keep]
    n = person.size
    # Two agents paste 45 reports each on one day: 15 of them are over quota (R04).
    for bulk in range(2):
        rows = rng.choice(np.flatnonzero(person >= n_visitors), 45, replace=False)
        c = rng.integers(0, len(CHANNELS))
        channel[rows], agent[rows] = c, agents[c, bulk]
        day = _midnight(REPORTS_FROM) + rng.integers(0, report_days) * DAY
        at[rows] = day + 9 * HOUR + rng.integers(0, 8 * 60, 45) * MINUTE
    # Clock times outside 08:00–22:00 (R03) and dates written without a time.
    odd = rng.random(n)
    midnight = at - (at + UTC_OFFSET) % DAY
    at = np.select(
        [odd < 0.01, odd < 0.03],
        [midnight + 22 * HOUR + rng.integers(0, 120, n) * MINUTE, midnight],
        at,
    )
    time_known = (odd < 0.01) | (odd >= 0.03)
    seen_delay = np.where(rng.random(n) < 0.04, rng.integers(1, 7, n), 0)

    rp = crowd[person]
    name_style = rng.choice(5, n, p=[0.65, 0.28, 0.02, 0.03, 0.02])
    other_surname = crowd["surname"].to_numpy()[rng.integers(0, crowd.height, n)]
    mask_style = rng.choice(5, n, p=[0.88, 0.05, 0.04, 0.02, 0.01])
    reports = pl.DataFrame(
        {
            "row_id": _ids(rng, n),
            "channel": names[channel],
            "agent": agent,
            "number": rp["phone"],
            "surname": rp["surname"],
            "full": rp["full"],
            "polite": rp["polite"],
            "traditional": rp["traditional"],
            "honorific": rp["honorific"],
            "other": other_surname,
            "name_style": name_style,
            "mask_style": mask_style,
            "report_type": _where(
                rng.random(n) >= 0.1, rng.choice(["临报", "预报备"], n, p=[0.6, 0.4])
            ),
            "time_known": time_known,
        }
    )
    number = pl.col("number")
    reports = reports.with_columns(
        customer_name=pl.when(pl.col("name_style") == 0)
        .then("polite")
        .when(pl.col("name_style") == 1)
        .then("full")
        .when(pl.col("name_style") == 2)
        .then("traditional")
        .when(pl.col("name_style") == 3)
        .then(pl.col("other") + pl.col("honorific"))
        .otherwise("honorific"),
        surnames=pl.when(pl.col("name_style") <= 2)
        .then("surname")
        .when(pl.col("name_style") == 3)
        .then("other")
        .otherwise(None),
        phone_pattern=pl.when(pl.col("mask_style") == 0)
        .then(number.str.slice(0, 3) + "****" + number.str.slice(7))
        .when(pl.col("mask_style") == 1)
        .then(number)
        .when(pl.col("mask_style") == 2)
        .then(number.str.slice(0, 4) + "**" + number.str.slice(6))
        .when(pl.col("mask_style") == 3)
        .then(number.str.slice(0, 2) + "*****" + number.str.slice(7))  # R02
        .otherwise(number.str.slice(0, 3) + "*****" + number.str.slice(8)),  # R02
        phone=pl.when(pl.col("mask_style") == 1).then(number),
        expected_visit_at=pl.lit(None, pl.String),
    )
    reports = _stamp(reports, at, seen_delay)
    reports = _numbered(
        reports.with_columns(
            path=pl.format(
                "channels/{}/{}_{}报备_{}.xlsx",
                "channel",
                pl.lit(tag),
                "channel",
                pl.col("at").dt.strftime("%Y-%m"),
            )
        ),
        "报备明细",
    ).select(*REPORT_COLUMNS, "time_known", "expected_visit_at")

    # Report rows whose phone cell could not be used (R02 from the row-error list).
    n_errors = max(1, n // 200)
    errors = reports.sample(n_errors, seed=p).select(
        row_id=_ids(rng, n_errors),
        channel="channel",
        agent="agent",
        customer_name="customer_name",
        reported_at="at",
        report_type="report_type",
        reason=pl.lit("号码被Excel科学计数法截断（1.38123E+10），有效数字已丢失"),
        source=pl.col("source") + "e",
        path="path",
        sheet="sheet",
        row_no=pl.col("row_no") + 1_000_000,
    )

    # CRM: 20% are visitors (most registered at their visit, some known for weeks before
    # an agency reported them), the rest are other people.
    n_crm = counts["crm"]
    n_known = min(round(n_crm * 0.20), n_visitors)
    known = rng.choice(n_visitors, n_known, replace=False)
    earlier = rng.random(n_known) < 0.15
    known_at = np.where(
        earlier,
        first_at[known] - rng.integers(1, 40, n_known) * DAY,
        first_at[known] + rng.integers(0, 180, n_known) * MINUTE,
    )
    strangers = _people(rng, n_crm - n_known)
    crm_days = (AS_OF - CRM_FROM).days + 1
    stranger_at = (
        _midnight(CRM_FROM)
        + rng.integers(0, crm_days, strangers.height) * DAY
        + 9 * HOUR
        + rng.integers(0, 10 * 60, strangers.height) * MINUTE
    )
    crm_people = pl.concat([visitors[known], strangers])
    crm = pl.DataFrame(
        {
            "row_id": _ids(rng, n_crm),
            "phone": crm_people["phone"],
            "customer_name": crm_people["full"],
            "at": _datetimes(np.minimum(np.concatenate([known_at, stranger_at]), end)),
            "path": f"crm/{tag}_明源导出_2026-11-30.xlsx",
        }
    )
    crm = _numbered(crm, "客户").select(
        "row_id",
        "phone",
        "customer_name",
        "at",
        "source",
        "path",
        "sheet",
        "row_no",
        kind=pl.lit("crm"),
    )

    # Deals: visitors who bought, a few weeks after their first visit.
    n_deals = counts["deals"]
    buyers = rng.choice(n_visitors, n_deals, replace=False)
    deal_at = np.minimum(
        first_at[buyers]
        + rng.integers(1, 45, n_deals) * DAY
        + rng.integers(-120, 120, n_deals) * MINUTE,
        end - HOUR,
    )
    deal_at = np.maximum(deal_at, first_at[buyers])
    stage = rng.choice(3, n_deals, p=[0.40, 0.55, 0.05])
    signed = np.minimum(deal_at + rng.integers(2, 11, n_deals) * DAY, end - HOUR)
    refunded = np.minimum(signed + rng.integers(3, 21, n_deals) * DAY, end - HOUR)

    def iso(at_us, present):
        return _where(present, _datetimes(at_us).dt.strftime("%Y-%m-%dT%H:%M:%S%:z"))

    bp = visitors[buyers]
    spouse = rng.random(n_deals) < 0.02
    spouse_of = rng.integers(0, n_visitors, n_deals)
    deals = _stamp(
        pl.DataFrame(
            {
                "row_id": _ids(rng, n_deals),
                "channel": pl.Series([None] * n_deals, dtype=pl.String),
                "agent": pl.Series([None] * n_deals, dtype=pl.String),
                "customer_name": bp["full"],
                "surnames": bp["surname"],
                "phone": bp["phone"],
                "deal_no": [f"{tag}-2026-{i:06d}" for i in range(n_deals)],
                "room": [f"{i % 30 + 1}-{i // 30 % 33 + 1}{i % 4 + 1:02d}" for i in range(n_deals)],
                "stage": np.array(["认购", "签约", "退房"])[stage],
                "amount": (rng.integers(1200, 6000, n_deals) * 1000).astype(np.float64),
                "subscribed_at": iso(deal_at, np.ones(n_deals, dtype=bool)),
                "signed_at": iso(signed, stage >= 1),
                "refunded_at": iso(refunded, stage == 2),
                "relative_phone": _where(spouse, visitors["phone"].to_numpy()[spouse_of]),
            }
        ).with_columns(
            phone_pattern=pl.col("phone"),
            report_type=pl.lit(None, pl.String),
            path=pl.lit(f"deals/{tag}_成交明细_2026-11.xlsx"),
        ),
        deal_at,
    )
    deals = _numbered(deals, "成交").select(
        *REPORT_COLUMNS,
        "deal_no", "room", "stage", "amount", "subscribed_at", "signed_at", "refunded_at",
        "relative_phone",
    )  # fmt: skip

    # Rulings: the admin settles a few contested customers (0.2% of visitors).
    contested = np.flatnonzero(n_channels >= 2)
    n_rulings = min(contested.size, max(1, round(n_visitors * 0.002)))
    ruled = rng.choice(contested, n_rulings, replace=False)
    split = rng.random(n_rulings) < 0.25
    owner = names[ranked[ruled, rng.integers(0, 2, n_rulings)]]
    shares = [
        json.dumps([[names[ranked[r, 0]], 0.5], [names[ranked[r, 1]], 0.5]], ensure_ascii=False)
        if s
        else None
        for r, s in zip(ruled.tolist(), split.tolist(), strict=True)
    ]
    rp = visitors[ruled]
    rulings = _stamp(
        pl.DataFrame(
            {
                "row_id": _ids(rng, n_rulings),
                "channel": owner,
                "agent": pl.Series([None] * n_rulings, dtype=pl.String),
                "customer_name": rp["full"],
                "surnames": rp["surname"],
                "phone": rp["phone"],
                "shares": pl.Series(shares, dtype=pl.String),
                "remark": pl.Series(["经核实，以到访登记为准"] * n_rulings),
            }
        ).with_columns(
            phone_pattern=pl.col("phone"),
            report_type=pl.lit(None, pl.String),
            path=pl.lit(f"rulings/{tag}_裁决_2026-11.xlsx"),
        ),
        np.minimum(first_at[ruled] + rng.integers(1, 8, n_rulings) * DAY, end - HOUR),
    )
    rulings = _numbered(rulings, "裁决").select(*REPORT_COLUMNS, "shares", "remark")

    frames = {
        "reports": reports,
        "report_errors": errors,
        "visits": visits,
        "crm": crm,
        "deals": deals,
        "rulings": rulings,
    }
    # Row order as `load()` gives it: file, sheet, row (the CRM frame is already in it).
    order = ["path", "sheet", "row_no"]
    return {
        kind: frame.sort(*order, "phone_pattern", nulls_last=True)
        if "phone_pattern" in frame.columns
        else frame.sort(*order)
        if "path" in frame.columns
        else frame
        for kind, frame in frames.items()
    }


def dataset(scale: float) -> Path:
    """The cached data set: one folder of Parquet files per project."""
    counts = {kind: round(total * scale / PROJECTS) for kind, total in TOTALS.items()}
    root = CACHE / f"judge_v{DATA_VERSION}_{SEED}_x{scale:g}"
    if (root / "done").exists():
        return root
    print(f"generating {root} …", flush=True)
    for p in range(PROJECTS):
        folder = root / f"p{p:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for kind, frame in generate_project(p, counts).items():
            frame.write_parquet(folder / f"{kind}.parquet")
    (root / "done").write_text(json.dumps(counts))
    return root


# --- measurement (runs in a fresh process) ----------------------------------------------


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _inputs(root: Path, layout: str):
    """Yield `Inputs` per project (`project`) or once for everything (`single`)."""
    from reconcile.judge.inputs import Inputs

    as_of_end = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 23, 59, 59, tzinfo=ZoneInfo(ZONE))
    folders = sorted(path for path in root.iterdir() if path.is_dir())
    groups = [[folder] for folder in folders] if layout == "project" else [folders]
    for group in groups:
        frames = {
            kind: pl.concat([pl.read_parquet(folder / f"{kind}.parquet") for folder in group])
            for kind in KINDS
        }
        yield Inputs(as_of=AS_OF, as_of_end=as_of_end, first_run=1, **frames)


def _link_inputs(inputs, rules):
    """What `judge()` hands to `link.link`: admitted reports without R02, and customers."""
    from reconcile.judge import link
    from reconcile.judge.admission import admit

    admitted = admit(inputs.reports, rules, inputs.first_run)
    linkable = admitted.filter(~pl.col("codes").list.contains("R02"))
    people = link.customers(inputs.visits, inputs.deals, inputs.rulings, inputs.crm)
    return linkable, people


_DIGITS = " AND ".join(
    f"(substr(r.phone_pattern, {i}, 1) = '*' OR substr(r.phone_pattern, {i}, 1) = "
    f"substr(c.phone, {i}, 1))"
    for i in range(1, 12)
)
DUCKDB_JOIN = f"""
SELECT row_id, phone, in_time, crm_only FROM (
  SELECT r.row_id, c.phone, c.crm_only,
         r.until IS NULL OR coalesce(c.first_at < r.until, c.crm_only) AS in_time
  FROM linkable r
  JOIN (SELECT phone, first_at, crm_only,
               substr(phone, 1, 3) || '|' || substr(phone, 8, 4) AS bucket
        FROM people) c USING (bucket)
  WHERE {_DIGITS}
)
WHERE in_time OR NOT crm_only
ORDER BY row_id, phone
"""


def child(task: str, layout: str, root: Path) -> None:
    from reconcile.config.rules import parse_rules
    from reconcile.judge import judge, link
    from reconcile.judge.admission import bucket_expr

    rules = parse_rules(RULES)
    if task == "duckdb":
        import duckdb

        con = duckdb.connect()
    seconds = 0.0
    rows = pairs = base = 0
    statuses: dict[str, int] = {}
    for inputs in _inputs(root, layout):
        if task == "judge":
            rows += inputs.reports.height
            base = max(base, _rss())
            start = time.perf_counter()
            judgement = judge(inputs, rules)
            seconds += time.perf_counter() - start
            pairs += sum(len(phones) for phones in judgement.fits.values())
            for report in judgement.reports:
                statuses[report.status] = statuses.get(report.status, 0) + 1
            statuses["episodes"] = statuses.get("episodes", 0) + len(judgement.episodes)
            statuses["deal lines"] = statuses.get("deal lines", 0) + len(judgement.deals)
            del judgement
            continue
        linkable, people = _link_inputs(inputs, rules)
        rows += linkable.height
        base = max(base, _rss())
        start = time.perf_counter()
        if task == "link":
            found = link.link(linkable, people, bucket_expr(rules, "phone", "phone"))
        else:
            con.register("linkable", linkable.select("row_id", "phone_pattern", "bucket", "until"))
            con.register("people", people.select("phone", "first_at", "crm_only"))
            found = con.sql(DUCKDB_JOIN).pl()
            con.unregister("linkable")
            con.unregister("people")
        seconds += time.perf_counter() - start
        pairs += found.height
        for name, n in (
            ("customers", people.height),
            ("CRM-only customers", int(people["crm_only"].sum())),
            ("CRM-only pairs", int(found["crm_only"].sum())),
        ):
            statuses[name] = statuses.get(name, 0) + n
    print(
        json.dumps(
            {
                "rows": rows,
                "pairs": pairs,
                "seconds": seconds,
                "base": base,
                "peak": _peak(),
                "statuses": statuses,
            }
        )
    )


def profile(layout: str, root: Path) -> None:
    import cProfile
    import pstats

    from reconcile.config.rules import parse_rules
    from reconcile.judge import judge

    rules = parse_rules(RULES)
    profiler = cProfile.Profile()
    for inputs in _inputs(root, layout):
        profiler.enable()
        judge(inputs, rules)
        profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


# --- driver ------------------------------------------------------------------------------


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _measure(task: str, layout: str, root: Path) -> dict:
    command = [sys.executable, __file__, "--child", task, "--layout", layout, "--data", str(root)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"{task} ({layout}) failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _line(label: str, run: dict) -> str:
    rate = run["rows"] / run["seconds"] if run["seconds"] else float("inf")
    return (
        f"{label:<34}{run['rows']:>11,} {run['seconds']:8.2f} s {rate:>12,.0f} rows/s "
        f"{run['peak'] / 2**20:8.0f} MiB {run['base'] / 2**20:9.0f} MiB {run['pairs']:>10,}"
    )


LABELS = {
    "link": "(a) link.link",
    "duckdb": "(b) DuckDB masked-bucket join",
    "judge": "(c) judge() (admission … deals)",
}


def _print_table(best: dict[str, dict]) -> None:
    print(
        f"{'':<34}{'rows':>11} {'time':>10} {'rate':>19} {'peak':>12} {'inputs':>13} {'pairs':>10}"
    )
    for task, label in LABELS.items():
        if task in best:
            print(_line(label, best[task]))
    if "link" in best and "duckdb" in best:
        ratio = best["link"]["seconds"] / best["duckdb"]["seconds"]
        print(f"ratio (a)/(b): {ratio:5.2f}×  (target ≤ 2×)")
    linked = best.get("link") or best.get("duckdb")
    if linked:
        counts = linked["statuses"]
        found = ", ".join(
            f"{'(a)' if task == 'link' else '(b)'} {best[task]['statuses']['CRM-only pairs']:,}"
            for task in ("link", "duckdb")
            if task in best
        )
        print(
            f"customers: {counts['customers']:,}, of them known only from the CRM "
            f"{counts['CRM-only customers']:,}; pairs with those: {found}"
        )
    if "judge" in best:
        judged = best["judge"]
        print(
            f"judge: {judged['seconds']:.1f} s, peak {judged['peak'] / 2**30:.2f} GiB  "
            "(target < 60 s, < 4 GiB)"
        )
        counts = sorted(judged["statuses"].items())
        print("judged: " + ", ".join(f"{name} {n:,}" for name, n in counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", choices=("project", "single", "both"), default="project")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size")
    parser.add_argument("--profile", choices=("project", "single"), help="cProfile judge()")
    parser.add_argument(
        "--tasks", default="link,duckdb,judge", help="comma-separated subset of link,duckdb,judge"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.layout, args.data)
        return

    root = dataset(args.scale)
    counts = json.loads((root / "done").read_text())
    if args.profile:
        profile(args.profile, root)
        return
    total = {kind: n * PROJECTS for kind, n in counts.items()}
    print(
        f"data: {total['reports']:,} reports, {total['visits']:,} visits, "
        f"{total['crm']:,} CRM customers, {total['deals']:,} deals over {PROJECTS} projects; "
        f"polars {pl.__version__}, duckdb {_version('duckdb')}, {os.cpu_count()} CPUs"
    )
    layouts = ("project", "single") if args.layout == "both" else (args.layout,)
    for layout in layouts:
        runs: dict[str, list[dict]] = {task: [] for task in args.tasks.split(",")}
        for _ in range(args.repeat):
            for task in runs:
                runs[task].append(_measure(task, layout, root))
        best = {task: min(found, key=lambda r: r["seconds"]) for task, found in runs.items()}
        if layout == "project":
            print(
                f"\nlayout project: {PROJECTS} workspaces of {counts['reports']:,} reports, "
                f"{counts['visits']:,} visits, {counts['crm']:,} CRM, {counts['deals']:,} deals, "
                "judged one after another (sum of times, process peak)"
            )
        else:
            print("\nlayout single: one judge over everything")
        _print_table(best)
    print(
        f"\nbest of {args.repeat} runs each; every run in a fresh process.\n"
        "rows: reports given to link (admitted, without R02) or to judge(); inputs: RSS just\n"
        "before the timed call (largest over the projects; for link and DuckDB after admission,\n"
        "which is not timed); pairs: (report, customer) pairs found (DuckDB: before names);\n"
        "customers: link.customers() over visits, deals, rulings and the CRM (not timed)."
    )


if __name__ == "__main__":
    main()
