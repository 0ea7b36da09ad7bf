"""The dispute report: the digest rendered as mail-safe HTML and as plain text.

Templates live in the package (`reconcile/templates/report/`). Autoescaping is on,
so no cell text can inject markup; CSS is inlined with css-inline because mail
clients drop `<style>` blocks. The layout is one fluid column of cards, which reads
the same at phone width as on a desktop without media queries.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import css_inline
import jinja2

from reconcile.publish.digest import ChannelMoney, Digest
from reconcile.publish.receipts import ReceiptSummary
from reconcile.publish.text import yuan
from reconcile.store.files import write_atomic

if TYPE_CHECKING:
    from reconcile.publish.performance import ConsultantTotal

REPORT_NAME = "dispute_report.html"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("reconcile", "templates/report"),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _render(template: str, **context: object) -> str:
    page = _environment().get_template(template).render(**context)
    return css_inline.inline(page) if template.endswith(".html.j2") else page


def render_html(digest: Digest) -> str:
    return _render("dispute_report.html.j2", d=digest)


def render_text(digest: Digest) -> str:
    return _render("dispute_report.txt.j2", d=digest)


def subject(digest: Digest) -> str:
    tiles = {tile.key: tile.value for tile in digest.action_tiles}
    return (
        f"【{digest.project}】{digest.night} 撞单与争议日报："
        f"待裁决 {tiles['disputes']}，撞单 {tiles['collisions']}，号码待确认 {tiles['to_confirm']}"
    )


def settlement_mail(
    digest: Digest, channels: list[ChannelMoney], attachment: str
) -> tuple[str, str, str]:
    """Finance's mail that carries the settlement workbook: subject, HTML and text."""
    context = {"d": digest, "channels": channels, "attachment": attachment}
    html = _render("settlement_mail.html.j2", **context)
    text = _render("settlement_mail.txt.j2", **context)
    money = {tile.key: tile.value for tile in digest.money_tiles}
    held = f"暂缓 {money['held']}，" if "held" in money else ""
    # What to pay leads: the other figures are cumulative and include what was paid.
    to_pay = yuan(sum(channel.outstanding for channel in channels) + 0.0)
    title = (
        f"【{digest.project}】{digest.night} 佣金结算表：本期应付 {to_pay}，"
        f"可结佣 {money['payable']}，{held}追回 {money['clawback']}"
    )
    return title, html, text


def performance_mail(
    digest: Digest, consultants: Sequence[ConsultantTotal], rotation: bool, attachment: str
) -> tuple[str, str, str]:
    """The sales manager's mail that carries performance.xlsx: subject, HTML and text."""
    context = {
        "d": digest,
        "consultants": consultants,
        "rotation": rotation,
        "attachment": attachment,
    }
    html = _render("performance_mail.html.j2", **context)
    text = _render("performance_mail.txt.j2", **context)
    deals = f"{sum(c.deals for c in consultants):.2f}".rstrip("0").rstrip(".")
    differs = sum(c.differs for c in consultants)
    head = f"【{digest.project}】{digest.night} 置业顾问业绩表"
    title = f"{head}：成交 {deals} 套，与CRM不符 {differs} 笔"
    return title, html, text


def receipt_mail(digest: Digest, receipt: ReceiptSummary, attachment: str) -> tuple[str, str, str]:
    """An agency's mail that carries its receipt: subject, HTML and text.

    Only figures from its own receipt, with the statuses worded as the receipt words
    them (no collision is told before signing)."""
    context = {"d": digest, "r": receipt, "attachment": attachment, "to_pay": yuan(receipt.to_pay)}
    html = _render("receipt_mail.html.j2", **context)
    text = _render("receipt_mail.txt.j2", **context)
    return receipt_subject(digest.project, digest.night, receipt.channel), html, text


def receipt_subject(project: str, night: date, channel: str) -> str:
    return f"【{project}】渠道对账回执 {night} {one_line(channel)}"


def one_line(text: str) -> str:
    """Cell text fit for a mail header: control, format and line-break characters (a cell
    may hold a new line) become spaces, and runs of spaces one."""
    kept = "".join(" " if unicodedata.category(c) in _NOT_IN_HEADERS else c for c in text)
    return " ".join(kept.split())


_NOT_IN_HEADERS = frozenset({"Cc", "Cf", "Zl", "Zp"})


def write_report(digest: Digest, reports_dir: Path) -> tuple[Path, str, str]:
    """Write `reports/<date>/dispute_report.html`; returns the path, HTML and text."""
    html, text = render_html(digest), render_text(digest)
    path = write_atomic(reports_dir / digest.night.isoformat() / REPORT_NAME, html.encode("utf-8"))
    return path, html, text
