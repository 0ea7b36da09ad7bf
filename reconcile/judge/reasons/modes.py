"""SPEC 6.1 as a rule set per protection mode (`conflict.mode`, SPEC 6.8).

- `report_visit` 报备-到访-成交: a report waits for the customer's decisive visit, which
  decides between the candidates (`conflict.order`) and starts visit protection.
- `report` 报备-成交: the first valid report holds the customer from the report for its
  whole validity, whoever brings them; visits start no protection; other channels'
  reports are lost (C01), or queued behind the holder (`report.queue`, Q01).
- `visit` 到访-成交: no report is needed; the channel that brings the customer first holds,
  under visit protection; its report is valid, other channels' are lost (C01).

In every mode the existing-customer rules (R06, R07, E01) come first, and ties, rulings,
appeals, deals and households work alike. The timeline (`judge/timeline.py`) reads the
mode's `Mode` entry, never the mode's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reconcile.config.rules import Rules
from reconcile.judge.reasons.entry import duration_text, period_text
from reconcile.judge.vocabulary import Code


@dataclass(frozen=True, slots=True)
class Mode:
    name: str  # as `conflict.mode` writes it
    label: str  # 中文, as the rule documents name it
    report_holds: bool  # a valid report holds the customer from the report (报备保护)
    needs_report: bool  # a visit attributes the customer only to a candidate report
    notes: Callable[[Rules], str]  # the 说明 sheet's line on who holds a customer
    # Codes the mode never decides for a channel: the 说明 sheet leaves their lines out.
    unused: frozenset[Code] = frozenset()


def _report_visit(rules: Rules) -> str:
    return (
        "报备-到访-成交：报备后须带客户到访，到访时由有效报备的渠道获得客户，"
        "之后按到访保护期保护；多家报备同一客户时按先带看、再按报备先后认定"
    )


def _report(rules: Rules) -> str:
    validity = period_text(rules.report.validity, "报备时间", "报备当天")
    text = (
        f"报备-成交：第一家有效报备的渠道在报备有效期内（{validity}）持有客户，"
        "不论客户由谁带来；期内成交归该渠道，其他渠道的报备不获归属"
    )
    gap = rules.conflict.min_gap
    if gap is not None:
        text += f"；两家报备相隔不到 {duration_text(gap)}视为同时，由案场裁决"
    queue = rules.report.queue
    if queue is not None:
        text += (
            f"；客户已被报备时可排队，每个客户最多排队 {queue.max} 家，"
            f"前一家保护期满仍未成交的，次日起由排在最前的渠道持有 "
            f"{duration_text(queue.validity)}，不能延期"
        )
    return text


def _visit(rules: Rules) -> str:
    return (
        "到访-成交：无须报备，第一家带客户到访的渠道获得客户，按到访保护期保护；"
        "其他渠道的报备不获归属"
    )


MODES = {
    mode.name: mode
    for mode in (
        Mode("report_visit", "报备-到访-成交", report_holds=False, needs_report=True,
             notes=_report_visit),
        # Report mode: no report waits for a visit (no R08/R09, no contest at a visit:
        # its ties are told in the mode's own line), visits protect nothing (no P01) and
        # a bringer without a report gains nothing to record (no C02).
        Mode("report", "报备-成交", report_holds=True, needs_report=True, notes=_report,
             unused=frozenset({Code.R08, Code.R09, Code.P01, Code.C02, Code.D01, Code.N01})),
        # Visit mode: the bringer needs no report, in time or not.
        Mode("visit", "到访-成交", report_holds=False, needs_report=False, notes=_visit,
             unused=frozenset({Code.R08, Code.C02})),
    )
}  # fmt: skip


def mode_of(rules: Rules) -> Mode:
    return MODES[rules.conflict.mode]
