"""The rule registry: every reason code of SPEC §6.2 the judge decides has one complete entry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from reconcile.config.rules import parse_rules
from reconcile.judge import reasons
from reconcile.judge.reasons import CONFIDENTIAL, REASONS, Reason, labels
from reconcile.judge.vocabulary import Code

# SPEC §6.2's table, but for the codes of capabilities not built yet (R11, Q01 of
# extensions and queues), with 6.7's consultant and rotation codes.
SPEC_6_2 = (
    "R01", "R02", "R03", "R04", "R05", "R06", "R07", "R08", "R09", "R10",
    "A01", "C01", "C02", "D01", "N01", "E01", "P01", "H01", "X01", "S01", "J01", "X02",
    "R11", "Q01",
    "K01", "K02", "K03", "K04", "K05", "K06", "K07", "T01", "T02", "T03",
)  # fmt: skip
CASES = Path(__file__).parents[1] / "scenarios" / "cases"
CODE = re.compile(r"[A-Z][0-9]{2}")
# Rules that switch on every optional line of the template's 说明 sheet.
FULL_RULES = """
opening_date: 2026-11-01
report:
  hours: {start: "09:00", end: "21:00"}
  quota: {per: agent, limit: 5}
  max_delay: 2d
  self_duplicate: invalidate_all
  validity_after_deposit: 90d
  extension: {window: 20d, extend: 1mo, times: 1}
  queue: {max: 1, validity: 1mo, extend_when_queued: 15d}
visit:
  renewal: {window: 7d, extend: 15d}
existing_customer: {released_after: 90d}
conflict: {min_gap: 30m, natural_visit: natural, brought_by_other: natural, mode: report}
"""


def test_every_spec_code_is_registered_exactly_once():
    entries = [entry.code for entry in reasons._ENTRIES]
    assert sorted(entries) == sorted(SPEC_6_2)
    assert list(REASONS) == list(Code) == list(SPEC_6_2)


@pytest.mark.parametrize("entry", REASONS.values(), ids=lambda entry: entry.code)
def test_every_entry_says_everything_from_its_own_module(entry: Reason):
    assert entry.label.strip() and entry.meaning.strip()
    assert "SPEC" in entry.meaning
    assert entry.decide and all(callable(decide) for decide in entry.decide)
    homes = {decide.__module__ for decide in entry.decide}
    if entry.notes is not None:
        homes.add(entry.notes.text.__module__)
        for rules in (parse_rules(""), parse_rules(FULL_RULES)):
            assert entry.notes.topic and entry.notes.text(rules).strip()
    assert len(homes) == 1 and homes.pop().startswith("reconcile.judge.reasons.")


@pytest.mark.parametrize("entry", REASONS.values(), ids=lambda entry: entry.code)
def test_a_receipt_words_a_code_neutrally_only_while_it_is_confidential(entry: Reason):
    # C01, D01 and H01 decide a status an agency reads before signing (lost, disputed,
    # held); C02 and J01 are left out of its receipt.
    words = entry.code in (Code.C01, Code.D01, Code.H01)
    assert (entry.receipt is not None and entry.receipt.strip() != "") == words
    assert entry.confidential == (entry.code in CONFIDENTIAL)
    assert not words or entry.confidential


def test_the_template_cites_the_codes_it_explains():
    cited = {
        code
        for code, entry in REASONS.items()
        if entry.notes is not None and entry.cited in entry.notes.text(parse_rules(FULL_RULES))
    }
    # Commission, ruling and the admin's codes are not an agency's rules of reporting;
    # R01/R02 are cited beside their column, E01 and N01 only by their topic.
    assert cited == {
        Code.R03, Code.R04, Code.R05, Code.R06, Code.R07, Code.R08, Code.R09, Code.R10,
        Code.D01, Code.H01, Code.R11, Code.Q01,
    }  # fmt: skip


def test_codes_read_with_their_labels():
    assert labels(["R08", Code.C01]) == "R08 报备晚于到访；C01 撞单-他方优先"


def _scenario_codes(path: Path) -> set[str]:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = {item for item in case.get("covers", []) if CODE.fullmatch(str(item))}
    for run in case.get("runs", []):
        for rows in (run.get("expect") or {}).values():
            for row in rows if isinstance(rows, list) else ():
                codes = str(row.get("reason_codes") or "") if isinstance(row, dict) else ""
                found.update(code for code in codes.split(";") if code)
    return found


def test_every_code_a_scenario_names_is_registered():
    named = {code: path.name for path in CASES.glob("*.yaml") for code in _scenario_codes(path)}
    assert named, "no scenario names a code"
    assert {code: where for code, where in named.items() if code not in REASONS} == {}
