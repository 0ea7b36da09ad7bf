"""SPEC 6.8's keys: their defaults, and errors that name the key and the line."""

from __future__ import annotations

import pytest

from reconcile.config.rules import Rules, RulesError, parse_duration, parse_rules


def test_defaults_keep_the_rules_of_report_visit() -> None:
    rules = Rules()
    assert rules.conflict.mode == "report_visit"
    report = rules.report
    assert report.validity_after_deposit is None and report.extension is None
    assert report.queue is None


def test_seed_004s_rules_read_as_written() -> None:
    rules = parse_rules(
        "conflict: {mode: report}\n"
        "report:\n"
        "  validity_after_deposit: 90d\n"
        "  extension: {window: 20d}\n"
        "  queue: {extend_when_queued: 15d}\n"
    )
    report = rules.report
    assert report.validity_after_deposit == parse_duration("90d")
    assert report.extension is not None and report.queue is not None
    assert (report.extension.window, report.extension.extend, report.extension.times) == (
        parse_duration("20d"),
        parse_duration("1mo"),
        1,
    )
    assert (report.queue.max, report.queue.validity) == (1, parse_duration("1mo"))
    assert report.queue.extend_when_queued == parse_duration("15d")


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("report:\n  queue: {max: 1}\n", "第 2 行 report.queue", "conflict.mode: report"),
        ("conflict: {mode: visit}\nreport:\n  queue: {}\n", "第 3 行 report.queue", "排队"),
        ("conflict:\n  mode: report_only\n", "第 2 行 conflict.mode", "report_visit"),
        ("report:\n  extension: {times: 0}\n", "第 2 行 report.extension.times", ""),
        ("report:\n  extension: {window: 0d}\n", "第 2 行 report.extension.window", ""),
        ("report:\n  validity_after_deposit: 90\n", "第 2 行 report.validity_after_deposit", ""),
        ("report:\n  types:\n    延期: {}\n", "第 2 行 report.types", "延期申请"),
    ],
)
def test_bad_values_name_the_key_and_the_line(text: str, where: str, says: str) -> None:
    with pytest.raises(RulesError) as raised:
        parse_rules(text)
    message = str(raised.value)
    assert where in message and says in message, message
