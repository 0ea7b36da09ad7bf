"""Mail: composed once per night, kept in the outbox and ledger, sent once over real SMTP.

Every server here is a real aiosmtpd server on 127.0.0.1 (tests/publish/smtp_server.py);
TLS servers use certificates of a throw-away CA that the client trusts through
SSL_CERT_FILE, so the product keeps verifying certificates with default contexts.
"""

from __future__ import annotations

import base64
import email
import json
import socket
import ssl
from datetime import date, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import trustme
from hypothesis import example, given
from hypothesis import strategies as st

from reconcile.config.rules import Rules
from reconcile.publish.mail import (
    Attachment,
    Mail,
    _attach,
    _base64_lines,
    _smtp_bytes,
    flush,
    message_id,
    post,
)
from reconcile.store.ledger import Ledger
from tests.publish.smtp_server import Server, serve

NIGHT = date(2026, 11, 20)
NOW = datetime.fromisoformat("2026-11-21T02:00:05+08:00")
LATER = datetime.fromisoformat("2026-11-22T02:00:07+08:00")
# The plain test server asks for a login without TLS, which aiosmtpd warns about.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
USER = "reconcile@example.com"
PASSWORD = "s3cret-Pa55 word"
ADMIN = ("张经理 <admin@example.com>",)
FINANCE = ("finance@example.com", "cfo@example.com")
SUBJECT = "【示例项目】2026-11-20 撞单与争议日报：撞单 3 起，待裁决 1 起"
HTML = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
    "<h1 style='color:#333'>撞单与争议日报</h1><p>客户 138****5678 待裁决</p></body></html>\n"
)
TEXT = "撞单与争议日报\n客户 138****5678 待裁决\n"
WORKBOOK = bytes(range(256)) * 40 + b"\r\n.\r\n..\n\x00end"  # dots and CRLFs survive SMTP


def dispute_mail(**changes) -> Mail:
    fields = dict(
        key="dispute_report", night=NIGHT, to=ADMIN, subject=SUBJECT, html=HTML, text=TEXT
    )
    return Mail(**(fields | changes))


def settlement_mail() -> Mail:
    return Mail(
        key="settlement",
        night=NIGHT,
        to=FINANCE,
        subject="【示例项目】2026-11-20 佣金结算表",
        html="<html><body><p>附件为结算表。</p></body></html>\n",
        text="附件为结算表。\n",
        attachments=(Attachment("结算表_2026-11-20.xlsx", WORKBOOK, XLSX),),
    )


def rules_for(server: Server | None = None, **smtp) -> Rules:
    notify: dict = {"admin": list(ADMIN), "finance": list(FINANCE)}
    if server is not None:
        notify["smtp"] = {
            "host": server.host,
            "port": server.port,
            "user": USER,
            "password_env": "SMTP_PASSWORD",
            "sender": "对账机器人 <reconcile@example.com>",
        } | smtp
    return Rules.model_validate({"project": "示例项目", "notify": notify})


@pytest.fixture
def ledger(tmp_path: Path):
    with Ledger(tmp_path / ".reconcile" / "ledger.sqlite") as opened:
        yield opened


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outputs" / NIGHT.isoformat() / "outbox"


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_tls(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 from `ca`, which the client trusts."""
    bundle = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def mail_row(ledger: Ledger, key: str = "dispute_report") -> dict:
    row = ledger.mail(NIGHT.isoformat(), key)
    assert row is not None
    return row


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


# sending over each kind of connection


def test_plain_server_with_login_gets_each_mail_once_intact(ledger, outbox):
    with serve(user=USER, password=PASSWORD) as server:
        rules = rules_for(server)
        first = post(ledger, rules, dispute_mail(), outbox, NOW, send=True)
        second = post(ledger, rules, settlement_mail(), outbox, NOW, send=True)
        assert first is not None and first.status == "queued" and first.error is None
        assert second is not None and second.status == "queued"
        deliveries = flush(ledger, rules, NOW, send=True)
        assert [(d.key, d.status, d.error) for d in deliveries] == [
            ("dispute_report", "sent", None),
            ("settlement", "sent", None),
        ]
        assert flush(ledger, rules, NOW, send=True) == []  # nothing left to send
        received = list(server.received)

    assert len(received) == 2
    report, settlement = received
    assert report.login == USER
    assert report.mail_from == "reconcile@example.com"
    assert report.rcpt_tos == ("admin@example.com",)
    assert settlement.rcpt_tos == FINANCE

    # The report: multipart/alternative, text first, then HTML, both UTF-8.
    row = mail_row(ledger)
    eml = outbox / "dispute_report.eml"
    assert report.content == bytes(row["raw"]) == eml.read_bytes()
    message = parse(report.content)
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    # Text parts travel in canonical form (CRLF line ends, RFC 2046).
    assert text.get_content().replace("\r\n", "\n") == TEXT
    assert html.get_content().replace("\r\n", "\n") == HTML
    assert b"=?utf-8?" in report.content.split(b"\r\n\r\n")[0]  # RFC 2047, not raw UTF-8
    assert report.content.isascii()
    assert message["Subject"] == SUBJECT
    assert message["To"].addresses[0].display_name == "张经理"
    assert message["From"].addresses[0].display_name == "对账机器人"
    assert message["Date"].datetime == NOW
    assert message["Message-ID"] == row["message_id"] == first.message_id
    assert message["Message-ID"] == message_id(rules, NIGHT, "dispute_report")
    assert row["status"] == "sent" and row["attempts"] == 1 and row["last_error"] is None
    assert row["sent_at"] == NOW.isoformat()
    assert row["eml_path"] == f"outputs/{NIGHT}/outbox/dispute_report.eml"
    assert json.loads(row["recipients"]) == list(ADMIN)

    # The settlement mail: the workbook attached, Chinese file name per RFC 2231.
    message = parse(settlement.content)
    assert message.get_content_type() == "multipart/mixed"
    body, attachment = message.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert attachment.get_content_type() == XLSX
    assert attachment.get_filename() == "结算表_2026-11-20.xlsx"
    assert b"filename*=utf-8''%E7%BB%93%E7%AE%97%E8%A1%A8_2026-11-20.xlsx" in settlement.content
    assert attachment.get_content() == WORKBOOK
    assert parse((outbox / "settlement.eml").read_bytes()).as_bytes() == message.as_bytes()
    assert settlement.content == bytes(mail_row(ledger, "settlement")["raw"])


def test_starttls_server(ledger, outbox, server_tls):
    with serve(user=USER, password=PASSWORD, tls=server_tls, starttls=True) as server:
        rules = rules_for(server, starttls=True)
        post(ledger, rules, dispute_mail(), outbox, NOW, send=True)
        [delivery] = flush(ledger, rules, NOW, send=True)
        assert delivery.status == "sent", delivery.error
        assert len(server.received) == 1
        assert server.received[0].content == (outbox / "dispute_report.eml").read_bytes()


def test_implicit_tls_server(ledger, outbox, server_tls):
    with serve(user=USER, password=PASSWORD, tls=server_tls) as server:
        rules = rules_for(server, ssl=True)
        post(ledger, rules, settlement_mail(), outbox, NOW, send=True)
        [delivery] = flush(ledger, rules, NOW, send=True)
        assert delivery.status == "sent", delivery.error
        assert [r.login for r in server.received] == [USER]


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
def test_untrusted_certificate_is_refused_and_the_mail_waits(ledger, outbox, server_tls, mode):
    stranger = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(stranger)  # not the trusted CA
    with serve(user=USER, password=PASSWORD, tls=stranger, starttls=mode == "starttls") as bad:
        rules = rules_for(bad, **{mode: True})
        post(ledger, rules, dispute_mail(), outbox, NOW, send=True)
        [delivery] = flush(ledger, rules, NOW, send=True)
        assert bad.received == []
    assert delivery.status == "queued"
    assert delivery.error is not None and "证书未通过验证" in delivery.error
    assert mail_row(ledger)["status"] == "queued"

    with serve(user=USER, password=PASSWORD, tls=server_tls, starttls=mode == "starttls") as good:
        [delivery] = flush(ledger, rules_for(good, **{mode: True}), LATER, send=True)
        assert delivery.status == "sent" and len(good.received) == 1


# failures: the mail stays queued with a Chinese reason and goes out next run


def test_rejected_login_keeps_the_mail_queued_until_a_good_server(ledger, outbox, caplog):
    with serve(reject_login=True) as bad:
        rules = rules_for(bad)
        post(ledger, rules, dispute_mail(), outbox, NOW, send=True)
        [delivery] = flush(ledger, rules, NOW, send=True)
        assert bad.received == []
    assert delivery.status == "queued"
    assert delivery.error is not None and delivery.error.startswith("邮件服务器拒绝登录（535")
    row = mail_row(ledger)
    assert (row["status"], row["attempts"], row["last_error"]) == ("queued", 1, delivery.error)
    assert "拒绝登录" in caplog.text  # logged as a warning, never raised

    with serve(user=USER, password=PASSWORD) as good:
        [delivery] = flush(ledger, rules_for(good), LATER, send=True)
        assert flush(ledger, rules_for(good), LATER, send=True) == []
        assert len(good.received) == 1
    assert delivery.status == "sent" and delivery.error is None
    row = mail_row(ledger)
    assert (row["status"], row["attempts"], row["sent_at"]) == ("sent", 2, LATER.isoformat())


def test_connection_dropped_mid_message_is_retried_byte_identical(ledger, outbox):
    with serve(user=USER, password=PASSWORD, drop_mid_message=True) as dropping:
        rules = rules_for(dropping)
        post(ledger, rules, settlement_mail(), outbox, NOW, send=True)
        post(ledger, rules, dispute_mail(), outbox, NOW, send=True)
        deliveries = flush(ledger, rules, NOW, send=True)
        assert dropping.received == []
    assert [d.status for d in deliveries] == ["queued", "queued"]
    assert all(d.error and d.error.startswith("发送中断：") for d in deliveries)
    assert [mail_row(ledger, key)["attempts"] for key in ("dispute_report", "settlement")] == [1, 1]

    with serve(user=USER, password=PASSWORD) as good:
        deliveries = flush(ledger, rules_for(good), LATER, send=True)
        received = list(good.received)
    assert [d.status for d in deliveries] == ["sent", "sent"]
    assert len(received) == 2  # each mail exactly once, in total
    assert sorted(r.content for r in received) == sorted(
        (outbox / f"{key}.eml").read_bytes() for key in ("dispute_report", "settlement")
    )


def test_unreachable_server_keeps_the_mail_queued(ledger, outbox):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    rules = rules_for(Server("127.0.0.1", port, None))  # type: ignore[arg-type]
    post(ledger, rules, dispute_mail(), outbox, NOW, send=True)
    [delivery] = flush(ledger, rules, NOW, send=True)
    assert delivery.status == "queued"
    assert delivery.error == f"无法连接邮件服务器 127.0.0.1:{port}：连接被拒绝"


def test_missing_password_variable_keeps_the_mail_queued(ledger, outbox, monkeypatch):
    monkeypatch.delenv("SMTP_PASSWORD")
    with serve(user=USER, password=PASSWORD) as server:
        rules = rules_for(server)
        post(ledger, rules, dispute_mail(), outbox, NOW, send=True)
        [delivery] = flush(ledger, rules, NOW, send=True)
        assert delivery.status == "queued"
        assert delivery.error == "环境变量 SMTP_PASSWORD 未设置，无法登录邮件服务器"
        monkeypatch.setenv("SMTP_PASSWORD", "")
        [delivery] = flush(ledger, rules, NOW, send=True)
        assert delivery.error == "环境变量 SMTP_PASSWORD 未设置，无法登录邮件服务器"
        assert server.received == []

        monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
        [delivery] = flush(ledger, rules, LATER, send=True)
        assert delivery.status == "sent" and len(server.received) == 1
    assert mail_row(ledger)["attempts"] == 3


def test_non_ascii_password_is_explained(ledger, outbox, monkeypatch):
    monkeypatch.setenv("SMTP_PASSWORD", "密码")
    with serve(user=USER, password="密码") as server:
        rules = rules_for(server)
        post(ledger, rules, dispute_mail(), outbox, NOW, send=True)
        [delivery] = flush(ledger, rules, NOW, send=True)
        assert server.received == []
    assert delivery.status == "queued"
    assert delivery.error is not None and "非 ASCII 字符" in delivery.error


# once per night


def test_same_night_twice_sends_once_and_leaves_the_file_alone(ledger, outbox):
    with serve(user=USER, password=PASSWORD) as server:
        rules = rules_for(server)
        first = post(ledger, rules, dispute_mail(), outbox, NOW, send=True)
        flush(ledger, rules, NOW, send=True)
        eml = outbox / "dispute_report.eml"
        written = eml.read_bytes()
        stat = eml.stat()

        # The second run of the same night: new clock, even re-rendered content.
        again = post(ledger, rules, dispute_mail(html=HTML + "<!-- 2 -->"), outbox, LATER, True)
        assert flush(ledger, rules, LATER, send=True) == []
        assert len(server.received) == 1
    assert again is not None and first is not None
    assert (again.message_id, again.status) == (first.message_id, "sent")
    assert eml.read_bytes() == written and eml.stat().st_mtime_ns == stat.st_mtime_ns
    assert sorted(p.name for p in outbox.iterdir()) == ["dispute_report.eml"]
    assert ledger.count("mails") == 1


def test_a_deleted_eml_is_restored_from_the_ledger(ledger, outbox):
    rules = rules_for()
    post(ledger, rules, settlement_mail(), outbox, NOW, send=True)
    eml = outbox / "settlement.eml"
    written = eml.read_bytes()
    eml.unlink()
    delivery = post(ledger, rules, settlement_mail(), outbox, LATER, send=True)
    assert delivery is not None and delivery.eml == eml
    assert eml.read_bytes() == written
    assert not [p for p in outbox.iterdir() if p.name.startswith(".")]  # no temp files left


def test_without_a_server_the_mail_only_lands_in_the_outbox(ledger, outbox):
    rules = rules_for()  # notify.smtp: null
    delivery = post(ledger, rules, settlement_mail(), outbox, NOW, send=True)
    assert delivery is not None
    assert (delivery.status, delivery.error) == ("outbox", None)
    assert delivery.eml == outbox / "settlement.eml" and delivery.eml.exists()
    assert flush(ledger, rules, NOW, send=True) == []
    row = mail_row(ledger, "settlement")
    assert (row["status"], row["attempts"]) == ("outbox", 0)
    message = parse(delivery.eml.read_bytes())
    assert message["From"].addresses[0].addr_spec == "reconcile@localhost"
    assert message["Message-ID"].endswith("@reconcile.localhost>")


def test_no_email_run_then_a_sending_run_sends_it(ledger, outbox):
    with serve(user=USER, password=PASSWORD) as server:
        rules = rules_for(server)
        held = post(ledger, rules, dispute_mail(), outbox, NOW, send=False)  # --no-email
        assert held is not None and held.status == "outbox"
        assert flush(ledger, rules, NOW, send=False) == []
        assert flush(ledger, rules, NOW, send=True) == []  # outbox mails are not sent
        written = (outbox / "dispute_report.eml").read_bytes()

        promoted = post(ledger, rules, dispute_mail(), outbox, LATER, send=True)
        assert promoted is not None and promoted.status == "queued"
        [delivery] = flush(ledger, rules, LATER, send=True)
        assert delivery.status == "sent"
        assert [r.content for r in server.received] == [written]


def test_no_recipients_no_mail(ledger, outbox):
    assert post(ledger, rules_for(), dispute_mail(to=()), outbox, NOW, send=True) is None
    assert not outbox.exists()
    assert ledger.count("mails") == 0


def test_message_id_is_stable_per_project_night_and_key():
    rules = rules_for(Server("mail.example.com", 465, None))  # type: ignore[arg-type]
    mid = message_id(rules, NIGHT, "dispute_report")
    assert mid == message_id(rules, NIGHT, "dispute_report")
    assert mid.startswith("<20261120.dispute_report.") and mid.endswith("@reconcile.example.com>")
    assert len(mid.split(".")[2].split("@")[0]) == 10
    others = {
        message_id(rules, NIGHT, "settlement"),
        message_id(rules, date(2026, 11, 21), "dispute_report"),
        message_id(rules.model_copy(update={"project": "另一个项目"}), NIGHT, "dispute_report"),
    }
    assert mid not in others and len(others) == 3


# Lines ending in any of the three line ends, and texts without one at the end.
_TEXTS = st.lists(
    st.tuples(st.text(max_size=30), st.sampled_from(["\n", "\r\n", "\r", ""])), max_size=8
).map(lambda parts: "".join(text + end for text, end in parts))


@given(
    content=st.binary(max_size=400),
    text=_TEXTS,
    filename=st.sampled_from(["结算表_2026-11-20.xlsx", "report.xlsx", "渠道 回执.xlsx"]),
)
@example(content=b"", text="", filename="a.xlsx")
@example(content=bytes(range(57)) * 3, text="一\r\n二\r三\n", filename="a.xlsx")
def test_a_composed_message_has_the_librarys_own_bytes(
    content: bytes, text: str, filename: str
) -> None:
    # The attachment's base64 and the body lines are written in one piece each; the
    # bytes must be those of `add_attachment` and `as_bytes`, whatever the line ends.
    def message() -> EmailMessage:
        msg = EmailMessage(policy=policy.SMTP)
        msg["Subject"] = SUBJECT
        msg.set_content(text, subtype="plain", charset="utf-8", cte="base64")
        msg.add_alternative(text, subtype="html", charset="utf-8", cte="8bit")
        return msg

    library, ours = message(), message()
    library.add_attachment(content, maintype="application", subtype="xlsx", filename=filename)
    _attach(ours, Attachment(filename, content, "application/xlsx"))
    for one in (library, ours):
        for index, part in enumerate(one.walk()):
            if part.is_multipart():
                part.set_boundary(f"b{index}")
    assert _smtp_bytes(ours) == library.as_bytes(policy=policy.SMTP)
    assert _smtp_bytes(library) == library.as_bytes(policy=policy.SMTP)


@given(st.binary(max_size=2_000))
@example(bytes(57 * 40))
def test_base64_lines_are_the_librarys(content: bytes) -> None:
    assert _base64_lines(content) == base64.encodebytes(content).decode("ascii")
