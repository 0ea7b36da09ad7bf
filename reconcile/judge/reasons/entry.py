"""What a registry entry holds (`Reason`) and the wording helpers its texts share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from typing import Any

from reconcile.config.rules import Duration, Hours, Quota, ReportRules, ReportType, Window
from reconcile.judge.vocabulary import Code


@dataclass(frozen=True, slots=True)
class Notes:
    """A line of the agency template's 说明 sheet: its topic and its text under the rules."""

    topic: str
    text: Callable[[Any], str]  # (Rules) -> the line as agencies read it


@dataclass(frozen=True, slots=True)
class Reason:
    """Everything about one reason code of SPEC §6.2.

    `decide` names the functions that decide the code (each defined in the entry's own
    module; the stages call them). `notes` is its line on the template's 说明 sheet, or
    None when agencies do not read it there (codes of commission and of the admin's
    work, or codes explained beside their column). A `confidential` code tells of a
    collision or a ruling between channels: until the customer's contract is signed an
    agency's receipt leaves it out, and where it decides a report's or a deal's status
    the receipt shows `receipt` instead (SPEC §7, 在客户签定正式合同前不得将撞单信息通知任意方).
    """

    code: Code
    label: str  # 中文, as SPEC §6.2 names it
    meaning: str  # one sentence, citing SPEC
    decide: tuple[Callable[..., Any], ...]
    notes: Notes | None = None
    confidential: bool = False
    receipt: str | None = None  # the neutral wording of a confidential code

    @property
    def text(self) -> str:
        """The code with its label, as people read it: `R08 报备晚于到访`."""
        return f"{self.code} {self.label}"

    @property
    def cited(self) -> str:
        """The code as the 说明 sheet cites it after a rule: `（R08 报备晚于到访）`."""
        return f"（{self.text}）"


def type_rules(report: ReportRules, report_type: str | None) -> ReportType | None:
    """The rules of a report's type (`report.types`), None for an untyped report."""
    return report.types.get(report_type) if report_type else None


# Wording of rule values, shared by the 说明 sheet's lines --------------------------------


def duration_text(duration: Duration) -> str:
    """A rules duration in words: `30 分钟`, `48 小时`, `7 天`, `2 个月`, `长期`."""
    if duration.forever:
        return "长期"
    unit = {"m": "分钟", "h": "小时", "d": "天", "mo": "个月"}[duration.unit]
    return f"{duration.amount} {unit}"


def period_text(duration: Duration, start: str, day: str) -> str:
    """How long a period from `start` lasts, as SPEC §6.3 counts it.

    `day` names the start's calendar day (报备当天): calendar periods count it as day 1
    and end at 24:00 of their last day.
    """
    if duration.forever:
        return "长期有效"
    if duration.minutes is not None:
        return f"{duration_text(duration)}，从{start}起算"
    if duration.unit == "d" and duration.amount == 1:
        return f"到{day} 24:00 止"
    if duration.unit == "d":
        return f"{duration.amount} 天，{day}算第 1 天，到第 {duration.amount} 天 24:00 止"
    return f"{duration.amount} 个月，从{day}起，到 {duration.amount} 个月后同一日的前一天 24:00 止"


def clock_range_text(limits: Hours | Window) -> str:
    start, end = _clock(limits.start), _clock(limits.end)
    return f"{start}–{end}" if limits.start <= limits.end else f"{start}–次日 {end}"


def _clock(moment: time) -> str:
    return moment.strftime("%H:%M")


def quota_text(quota: Quota) -> str:
    who = "每位经纪人" if quota.per == "agent" else "每个渠道"
    return f"{who}每天最多 {quota.limit} 条"
