"""Stage 3 of the judge: one customer's timeline, in time order (docs/judge.md).

The holder at any instant is a channel (visit protection), the developer (after a
natural visit or a CRM contact, until `released_after`), or nobody (公共客户).
Reports wait for the customer's next decisive visit; that visit decides between
them by the rules of `conflict:` and opens an ownership episode.

A value written with a date but no clock time (`time_known` false) reads as 00:00 of
its day. Against another row of the same calendar day its order is unknown, and it
resolves for the report (SPEC §6.4): within a day, date-only reports come first and
date-only CRM contacts and visits last, so neither is "before" the report; the lead
time is met; two reports whose order would decide the owner tie. Every such
resolution is kept on the episode (`order_unknown`) for the admin to verify.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from reconcile.config.rules import Rules
from reconcile.judge.periods import local_day, period_end
from reconcile.judge.reasons import c02, contest, e01, existing, n01, p01, r03, r08, r09
from reconcile.judge.vocabulary import Code, Flags, OwnerType, ReportStatus


@dataclass(slots=True, eq=False)
class Report:
    row_id: str
    channel: str
    agent: str | None
    customer_name: str | None
    phone_pattern: str
    at: datetime
    report_type: str | None
    until: datetime | None
    source: str
    order: tuple
    codes: list[Code] = field(default_factory=list)
    # Until a stage decides otherwise, a report waits for its decisive visit.
    status: ReportStatus = ReportStatus.PENDING
    phone: str | None = None
    time_known: bool = True  # false: a date without a clock time (reads as 00:00)
    # Rows of its day whose order with it is unknown, resolved in its favour (§6.4);
    # a tuple: a million reports share the one empty one.
    unknown_order: tuple[OrderUnknown, ...] = ()


@dataclass(slots=True, eq=False)
class Visit:
    row_id: str
    phone: str
    at: datetime
    channel: str | None
    agent: str | None
    customer_name: str | None
    source: str
    order: tuple
    time_known: bool = True


@dataclass(slots=True, eq=False)
class Contact:
    row_id: str
    phone: str
    at: datetime
    kind: str  # crm | followup
    source: str
    order: tuple
    time_known: bool = True


@dataclass(frozen=True, slots=True, eq=False)
class OrderUnknown:
    """A report and another row of the same calendar day, one of them without a clock
    time: which came first is unknown and was resolved for the report (SPEC §6.4)."""

    report: Report
    kind: str  # the other row: crm | followup (CRM contacts), visit, report
    at: datetime
    time_known: bool
    source: str
    channel: str | None = None  # the visit's bringer, the other report's channel


@dataclass(slots=True, eq=False)
class Episode:
    phone: str
    owner_type: OwnerType
    first_visit_at: datetime | None
    customer_name: str | None
    until: datetime | None = None
    channels: list[str] = field(default_factory=list)
    agent: str | None = None
    report: Report | None = None
    codes: list[Code] = field(default_factory=list)
    flags: Flags = field(default_factory=Flags)
    visits: list[Visit] = field(default_factory=list)
    contested: list[Report] = field(default_factory=list)  # every candidate of the contest
    shares: list[tuple[str, float]] = field(default_factory=list)
    ruled: bool = False
    order_unknown: list[OrderUnknown] = field(default_factory=list)  # flag `order_unknown`

    @property
    def holds_by_visit(self) -> bool:
        return self.owner_type in (OwnerType.CHANNEL, OwnerType.DISPUTED)

    @property
    def had_collision(self) -> bool:
        collided = (ReportStatus.LOST, ReportStatus.DISPUTED)
        return any(report.status in collided for report in self.contested)


_EVENT_ORDER = {"contact": 0, "report": 1, "visit": 2}


def event_key(at: datetime, time_known: bool, kind: str, zone: ZoneInfo) -> tuple:
    """Where an event stands in a customer's timeline (SPEC §6.4).

    By calendar day, then: date-only reports, timed events in time order, date-only
    CRM contacts and visits. So an unknown order within a day resolves for the report.
    """
    slot = 1 if time_known else 0 if kind == "report" else 2
    return (local_day(at, zone), slot, at, _EVENT_ORDER[kind])


def same_day_unknown(
    first: datetime, first_known: bool, second: datetime, second_known: bool, zone: ZoneInfo
) -> bool:
    """Two rows of the same calendar day, at least one without a clock time."""
    return not (first_known and second_known) and local_day(first, zone) == local_day(second, zone)


def group_visits(visits: list[Visit], rules: Rules) -> list[list[Visit]]:
    """Visits this close together are one visit at the earliest time, with several bringers.

    Date-only visits of one day are one visit; they never join a timed visit, whose
    order with them is unknown.
    """
    zone = rules.zone
    groups: list[list[Visit]] = []
    timed: list[Visit] | None = None
    dated: dict[date, list[Visit]] = {}
    for visit in sorted(visits, key=lambda v: (v.at, v.order)):
        if not visit.time_known:
            day = local_day(visit.at, zone)
            if day not in dated:
                dated[day] = []
                groups.append(dated[day])
            dated[day].append(visit)
            continue
        if timed is not None:
            end = period_end(timed[0].at, rules.visit.simultaneous_within, zone)
            if end is None or visit.at <= end:
                timed.append(visit)
                continue
        timed = [visit]
        groups.append(timed)
    return groups


class Timeline:
    """Walks one customer's events and records episodes and report decisions."""

    def __init__(self, phone: str, rules: Rules) -> None:
        self.phone = phone
        self.rules = rules
        self.zone = rules.zone
        self.episodes: list[Episode] = []
        self.current: Episode | None = None
        self.waiting: list[Report] = []
        self.crm_at: datetime | None = None  # latest developer contact through the CRM
        self.natural_at: datetime | None = None  # latest visit while the developer holds
        # The latest instant processed: date-only contacts and visits come after the
        # timed events of their day but read as 00:00, so time must not run back.
        self.clock: datetime | None = None
        self.contacts_by_day: dict[date, list[Contact]] = {}
        self.undated_contacts_by_day: dict[date, list[Contact]] = {}  # date-only ones

    def run(
        self, reports: list[Report], visits: list[Visit], contacts: list[Contact]
    ) -> list[Episode]:
        zone = self.zone
        events: list[tuple] = []
        for contact in contacts:
            key = event_key(contact.at, contact.time_known, "contact", zone)
            events.append((key, contact.order, "contact", contact))
            self.contacts_by_day.setdefault(key[0], []).append(contact)
            if not contact.time_known:
                self.undated_contacts_by_day.setdefault(key[0], []).append(contact)
        for report in reports:
            key = event_key(report.at, report.time_known, "report", zone)
            events.append((key, report.order, "report", report))
        for group in group_visits(visits, self.rules):
            key = event_key(group[0].at, group[0].time_known, "visit", zone)
            events.append((key, group[0].order, "visit", group))
        for _, _, kind, item in sorted(events, key=lambda e: e[:2]):
            at = item[0].at if kind == "visit" else item.at
            self.clock = at if self.clock is None else max(self.clock, at)
            self._expire(self.clock)
            if kind == "contact":
                self._contact(item)
            elif kind == "report":
                self._report(item)
            else:
                self._visit(item)
        return self.episodes

    # --- who holds -------------------------------------------------------------------
    def _developer_until(self, since: datetime | None) -> datetime | None:
        return e01.developer_until(self.rules, since)

    def _developer_holds(self, at: datetime, since: datetime | None) -> bool:
        return e01.developer_holds(self.rules, at, since)

    def _expire(self, at: datetime) -> None:
        current = self.current
        if current is None:
            return
        if current.holds_by_visit:
            if current.until is not None and at >= current.until:
                self.current = None
        elif not self._developer_holds(at, self._developer_since()):
            self.current = None

    def _developer_since(self) -> datetime | None:
        known = [moment for moment in (self.crm_at, self.natural_at) if moment is not None]
        return max(known) if known else None

    # --- events ----------------------------------------------------------------------
    def _contact(self, contact: Contact) -> None:
        if self.current is not None and self.current.holds_by_visit:
            return  # the channel holds; a developer contact does not take the customer
        self.crm_at = _latest(self.crm_at, contact.at)
        if self.current is not None:
            self.current.until = self._developer_until(self._developer_since())

    def _report(self, report: Report) -> None:
        current = self.current
        holders = current.channels if current is not None and current.holds_by_visit else None
        codes = existing.at_report(
            self.rules, report.channel, report.at, holders, self.crm_at, self.natural_at
        )
        if codes:
            report.codes.extend(codes)
            report.status = ReportStatus.INVALID
            return
        if holders is None and self.rules.existing_customer.crm_contact_before_report:
            report.unknown_order += self._same_day_contacts(report)
        self.waiting.append(report)

    def _same_day_contacts(self, report: Report) -> tuple[OrderUnknown, ...]:
        """CRM contacts of the report's day, of unknown order with it, that would have made
        it R06 had they come first: they are not before it (SPEC §6.4), only flagged."""
        found = []
        # A timed report has a known order with every timed contact: only the date-only
        # ones of its day can be flagged (so a day of many timed contacts costs nothing).
        by_day = self.contacts_by_day if not report.time_known else self.undated_contacts_by_day
        for contact in by_day.get(local_day(report.at, self.zone), ()):
            if contact.time_known and report.time_known:
                continue  # a known order: the timeline already decided
            end = self._developer_until(contact.at)
            if end is None or report.at < end:
                found.append(
                    OrderUnknown(
                        report,
                        kind=contact.kind,
                        at=contact.at,
                        time_known=contact.time_known,
                        source=contact.source,
                    )
                )
        return tuple(found)

    def _visit(self, group: list[Visit]) -> None:
        at = group[0].at
        bringers = sorted({v.channel for v in group if v.channel})
        current = self.current
        if current is not None and current.holds_by_visit:
            current.visits.extend(group)
            self._renew(current, at, bringers)
            return
        candidates = self._candidates(group)
        if candidates:
            self._contest(at, group, bringers, candidates)
            return
        if current is not None:  # the developer's episode goes on
            current.visits.extend(group)
            self.natural_at = _latest(self.natural_at, at)
            current.until = self._developer_until(self._developer_since())
            return
        holds = self._developer_holds(self.clock or at, self._developer_since())
        self._open_developer(OwnerType.EXISTING if holds else OwnerType.NATURAL, group, bringers)

    def _candidates(self, group: list[Visit]) -> list[Report]:
        rules = self.rules
        visit = group[0]
        at = visit.at
        candidates = []
        for report in self.waiting:
            unknown = same_day_unknown(
                report.at, report.time_known, at, visit.time_known, self.zone
            )
            if r08.decide(rules, report.report_type, report.at, at, visit.time_known, unknown):
                report.codes.append(Code.R08)
            elif r09.decide(report.until, at):
                report.codes.append(Code.R09)
            elif r03.not_day_before(rules.report, report.report_type, report.at, at, self.zone):
                report.codes.append(Code.R03)
            else:
                if unknown:  # same day, one without a clock time: in time (SPEC §6.4)
                    report.unknown_order += (
                        OrderUnknown(
                            report,
                            kind="visit",
                            at=at,
                            time_known=visit.time_known,
                            source=visit.source,
                            channel=visit.channel,
                        ),
                    )
                candidates.append(report)
                continue
            report.status = ReportStatus.INVALID
        self.waiting = []
        return candidates

    def _contest(
        self, at: datetime, group: list[Visit], bringers: list[str], candidates: list[Report]
    ) -> None:
        episode = Episode(self.phone, OwnerType.CHANNEL, at, _name_of(group), visits=list(group))
        episode.contested = list(candidates)
        for report in candidates:
            episode.order_unknown.extend(report.unknown_order)
        pool = list(candidates)
        priority = self.rules.report.type_priority
        if priority:
            ranks = [
                priority.index(r.report_type) if r.report_type in priority else len(priority)
                for r in pool
            ]
            best = min(ranks)
            if len(set(ranks)) > 1:
                episode.flags.provisional = True
            pool = [r for r, rank in zip(pool, ranks, strict=True) if rank == best]
        brought_by_other = c02.decide(candidates, bringers)
        if brought_by_other:
            episode.codes.append(Code.C02)
            episode.flags.brought_by = tuple(bringers)
        if n01.decide(self.rules, bringers, brought_by_other):
            for report in candidates:
                report.status, report.codes = ReportStatus.INVALID, [*report.codes, Code.N01]
            episode.owner_type, episode.codes = OwnerType.NATURAL, [Code.N01, *episode.codes]
            _flag_order_unknown(episode)
            self._start(episode, developer=True)
            return
        remaining = contest.rank(self.rules, pool, bringers)
        channels = sorted({r.channel for r in remaining})
        if len(channels) > 1:
            episode.order_unknown.extend(self._tied_same_day(remaining))
            first_of: dict[str, Report] = {}
            for report in remaining:
                earliest = first_of.get(report.channel)
                if earliest is None or _report_key(report) < _report_key(earliest):
                    first_of[report.channel] = report
            tied = {id(first_of[c]) for c in channels}
            for report in candidates:
                if id(report) in tied:
                    report.status, report.codes = ReportStatus.DISPUTED, [Code.D01]
                else:
                    report.status, report.codes = ReportStatus.LOST, [Code.C01]
            episode.owner_type = OwnerType.DISPUTED
            episode.channels = channels
            episode.codes.append(Code.D01)
            episode.flags.tie = tuple(channels)
        else:
            winner = min(remaining, key=_report_key)
            for report in candidates:
                if report is winner:
                    report.status = ReportStatus.VALID
                else:
                    report.status, report.codes = ReportStatus.LOST, [Code.C01]
            episode.channels = [winner.channel]
            episode.report = winner
            bringer_agent = next(
                (v.agent for v in group if v.channel == winner.channel and v.agent), None
            )
            episode.agent = winner.agent or bringer_agent
            lost = sorted({r.channel for r in candidates if r.status == ReportStatus.LOST})
            episode.flags.lost = tuple(lost)
        episode.until = p01.protection_end(self.rules, at)
        _flag_order_unknown(episode)
        self._start(episode, developer=False)

    def _tied_same_day(self, tied: list[Report]) -> list[OrderUnknown]:
        """Pairs of tied reports of different channels whose order is unknown (one of them
        date-only, on the same day), in list order: each date-only report meets the
        other channels' reports of its day, so only pairs that are found are visited."""
        days: dict[date, dict[str, list[int]]] = {}
        for index, report in enumerate(tied):
            day = days.setdefault(local_day(report.at, self.zone), {})
            day.setdefault(report.channel, []).append(index)
        pairs = []
        for channels in days.values():
            if len(channels) < 2:
                continue
            for channel, indices in channels.items():
                for i in indices:
                    if tied[i].time_known:
                        continue
                    for other, others in channels.items():
                        if other == channel:
                            continue
                        for j in others:
                            if tied[j].time_known or i < j:  # two date-only: found once
                                pairs.append((min(i, j), max(i, j)))
        found = []
        for i, j in sorted(pairs):
            first, second = tied[i], tied[j]
            found.append(
                OrderUnknown(
                    first,
                    kind="report",
                    at=second.at,
                    time_known=second.time_known,
                    source=second.source,
                    channel=second.channel,
                )
            )
        return found

    def _open_developer(
        self, owner_type: OwnerType, group: list[Visit], bringers: list[str]
    ) -> None:
        episode = Episode(self.phone, owner_type, group[0].at, _name_of(group), visits=list(group))
        episode.codes.append(Code.E01 if owner_type == OwnerType.EXISTING else Code.N01)
        episode.flags.brought_by = tuple(bringers)
        self.natural_at = group[0].at
        episode.until = self._developer_until(self._developer_since())
        self.episodes.append(episode)
        self.current = episode

    def _start(self, episode: Episode, *, developer: bool) -> None:
        if developer:
            self.crm_at = None
            self.natural_at = episode.first_visit_at
            episode.until = self._developer_until(episode.first_visit_at)
        else:
            # Contacts made before a channel's episode do not outlive it (SPEC §6.3).
            self.crm_at = self.natural_at = None
        self.episodes.append(episode)
        self.current = episode

    def _renew(self, episode: Episode, at: datetime, bringers: list[str]) -> None:
        if episode.until is not None and p01.renews(
            self.rules, episode.until, at, bringers, episode.channels
        ):
            episode.until = p01.renewal_end(self.rules, episode.until)
            episode.flags.renewed = episode.flags.renewed + 1

    def finish(self, as_of_end: datetime) -> None:
        """Reports no decisive visit reached: pending while protected, else expired."""
        for report in self.waiting:
            protected = report.until is None or as_of_end < report.until
            report.status = ReportStatus.PENDING if protected else ReportStatus.EXPIRED_UNVISITED


def _report_key(report: Report) -> tuple:
    return (report.at, report.order)


def _latest(known: datetime | None, at: datetime) -> datetime:
    return at if known is None else max(known, at)


def _flag_order_unknown(episode: Episode) -> None:
    if episode.order_unknown:
        episode.flags.order_unknown = True


def _name_of(group: list[Visit]) -> str | None:
    return next((v.customer_name for v in group if v.customer_name), None)
