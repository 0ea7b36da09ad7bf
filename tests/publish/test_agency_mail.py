"""Each agency's own receipt mailed to its own addresses (`notify.channels`, SPEC §7).

The night runs through `reconcile run` on the demo workspace with a real SMTP server on
127.0.0.1: each agency with addresses receives exactly one mail, to its addresses only,
carrying exactly its receipt; running the night again, or replaying it, sends nothing.
"""

from __future__ import annotations

import csv
import email
import re
from datetime import datetime, time, timedelta
from email import policy
from email.message import EmailMessage
from html import escape
from pathlib import Path

import pytest

from reconcile.cli.main import main
from reconcile.config.rules import Rules
from reconcile.config.workspace import Workspace
from reconcile.ops.demo import DEMO_AS_OF, generate_workspace
from reconcile.publish.digest import Digest
from reconcile.publish.mail import Mail, post, receipt_key
from reconcile.publish.night import agency_mails
from reconcile.publish.receipts import write_receipts
from reconcile.publish.report import one_line
from reconcile.publish.text import yuan
from reconcile.store.ledger import Ledger
from tests.ops.support import without_key
from tests.publish.conftest import Night, sheets
from tests.publish.hostile import CHANNELS as HOSTILE_CHANNELS
from tests.publish.smtp_server import Received, serve

PASSWORD = "s3cret-code"
NIGHT = DEMO_AS_OF.isoformat()
# The demo's channels: 链家 is configured by a name variant, 房多多 without addresses,
# 自有渠道 not at all; 不存在的渠道 has no receipt.
AGENCIES = {
    "链家": ("lj1@lianjia.example.cn", "张经理 <lj2@lianjia.example.cn>"),
    "我爱我家": ("wa@5i5j.example.cn",),
}
DEMO_CHANNELS = ("链家", "我爱我家", "房多多", "自有渠道")
NOTIFY = """\
  channels:
    链家地产: [lj1@lianjia.example.cn, 张经理 <lj2@lianjia.example.cn>]
    我爱我家: [wa@5i5j.example.cn]
    房多多: []
    不存在的渠道: [nobody@none.example.cn]
  smtp: {{host: 127.0.0.1, port: {port}, user: reconcile, password_env: TEST_SMTP}}
channels: {{链家: [链家地产]}}
"""


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    generate_workspace(tmp_path)
    monkeypatch.setenv("TEST_SMTP", PASSWORD)
    return tmp_path


def _configure(root: Path, port: int) -> None:
    rules = root / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    assert text.rstrip().endswith("password_env: RECONCILE_SMTP_PASSWORD}")  # inside notify:
    # The test's notify.channels in place of the demo's own.
    rules.write_text(without_key(text, "channels", "  ") + NOTIFY.format(port=port), "utf-8")


def _run(root: Path, night: str, *flags: str) -> None:
    assert main(["run", "--workspace", str(root), "--as-of", night, *flags]) == 0


def _parse(received: Received) -> EmailMessage:
    return email.message_from_bytes(received.content, policy=policy.default)  # type: ignore[return-value]


def _receipt_mails(received: list[Received]) -> dict[str, EmailMessage]:
    """The receipt mails by the channel their subject names."""
    found: dict[str, EmailMessage] = {}
    for message in map(_parse, received):
        match = re.fullmatch(r"【[^】]+】渠道对账回执 \d{4}-\d\d-\d\d (.+)", message["Subject"])
        if match:
            assert match.group(1) not in found, "two mails for one agency"
            found[match.group(1)] = message
    return found


def _cells(path: Path) -> str:
    return "\n".join(
        str(cell) for rows in sheets(path).values() for row in rows for cell in row if cell
    )


def _to_pay(root: Path, channel: str) -> float | None:
    """本期应付 as settlement.csv has it: the sum of the channel's lines' outstanding."""
    text = (root / "outputs" / NIGHT / "settlement.csv").read_text(encoding="utf-8")
    rows = [r for r in csv.DictReader(text.splitlines()) if r["channel"] == channel]
    rows = [r for r in rows if r["check"] != "not_ours"]  # claim lines matching no deal
    return round(sum(float(r["outstanding"] or 0) for r in rows), 2) if rows else None


def _receipt_of(root: Path, channel: str) -> Path:
    """The receipt whose 概要 names the channel (file names may be cleaned)."""
    folder = root / "outputs" / NIGHT / "channels"
    [path] = [p for p in folder.glob("*.xlsx") if sheets(p)["概要"][1][0] == f"渠道：{channel}"]
    return path


def _mail_keys(root: Path) -> list[tuple]:
    with Ledger(root / ".reconcile" / "ledger.sqlite") as ledger:
        return ledger.execute("SELECT night, key, status, attempts FROM mails ORDER BY 1, 2")


def test_each_agency_gets_its_own_receipt_once(demo: Path, capsys: pytest.CaptureFixture):
    later = (DEMO_AS_OF + timedelta(days=1)).isoformat()
    with serve(user="reconcile", password=PASSWORD) as server:
        _configure(demo, server.port)
        _run(demo, NIGHT)
        first = list(server.received)
        _run(demo, NIGHT)  # the same night again: nothing more
        assert server.received == first
        _run(demo, later)  # the next night has its own mails
        next_night = server.received[len(first) :]
        _run(demo, NIGHT)  # a replay of the first night: nothing at all
        assert len(server.received) == len(first) + len(next_night)
    out = capsys.readouterr().out

    mails = _receipt_mails(first)
    assert set(mails) == set(AGENCIES)  # 房多多 has no address, 不存在的渠道 no receipt
    assert len(first) == 3 + len(AGENCIES)  # the dispute report, settlement, performance
    assert set(_receipt_mails(next_night)) == set(AGENCIES)
    for channel, addresses in AGENCIES.items():
        message = mails[channel]
        [envelope] = [r for r in first if _parse(r)["Subject"] == message["Subject"]]
        assert sorted(envelope.rcpt_tos) == sorted(a.split("<")[-1].rstrip(">") for a in addresses)
        assert [str(a) for a in message["To"].addresses] == list(addresses)
        assert message["Cc"] is None and message["Bcc"] is None
        path = _receipt_of(demo, channel)
        [attachment] = list(message.iter_attachments())
        assert attachment.get_filename() == f"渠道回执_{NIGHT}_{path.name}"
        assert attachment.get_content() == path.read_bytes()
        overview = {row[0]: row[1] for row in sheets(path)["概要"]}  # counts read as floats
        statuses = [
            f"{k.removeprefix('报备·')} {v:.0f}" for k, v in overview.items() if "报备·" in k
        ]
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert f"报备 {overview['报备总数']:.0f} 条：{'，'.join(statuses)}" in text
        to_pay = _to_pay(demo, channel)
        assert (f"本期应付 {yuan(to_pay)}" in text) == (to_pay is not None), text
        for other in DEMO_CHANNELS:
            if other != channel:
                assert other not in _cells(path) and other not in text and other not in html
        assert f"邮件 {message['Subject']}（{NIGHT}）→ {'、'.join(addresses)}：已于" in out
    keys = [key for night, key, *_ in _mail_keys(demo) if night == NIGHT]
    assert sorted(keys) == sorted(
        [
            "dispute_report",
            "settlement",
            "performance",
            *(receipt_key(channel) for channel in AGENCIES),
        ]
    )
    assert {status for *_, status, _ in _mail_keys(demo)} == {"sent"}


def test_no_email_keeps_them_in_the_outbox_and_status_names_them(demo: Path, capsys):
    with serve(reject_login=True) as server:
        _configure(demo, server.port)
        _run(demo, NIGHT, "--no-email")
        assert not server.received
        outbox = demo / "outputs" / NIGHT / "outbox"
        names = {path.name for path in outbox.glob("*.eml")}
        assert names == {
            "dispute_report.eml",
            "settlement.eml",
            "performance.eml",
            *(f"{receipt_key(channel)}.eml" for channel in AGENCIES),
        }
        capsys.readouterr()
        assert main(["status", "--workspace", str(demo)]) == 0
        assert "只写入发件箱、未发送的邮件 5 封" in capsys.readouterr().out
        _run(demo, NIGHT)  # sending allowed now, but the server refuses the login
    capsys.readouterr()
    assert main(["status", "--workspace", str(demo)]) == 0
    out = capsys.readouterr().out
    assert "待发送的邮件：5 个" in out
    for channel, addresses in AGENCIES.items():
        assert (
            f"{NIGHT} 【山湖一号】渠道对账回执 {NIGHT} {channel} → {'、'.join(addresses)}：" in out
        )


# Channel names made to break files and headers --------------------------------------


def test_any_channel_name_gives_a_safe_key_file_and_header(
    hostile_night: Night, tmp_path: Path
) -> None:
    night = hostile_night
    recipients = {c: (f"agency{i}@x.example.cn",) for i, c in enumerate(HOSTILE_CHANNELS)}
    receipts = write_receipts(night.judgement, night.rules, night.as_of, tmp_path / "channels")
    assert set(receipts) >= set(HOSTILE_CHANNELS)
    digest = Digest(night.rules.project, night.as_of, "2026-12-01 02:00", (), (), (), ())
    mails = agency_mails(digest, night.judgement, receipts, recipients)
    assert len(mails) == len(HOSTILE_CHANNELS)
    assert len({mail.key for mail in mails}) == len(mails)
    outbox = tmp_path / "outputs" / night.as_of.isoformat() / "outbox"
    rules = Rules(project=night.rules.project)
    now = datetime.combine(night.as_of + timedelta(days=1), time(2), rules.zone)
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        for mail in mails:
            assert re.fullmatch(r"receipt_[0-9a-f]{16}", mail.key), mail.key
            post(ledger, rules, mail, outbox, now, send=False)
    by_to = {
        str(m["To"]): m
        for m in (
            email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in outbox.iterdir()
        )
    }
    assert {p.parent for p in outbox.iterdir()} == {outbox}
    for channel, (address,) in recipients.items():
        message = by_to[address]
        assert message["Subject"].endswith(f" {channel}")
        assert re.fullmatch(
            r"<\d{8}\.receipt_[0-9a-f]{16}\.[0-9a-f]{10}@[\w.-]+>", message["Message-ID"]
        )
        [attachment] = list(message.iter_attachments())
        assert attachment.get_content() == receipts[channel].read_bytes()
        html = message.get_body(("html",)).get_content()
        assert f"{escape(channel, quote=False)} · 判定日" in html
        if escape(channel, quote=False) != channel:
            assert channel not in html


def test_a_channel_name_becomes_one_header_line() -> None:
    assert one_line("链家\r\n北京\u2028店\x00\u202e 二部 ") == "链家 北京 店 二部"


def test_without_addresses_or_receipts_no_mail(hostile_night: Night, tmp_path: Path) -> None:
    night = hostile_night
    receipts = write_receipts(night.judgement, night.rules, night.as_of, tmp_path)
    digest = Digest(night.rules.project, night.as_of, "2026-12-01 02:00", (), (), (), ())
    recipients = {"链家": (), "没有回执": ("a@x.example.cn",)}
    assert agency_mails(digest, night.judgement, receipts, recipients) == []
    mail: list[Mail] = agency_mails(digest, night.judgement, receipts, {"链家": ("a@x.cn",)})
    assert [m.to for m in mail] == [("a@x.cn",)]


def test_status_lists_the_receipt_mails_a_day_not_over_still_owes(demo: Path, capsys) -> None:
    """Mails of a day not over are composed by the first run after it ends."""
    today = Workspace.open(demo).today().isoformat()
    with serve(user="reconcile", password=PASSWORD) as server:
        _configure(demo, server.port)
        _run(demo, today)
        assert not server.received
    capsys.readouterr()
    assert main(["status", "--workspace", str(demo)]) == 0
    waiting = [line for line in capsys.readouterr().out.splitlines() if "尚未结束" in line]
    receipts = [line for line in waiting if "渠道对账回执" in line]
    assert len(waiting) == 3 + len(AGENCIES) and len(receipts) == len(AGENCIES)
    for channel, addresses in AGENCIES.items():
        assert any(
            line.startswith(f"  {today} 【山湖一号】渠道对账回执 {today} {channel} → ")
            and "、".join(addresses) in line
            for line in receipts
        )
