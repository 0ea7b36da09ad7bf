"""Degenerate-input benchmark: the judge on many reports of one number (issue 12, item 2).

A careless export or a spamming agent can send a night thousands of reports of one
masked number. Nothing in the judge may grow faster than the rows: this measures
`reconcile.judge.judge` on such inputs, built in memory as `load()` returns them
(ingestion is not involved), each size in a fresh subprocess so that its peak memory
(ru_maxrss) is its own.

Shapes (`--shapes`):
  one_number   N reports of 158****8888: one channel, one agent, 张先生, a minute
               apart, plus one visit of 15800008888 two hours after the first
               (the night that passed 8 GiB at 100,000 rows);
  agency_file  a whole agency file whose every row carries 158****8888: one channel,
               12 agents, the names of many different customers (full, 先生/女士,
               traditional, blank), two report types, 08:00–22:00 over the days, 3%
               dates without a clock time; plus the visit;
  one_visitor  one visitor 15800008888 (张先生, a walk-in) matched by N masked
               reports (158****8888, 1580**08888, 15800008888) of 40 channels and N
               agents, names 张 + many given names, all in the 29 days before the
               visit: N candidates of one contest;
  one_instant  the same with one 报备时间 for every row (a filled-down column): every
               candidate ties with every other;
  crm_only     the reports of one_visitor about a customer known only from the CRM
               (张先生, 15800008888) with N/10 CRM rows of it over the later half of
               those days: every report is checked against the contacts before it (R06).

For each shape and size: judge time (best of `--repeat`), peak RSS of the process,
the judge's own share of it (its own peak, counted from the call, minus the RSS just
before it),
and the growth factors from the size before (×10 rows should be about ×10 time and
memory or less: linear). A size that does not finish within `--timeout` is reported
as not measured. Also a fingerprint
of the judgement (every report's status, codes and number, the episodes, suspected
pairs and fits), to compare two versions of the code on the same input.

    python benchmarks/degenerate.py [--sizes 1000,10000,100000,1000000] [--repeat 2]
                                    [--shapes one_number,agency_file,...]
                                    [--timeout 1200]
    python benchmarks/degenerate.py --profile one_number --rows 10000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

ZONE = "Asia/Shanghai"
TZ = ZoneInfo(ZONE)
PATTERN = "158****8888"
PHONE = "15800008888"
START = datetime(2026, 1, 1, 8, 0, tzinfo=TZ)  # the first report
RULES = "project: 退化输入\ntimezone: Asia/Shanghai\n"  # every default: no quota, keep_first
SHAPES = ("one_number", "agency_file", "one_visitor", "one_instant", "crm_only")
SIZES = (1_000, 10_000, 100_000, 1_000_000)
MOMENT = pl.Datetime("us", ZONE)


# --- inputs, as `load()` gives them -----------------------------------------------------


def _frame(kind: str, columns: dict) -> pl.DataFrame:
    """A frame of `kind` with the given columns; every other column of its schema null."""
    from reconcile.judge.inputs import empty_frame

    schema = dict(empty_frame(kind).schema)
    schema["at"] = schema["first_seen_at"] = MOMENT
    frame = pl.DataFrame(columns)
    return frame.select(
        pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype).alias(name)
        for name, dtype in schema.items()
    )


def _reports(
    n: int,
    at: pl.Series,
    *,
    channel: pl.Series | str,
    agent: pl.Series | str,
    name: pl.Series | str,
    pattern: pl.Series | str = PATTERN,
    report_type: pl.Series | None = None,
    time_known: pl.Series | None = None,
) -> pl.DataFrame:
    def series(value, dtype=pl.String) -> pl.Series:
        return (
            value if isinstance(value, pl.Series) else pl.repeat(value, n, dtype=dtype, eager=True)
        )

    frame = pl.DataFrame(
        {
            "row_id": pl.int_range(n, eager=True).cast(pl.String).str.zfill(8).str.head(8),
            "channel": series(channel),
            "agent": series(agent),
            "customer_name": series(name),
            "phone_pattern": series(pattern),
            "at": at,
            "time_known": time_known if time_known is not None else series(True, pl.Boolean),
        }
    ).with_columns(
        row_id="r" + pl.col("row_id"),
        report_type=report_type if report_type is not None else pl.lit(None, pl.String),
        phone=pl.when(~pl.col("phone_pattern").str.contains("*", literal=True)).then(
            "phone_pattern"
        ),
        path=pl.format("channels/{}/报备.xlsx", "channel"),
        sheet=pl.lit("报备"),
        first_run=pl.lit(1, pl.Int64),
    )
    from reconcile.normalise.names import name_series

    frame = frame.with_columns(surnames=name_series(frame["customer_name"])["surnames"])
    frame = frame.sort("path", "at", "row_id").with_columns(
        row_no=(pl.int_range(pl.len()).over("path") + 2).cast(pl.Int64),
        first_seen_at=pl.col("at").dt.truncate("1d") + pl.duration(days=1, seconds=-1),
    )
    frame = frame.with_columns(
        source=pl.col("path") + "#" + pl.col("sheet") + "!" + pl.col("row_no").cast(pl.String)
    )
    return _frame("report", frame.to_dict()).sort(
        "path", "sheet", "row_no", "phone_pattern", nulls_last=True
    )


def _visit(at: datetime, channel: str | None, name: str) -> pl.DataFrame:
    return _frame(
        "visit",
        {
            "row_id": ["v1"],
            "channel": [channel],
            "agent": ["带看人"] if channel else [None],
            "customer_name": [name],
            "surnames": [name[0]],
            "phone": [PHONE],
            "phone_pattern": [PHONE],
            "source": ["visits/来访.xlsx#来访!2"],
            "path": ["visits/来访.xlsx"],
            "sheet": ["来访"],
            "row_no": [2],
            "first_run": [1],
            "at": pl.Series([at], dtype=MOMENT),
            "first_seen_at": pl.Series([at], dtype=MOMENT),
            "time_known": [True],
        },
    )


def _minutes(offsets) -> pl.Series:
    """START plus each offset in minutes."""
    minutes = pl.Series("m", list(offsets), dtype=pl.Int64)
    return pl.select(pl.lit(START, MOMENT) + pl.duration(minutes=minutes)).to_series()


def _people(rng: random.Random, n: int) -> list[str | None]:
    """Names of `n` different customers, as agents write them."""
    from reconcile.ops.demo import GIVEN, SURNAMES, TRADITIONAL

    names: list[str | None] = []
    for _ in range(n):
        surname = rng.choice(SURNAMES)
        style = rng.random()
        if style < 0.6:
            given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
            names.append(surname + given)
        elif style < 0.9:
            names.append(surname + rng.choice(("先生", "女士")))
        elif style < 0.95:
            names.append(TRADITIONAL.get(surname, surname) + "先生")
        else:
            names.append(None)
    return names


def build(shape: str, n: int):
    """(`Inputs`, `Rules`) of one shape with `n` report rows."""
    from reconcile.config.rules import parse_rules
    from reconcile.judge.inputs import CONTACT_COLUMNS, Inputs
    from reconcile.ops.demo import GIVEN

    rng = random.Random(f"{shape}-{n}")
    visit_at = START + timedelta(hours=2)
    if shape == "one_number":
        reports = _reports(n, _minutes(range(n)), channel="链家", agent="王五", name="张先生")
        visits = _visit(visit_at, "链家", "张三")
    elif shape == "agency_file":
        days = max(1, n // 400)  # about 400 rows a day
        offsets, known = [], []
        for _ in range(n):
            day = rng.randrange(days) * 1440
            dated_only = rng.random() < 0.03
            offsets.append(day - 8 * 60 if dated_only else day + rng.randrange(14 * 60))
            known.append(not dated_only)
        reports = _reports(
            n,
            _minutes(offsets),
            channel="链家",
            agent=pl.Series([f"经纪人{rng.randrange(12):02d}" for _ in range(n)]),
            name=pl.Series(_people(rng, n), dtype=pl.String),
            report_type=pl.Series([rng.choice(("临报", "预报备")) for _ in range(n)]),
            time_known=pl.Series(known),
        )
        visit_at = START + timedelta(days=days // 2, hours=3)
        visits = _visit(visit_at, "链家", "张伟")
    elif shape in ("one_visitor", "one_instant", "crm_only"):
        if shape != "one_instant":
            visit_at = START + timedelta(days=29)
            offsets = sorted(rng.randrange(29 * 1440 - 60) for _ in range(n))
        else:
            visit_at = START + timedelta(days=1)
            offsets = [0] * n  # a filled-down 报备时间 column
        names = [
            "张先生" if rng.random() < 0.05 else "张" + rng.choice(GIVEN) + rng.choice(GIVEN)
            for _ in range(n)
        ]
        patterns = rng.choices((PATTERN, "1580**08888", PHONE), weights=(80, 15, 5), k=n)
        reports = _reports(
            n,
            _minutes(offsets),
            channel=pl.Series([f"渠道{rng.randrange(40):02d}" for _ in range(n)]),
            agent=pl.Series([f"经纪人{i}" for i in range(n)]),
            name=pl.Series(names),
            pattern=pl.Series(patterns),
        )
        visits = _visit(visit_at, None, "张先生")  # a walk-in: every report competes
    else:
        raise ValueError(shape)
    crm = _frame("crm_customer", {"row_id": []})
    if shape == "crm_only":
        visits = visits.head(0)
        m = max(1, n // 10)
        offsets = [rng.randrange(14 * 1440, 29 * 1440) for _ in range(m)]  # the later half
        known = [rng.random() >= 0.03 for _ in range(m)]
        at = [o if k else o - o % 1440 - 8 * 60 for o, k in zip(offsets, known, strict=True)]
        crm = _frame(
            "crm_customer",
            {
                "row_id": [f"c{i}" for i in range(m)],
                "phone": [PHONE] * m,
                "customer_name": ["张先生"] * m,
                "at": _minutes(at),
                "time_known": known,
                "path": ["crm/明源.xlsx"] * m,
                "sheet": ["客户"] * m,
                "row_no": list(range(2, m + 2)),
                "source": [f"crm/明源.xlsx#客户!{i}" for i in range(2, m + 2)],
            },
        )
    last = max(reports["at"].max(), visit_at if visits.height else START)
    as_of = last.astimezone(TZ).date()
    inputs = Inputs(
        as_of=as_of,
        as_of_end=datetime.combine(as_of, datetime.max.time(), TZ).replace(microsecond=0),
        first_run=1,
        reports=reports,
        report_errors=_no_errors(),
        visits=visits,
        crm=crm.select(*CONTACT_COLUMNS, kind=pl.lit("crm")),
        deals=_frame("deal", {"row_id": []}),
        rulings=_frame("ruling", {"row_id": []}),
    )
    return inputs, parse_rules(RULES)


def _no_errors() -> pl.DataFrame:
    text = ("row_id", "channel", "agent", "customer_name", "report_type", "reason", "source",
            "path", "sheet")  # fmt: skip
    return pl.DataFrame(
        schema={**dict.fromkeys(text, pl.String), "reported_at": MOMENT, "row_no": pl.Int64}
    )


def fingerprint(judgement) -> tuple[str, dict]:
    """A hash of everything the judgement says, and its counts (codes and flags as text)."""
    from reconcile.publish.contract import flag_texts

    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    for r in sorted(judgement.reports, key=lambda r: r.row_id):
        digest.update(f"{r.row_id}|{r.status}|{';'.join(r.codes)}|{r.phone}\n".encode())
        counts[r.status] = counts.get(r.status, 0) + 1
    for e in judgement.episodes:
        codes = [str(code) for code in e.codes]
        digest.update(
            f"{e.phone}|{e.owner_type}|{e.first_visit_at}|{e.until}|{e.channels}|"
            f"{e.report.row_id if e.report else ''}|{codes}|{flag_texts(e.flags)}|"
            f"{sorted(r.row_id for r in e.contested)}\n".encode()
        )
    pairs = sorted((a.row_id, b.row_id) for a, b in judgement.suspected)
    digest.update(json.dumps(pairs).encode())
    digest.update(json.dumps(sorted(judgement.fits.items())).encode())
    counts["episodes"] = len(judgement.episodes)
    counts["suspected"] = len(pairs)
    counts["fits"] = sum(len(v) for v in judgement.fits.values())
    return digest.hexdigest()[:16], counts


# --- measurement (each in a fresh process) ------------------------------------------------


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak() -> int:
    """The process's peak RSS since it started, or since `_restart_peak`."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _restart_peak() -> None:
    """From now on, `_peak` is the peak of what follows (Linux: `clear_refs` 5): the
    judge's own, not building its inputs'. Where it cannot be reset, it stays the
    process's, which can only overstate the judge's."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def child(shape: str, n: int) -> None:
    from reconcile.judge import judge

    inputs, rules = build(shape, n)
    built = _peak()
    _restart_peak()
    base = _rss()
    start = time.perf_counter()
    judgement = judge(inputs, rules)
    seconds = time.perf_counter() - start
    judged = _peak()
    key, counts = fingerprint(judgement)
    found = {"seconds": seconds, "peak": max(built, judged), "judge_peak": judged, "base": base}
    print(json.dumps({**found, "hash": key, "counts": counts}))


def _measure(shape: str, n: int, timeout: float) -> dict | None:
    command = [sys.executable, __file__, "--child", shape, "--rows", str(n)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if result.returncode:
        return {"failed": result.stderr.strip().splitlines()[-1:] or [f"exit {result.returncode}"]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def profile(shape: str, n: int) -> None:
    import cProfile
    import pstats

    from reconcile.judge import judge

    inputs, rules = build(shape, n)
    profiler = cProfile.Profile()
    profiler.enable()
    judge(inputs, rules)
    profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("cumulative").print_stats(30)


def _factor(now: dict | None, before: dict | None, key: str) -> str:
    if not now or not before or "failed" in now or "failed" in before:
        return ""
    return f"×{now[key] / before[key]:.1f}" if before[key] else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per run")
    parser.add_argument("--profile", choices=SHAPES)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--child", choices=SHAPES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows)
        return
    if args.profile:
        profile(args.profile, args.rows)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"judge() on degenerate input; best of {args.repeat}, each run in a fresh process; "
        f"polars {pl.__version__}, {os.cpu_count()} CPUs"
    )
    print(
        f"{'shape':<12}{'rows':>10}{'time':>10}{'×time':>8}{'peak':>10}{'×peak':>7}"
        f"{'judge Δ':>10}{'×Δ':>7}  result"
    )
    for shape in args.shapes.split(","):
        before: dict | None = None
        for n in sizes:
            runs = [_measure(shape, n, args.timeout) for _ in range(args.repeat)]
            done = [r for r in runs if r and "failed" not in r]
            if not done:
                why = next((r["failed"] for r in runs if r), None) or f"> {args.timeout:.0f} s"
                print(f"{shape:<12}{n:>10,}  not measured: {why}")
                before = None
                continue
            best = min(done, key=lambda r: r["seconds"])
            best["delta"] = max(best["judge_peak"] - best["base"], 1)
            counts = ", ".join(f"{k} {v:,}" for k, v in sorted(best["counts"].items()))
            print(
                f"{shape:<12}{n:>10,}{best['seconds']:>9.2f}s{_factor(best, before, 'seconds'):>8}"
                f"{best['peak'] / 2**20:>7.0f}MiB{_factor(best, before, 'peak'):>7}"
                f"{best['delta'] / 2**20:>7.0f}MiB{_factor(best, before, 'delta'):>7}"
                f"  {best['hash']} {counts}",
                flush=True,
            )
            before = best
    print(
        "\ntime: judge() alone; peak: the process's peak RSS (Python, polars and the inputs "
        "included);\njudge Δ: the judge's own peak minus RSS just before the call; × columns: "
        "growth from the previous size (10× rows with the default sizes)."
    )


if __name__ == "__main__":
    main()
