"""Benchmark of the publish stage on one project of the judge benchmark's data.

One project of `benchmarks/judge.py` (at scale 1: 20,000 reports, 6,000 visits,
20,000 CRM customers and 1,000 deals over about four months) is judged, then each
publishing step is timed on that judgement: the integration contract's CSVs, the
digest (what the dispute report says), the HTML and text rendering, the settlement
workbook, the agency receipts and composing the two mails into an outbox. The report
compares with what the night before decided (`Before`), which a night keeps in the
ledger and the next one reads: keeping and reading it back is timed as one step. The
judge itself is timed first, for scale; it is not part of publishing.

    .venv-bench/bin/python benchmarks/publish.py [--scale 1] [--project 0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import judge as judge_bench  # noqa: E402  (the sibling benchmark's data set)

from reconcile.config.rules import parse_rules  # noqa: E402
from reconcile.judge import judge  # noqa: E402
from reconcile.publish.contract import write_contract  # noqa: E402
from reconcile.publish.digest import (  # noqa: E402
    Before,
    build_digest,
    file_news,
    money_by_channel,
)
from reconcile.publish.mail import Attachment, Mail, post  # noqa: E402
from reconcile.publish.receipts import write_receipts  # noqa: E402
from reconcile.publish.report import settlement_mail, subject, write_report  # noqa: E402
from reconcile.publish.settlement import write_settlement  # noqa: E402
from reconcile.store.ledger import Ledger  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--project", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    root = judge_bench.dataset(args.scale)
    inputs = list(judge_bench._inputs(root, "project"))[args.project]
    rules = parse_rules(judge_bench.RULES)
    print(
        f"project {args.project}: {inputs.reports.height:,} reports, {inputs.visits.height:,} "
        f"visits, {inputs.crm.height:,} CRM contacts, {inputs.deals.height:,} deal rows"
    )
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as scratch:
            for step, (seconds, note) in one_round(inputs, rules, Path(scratch)).items():
                best[step] = min(best.get(step, (seconds, note)), (seconds, note))
    for step, (seconds, note) in best.items():
        print(f"  {step:<42} {seconds:7.2f} s  {note}")
    total = sum(seconds for step, (seconds, _) in best.items() if not step.startswith("judge"))
    print(f"  {'publish in all (the judge apart)':<42} {total:7.2f} s")


def one_round(inputs, rules, folder: Path) -> dict[str, tuple[float, str]]:
    """Each step once, in the order `publish` runs them: seconds and what it made."""
    steps: dict[str, tuple[float, str]] = {}
    clock = time.perf_counter()

    def lap(step: str, note: str = "") -> None:
        nonlocal clock
        now = time.perf_counter()
        steps[step] = (now - clock, note)
        clock = now

    judgement = judge(inputs, rules)
    lap("judge (the night itself: not publishing)", f"{len(judgement.episodes):,} episodes")
    written = write_contract(judgement, folder / "contract")
    size = sum(path.stat().st_size for path in written) / 2**20
    lap("contract CSVs", f"{len(written)} files, {size:.1f} MiB")
    kept = Before.of(judgement).to_bytes()
    before = Before.from_bytes(kept)
    lap("keep what the night decided, read it back", f"{len(kept) / 2**10:,.0f} KiB")
    with Ledger(folder / "ledger.sqlite") as ledger:
        news = file_news(ledger, rules, inputs.as_of)
        digest = build_digest(judgement, before, news, rules)
        lap("digest")
        path, html, text = write_report(digest, folder)
        lap("dispute report (HTML + text)", f"{path.stat().st_size / 2**10:,.0f} KiB")
        settlement = write_settlement(judgement, rules, inputs.as_of, folder / "s.xlsx")
        lap("settlement.xlsx", f"{len(judgement.deals):,} deal lines")
        receipts = write_receipts(judgement, rules, inputs.as_of, folder / "channels")
        size = sum(receipt.stat().st_size for receipt in receipts.values()) / 2**20
        lap(
            "receipts", f"{len(receipts)} files, {len(judgement.reports):,} reports, {size:.1f} MiB"
        )
        finance_subject, finance_html, finance_text = settlement_mail(
            digest, money_by_channel(judgement), "s.xlsx"
        )
        attachment = Attachment("s.xlsx", settlement.read_bytes(), "application/octet-stream")
        now = datetime.now(rules.zone)
        mails = (
            Mail("dispute_report", inputs.as_of, ("a@x.example",), subject(digest), html, text),
            Mail(
                "settlement",
                inputs.as_of,
                ("f@x.example",),
                finance_subject,
                finance_html,
                finance_text,
                (attachment,),
            ),
        )
        for mail in mails:
            post(ledger, rules, mail, folder / "outbox", now, send=False)
        lap("mails into the outbox")
    return steps


if __name__ == "__main__":
    main()
