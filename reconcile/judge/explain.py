"""`reconcile explain PHONE`: one customer's timeline and every decision about it.

What an admin reads to an agency on the phone: each report, visit, CRM contact,
deal and ruling with its source `file#sheet!row`, then each decision with its
reason codes and their Chinese labels. The text is built here; the CLI prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from reconcile.judge import Judgement
from reconcile.judge.reasons import labels
from reconcile.judge.rulings import share_text
from reconcile.judge.timeline import Report
from reconcile.judge.vocabulary import Flag, FlagValue, OwnerType


@dataclass(frozen=True)
class Event:
    at: datetime | None
    what: str
    source: str


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "（无日期）    "


def _who(channel: str | None, agent: str | None) -> str:
    return " ".join(part for part in (channel, agent) if part) or "—"


# Flags that are a statement on their own: their value (if any) says nothing more.
_BARE_FLAGS = (Flag.PROVISIONAL, Flag.ORDER_UNKNOWN)


def flag_text(flag: Flag, value: FlagValue) -> str:
    if flag in _BARE_FLAGS:
        return flag.label
    if flag == Flag.SPLIT:
        assert isinstance(value, tuple)
        value = ";".join(f"{channel}:{share_text(share)}" for channel, share in value)
    return f"{flag.label} {value}"


def related_reports(judgement: Judgement, phone: str) -> list[Report]:
    """Reports linked to the number, or fitting it among others (ambiguous)."""
    return [
        r
        for r in judgement.reports
        if r.phone == phone or phone in judgement.fits.get(r.row_id, ())
    ]


def _rows(frame: pl.DataFrame, phone: str) -> list[dict]:
    return frame.filter(pl.col("phone") == phone).to_dicts()


def timeline(judgement: Judgement, phone: str) -> list[Event]:
    inputs = judgement.inputs
    events: list[Event] = []
    for r in related_reports(judgement, phone):
        kind = f"（{r.report_type}）" if r.report_type else ""
        name = r.customer_name or "（无姓名）"
        what = f"报备{kind}  {_who(r.channel, r.agent)}  {name} {r.phone_pattern}"
        events.append(Event(r.at, what, r.source))
    for v in _rows(inputs.visits, phone):
        bringer = f"带看：{_who(v['channel'], v['agent'])}" if v["channel"] else "自行到访"
        events.append(Event(v["at"], f"到访  {v['customer_name'] or ''}  {bringer}", v["source"]))
    for c in _rows(inputs.crm, phone):
        what = "CRM 建档/首次接触" if c["kind"] == "crm" else "CRM 跟进"
        events.append(Event(c["at"], what, c["source"]))
    for d in _rows(inputs.deals, phone):
        amount = f" ¥{d['amount']:,.2f}" if d["amount"] is not None else ""
        room = f" 房号 {d['room']}" if d["room"] else ""
        events.append(
            Event(
                d["at"], f"成交 {d['deal_no'] or ''}{room}  {d['stage'] or ''}{amount}", d["source"]
            )
        )
    for g in _rows(inputs.rulings, phone):
        events.append(Event(g["at"], f"裁决  归属 {g['channel'] or g['shares']}", g["source"]))
    return sorted(events, key=lambda e: (e.at is None, e.at, e.source))


def explain(judgement: Judgement, phone: str, project: str) -> list[str]:
    """The lines `reconcile explain` prints; empty when nothing is known of the number."""
    events = timeline(judgement, phone)
    if not events:
        return []
    lines = [f"{project} · 客户 {phone} · 判定日 {judgement.inputs.as_of}", "时间线："]
    lines += [f"  {_when(e.at)}  {e.what}  [{e.source}]" for e in events]
    lines.append("判定：")
    for number, episode in enumerate(judgement.by_phone(phone), start=1):
        owner = episode.owner_type.label
        if episode.owner_type == OwnerType.CHANNEL:
            owner += f" {'、'.join(episode.channels)}" + (
                f"（{episode.agent}）" if episode.agent else ""
            )
        elif episode.owner_type == OwnerType.DISPUTED:
            owner += f" {'、'.join(episode.channels)}"
        until = _when(episode.until) if episode.until else "长期"
        start = _when(episode.first_visit_at) if episode.first_visit_at else "—"
        lines.append(f"  归属 {number}：{owner}；首次到访 {start}；保护至 {until}")
        if episode.codes:
            lines.append(f"    原因：{labels(episode.codes)}")
        flags = episode.flags.items()
        if flags:
            lines.append(f"    备注：{'；'.join(flag_text(flag, value) for flag, value in flags)}")
        if episode.report is not None:
            lines.append(f"    依据报备：{episode.report.source}")
    for r in related_reports(judgement, phone):
        status = r.status.label
        reason = f" — {labels(r.codes)}" if r.codes else ""
        lines.append(
            f"  报备 {_who(r.channel, r.agent)} {_when(r.at)}：{status}{reason}  [{r.source}]"
        )
    for d in judgement.deals:
        if d.customer_phone != phone:
            continue
        money = f" 佣金 ¥{d.commission:,.2f}" if d.commission else ""
        share = f" 分成 {d.share:g}" if d.share is not None and d.share != 1 else ""
        reason = f" — {labels(d.reason_codes)}" if d.reason_codes else ""
        status = f"{d.status.label} {_who(d.channel, d.agent)}"
        lines.append(f"  成交 {d.deal_id} {d.stage}：{status}{share}{money}{reason}")
    return lines
