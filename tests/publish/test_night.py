"""The whole publishing step through `reconcile run`, on the demo workspace.

A real SMTP server on 127.0.0.1 receives the night's two mails; running the night
again sends nothing and rewrites identical files; a replay of a past night rewrites
its files exactly and composes no mail; `--no-email` keeps mails in the outbox.
"""

from __future__ import annotations

import email
import hashlib
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest

from reconcile.cli.main import main
from reconcile.ops.demo import DEMO_AS_OF, generate_workspace
from reconcile.publish.mail import receipt_key
from reconcile.store.ledger import Ledger
from tests.publish.smtp_server import serve

PASSWORD = "s3cret-code"


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in ("outputs", "reports")
        for path in sorted((root / folder).rglob("*"))
        if path.is_file()
    }


# The demo's mails each night: the dispute report, the settlement, the sales manager's
# performance workbook, and the receipts of the two agencies with addresses in
# notify.channels (ordered by key, as `_mails` lists them).
KEYS = sorted(
    ["dispute_report", "settlement", "performance", receipt_key("链家"), receipt_key("房多多")]
)


def _mails(root: Path) -> list[tuple]:
    with Ledger(root / ".reconcile" / "ledger.sqlite") as ledger:
        return ledger.execute("SELECT night, key, status, attempts FROM mails ORDER BY 1, 2")


def _with_smtp(root: Path, port: int) -> None:
    rules = root / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(
        text
        + f"  smtp: {{host: 127.0.0.1, port: {port}, user: reconcile, password_env: TEST_SMTP}}\n",
        encoding="utf-8",
    )


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    generate_workspace(tmp_path)
    monkeypatch.setenv("TEST_SMTP", PASSWORD)
    return tmp_path


def test_the_night_mails_once_and_rewrites_identical_files(demo, capsys):
    night = DEMO_AS_OF.isoformat()
    with serve(user="reconcile", password=PASSWORD) as server:
        _with_smtp(demo, server.port)
        assert main(["run", "--workspace", str(demo), "--as-of", night]) == 0
        first = _hashes(demo)
        assert main(["run", "--workspace", str(demo), "--as-of", night]) == 0
        assert _hashes(demo) == first
        received = list(server.received)
    # Both runs report the one delivery of each mail, with the time it was accepted.
    sent = [line for line in capsys.readouterr().out.splitlines() if "发送" in line]
    assert len(sent) == 10 and sent[:5] == sent[5:] and all("已于 20" in line for line in sent)

    assert len(received) == 5
    messages = {
        m["Subject"]: m
        for m in (email.message_from_bytes(r.content, policy=policy.default) for r in received)
    }
    report = next(m for subject, m in messages.items() if "撞单与争议日报" in subject)
    assert report["To"] == "anchang@shanhu.example.com"
    html = report.get_body(("html",)).get_content()
    page = (demo / "reports" / night / "dispute_report.html").read_text(encoding="utf-8")
    assert html.replace("\r\n", "\n").rstrip() == page.rstrip()  # mail text travels as CRLF
    assert "待裁决" in report.get_body(("plain",)).get_content()
    finance = next(m for subject, m in messages.items() if "结算表" in subject)
    [attachment] = list(finance.iter_attachments())
    assert attachment.get_filename() == f"结算表_{night}.xlsx"
    assert attachment.get_content() == (demo / "outputs" / night / "settlement.xlsx").read_bytes()
    manager = next(m for subject, m in messages.items() if "置业顾问业绩表" in subject)
    assert manager["To"] == "xiaoshou@shanhu.example.com"
    [workbook] = list(manager.iter_attachments())
    assert workbook.get_content() == (demo / "outputs" / night / "performance.xlsx").read_bytes()
    outbox = demo / "outputs" / night / "outbox"
    emls = {path.read_bytes() for path in outbox.glob("*.eml")}
    assert emls == {r.content for r in received}  # the outbox holds exactly what was sent
    assert _mails(demo) == [(night, key, "sent", 1) for key in KEYS]


def test_a_replay_rewrites_the_night_exactly_and_mails_nothing(demo):
    night, later = DEMO_AS_OF, DEMO_AS_OF + timedelta(days=1)
    assert main(["run", "--workspace", str(demo), "--as-of", night.isoformat()]) == 0
    before = {k: v for k, v in _hashes(demo).items() if night.isoformat() in k}
    assert main(["run", "--workspace", str(demo), "--as-of", later.isoformat()]) == 0
    for path in (demo / "outputs" / night.isoformat()).rglob("*.xlsx"):
        path.unlink()
    (demo / "reports" / night.isoformat() / "dispute_report.html").unlink()
    assert main(["run", "--workspace", str(demo), "--as-of", night.isoformat()]) == 0
    after = {k: v for k, v in _hashes(demo).items() if night.isoformat() in k}
    assert after == before
    assert [row[:2] for row in _mails(demo)] == [
        (day.isoformat(), key) for day in (night, later) for key in KEYS
    ]


def test_no_email_keeps_the_mails_in_the_outbox_until_a_sending_run(demo, capsys):
    night = DEMO_AS_OF.isoformat()
    with serve(user="reconcile", password=PASSWORD) as server:
        _with_smtp(demo, server.port)
        assert main(["run", "--workspace", str(demo), "--as-of", night, "--no-email"]) == 0
        assert "未发送，已写入发件箱" in capsys.readouterr().out
        assert not server.received
        assert {status for *_, status, _ in _mails(demo)} == {"outbox"}
        assert main(["run", "--workspace", str(demo), "--as-of", night]) == 0
        assert len(server.received) == 5
    assert {status for *_, status, _ in _mails(demo)} == {"sent"}


def test_a_server_that_rejects_the_login_leaves_the_mails_for_the_next_run(demo, capsys):
    night = DEMO_AS_OF.isoformat()
    with serve(reject_login=True) as server:
        _with_smtp(demo, server.port)
        assert main(["run", "--workspace", str(demo), "--as-of", night]) == 0
    out = capsys.readouterr().out
    assert out.count("发送失败，下次运行重试（邮件服务器拒绝登录") == 5
    assert {status for *_, status, _ in _mails(demo)} == {"queued"}
