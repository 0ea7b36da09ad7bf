"""`reconcile explain`: one customer's timeline and every decision about it.

What an admin reads to an agency on the phone: each report, visit, CRM contact,
deal and ruling with its source `file#sheet!row`, then each decision with its
reason codes and their Chinese labels. The text is built here; the CLI prints it.

The admin does not always hold a full number: an agency's report shows a masked one
(`138****1234`) and a name. `search` finds the reports with a compatible pattern and
an agreeing name, and the customers (full numbers in visits, CRM, deals, rulings) that
fit both; `explain_found` tells each customer's story, says when several fit, and lists
the reports no customer explains yet (pending, expired, ambiguous). The admin's own
files hold these full numbers; nothing here is shown to an agency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from reconcile.judge import Judgement
from reconcile.judge.reasons import labels
from reconcile.judge.reasons.turns import TURN_LABELS
from reconcile.judge.rulings import share_text
from reconcile.judge.timeline import Report, Request
from reconcile.judge.vocabulary import Flag, FlagValue, OwnerType
from reconcile.normalise.deals import room_label
from reconcile.normalise.names import names_agree, parse_name
from reconcile.normalise.phones import Phone
from reconcile.normalise.places import place_expr


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
_BARE_FLAGS = (Flag.PROVISIONAL, Flag.ORDER_UNKNOWN, Flag.TAKEOVER)


def flag_text(flag: Flag, value: FlagValue) -> str:
    if flag in _BARE_FLAGS:
        return flag.label
    if flag == Flag.SPLIT:
        assert isinstance(value, tuple)
        value = ";".join(f"{channel}:{share_text(share)}" for channel, share in value)
    return f"{flag.label} {value}"


def related_reports(judgement: Judgement, phone: str) -> list[Report]:
    """Reports linked to the number, fitting it among others (ambiguous), or giving
    it in full while no customer has it yet (an agency's report before any visit)."""
    return [
        r
        for r in judgement.reports
        if r.phone == phone or r.phone_pattern == phone or phone in judgement.fits.get(r.row_id, ())
    ]


def related_requests(judgement: Judgement, phone: str) -> list[Request]:
    """Extension requests (SPEC 6.8) linked to the number or giving it in full."""
    return [r for r in judgement.requests if phone in (r.phone, r.phone_pattern)]


def _rows(frame: pl.DataFrame, phone: str) -> list[dict]:
    """The frame's rows of the number, each with its source (`file#sheet!row`, and the
    later file that corrected it, if one did: `row_versions`)."""
    rows = frame.filter(pl.col("phone") == phone).with_columns(source=place_expr()).to_dicts()
    for row in rows:
        if row.get("corrected_in"):
            day = row["corrected_seen"][:10]
            row["source"] += f"；按 {day} 读到的 {row['corrected_in']} 更正"
    return rows


def timeline(judgement: Judgement, phone: str) -> list[Event]:
    inputs = judgement.inputs
    events: list[Event] = []
    for r in related_reports(judgement, phone):
        kind = f"（{r.report_type}）" if r.report_type else ""
        name = r.customer_name or "（无姓名）"
        what = f"报备{kind}  {_who(r.channel, r.agent)}  {name} {r.phone_pattern}"
        events.append(Event(r.at, what, r.source))
    for q in related_requests(judgement, phone):
        name = q.customer_name or "（无姓名）"
        what = f"延期申请  {_who(q.channel, q.agent)}  {name} {q.phone_pattern}"
        events.append(Event(q.at, what, q.source))
    for v in _rows(inputs.visits, phone):
        bringer = f"带看：{_who(v['channel'], v['agent'])}" if v["channel"] else "自行到访"
        what = f"到访  {v['customer_name'] or ''}  {bringer}{_reception(v)}"
        events.append(Event(v["at"], what, v["source"]))
    for c in _rows(inputs.crm, phone):
        what = "CRM 建档/首次接触" if c["kind"] == "crm" else "CRM 跟进"
        events.append(Event(c["at"], what, c["source"]))
    for d in _rows(inputs.deals, phone):
        amount = f" ¥{d['amount']:,.2f}" if d["amount"] is not None else ""
        number = d["deal_no"] or d["contract_no"] or d["subscription_no"] or ""
        flat = d["room_name"] or d["room"]
        room = f" 房号 {flat}" if flat else ""
        closed = f"（已关闭：{d['close_reason']}）" if d["close_reason"] else ""
        what = f"成交 {number}{room}  {d['stage'] or ''}{closed}{amount}"
        events.append(Event(d["at"], what, d["source"]))
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
    unowned = not judgement.by_phone(phone)
    if unowned:
        lines.append("  归属：尚无（该号码还没有到访或裁决记录）")
    lines += consultant_lines(judgement, phone)
    related = related_reports(judgement, phone)
    for r in related:
        lines += report_lines(judgement, r)
    lines += [request_line(q) for q in related_requests(judgement, phone)]
    if unowned:
        # Before a visit no customer links a masked report to the number: those that fit
        # it under an agreeing name may be the same person (a suspected collision).
        inputs = judgement.inputs
        names = [r.customer_name for r in related if r.customer_name] + [
            row["customer_name"]
            for frame in (inputs.visits, inputs.crm, inputs.deals, inputs.rulings)
            for row in _rows(frame, phone)
            if row["customer_name"]
        ]
        maybe = [
            r
            for r in judgement.reports
            if r.phone is None
            and r.row_id not in judgement.fits
            and "*" in r.phone_pattern
            and _compatible(r.phone_pattern, phone)
            and (not names or any(_agrees(name, r.customer_name) for name in names))
        ]
        if maybe:
            lines.append("  号码与姓名相符的打码报备（可能是同一客户，到访后再判定）：")
            for r in sorted(maybe, key=lambda r: (r.at, r.source)):
                lines += report_lines(judgement, r, named=True)
    shown: set[str] = set()
    for d in judgement.deals:
        if d.customer_phone != phone:
            continue
        money = f" 佣金 ¥{d.commission:,.2f}" if d.commission else ""
        share = f" 分成 {d.share:g}" if d.share is not None and d.share != 1 else ""
        reason = f" — {labels(d.reason_codes)}" if d.reason_codes else ""
        status = f"{d.status.label} {_who(d.channel, d.agent)}"
        lines.append(f"  成交 {d.deal_id} {d.stage}：{status}{share}{money}{reason}")
        if d.deal_id not in shown:  # a shared deal's lines: its changes once
            shown.add(d.deal_id)
            lines += _changes(judgement, d.deal_id)
    return lines


def _changes(judgement: Judgement, deal_id: str) -> list[str]:
    """A deal's 交易变更 (SPEC 6.5: every change type is kept and shown here), each with its
    date and source; a 换房 says where it took the deal."""
    record = judgement.deal_records.get(deal_id)
    if record is None:
        return []
    lines = []
    for change in record.changes:
        moved = f" → {room_label(change.new_flat)}" if change.new_flat else ""
        day = f" {change.at:%Y-%m-%d}" if change.at is not None else ""
        lines.append(f"    {change.change_type or '交易变更'}{moved}{day}  [{change.source}]")
    return lines


def _reception(visit: dict) -> str:
    """Who received the visitor (SPEC 6.7), as the register says."""
    said = [
        f"{label}：{visit[key]}"
        for key, label in (
            ("consultant", "接待"), ("designated", "指定"), ("assistant", "协助/代接"),
            ("referrer", "推荐人"), ("first_visit_flag", "是否首访"),
        )
        if visit.get(key)
    ]  # fmt: skip
    return f"  {'；'.join(said)}" if said else ""


def consultant_lines(judgement: Judgement, phone: str) -> list[str]:
    """The consultant episode beside the channel's (SPEC 6.7): records, deal shares and
    the rotation's verdicts on the customer's receptions."""
    found, lines = judgement.consultants, []
    for number, r in enumerate(found.by_phone(phone) if found else [], start=1):
        until = _when(r.valid_until) if r.valid_until else "长期"
        lines.append(
            f"  置业顾问 {number}：{r.consultant}；建档 {_when(r.valid_from)}；有效至 {until}"
            f"  [{r.source}]"
        )
        lines.append(f"    原因：{labels(r.codes)}")
    for share in found.shares if found else []:
        if share.phone != phone:
            continue
        part = f" {share.share:.0%}" if share.share is not None else ""
        crm = f"（CRM：{share.crm_consultant}）" if share.crm_consultant else ""
        reason = f" — {labels(share.codes)}" if share.codes else ""
        lines.append(
            f"  业绩 {share.deal_id}：{share.consultant or '（无接待记录）'}{part}{crm}{reason}"
        )
    for turn in judgement.rotation or []:
        if turn.phone != phone:
            continue
        due = (
            f"（应轮到 {turn.in_turn}）" if turn.in_turn and turn.in_turn != turn.consultant else ""
        )
        reason = f" — {labels(turn.codes)}" if turn.codes else ""
        lines.append(
            f"  轮排 {_when(turn.visit_at)} {turn.consultant}：{TURN_LABELS[turn.verdict]}{due}"
            f"{reason}  [{turn.source}]"
        )
    return lines


def report_lines(judgement: Judgement, report: Report, *, named: bool = False) -> list[str]:
    """A report's decision: status and reason codes, and the customers it fits when
    it fits several (the admin resolves those by a ruling). `named` adds the name and
    the number as reported, for a report shown without its customer's timeline."""
    r = report
    reason = f" — {labels(r.codes)}" if r.codes else ""
    said = f" {r.customer_name or '（无姓名）'} {r.phone_pattern}" if named else ""
    lines = [
        f"  报备 {_who(r.channel, r.agent)}{said} {_when(r.at)}："
        f"{r.status.label}{reason}  [{r.source}]"
    ]
    fits = judgement.fits.get(r.row_id, [])
    if len(fits) > 1:
        lines.append(f"    符合的客户：{'、'.join(fits)}")
    elif named and r.phone is not None:
        lines.append(f"    对应客户：{r.phone}")
    return lines


def request_line(request: Request) -> str:
    """An extension request's decision: the new end of the holder's protection, or R11."""
    q = request
    if q.honoured:
        verdict = f"已延期，保护至 {_when(q.until) if q.until else '长期'}"
    else:
        verdict = f"无效 — {labels(q.codes)}"
    return f"  延期申请 {_who(q.channel, q.agent)} {_when(q.at)}：{verdict}  [{q.source}]"


@dataclass(frozen=True)
class Candidate:
    """A customer (full number) that fits a searched pattern and name."""

    phone: str
    names: tuple[str, ...]
    first_at: datetime | None
    source: str


@dataclass(frozen=True)
class Found:
    """What `search` found for a pattern and a name."""

    pattern: str
    name: str | None
    reports: list[Report]
    customers: list[Candidate]
    # Names on reports, and of customers, whose number fits but whose name disagrees:
    # a hint to the admin that the name, not the number, ruled them out.
    other_names: list[str]
    other_customers: list[str]

    @property
    def empty(self) -> bool:
        return not self.reports and not self.customers


# Beyond this many fitting customers, explaining each would bury the answer; beyond
# MAX_LISTED customers or reports (a pattern showing few digits), even listing them.
MAX_EXPLAINED = 5
MAX_LISTED = 50


def _compatible(pattern: str, other: str) -> bool:
    return all(a == b or "*" in (a, b) for a, b in zip(pattern, other, strict=True))


def _agrees(name: str | None, other: str | None) -> bool:
    return name is None or names_agree(parse_name(name), parse_name(other))


def search(judgement: Judgement, phone: Phone, name: str | None) -> Found:
    """Reports whose pattern is compatible with `phone` and whose name agrees with
    `name` (SPEC §5's agreement: a blank name on either side does not disagree), and
    the customers whose full number fits `phone` under an agreeing name."""
    pattern = phone.pattern
    reports, other_names = [], []
    for r in judgement.reports:
        if not _compatible(pattern, r.phone_pattern):
            continue
        if _agrees(name, r.customer_name):
            reports.append(r)
        elif r.customer_name and r.customer_name not in other_names:
            other_names.append(r.customer_name)
    inputs = judgement.inputs
    fitting = (
        pl.col("phone").is_not_null()
        & pl.col("phone").str.starts_with(phone.prefix)
        & pl.col("phone").str.ends_with(phone.suffix)
    )
    rows = pl.concat(
        [
            frame.filter(fitting).select("phone", "customer_name", "at", source=place_expr())
            for frame in (inputs.visits, inputs.crm, inputs.deals, inputs.rulings)
        ]
    ).sort("at", "source", nulls_last=True)
    customers, other_customers = [], []
    for (number,), group in rows.group_by("phone", maintain_order=True):
        names = tuple(n for n in dict.fromkeys(group["customer_name"].to_list()) if n)
        # As linking does: a customer recorded without any name cannot disagree.
        if names and not any(_agrees(name, n) for n in names):
            other_customers += [n for n in names if n not in other_customers]
            continue
        first = group.row(0, named=True)
        customers.append(Candidate(str(number), names, first["at"], first["source"]))
    customers.sort(key=lambda c: c.phone)
    return Found(pattern, name, reports, customers, other_names, other_customers)


def explain_found(judgement: Judgement, found: Found, project: str) -> list[str]:
    """The lines `reconcile explain PATTERN NAME` prints (`found` is not empty)."""
    asked = f"姓名 {found.name}" if found.name else "未指定姓名"
    lines = [
        f"{project} · 号码 {found.pattern} · {asked} · 判定日 {judgement.inputs.as_of}",
        f"相符的报备 {len(found.reports)} 条，相符的客户 {len(found.customers)} 位。",
    ]
    if len(found.customers) > 1:
        lines.append(f"号码与姓名相符的客户有 {len(found.customers)} 位，需核实是哪一位：")
        for c in found.customers[:MAX_LISTED]:
            names = "、".join(c.names) or "（无姓名）"
            lines.append(f"  {c.phone}  {names}  首次出现 {_when(c.first_at)}  [{c.source}]")
        lines += _more(len(found.customers), "位客户")
    explained: set[str] = set()
    if len(found.customers) > MAX_EXPLAINED:
        lines.append("相符的客户过多，不逐一展开；请补充姓名，或用完整手机号查询。")
    else:
        for c in found.customers:
            lines.append("")
            lines += explain(judgement, c.phone, project)
            explained.update(r.row_id for r in related_reports(judgement, c.phone))
    rest = [r for r in found.reports if r.row_id not in explained]
    if rest:
        lines.append("")
        lines.append("其余相符的报备：" if explained else "相符的报备：")
        for r in sorted(rest, key=lambda r: (r.at, r.source))[:MAX_LISTED]:
            lines += report_lines(judgement, r, named=True)
        lines += _more(len(rest), "条报备")
    return lines


def _more(count: int, what: str) -> list[str]:
    if count <= MAX_LISTED:
        return []
    return [f"  ……另有 {count - MAX_LISTED} {what}未列出；请补充姓名或号码的更多位数。"]
