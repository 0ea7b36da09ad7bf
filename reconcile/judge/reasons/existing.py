"""R06 案场老客户(CRM) and R07 已到访客户补报: reported while someone already holds the
customer (SPEC §6.2, §6.3 Who holds; docs/judge.md stages 2 and 3).

One decision at a report's arrival gives both: while a channel holds the customer
through a visit, the owner's re-report is R05 and anyone else's R07 (`prior_visit`);
otherwise R06 when a CRM contact before it still holds the customer
(`crm_contact_before_report`) and R07 when a natural visit before it does.
A customer known only from the CRM has no timeline: `known_in_crm` decides R06 for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from reconcile.config.rules import Rules
from reconcile.judge.periods import period_end_expr
from reconcile.judge.reasons.e01 import developer_holds
from reconcile.judge.reasons.entry import Notes, Reason, duration_text
from reconcile.judge.reasons.r05 import re_reported
from reconcile.judge.vocabulary import Code

if TYPE_CHECKING:
    from reconcile.judge.timeline import Report


def at_report(
    rules: Rules,
    channel: str,
    at: datetime,
    holders: list[str] | None,
    crm_at: datetime | None,
    natural_at: datetime | None,
) -> list[Code]:
    """The codes of an admitted report arriving at `at` (empty: it waits for a visit).

    `holders`: the channels holding the customer through a visit, None when none does;
    `crm_at`, `natural_at`: the developer's latest CRM contact and natural visit.
    """
    existing = rules.existing_customer
    if holders is not None:
        if re_reported(channel, holders):
            return [Code.R05]
        return [Code.R07] if existing.prior_visit else []
    codes = []
    if existing.crm_contact_before_report and _held_before(rules, at, crm_at):
        codes.append(Code.R06)
    if existing.prior_visit and _held_before(rules, at, natural_at):
        codes.append(Code.R07)
    return codes


def _held_before(rules: Rules, at: datetime, since: datetime | None) -> bool:
    return since is not None and since < at and developer_holds(rules, at, since)


def known_in_crm(linked: list[Report], crm: pl.DataFrame, rules: Rules) -> None:
    """R06 at once for admitted reports linked to a customer known only from the CRM.

    Such a customer has no timeline yet (no visit, deal or ruling): a report is R06
    when a CRM contact before it still holds the customer (`released_after` since the
    latest such contact); otherwise it waits for a visit like any linked report. A
    contact dated only on the report's day is not before it (SPEC §6.4).
    """
    existing = rules.existing_customer
    admitted = [r for r in linked if not r.codes]
    if not admitted or not existing.crm_contact_before_report:
        return
    zone = rules.timezone
    asked = pl.DataFrame(
        {
            "row_id": [r.row_id for r in admitted],
            "phone": [r.phone for r in admitted],
            "reported_at": pl.Series([r.at for r in admitted], dtype=pl.Datetime("us", zone)),
        }
    )
    known = "time_known" in crm.columns
    time_known = pl.col("time_known").fill_null(True) if known else pl.lit(True)
    contacts = crm.filter(
        pl.col("at").is_not_null() & pl.col("phone").is_in(asked["phone"].implode())
    )
    contacts = contacts.select("phone", contact_at=pl.col("at"), time_known=time_known)
    # The latest contact before the report, one as-of join per kind (never every contact
    # with every report): a timed contact before it, or a date-only one of an earlier day
    # (one of the report's day is not before it).
    asked = asked.with_columns(day_start=pl.col("reported_at").dt.truncate("1d"))
    found = [
        asked.sort(on).join_asof(
            contacts.filter(timed).sort("contact_at"),
            left_on=on,
            right_on="contact_at",
            by="phone",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,  # sorted here; polars cannot check within `by` groups
        )
        for on, timed in (
            ("reported_at", pl.col("time_known")),
            ("day_start", ~pl.col("time_known")),
        )
    ]
    contact_at, reported_at = pl.col("contact_at"), pl.col("reported_at")
    latest = (
        pl.concat([f.select("row_id", "reported_at", "contact_at") for f in found])
        .filter(contact_at.is_not_null())
        .group_by("row_id")
        .agg(contact_at.max(), reported_at.first())
    )
    if existing.released_after is not None:
        held_until = period_end_expr(contact_at, existing.released_after, zone)
        latest = latest.filter(held_until.is_null() | (reported_at < held_until))
    held = set(latest["row_id"].to_list())
    for report in admitted:
        if report.row_id in held:
            report.codes = [*report.codes, Code.R06]


def _notes(rules: Rules) -> str:
    existing = rules.existing_customer
    rules_in_force = []
    if existing.crm_contact_before_report:
        rules_in_force.append(f"报备前已在案场登记（CRM）的客户，报备无效{R06.cited}")
    if existing.prior_visit:
        rules_in_force.append(f"报备前已到访过的客户，报备无效{R07.cited}")
    if not rules_in_force:
        return "不因案场老客户判报备无效"
    released = existing.released_after
    if released is None:
        rules_in_force.append("老客户不会释放")
    else:
        rules_in_force.append(
            f"案场最后一次跟进或到访满 {duration_text(released)}后，客户释放为公共客户，可重新报备"
        )
    return "；".join(rules_in_force)


NOTES = Notes("案场老客户", _notes)
R06 = Reason(
    Code.R06,
    "案场老客户(CRM)",
    "With existing_customer.crm_contact_before_report, a report made while a CRM contact "
    "before it still holds the customer (released_after) is invalid (SPEC §6.2, §6.3).",
    decide=(at_report, known_in_crm),
    notes=NOTES,
)
R07 = Reason(
    Code.R07,
    "已到访客户补报",
    "With existing_customer.prior_visit, a report made after the customer visited and "
    "while that visit still holds the customer (the developer's, or another channel's "
    "visit protection) is invalid (SPEC §6.2, §6.3).",
    decide=(at_report,),
    notes=NOTES,
)
