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

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from zoneinfo import ZoneInfo

from reconcile.config.rules import Rules
from reconcile.judge.periods import local_day, period_end
from reconcile.judge.reasons import c02, contest, e01, existing, n01, p01, q01, r03, r08, r09, r11
from reconcile.judge.reasons.modes import mode_of
from reconcile.judge.vocabulary import Code, Flags, OwnerType, ReportStatus
from reconcile.normalise.places import place_text


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
    order: tuple  # (path, sheet, row): its place in its file
    # Replaced, never changed in place: the judge gives a million reports without a code
    # the one empty tuple.
    codes: Sequence[Code] = field(default_factory=list)
    # Until a stage decides otherwise, a report waits for its decisive visit.
    status: ReportStatus = ReportStatus.PENDING
    phone: str | None = None
    time_known: bool = True  # false: a date without a clock time (reads as 00:00)
    # Rows of its day whose order with it is unknown, resolved in its favour (§6.4);
    # a tuple: a million reports share the one empty one.
    unknown_order: tuple[OrderUnknown, ...] = ()

    @property
    def source(self) -> str:
        return place_text(self.order)


@dataclass(slots=True, eq=False)
class Visit:
    row_id: str
    phone: str
    at: datetime
    channel: str | None
    agent: str | None
    customer_name: str | None
    order: tuple  # (path, sheet, row)
    time_known: bool = True

    @property
    def source(self) -> str:
        return place_text(self.order)


@dataclass(slots=True, eq=False)
class Contact:
    row_id: str
    phone: str
    at: datetime
    kind: str  # crm | followup
    order: tuple  # (path, sheet, row)
    time_known: bool = True

    @property
    def source(self) -> str:
        return place_text(self.order)


@dataclass(slots=True, eq=False)
class Request:
    """An extension request (延期/延续, SPEC 6.8): not a report; it extends the holder's
    report protection or is R11."""

    row_id: str
    channel: str
    agent: str | None
    customer_name: str | None
    phone_pattern: str
    at: datetime
    order: tuple  # (path, sheet, row)
    time_known: bool = True
    phone: str | None = None
    honoured: bool = False
    codes: list[Code] = field(default_factory=list)
    until: datetime | None = None  # the new end of the holder's protection, when honoured

    @property
    def source(self) -> str:
        return place_text(self.order)


@dataclass(frozen=True, slots=True)
class QueueSpot:
    """Where a queued report stands tonight (SPEC 6.8): what its agency may read of it,
    never who is ahead."""

    position: int  # 1 = next to hold
    earliest: datetime | None  # the earliest instant it could hold (None: never, forever)


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
    # Report mode (SPEC 6.8): the instant the report (or the queue's takeover) began to
    # hold; None when a visit began the episode.
    held_from: datetime | None = None

    @property
    def start(self) -> datetime | None:
        """When the episode began to hold: its report in report mode, else its first visit."""
        return self.held_from or self.first_visit_at

    @property
    def holds_by_visit(self) -> bool:
        return self.owner_type in (OwnerType.CHANNEL, OwnerType.DISPUTED)

    @property
    def had_collision(self) -> bool:
        collided = (ReportStatus.LOST, ReportStatus.DISPUTED)
        return any(report.status in collided for report in self.contested)


_EVENT_ORDER = {"stage": 0, "contact": 0, "report": 1, "request": 1, "visit": 2}


def event_key(at: datetime, time_known: bool, kind: str, zone: ZoneInfo) -> tuple:
    """Where an event stands in a customer's timeline (SPEC §6.4).

    By calendar day, then: date-only reports, timed events in time order, date-only
    CRM contacts and visits. So an unknown order within a day resolves for the report.
    """
    slot = 1 if time_known else 0 if kind in ("report", "request", "stage") else 2
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
    if len(visits) < 2:  # most customers visit once
        return [list(visits)] if visits else []
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
        self.mode = mode_of(rules)
        self.queue: list[Report] = []  # queued behind the holder, first = next (SPEC 6.8)
        self.extended: dict[int, int] = {}  # id(report) -> extensions of its protection
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
        self,
        reports: list[Report],
        visits: list[Visit],
        contacts: list[Contact],
        requests: list[Request] = (),  # type: ignore[assignment]
        stages: list[tuple[datetime, str]] = (),  # type: ignore[assignment]
    ) -> list[Episode]:
        """`stages`: (day, deposit | closing) of the customer's deals (SPEC 6.8): a deposit
        lengthens the holder's protection, a deal at the commission stage ends the queue."""
        zone = self.zone
        events: list[tuple] = []
        for request in requests:
            key = event_key(request.at, request.time_known, "request", zone)
            events.append((key, request.order, "request", request))
        for day, what in stages:
            events.append((event_key(day, False, "stage", zone), (), "stage", (day, what)))
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
        for _, _, kind, item in sorted(events, key=itemgetter(0, 1)):
            at = item[0].at if kind == "visit" else item[0] if kind == "stage" else item.at
            self.clock = at if self.clock is None else max(self.clock, at)
            self._expire(self.clock)
            if kind == "contact":
                self._contact(item)
            elif kind == "report":
                self._report(item)
            elif kind == "request":
                self._request(item)
            elif kind == "stage":
                self._stage(*item)
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
            while current is not None and current.until is not None and at >= current.until:
                self.current = None
                if self.queue:  # the first queued report holds from the end (SPEC 6.8)
                    self._take_over(current.until)
                current = self.current
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
        if self.mode.report_holds and holders is not None and report.channel not in holders:
            assert current is not None
            self._rival(current, report)
            return
        codes = existing.at_report(
            self.rules, report.channel, report.at, holders, self.crm_at, self.natural_at
        )
        if codes:
            report.codes = [*report.codes, *codes]
            report.status = ReportStatus.INVALID
            return
        if holders is None and self.rules.existing_customer.crm_contact_before_report:
            report.unknown_order += self._same_day_contacts(report)
        if self.mode.report_holds:
            self._hold_by_report(report)
            return
        self.waiting.append(report)

    # --- report mode, extensions and the queue (SPEC 6.8) ------------------------------
    def _hold_by_report(self, report: Report) -> None:
        """Report mode: the first valid report holds the customer for its validity."""
        episode = Episode(self.phone, OwnerType.CHANNEL, None, report.customer_name)
        episode.held_from, episode.until = report.at, report.until
        episode.channels, episode.agent, episode.report = [report.channel], report.agent, report
        episode.contested = [report]
        episode.order_unknown.extend(report.unknown_order)
        _flag_order_unknown(episode)
        report.status = ReportStatus.VALID
        self._start(episode, developer=False)

    def _rival(self, episode: Episode, report: Report) -> None:
        """Report mode: another channel reports a customer held by a report: a tie when
        reported too close to the holder, else queued (or Q01), else lost."""
        holder = episode.report
        if (
            holder is not None
            and not episode.flags.takeover
            and len(contest.first_reported(self.rules, [holder, report])) > 1
        ):
            for tied in (holder, report):
                tied.status, tied.codes = ReportStatus.DISPUTED, [Code.D01]
            episode.owner_type, episode.report, episode.agent = OwnerType.DISPUTED, None, None
            episode.channels = sorted({holder.channel, report.channel})
            episode.codes.append(Code.D01)
            episode.flags.tie = tuple(episode.channels)
            episode.contested.append(report)
            if episode.until is not None:
                episode.until = None if report.until is None else max(episode.until, report.until)
            return
        if self.rules.report.queue is not None:
            if q01.full(self.rules, len(self.queue)):
                report.status, report.codes = ReportStatus.INVALID, [Code.Q01]
            else:
                report.status = ReportStatus.QUEUED
                self.queue.append(report)
            return
        report.status, report.codes = ReportStatus.LOST, [Code.C01]
        episode.contested.append(report)
        episode.flags.lost = tuple(sorted({*episode.flags.lost, report.channel}))

    def _take_over(self, end: datetime) -> None:
        report = self.queue.pop(0)
        episode = Episode(self.phone, OwnerType.CHANNEL, None, report.customer_name)
        episode.held_from, episode.until = end, q01.takeover_end(self.rules, end)
        episode.channels, episode.agent, episode.report = [report.channel], report.agent, report
        episode.contested = [report]
        episode.flags.takeover = True
        report.status = ReportStatus.VALID
        self._start(episode, developer=False)

    def _request(self, request: Request) -> None:
        """An extension request: the holder's, inside the window and `times`, extends its
        report protection; any other is R11."""
        rules = self.rules
        current = self.current
        if self.mode.report_holds:
            held = (
                current is not None
                and current.owner_type == OwnerType.CHANNEL
                and current.channels == [request.channel]
                and not current.flags.takeover
            )
            if held and current is not None:
                used = current.flags.extended
                if r11.honoured(rules, current.until, request.at, used):
                    assert current.until is not None
                    current.until = r11.extension_end(rules, current.until, bool(self.queue))
                    current.flags.extended = used + 1
                    request.honoured, request.until = True, current.until
                    return
        else:
            # Report protection only: a report still waiting for its decisive visit.
            for report in self.waiting:
                if report.channel != request.channel:
                    continue
                used = self.extended.get(id(report), 0)
                if r11.honoured(rules, report.until, request.at, used):
                    assert report.until is not None
                    report.until = r11.extension_end(rules, report.until, queued=False)
                    self.extended[id(report)] = used + 1
                    request.honoured, request.until = True, report.until
                    return
        request.codes = [Code.R11]

    def _stage(self, day: datetime, what: str) -> None:
        current = self.current
        if current is None or current.owner_type != OwnerType.CHANNEL:
            return
        if what == "deposit":
            deposit = self.rules.report.validity_after_deposit
            if deposit is not None and current.until is not None:
                end = period_end(day, deposit, self.zone)
                current.until = None if end is None else max(current.until, end)
        elif self.queue:  # the holder's deal reached the commission stage
            for report in self.queue:
                report.status, report.codes = ReportStatus.LOST, [Code.C01]
                current.contested.append(report)
            lost = {*current.flags.lost, *(r.channel for r in self.queue)}
            current.flags.lost = tuple(sorted(lost))
            self.queue = []

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
            if current.held_from is None:
                self._renew(current, at, bringers)
            elif current.first_visit_at is None:  # report mode: visits start no protection
                current.first_visit_at = at
                current.customer_name = _name_of(group) or current.customer_name
            return
        if not self.mode.needs_report and bringers and current is None:
            self._brought(at, group, bringers)
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

    def _brought(self, at: datetime, group: list[Visit], bringers: list[str]) -> None:
        """Visit mode: the channel that brings the customer first holds it; its waiting
        report is valid, other channels' are lost. Reports are judged for admission only
        (no R08/R09); bringers that no report separates tie."""
        episode = Episode(self.phone, OwnerType.CHANNEL, at, _name_of(group), visits=list(group))
        waiting, self.waiting = self.waiting, []
        episode.contested = list(waiting)
        own = [r for r in waiting if r.channel in bringers]
        channels = bringers
        if len(bringers) > 1:
            ranked = contest.rank(self.rules, own, bringers) if own else []
            channels = sorted({r.channel for r in ranked}) or bringers
        if len(channels) > 1:
            episode.owner_type, episode.channels = OwnerType.DISPUTED, channels
            episode.codes.append(Code.D01)
            episode.flags.tie = tuple(channels)
            for report in waiting:
                tied = report.channel in channels
                report.status = ReportStatus.DISPUTED if tied else ReportStatus.LOST
                report.codes = [Code.D01 if tied else Code.C01]
        else:
            winner = channels[0]
            mine = [r for r in own if r.channel == winner]
            episode.channels = [winner]
            episode.report = min(mine, key=_report_key) if mine else None
            agent = next((v.agent for v in group if v.channel == winner and v.agent), None)
            episode.agent = episode.report.agent if episode.report is not None else agent
            episode.agent = episode.agent or agent
            for report in waiting:
                if report.channel == winner:
                    report.status = ReportStatus.VALID
                else:
                    report.status, report.codes = ReportStatus.LOST, [Code.C01]
            lost = {r.channel for r in waiting if r.status == ReportStatus.LOST}
            episode.flags.lost = tuple(sorted(lost))
        episode.until = p01.protection_end(self.rules, at)
        self._start(episode, developer=False)

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
                report.codes = [*report.codes, Code.R08]
            elif r09.decide(report.until, at):
                report.codes = [*report.codes, Code.R09]
            elif r03.not_day_before(rules.report, report.report_type, report.at, at, self.zone):
                report.codes = [*report.codes, Code.R03]
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

    def finish(self, as_of_end: datetime) -> dict[str, QueueSpot]:
        """Reports no decisive visit reached: pending while protected, else expired; the
        queue as it stands tonight, by report row."""
        if self.queue:
            self._expire(as_of_end)
        spots = {}
        current = self.current
        # Each place holds, at the earliest, once every report ahead of it has held.
        earliest = current.until if current is not None else None
        for position, report in enumerate(self.queue, start=1):
            spots[report.row_id] = QueueSpot(position, earliest)
            earliest = q01.takeover_end(self.rules, earliest) if earliest is not None else None
        for report in self.waiting:
            protected = report.until is None or as_of_end < report.until
            report.status = ReportStatus.PENDING if protected else ReportStatus.EXPIRED_UNVISITED
        return spots


def _report_key(report: Report) -> tuple:
    return (report.at, report.order)


def _latest(known: datetime | None, at: datetime) -> datetime:
    return at if known is None else max(known, at)


def _flag_order_unknown(episode: Episode) -> None:
    if episode.order_unknown:
        episode.flags.order_unknown = True


def _name_of(group: list[Visit]) -> str | None:
    return next((v.customer_name for v in group if v.customer_name), None)
