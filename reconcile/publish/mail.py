"""Mail: the dispute report to `notify.admin`, the settlement workbook to `notify.finance`,
each agency's receipt to its own addresses (`notify.channels`).

Every mail is composed once per (night, key), written as `.eml` into
`outputs/<date>/outbox/` and remembered in the ledger (`mails`) with its exact bytes
and a Message-ID derived from (project, night, key). Running the same night again
composes nothing: the file is left as it is (restored from the ledger if it was
deleted) and nothing is sent a second time.

With `notify.smtp` configured and sending allowed, a mail is `queued` and `flush`
delivers it (SMTP over implicit TLS, STARTTLS or plain, certificates verified,
login with the password from the environment variable named in `rules.yaml`). A
mail that cannot be sent stays queued with a Chinese reason and goes out on a later
run, byte-identical. Without a server (or with `--no-email`) the mail only lands in
the outbox for someone to pick up.

A failed mail never fails the night: `flush` logs a warning and carries on.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import json
import logging
import os
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import date, datetime
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from pathlib import Path

from reconcile.config.rules import Rules, Smtp
from reconcile.store.files import write_atomic
from reconcile.store.ledger import Ledger

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30.0
_FALLBACK_SENDER = "reconcile@localhost"


@dataclass(frozen=True)
class Attachment:
    filename: str  # may be Chinese, e.g. "结算表_2026-11-20.xlsx"; encoded per RFC 2231
    content: bytes
    mime: str  # e.g. "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Mail:
    key: str  # dispute_report, settlement, performance, receipt_key(ch): one a night
    night: date  # the as-of night it reports
    to: tuple[str, ...]
    subject: str  # Chinese
    html: str  # full HTML document (already CSS-inlined)
    text: str  # plain-text alternative
    attachments: tuple[Attachment, ...] = ()


@dataclass
class Delivery:
    """What happened to one mail this run, for the run summary and the CLI."""

    message_id: str
    key: str
    night: date
    to: tuple[str, ...]
    status: str  # outbox | queued | sent
    eml: Path  # from `post`: the file in tonight's outbox; from `flush`: relative to the workspace
    error: str | None  # Chinese reason when sending failed (queued for next run)
    sent_at: str | None = None  # when the server accepted it (this run or an earlier one)
    subject: str = ""


# composing


def receipt_key(channel: str) -> str:
    """`receipt_<hash>`: the key of a channel's receipt mail. The channel's name is cell
    text, so the key that names its `.eml` and goes into its Message-ID is a hash of it."""
    digest = hashlib.blake2b(channel.encode("utf-8", "surrogatepass"), digest_size=8)
    return f"receipt_{digest.hexdigest()}"


def message_id(rules: Rules, night: date, key: str) -> str:
    """`<20261120.dispute_report.1a2b3c4d5e@reconcile.example.com>`, the same every run."""
    digest = hashlib.blake2b(
        "\x1f".join((rules.project, night.isoformat(), key)).encode("utf-8"), digest_size=5
    ).hexdigest()
    return (
        f"<{night:%Y%m%d}.{key}.{digest}@reconcile.{_domain(_sender_address(rules.notify.smtp))}>"
    )


def _sender_address(smtp: Smtp | None) -> str:
    """The bare address mails come from: smtp.sender, else a login that is an address."""
    for candidate in (smtp.sender, smtp.user) if smtp else ():
        address = parseaddr(candidate or "")[1]
        if "@" in address:
            return address
    return _FALLBACK_SENDER


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2].strip().strip("[]").lower()
    if not domain:
        return "localhost"
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return "localhost"
    return "".join(c for c in domain if c.isalnum() or c in ".-") or "localhost"


def _from_header(rules: Rules) -> str:
    smtp = rules.notify.smtp
    address = _sender_address(smtp)
    name = parseaddr(smtp.sender or "")[0] if smtp else ""
    return formataddr((name or f"{rules.project} 渠道对账", address))


def compose(rules: Rules, mail: Mail, now: datetime) -> tuple[str, bytes]:
    """(Message-ID, the message as CRLF bytes): multipart/alternative (text, then HTML),
    inside multipart/mixed when there are attachments. Every body part is base64, so the
    message is 7-bit clean for any server; the boundaries derive from the content, so
    the same mail composed at the same time gives the same bytes."""
    when = now if now.tzinfo else now.replace(tzinfo=rules.zone)
    mid = message_id(rules, mail.night, mail.key)
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = _from_header(rules)
    msg["To"] = ", ".join(mail.to)
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(when.astimezone(rules.zone))
    msg["Message-ID"] = mid
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a nightly job
    msg.set_content(mail.text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(mail.html, subtype="html", charset="utf-8", cte="base64")
    for attachment in mail.attachments:
        _attach(msg, attachment)

    fingerprint = hashlib.sha256(mid.encode())
    for text in (mail.text, mail.html, *(a.filename for a in mail.attachments)):
        fingerprint.update(text.encode("utf-8", "surrogatepass") + b"\x00")
    for attachment in mail.attachments:
        fingerprint.update(hashlib.sha256(attachment.content).digest())
    tag = fingerprint.hexdigest()[:32]
    for index, part in enumerate(msg.walk()):
        if part is not msg:
            del part["MIME-Version"]
        if part.is_multipart():
            part.set_boundary(f"reconcile_{index}_{tag}")
    return mid, _smtp_bytes(msg)


def _attach(msg: EmailMessage, attachment: Attachment) -> None:
    """`msg.add_attachment(content)`, with the same base64 lines made without a Python
    step per line: a night's receipts are tens of MiB."""
    maintype, _, subtype = attachment.mime.partition("/")
    msg.add_attachment(
        b"", maintype=maintype, subtype=subtype or "octet-stream", filename=attachment.filename
    )
    *_, attached = msg.iter_attachments()
    attached.set_payload(_base64_lines(attachment.content))


def _base64_lines(content: bytes) -> str:
    """`base64.encodebytes(content)` as text: lines of 76 characters (57 bytes), each
    ended by a line feed, cut by C calls alone."""
    if not content:
        return ""
    text = binascii.b2a_base64(content, newline=False).decode("ascii")
    cuts = range(0, len(text), _BASE64_LINE)
    lines = map(
        text.__getitem__,
        map(slice, cuts, range(_BASE64_LINE, len(text) + _BASE64_LINE, _BASE64_LINE)),
    )
    return "\n".join(lines) + "\n"


_BASE64_LINE = 76  # characters: 57 bytes, the most SMTP's 78-character limit holds


def _smtp_bytes(msg: EmailMessage) -> bytes:
    """`msg.as_bytes(policy=policy.SMTP)`, byte for byte."""
    out = io.BytesIO()
    _Generator(out, mangle_from_=False, policy=policy.SMTP).flatten(msg)
    return out.getvalue()


class _Generator(BytesGenerator):
    """`BytesGenerator` for SMTP writing a body's lines in one piece: the same bytes as
    its line-by-line loop, which took most of a night's mail time (a write per line of
    a base64 attachment)."""

    def _write_lines(self, lines: str) -> None:
        # The generator's line ends, in its order (CRLF, then CR, then LF), as
        # replacements: its regular expression took 0.6 s for 24 MiB of attachments.
        if lines:
            lf = lines.replace("\r\n", "\n").replace("\r", "\n")
            self.write(lf.replace("\n", policy.SMTP.linesep))


def _delivery(row: dict, eml: Path) -> Delivery:
    return Delivery(
        message_id=row["message_id"],
        key=row["key"],
        night=date.fromisoformat(row["night"]),
        to=tuple(json.loads(row["recipients"])),
        status=row["status"],
        eml=eml,
        error=row["last_error"],
        sent_at=row.get("sent_at"),
        subject=row["subject"],
    )


def night_deliveries(
    ledger: Ledger, rules: Rules, night: date, now: datetime, send: bool
) -> list[Delivery]:
    """The night's mails as they stand after sending what is queued (a night whose files
    are reused, ops/reuse.py): each with its status, `.eml` relative to the workspace."""
    sent = {d.message_id: d for d in flush(ledger, rules, now, send)}
    found = [
        sent.pop(row["message_id"])
        if row["message_id"] in sent
        else _delivery(row, Path(row["eml_path"]))
        for row in ledger.night_mails(night.isoformat())
    ]
    return found + list(sent.values())


def _stamp(rules: Rules, now: datetime) -> str:
    when = now if now.tzinfo else now.replace(tzinfo=rules.zone)
    return when.astimezone(rules.zone).isoformat(timespec="seconds")


def post(
    ledger: Ledger, rules: Rules, mail: Mail, outbox: Path, now: datetime, send: bool
) -> Delivery | None:
    """Record tonight's mail once. Returns None if `mail.to` is empty.

    A mail already in the ledger for (night, key) is not composed again: its `.eml`
    is left untouched (restored from the stored bytes if it went missing), and a mail
    first written with no server or `--no-email` is queued now that sending is on.
    """
    if not mail.to:
        return None
    night = mail.night.isoformat()
    eml = outbox / f"{mail.key}.eml"
    sending = rules.notify.smtp is not None and send
    row = ledger.mail(night, mail.key)
    if row is not None:
        if not eml.exists():
            write_atomic(eml, bytes(row["raw"]))
        if row["status"] == "outbox" and sending:
            ledger.update_mail(row["message_id"], status="queued")
            row["status"] = "queued"
        return _delivery(row, eml)

    mid, raw = compose(rules, mail, now)
    write_atomic(eml, raw)
    row = {
        "message_id": mid,
        "night": night,
        "key": mail.key,
        "recipients": json.dumps(list(mail.to), ensure_ascii=False),
        "subject": mail.subject,
        "eml_path": Path(*outbox.parts[-3:], eml.name).as_posix(),
        "raw": raw,
        "status": "queued" if sending else "outbox",
        "attempts": 0,
        "last_error": None,
        "created_at": _stamp(rules, now),
    }
    ledger.add_mail(**row)
    return _delivery(row, eml)


# sending


class _Failed(Exception):
    """A delivery step failed; the message is the Chinese reason."""


def _reason(exc: BaseException, smtp: Smtp, stage: str) -> str:
    """A Chinese sentence for an SMTP, TLS or network failure."""
    where = f"{smtp.host}:{smtp.port}"
    if isinstance(exc, _Failed):
        return str(exc)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"邮件服务器拒绝登录（{exc.smtp_code} {_text(exc.smtp_error)}）"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "；".join(
            f"{address}（{code} {_text(message)}）"
            for address, (code, message) in exc.recipients.items()
        )
        return f"收件人全部被邮件服务器拒绝：{refused}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"发件人 {exc.sender} 被邮件服务器拒绝（{exc.smtp_code} {_text(exc.smtp_error)}）"
    if isinstance(exc, smtplib.SMTPDataError):
        return f"邮件服务器拒收此邮件（{exc.smtp_code} {_text(exc.smtp_error)}）"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"邮件服务器 {where} 不支持所需功能：{exc}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"{stage}中断：邮件服务器 {where} 断开了连接（{exc}）"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"邮件服务器返回错误（{exc.smtp_code} {_text(exc.smtp_error)}）"
    if isinstance(exc, smtplib.SMTPException):
        return f"{stage}失败：{exc}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"邮件服务器 {where} 的证书未通过验证（{exc.verify_message or exc}），未发送"
    if isinstance(exc, ssl.SSLError):
        return f"与邮件服务器 {where} 建立加密连接失败（{exc.reason or exc}）"
    if isinstance(exc, socket.gaierror):
        return f"找不到邮件服务器 {smtp.host}（{exc.strerror or exc}）"
    if isinstance(exc, TimeoutError):
        return f"{stage}超时：邮件服务器 {where} 在 {TIMEOUT_SECONDS:.0f} 秒内没有响应"
    if isinstance(exc, ConnectionRefusedError):
        return f"无法连接邮件服务器 {where}：连接被拒绝"
    if isinstance(exc, ConnectionError):
        return f"{stage}中断：与邮件服务器 {where} 的连接断开（{exc.strerror or exc}）"
    if isinstance(exc, OSError):
        return f"无法连接邮件服务器 {where}：{exc.strerror or exc}"
    return f"{stage}失败：{exc}"


def _text(value: bytes | str) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    return str(value).strip()


def _password(smtp: Smtp) -> str | None:
    """The login password, None when no login is configured; _Failed when it is missing."""
    if not smtp.user:
        return None
    if not smtp.password_env:
        raise _Failed(
            "rules.yaml 的 notify.smtp 设置了 user 但没有 password_env，无法登录邮件服务器"
        )
    password = os.environ.get(smtp.password_env)
    if not password:
        raise _Failed(f"环境变量 {smtp.password_env} 未设置，无法登录邮件服务器")
    if not (password.isascii() and smtp.user.isascii()):
        # smtplib sends AUTH PLAIN/LOGIN as ASCII only.
        raise _Failed(
            f"邮件登录名或环境变量 {smtp.password_env} 中的密码含非 ASCII 字符（如中文），"
            "无法登录邮件服务器；请使用邮箱的客户端授权码"
        )
    return password


def _connect(smtp: Smtp) -> smtplib.SMTP:
    """An open, encrypted (when configured) and logged-in connection."""
    password = _password(smtp)
    client: smtplib.SMTP
    if smtp.ssl:
        client = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT_SECONDS)
    try:
        client.ehlo_or_helo_if_needed()
        if smtp.starttls and not smtp.ssl:
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if password is not None:
            assert smtp.user is not None
            client.login(smtp.user, password)
    except BaseException:
        client.close()
        raise
    return client


def _envelope(raw: bytes, recipients: list[str]) -> tuple[str, list[str]]:
    """(envelope sender, recipient addresses) of a stored message."""
    headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    sender = parseaddr(str(headers.get("From", "")))[1] or _FALLBACK_SENDER
    return sender, [address for _, address in getaddresses(recipients) if address]


def flush(ledger: Ledger, rules: Rules, now: datetime, send: bool) -> list[Delivery]:
    """Send every queued mail (any night, oldest first) if SMTP is configured and send is True.

    Each mail is marked `sent` (and committed) right after the server accepted it, so
    a later run never sends it again. One window remains: the server accepted the
    message but the process died before the ledger recorded it; that mail is sent
    again on the next run (the same Message-ID lets mail clients fold the copies).

    Nothing raises out of here for SMTP, TLS, network or OS errors: the mail stays
    queued with a Chinese reason (`Delivery.error`, `mails.last_error`), and a
    warning is logged.
    """
    smtp = rules.notify.smtp
    if smtp is None or not send:
        return []
    queued = ledger.queued_mails()
    if not queued:
        return []
    stamp = _stamp(rules, now)
    deliveries: list[Delivery] = []
    client: smtplib.SMTP | None = None
    failure: str | None = None  # once the connection is gone, the rest wait for next run
    try:
        try:
            client = _connect(smtp)
        except (_Failed, smtplib.SMTPException, OSError, ValueError, UnicodeError) as exc:
            failure = _reason(exc, smtp, "连接")
        for row in queued:
            error = failure
            if client is not None and failure is None:
                sender, recipients = _envelope(bytes(row["raw"]), json.loads(row["recipients"]))
                try:
                    refused = client.sendmail(sender, recipients, bytes(row["raw"]))
                except (
                    smtplib.SMTPRecipientsRefused,
                    smtplib.SMTPSenderRefused,
                    smtplib.SMTPDataError,
                ) as exc:  # this mail only: the connection carries on with the next
                    error = _reason(exc, smtp, "发送")
                except (smtplib.SMTPException, OSError, ValueError, UnicodeError) as exc:
                    error = failure = _reason(exc, smtp, "发送")
                else:
                    note = None
                    if refused:
                        note = "部分收件人被拒绝：" + "；".join(
                            f"{address}（{code} {_text(message)}）"
                            for address, (code, message) in refused.items()
                        )
                        log.warning("邮件 %s 已发送，但%s", row["message_id"], note)
                    ledger.update_mail(
                        row["message_id"],
                        attempted=True,
                        status="sent",
                        sent_at=stamp,
                        last_error=note,
                    )
                    row.update(status="sent", last_error=note, sent_at=stamp)
                    deliveries.append(_delivery(row, Path(row["eml_path"])))
                    continue
            assert error is not None
            log.warning(
                "邮件 %s（%s）未能发送，留待下次运行：%s", row["message_id"], row["key"], error
            )
            ledger.update_mail(row["message_id"], attempted=True, last_error=error)
            row.update(last_error=error)
            deliveries.append(_delivery(row, Path(row["eml_path"])))
    finally:
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError, ValueError):
                client.close()
    return deliveries
