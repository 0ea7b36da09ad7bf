"""Stage 3 of the judge: one customer's timeline, in time order (docs/judge.md).

The holder at any instant is a channel (visit protection), the developer (after a
natural visit or a CRM contact, until `released_after`), or nobody (公共客户).
Reports wait for the customer's next decisive visit; that visit decides between
them by the rules of `conflict:` and opens an ownership episode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from reconcile.judge.admission import lead_time, type_rules
from reconcile.periods import local_day, period_end, window_start
from reconcile.rules import Rules


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
    codes: list[str] = field(default_factory=list)
    status: str = ""
    phone: str | None = None


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


@dataclass(slots=True, eq=False)
class Contact:
    row_id: str
    phone: str
    at: datetime
    kind: str  # crm | followup
    source: str
    order: tuple


@dataclass(slots=True, eq=False)
class Episode:
    phone: str
    owner_type: str  # channel | natural | existing | disputed
    first_visit_at: datetime | None
    customer_name: str | None
    until: datetime | None = None
    channels: list[str] = field(default_factory=list)
    agent: str | None = None
    report: Report | None = None
    codes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    contested: list[Report] = field(default_factory=list)  # every candidate of the contest
    renewals: int = 0
    shares: list[tuple[str, float]] = field(default_factory=list)
    ruled: bool = False

    @property
    def holds_by_visit(self) -> bool:
        return self.owner_type in ("channel", "disputed")

    @property
    def had_collision(self) -> bool:
        return any(report.status in ("lost", "disputed") for report in self.contested)


_EVENT_ORDER = {"contact": 0, "report": 1, "visit": 2}


def group_visits(visits: list[Visit], rules: Rules) -> list[list[Visit]]:
    """Visits this close together are one visit at the earliest time, with several bringers."""
    groups: list[list[Visit]] = []
    for visit in sorted(visits, key=lambda v: (v.at, v.order)):
        if groups:
            first = groups[-1][0]
            end = period_end(first.at, rules.visit.simultaneous_within, rules.zone)
            if end is None or visit.at <= end:
                groups[-1].append(visit)
                continue
        groups.append([visit])
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

    def run(
        self, reports: list[Report], visits: list[Visit], contacts: list[Contact]
    ) -> list[Episode]:
        events: list[tuple] = []
        for contact in contacts:
            events.append((contact.at, _EVENT_ORDER["contact"], contact.order, "contact", contact))
        for report in reports:
            events.append((report.at, _EVENT_ORDER["report"], report.order, "report", report))
        for group in group_visits(visits, self.rules):
            events.append((group[0].at, _EVENT_ORDER["visit"], group[0].order, "visit", group))
        for at, _, _, kind, item in sorted(events, key=lambda e: e[:3]):
            self._expire(at)
            if kind == "contact":
                self._contact(item)
            elif kind == "report":
                self._report(item)
            else:
                self._visit(item)
        return self.episodes

    # --- who holds -------------------------------------------------------------------
    def _developer_until(self, since: datetime | None) -> datetime | None:
        released = self.rules.existing_customer.released_after
        if since is None or released is None:
            return None
        return period_end(since, released, self.zone)

    def _developer_holds(self, at: datetime, since: datetime | None) -> bool:
        if since is None or since > at:
            return False
        end = self._developer_until(since)
        return end is None or at < end

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
        self.crm_at = contact.at
        if self.current is not None:
            self.current.until = self._developer_until(self._developer_since())

    def _report(self, report: Report) -> None:
        existing = self.rules.existing_customer
        current = self.current
        if current is not None and current.holds_by_visit:
            if report.channel in current.channels:
                report.codes.append("R05")
            elif existing.prior_visit:
                report.codes.append("R07")
            else:
                self.waiting.append(report)
                return
            report.status = "invalid"
            return
        if existing.crm_contact_before_report and self._developer_holds_before(
            report.at, self.crm_at
        ):
            report.codes.append("R06")
        if existing.prior_visit and self._developer_holds_before(report.at, self.natural_at):
            report.codes.append("R07")
        if report.codes:
            report.status = "invalid"
        else:
            self.waiting.append(report)

    def _developer_holds_before(self, at: datetime, since: datetime | None) -> bool:
        return since is not None and since < at and self._developer_holds(at, since)

    def _visit(self, group: list[Visit]) -> None:
        at = group[0].at
        bringers = sorted({v.channel for v in group if v.channel})
        current = self.current
        if current is not None and current.holds_by_visit:
            current.visits.extend(group)
            self._renew(current, at, bringers)
            return
        candidates = self._candidates(at)
        if candidates:
            self._contest(at, group, bringers, candidates)
            return
        if current is not None:  # the developer's episode goes on
            current.visits.extend(group)
            self.natural_at = at
            current.until = self._developer_until(self._developer_since())
            return
        existing = self._developer_holds(at, self._developer_since())
        self._open_developer("existing" if existing else "natural", group, bringers)

    def _candidates(self, at: datetime) -> list[Report]:
        report_rules = self.rules.report
        candidates = []
        for report in self.waiting:
            # The latest report time that is still `lead_time` before the visit (inclusive).
            latest = window_start(at, lead_time(report_rules, report.report_type), self.zone)
            kind = type_rules(report_rules, report.report_type)
            if report.at > latest:
                report.codes.append("R08")
            elif report.until is not None and at >= report.until:
                report.codes.append("R09")
            elif (
                kind is not None
                and kind.window is not None
                and kind.window.day == "before"
                and local_day(report.at, self.zone) >= local_day(at, self.zone)
            ):
                report.codes.append("R03")
            else:
                candidates.append(report)
                continue
            report.status = "invalid"
        self.waiting = []
        return candidates

    def _contest(
        self, at: datetime, group: list[Visit], bringers: list[str], candidates: list[Report]
    ) -> None:
        conflict = self.rules.conflict
        episode = Episode(self.phone, "channel", at, _name_of(group), visits=list(group))
        episode.contested = list(candidates)
        pool = list(candidates)
        priority = self.rules.report.type_priority
        if priority:
            ranks = [
                priority.index(r.report_type) if r.report_type in priority else len(priority)
                for r in pool
            ]
            best = min(ranks)
            if len(set(ranks)) > 1:
                episode.flags.append("provisional=type_priority")
            pool = [r for r, rank in zip(pool, ranks, strict=True) if rank == best]
        # A bringer that reported but lost on type priority was not "brought by other" (C02).
        brought = [r for r in candidates if r.channel in bringers]
        natural = False
        if bringers and not brought:
            episode.codes.append("C02")
            episode.flags.extend(f"brought_by={channel}" for channel in bringers)
            natural = conflict.brought_by_other == "natural"
        elif not bringers:
            natural = conflict.natural_visit == "natural"
        if natural:
            for report in candidates:
                report.status, report.codes = "invalid", [*report.codes, "N01"]
            episode.owner_type, episode.codes = "natural", ["N01", *episode.codes]
            self._start(episode, developer=True)
            return
        remaining = self._rank(pool, bringers)
        channels = sorted({r.channel for r in remaining})
        if len(channels) > 1:
            tied = [
                min((r for r in remaining if r.channel == c), key=_report_key) for c in channels
            ]
            for report in candidates:
                if report in tied:
                    report.status, report.codes = "disputed", ["D01"]
                else:
                    report.status, report.codes = "lost", ["C01"]
            episode.owner_type = "disputed"
            episode.channels = channels
            episode.codes.append("D01")
            episode.flags.extend(f"tie={channel}" for channel in channels)
        else:
            winner = min(remaining, key=_report_key)
            for report in candidates:
                if report is winner:
                    report.status = "valid"
                else:
                    report.status, report.codes = "lost", ["C01"]
            episode.channels = [winner.channel]
            episode.report = winner
            bringer_agent = next(
                (v.agent for v in group if v.channel == winner.channel and v.agent), None
            )
            episode.agent = winner.agent or bringer_agent
            episode.flags.extend(
                sorted({f"lost={r.channel}" for r in candidates if r.status == "lost"})
            )
        episode.until = period_end(at, self.rules.visit.protection, self.zone)
        self._start(episode, developer=False)

    def _rank(self, pool: list[Report], bringers: list[str]) -> list[Report]:
        """The candidates no rule of `conflict.order` separates from the best."""
        conflict = self.rules.conflict
        remaining = list(pool)
        for rule in conflict.order:
            if rule == "first_visit":
                if any(r.channel in bringers for r in remaining):
                    remaining = [r for r in remaining if r.channel in bringers]
            else:
                earliest = min(r.at for r in remaining)
                gap = conflict.min_gap
                if gap is None:
                    remaining = [r for r in remaining if r.at == earliest]
                else:
                    end = period_end(earliest, gap, self.zone)
                    remaining = [r for r in remaining if end is None or r.at < end]
        return remaining

    def _open_developer(self, owner_type: str, group: list[Visit], bringers: list[str]) -> None:
        episode = Episode(self.phone, owner_type, group[0].at, _name_of(group), visits=list(group))
        episode.codes.append("E01" if owner_type == "existing" else "N01")
        episode.flags.extend(f"brought_by={channel}" for channel in bringers)
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
        renewal = self.rules.visit.renewal
        if renewal is None or episode.until is None or not set(bringers) & set(episode.channels):
            return
        if window_start(episode.until, renewal.window, self.zone) <= at < episode.until:
            episode.until = period_end(episode.until, renewal.extend, self.zone)
            episode.renewals += 1

    def finish(self, as_of_end: datetime) -> None:
        """Reports no decisive visit reached: pending while protected, else expired."""
        for report in self.waiting:
            protected = report.until is None or as_of_end < report.until
            report.status = "pending" if protected else "expired_unvisited"
        for episode in self.episodes:
            if episode.renewals:
                episode.flags.append(f"renewed={episode.renewals}")


def _report_key(report: Report) -> tuple:
    return (report.at, report.order)


def _name_of(group: list[Visit]) -> str | None:
    return next((v.customer_name for v in group if v.customer_name), None)
