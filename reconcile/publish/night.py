"""The night's publishing step: files for people, then mails.

Everything is derived from the judgement and the ledger, so the same night written
twice gives the same bytes, and a mail already recorded for a night is never
composed or sent again.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from reconcile.config.rules import Rules
from reconcile.config.workspace import Workspace
from reconcile.judge import Judgement
from reconcile.publish.background import PATIENCE, Background
from reconcile.publish.digest import (
    Before,
    Digest,
    build_digest,
    file_news,
    money_by_channel,
)
from reconcile.publish.mail import Attachment, Delivery, Mail, flush, post, receipt_key
from reconcile.publish.performance import consultant_totals, write_performance
from reconcile.publish.receipts import (
    Receipt,
    receipt_paths,
    receipt_summaries,
    remove_stale,
    signed_phones,
    write_each,
)
from reconcile.publish.report import (
    performance_mail,
    receipt_mail,
    settlement_mail,
    subject,
    write_report,
)
from reconcile.publish.ruling_sheet import publish_ruling_sheet, workspace_path
from reconcile.publish.settlement import FILE_NAME, write_settlement
from reconcile.store.ledger import Ledger

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Published:
    digest: Digest
    report: Path
    settlement: Path
    receipts: list[Path]
    ruling_sheet: Path | None = None  # the pre-filled 裁决表, when anything is open
    deliveries: list[Delivery] = field(default_factory=list)
    performance: Path | None = None  # the sales manager's workbook, when `consultant:` is set

    @property
    def files(self) -> list[Path]:
        extra = [p for p in (self.ruling_sheet, self.performance) if p is not None]
        return [self.report, self.settlement, *self.receipts, *extra]


def publish(
    workspace: Workspace,
    ledger: Ledger,
    judgement: Judgement,
    *,
    previous: Before | None,
    failed: list[tuple[str, str]] | None = None,
    compose: bool = True,
    send: bool = True,
    receipts: Receipts | None = None,
) -> Published:
    """Write the night's people-facing files and post its mails.

    `previous`: what the night before decided (the report says what changed since).

    `compose=False` (a replay of a past night) rewrites the files but adds no mail:
    that night's mails were posted when it first ran. `send=False` (`--no-email`)
    leaves tonight's mails in the outbox folder only. Mails queued by an earlier run
    go out whenever `send` is true.

    `receipts`: the agencies' receipts and the settlement workbook as already started
    (`start_receipts`); else they are started here. Either way they are written beside
    the rest.
    """
    rules = workspace.rules
    night = judgement.inputs.as_of
    folder = workspace.outputs / night.isoformat()
    with receipts or start_receipts(judgement, rules, folder) as started:
        ruling = publish_ruling_sheet(judgement, rules, folder)
        digest = build_digest(
            judgement,
            previous,
            file_news(ledger, rules, night, failed),
            rules,
            ruling_sheet=workspace_path(ruling, workspace.root) if ruling else None,
        )
        report, html, text = write_report(digest, workspace.reports)
        performance = None
        if judgement.consultants is not None:
            performance = write_performance(judgement, rules, night, folder / "performance.xlsx")
        letters: dict[str, Mail] = {}
        if compose:
            # Worded while the children write: only the receipts they carry are waited for.
            letters = agency_letters(
                digest, judgement, started.paths, rules.receipt_recipients, started.gathered
            )
        settlement = started.settlement()
        written = started.result()
    published = Published(
        digest, report, settlement, list(written.values()), ruling, performance=performance
    )
    now = datetime.now(rules.zone)
    if compose:
        attachment = f"结算表_{night.isoformat()}.xlsx"
        finance_subject, finance_html, finance_text = settlement_mail(
            digest, money_by_channel(judgement), attachment
        )
        mails = (
            Mail("dispute_report", night, tuple(rules.notify.admin), subject(digest), html, text),
            Mail(
                "settlement",
                night,
                tuple(rules.notify.finance),
                finance_subject,
                finance_html,
                finance_text,
                (Attachment(attachment, settlement.read_bytes(), XLSX_MIME),),
            ),
            *enclosed(letters, written),
            *performance_mails(digest, judgement, published.performance, rules),
        )
        for mail in mails:
            delivery = post(ledger, rules, mail, folder / "outbox", now, send)
            if delivery is not None:
                published.deliveries.append(delivery)
    sent = {d.message_id: d for d in flush(ledger, rules, now, send)}
    published.deliveries = [sent.pop(d.message_id, d) for d in published.deliveries]
    published.deliveries += sent.values()
    return published


@dataclass
class Receipts:
    """The night's receipts: gathered here, from the judgement's polars frames too, and
    written in the background (pure Python) by children that share them out; and the
    settlement workbook (pure Python too), by a child of its own."""

    gathered: dict[str, Receipt]
    folder: Path
    paths: dict[str, Path]  # where each channel's receipt is written
    writing: list[Background[dict[str, Path]]]
    settling: Background[Path]

    def result(self, timeout: float = PATIENCE) -> dict[str, Path]:
        """Each channel's receipt, in channel order, once every child has written its
        share (each within `timeout` seconds); a receipt an earlier run of the night
        left is removed."""
        done: dict[str, Path] = {}
        for job in self.writing:
            done.update(job.result(timeout))
        written = {channel: done[channel] for channel in self.gathered}
        remove_stale(self.folder, list(written.values()))
        return written

    def settlement(self, timeout: float = PATIENCE) -> Path:
        """The settlement workbook, once written (within `timeout` seconds)."""
        return self.settling.result(timeout)

    def __enter__(self) -> Receipts:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for job in self.writing:
            job.__exit__(*exc_info)
        self.settling.__exit__(*exc_info)


def start_receipts(judgement: Judgement, rules: Rules, folder: Path) -> Receipts:
    """The night's receipts (`folder/channels/`), written in the background from now on:
    two children, each given about half of the report rows; and beside them a third
    writing the settlement workbook (`folder/settlement.xlsx`), so that all three end
    about together rather than the settlement alone at the end."""
    night = judgement.inputs.as_of
    gathered = Receipt.all(judgement, signed_phones(judgement))
    channels = folder / "channels"
    paths = receipt_paths(gathered, channels)
    halves: tuple[dict[str, Receipt], dict[str, Receipt]] = ({}, {})
    sizes = [0, 0]
    # The biggest first, each to the lighter half: the two finish about together.
    for channel in sorted(gathered, key=lambda c: (-gathered[c].size, c)):
        lighter = sizes.index(min(sizes))
        halves[lighter][channel] = gathered[channel]
        sizes[lighter] += gathered[channel].size
    jobs = [
        Background.start(functools.partial(write_each, half, rules, night, paths))
        for half in halves
        if half
    ]
    settle = functools.partial(write_settlement, judgement, rules, night, folder / FILE_NAME)
    return Receipts(gathered, channels, paths, jobs, Background.start(settle))


def agency_mails(
    digest: Digest,
    judgement: Judgement,
    receipts: dict[str, Path],
    recipients: dict[str, tuple[str, ...]],
    gathered: dict[str, Receipt] | None = None,
) -> list[Mail]:
    """Each agency's own receipt, to its own addresses only: one mail per channel that
    has both a receipt tonight and addresses in `notify.channels`."""
    return enclosed(agency_letters(digest, judgement, receipts, recipients, gathered), receipts)


def agency_letters(
    digest: Digest,
    judgement: Judgement,
    receipts: dict[str, Path],
    recipients: dict[str, tuple[str, ...]],
    gathered: dict[str, Receipt] | None = None,
) -> dict[str, Mail]:
    """`agency_mails` by channel, each without its receipt yet: what a mail says is
    known before the receipt it carries is written (`receipts`: where each will be)."""
    addressed = [channel for channel in receipts if recipients.get(channel)]
    letters = {}
    for channel, summary in receipt_summaries(judgement, addressed, gathered).items():
        attachment = _attachment_name(digest.night, receipts[channel])
        title, html, text = receipt_mail(digest, summary, attachment)
        letters[channel] = Mail(
            receipt_key(channel), digest.night, recipients[channel], title, html, text
        )
    return letters


def enclosed(letters: dict[str, Mail], receipts: dict[str, Path]) -> list[Mail]:
    """Each channel's letter (`agency_letters`) with its receipt, written by now."""
    return [
        dataclasses.replace(
            letter,
            attachments=(
                Attachment(
                    _attachment_name(letter.night, receipts[channel]),
                    receipts[channel].read_bytes(),
                    XLSX_MIME,
                ),
            ),
        )
        for channel, letter in letters.items()
    ]


def _attachment_name(night: date, receipt: Path) -> str:
    # The receipt's own file name: already cleaned of whatever the channel's name holds.
    return f"渠道回执_{night.isoformat()}_{receipt.name}"


def performance_mails(
    digest: Digest, judgement: Judgement, workbook: Path | None, rules: Rules
) -> list[Mail]:
    """The sales manager's performance.xlsx (SPEC 6.7), when there is one."""
    if workbook is None:
        return []
    attachment = f"置业顾问业绩表_{digest.night.isoformat()}.xlsx"
    title, html, text = performance_mail(
        digest, consultant_totals(judgement), judgement.rotation is not None, attachment
    )
    return [
        Mail(
            "performance",
            digest.night,
            tuple(rules.notify.sales_manager),
            title,
            html,
            text,
            (Attachment(attachment, workbook.read_bytes(), XLSX_MIME),),
        )
    ]
