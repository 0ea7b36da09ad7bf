"""The run summary's 本期应付 (SPEC 6.6) agrees with settlement.csv, line by line summed."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import date
from pathlib import Path

import yaml

from reconcile.cli.text import judgement_lines
from reconcile.judge.vocabulary import ClaimCheck
from reconcile.publish.text import yuan
from reconcile.testing.nights import MemoryWorkspace
from tests.scenarios.test_scenarios import CASES, typed_sheets

CASE = CASES / "payments_partial_lump_sum_credit.yaml"


def _money(text: str) -> float:
    return float(text.replace("¥", "").replace(",", ""))


def _nights(case_path: Path = CASE):
    case = yaml.safe_load(case_path.read_text(encoding="utf-8"))
    ws = MemoryWorkspace(case["rules"])
    for night in case["runs"]:
        for rel, sheets in (night.get("files") or {}).items():
            ws.put(rel, typed_sheets(rel, sheets))
        as_of = night["as_of"]
        yield ws.run(as_of if isinstance(as_of, date) else date.fromisoformat(str(as_of)))


def test_to_pay_is_the_sum_of_outstanding_per_channel_and_paid_so_far():
    checked = 0
    for night in _nights():
        rows = list(csv.DictReader(io.StringIO(night.contract["settlement.csv"].decode("utf-8"))))
        owed: defaultdict[str, float] = defaultdict(float)
        paid = 0.0
        for row in rows:
            if row["channel"]:
                owed[row["channel"]] += float(row["outstanding"])
                paid += float(row["paid"])
        lines = judgement_lines(night.judgement)
        line = next(line for line in lines if line.startswith("本期应付"))
        head = re.match(r"本期应付 (-?¥[\d,.]+)（累计已付 (-?¥[\d,.]+)）", line)
        assert head, line
        assert _money(head.group(1)) == round(sum(owed.values()), 2)
        assert _money(head.group(2)) == round(paid, 2)
        for channel, amount in owed.items():
            if round(amount, 2):
                assert f"{channel} {yuan(amount)}" in line, line
        credit = [line for line in lines if line.startswith("预付余额")]
        assert bool(credit) == any(round(v, 2) for v in night.judgement.credit.values())
        checked += 1
    assert checked >= 2
    assert paid > 0  # the last night has payments: the figures are not all zero


def test_the_summary_counts_each_agencys_claim_checks_as_settlement_csv_does():
    checked = 0
    for night in _nights(CASES / "claims_three_way_checks.yaml"):
        rows = list(csv.DictReader(io.StringIO(night.contract["settlement.csv"].decode("utf-8"))))
        lines = judgement_lines(night.judgement)
        start = lines.index("请款核对（详见结算表的对账表）：")
        shown = {}
        for line in lines[start + 1 :]:
            if not line.startswith("  ") or "：" not in line:
                break
            channel, counts = line.strip().split("：", 1)
            shown[channel] = counts
        expected: dict[str, list[str]] = defaultdict(list)
        for check in ClaimCheck:
            if check == ClaimCheck.NO_CLAIM:
                continue
            for channel in sorted({r["channel"] for r in rows if r["claimed"]}):
                count = sum(1 for r in rows if r["channel"] == channel and r["check"] == check)
                if count:
                    expected[channel].append(f"{check.label} {count}")
        assert shown == {c: "、".join(v) for c, v in expected.items()}
        checked += 1
    assert checked == 3
