"""`reconcile fleet`: a group's nights on a real Dask LocalCluster (2 worker processes),
the group settlement recalculated by LibreOffice, the group mails on a real SMTP server.

One fleet night serves the module: three small demo projects (different seeds), one
whose rules.yaml is broken, one whose workspace is held by another run (tried again
up to its `retries`), one that does not exist.
"""

from __future__ import annotations

import csv
import email
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from email import policy
from pathlib import Path

import pytest

from reconcile.cli.main import main
from reconcile.config.group import load_group
from reconcile.ops.demo import DEMO_AS_OF, DEMO_SEED, generate_workspace
from reconcile.ops.fleet import Cluster, FleetNight, fleet_status, run_fleet
from reconcile.ops.lock import run_lock
from reconcile.publish.group import ProjectNight, publish_group, read_view
from reconcile.store.ledger import Ledger
from tests.publish.conftest import recalculate, sheets
from tests.publish.smtp_server import Server, serve

GOOD = ("山湖一号", "滨江壹号", "云栖府")
BROKEN, LOCKED, MISSING = "坏项目", "被占用", "不存在"
FINANCE, ADMIN = "caiwu@group.example.cn", "guanli@group.example.cn"


@dataclass
class Fleet:
    root: Path
    night: FleetNight
    server: Server
    received: int  # messages the server had right after the night


def _group_yaml(port: int) -> str:
    good = "".join(f"  - {{name: {name}, workspace: {name}}}\n" for name in GOOD[:2])
    # The third keeps its ledger (its state folder) outside its workspace.
    good += f"  - {{workspace: {GOOD[2]}, ledger: ledgers/{GOOD[2]}}}\n"
    return (
        "group: 华东集团\n"
        "defaults: {retries: 0}\n"
        "projects:\n"
        f"{good}"
        f"  - workspace: {BROKEN}\n"
        f"  - {{workspace: {LOCKED}, retries: 2}}\n"
        f"  - workspace: {MISSING}\n"
        "notify:\n"
        f"  group_finance: [{FINANCE}]\n"
        f"  group_admin: [{ADMIN}]\n"
        f"  smtp: {{host: 127.0.0.1, port: {port}, sender: jituan@group.example.cn}}\n"
    )


def _project(root: Path, name: str, seed: int) -> Path:
    """A demo project named `name` whose inputs come from `seed`; read at once (settle 0)."""
    generate_workspace(root, seed=seed)
    rules = root / "rules.yaml"
    text = rules.read_text(encoding="utf-8").replace("project: 山湖一号", f"project: {name}")
    rules.write_text(text + "\nschedule:\n  settle: 0s\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    root = tmp_path_factory.mktemp("group")
    for offset, name in enumerate(GOOD):  # another seed, other figures
        _project(root / name, name, DEMO_SEED + offset)
    (root / BROKEN).mkdir()
    (root / BROKEN / "rules.yaml").write_text("project: 坏项目\nreport:\n  validity: 48x\n")
    locked = _project(root / LOCKED, LOCKED, DEMO_SEED)
    with serve() as server:
        (root / "group.yaml").write_text(_group_yaml(server.port), encoding="utf-8")
        group = load_group(root / "group.yaml")
        with run_lock(locked / ".reconcile", "run", datetime.now()):
            night = run_fleet(group, DEMO_AS_OF, Cluster(retry_pause=0.2))
        yield Fleet(root, night, server, len(server.received))


def _outcome(fleet: Fleet, name: str):
    return next(o for o in fleet.night.outcomes if o.name == name)


def test_a_broken_project_stops_no_other_and_says_why(fleet):
    assert [o.name for o in fleet.night.outcomes] == [*GOOD, BROKEN, LOCKED, MISSING]
    for name in GOOD:
        outcome = _outcome(fleet, name)
        assert outcome.ok and outcome.attempts == 1 and outcome.seconds > 0
        assert outcome.files_new > 0 and outcome.rows_added > 0
        assert (fleet.root / name / "outputs/2026-11-20/settlement.xlsx").is_file()
        assert (fleet.root / name / "reports/2026-11-20/dispute_report.html").is_file()
        assert outcome.cpu_seconds > 0
    assert (fleet.root / "ledgers" / GOOD[2] / "ledger.sqlite").is_file()
    assert not (fleet.root / GOOD[2] / ".reconcile").exists()
    broken = _outcome(fleet, BROKEN)
    # A configuration error fails the same way every time: not tried again.
    assert broken.status == "failed" and broken.attempts == 1
    assert "rules.yaml 第 3 行 report.validity" in broken.error and "48x" in broken.error
    locked = _outcome(fleet, LOCKED)
    assert locked.status == "failed" and locked.attempts == 3  # its retries: 2
    assert "另一个对账任务正在运行" in locked.error
    assert "不存在或其中没有 rules.yaml" in _outcome(fleet, MISSING).error
    assert fleet.night.status == "partial"


def test_every_outcome_and_duration_is_in_the_group_ledger(fleet):
    with Ledger(fleet.root / ".reconcile-group/ledger.sqlite", read_only=True) as ledger:
        (night,) = ledger.recent_runs(5)
    assert (night.as_of, night.mode, night.status) == ("2026-11-20", "fleet", "partial")
    recorded = {p["name"]: p for p in night.summary["projects"]}
    assert set(recorded) == {*GOOD, BROKEN, LOCKED, MISSING}
    for outcome in fleet.night.outcomes:
        assert recorded[outcome.name]["status"] == outcome.status
        assert recorded[outcome.name]["seconds"] == pytest.approx(outcome.seconds)
        assert recorded[outcome.name]["error"] == outcome.error


def test_fleet_status_shows_where_each_project_stands(fleet, capsys):
    assert main(["fleet", "status", "--projects", str(fleet.root / "group.yaml")]) == 0
    out = capsys.readouterr().out
    assert "集团 华东集团" in out and "7 个项目" not in out and "6 个项目" in out
    assert "最近一次集团对账：判定日 2026-11-20" in out and "部分项目失败" in out
    lines = out.splitlines()
    for name in GOOD:
        assert any(line.strip().startswith(f"{name}（判定日 2026-11-20）：完成") for line in lines)
    assert any(BROKEN in line and "失败" in line and "48x" in line for line in lines)
    assert any(LOCKED in line and "尝试 3 次" in line for line in lines)
    state = fleet_status(load_group(fleet.root / "group.yaml"))
    assert state.running is None and state.last is not None


def _project_sums(fleet: Fleet) -> dict[tuple[str, str], list[float]]:
    """(agency, project) -> 累计应结, 已付, 本期应付 from the projects' own settlement.csv."""
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for name in GOOD:
        path = fleet.root / name / "outputs/2026-11-20/settlement.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["channel"]:
                    paid, outstanding = float(row["paid"]), float(row["outstanding"])
                    total = sums[(row["channel"], name)]
                    total[0] += paid + outstanding
                    total[1] += paid
                    total[2] += outstanding
    return sums


def test_group_settlement_per_agency_equals_the_projects_after_recalculation(
    fleet, tmp_path_factory
):
    published = fleet.night.published
    assert published is not None
    assert published.settlement.name == "集团结算表_2026-11-20.xlsx"
    book = recalculate({"group": published.settlement}, tmp_path_factory.mktemp("lo"))["group"]
    expected = _project_sums(fleet)
    agencies: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    projects: dict[str, set[str]] = defaultdict(set)
    for (agency, project), total in expected.items():
        projects[agency].add(project)
        agencies[agency] = [a + b for a, b in zip(agencies[agency], total, strict=True)]
    summary = book["汇总"]
    assert summary[0] == ["渠道", "项目数", "成交行数", "累计应结", "已付", "本期应付"]
    rows = {row[0]: row for row in summary[1 : len(agencies) + 1]}
    assert set(rows) == set(agencies) and len(agencies) >= 3
    for agency, total in agencies.items():
        assert rows[agency][1] == len(projects[agency])
        assert rows[agency][3:6] == pytest.approx(total, abs=0.005)
    totals = summary[len(agencies) + 1]
    assert totals[0] == "合计"
    assert totals[3:6] == pytest.approx(
        [sum(t[i] for t in agencies.values()) for i in range(3)], abs=0.005
    )
    by_project = {(row[0], row[1]): row for row in book["按项目"][1 : len(expected) + 1]}
    assert set(by_project) == set(expected)
    for key, total in expected.items():
        assert by_project[key][3:6] == pytest.approx(total, abs=0.005)
    notes = " ".join(str(cell) for row in summary for cell in row)
    assert f"未纳入：{BROKEN}" in notes and f"未纳入：{MISSING}" in notes


def test_the_workbook_before_recalculation_holds_formulas_not_figures(fleet):
    published = fleet.night.published
    assert published is not None
    raw = sheets(published.settlement)
    assert all(cell in ("", None) for row in raw["汇总"][1:3] for cell in row[3:6])


def _received(fleet: Fleet) -> dict[str, email.message.EmailMessage]:
    found = {}
    for message in fleet.server.received[: fleet.received]:
        parsed = email.message_from_bytes(message.content, policy=policy.default)
        found[message.rcpt_tos[0]] = parsed
    return found


def test_group_mails_go_to_group_finance_and_admin(fleet):
    mails = _received(fleet)
    assert fleet.received == 2 and set(mails) == {FINANCE, ADMIN}
    finance, admin = mails[FINANCE], mails[ADMIN]
    assert finance["Subject"].startswith(
        "【华东集团】2026-11-20 集团佣金结算表：3 个项目，3 个未完成"
    )
    (attachment,) = list(finance.iter_attachments())
    assert attachment.get_filename() == "集团结算表_2026-11-20.xlsx"
    assert attachment.get_content() == fleet.night.published.settlement.read_bytes()
    assert "集团争议汇总" in admin["Subject"] and "未完成 3 个项目" in admin["Subject"]
    text = admin.get_body(("plain",)).get_content()
    # The projects that failed lead, with their reasons; then each project's counts.
    assert text.index(BROKEN) < text.index("各项目待处理事项") < text.index(GOOD[0])
    assert "48x" in text and "另一个对账任务正在运行" in text
    html = admin.get_body(("html",)).get_content()
    assert "<style" not in html and all(name in html for name in GOOD)


def test_group_mails_are_never_sent_twice(fleet):
    group = load_group(fleet.root / "group.yaml")
    view = read_view(
        group.name,
        DEMO_AS_OF,
        [
            ProjectNight(o.name, Path(o.outputs) if o.outputs else None, o.error)
            for o in fleet.night.outcomes
        ],
    )
    notify = group.settings.notify
    with Ledger(group.ledger_path) as ledger:
        again = publish_group(
            view,
            group.rules,
            ledger,
            group.outputs / "2026-11-20",
            (notify.group_finance, notify.group_admin),
            send=True,
        )
        assert len(ledger.night_mails("2026-11-20")) == 2
    assert len(fleet.server.received) == fleet.received
    assert {d.status for d in again.deliveries} == {"sent"}


def test_each_projects_own_outputs_are_unchanged(fleet, tmp_path):
    """A project's files from the fleet are byte for byte those of its own `reconcile run`."""
    from reconcile.config.workspace import Workspace
    from reconcile.ops.pipeline import run

    ws = _project(tmp_path / "alone", GOOD[0], DEMO_SEED)
    run(Workspace.open(ws), date(2026, 11, 20), send=False)
    for name in ("settlement.csv", "deals.csv", "reports.csv", "attribution.csv"):
        fleet_file = fleet.root / GOOD[0] / "outputs/2026-11-20" / name
        assert fleet_file.read_bytes() == (ws / "outputs/2026-11-20" / name).read_bytes()


def test_an_unreachable_scheduler_runs_nothing_and_is_recorded(tmp_path, capsys):
    _project(tmp_path / "p", "p", DEMO_SEED)
    (tmp_path / "group.yaml").write_text("projects: [{workspace: p}]\n", encoding="utf-8")
    group = load_group(tmp_path / "group.yaml")
    with pytest.raises(OSError):
        run_fleet(group, DEMO_AS_OF, Cluster(scheduler="tcp://127.0.0.1:9", connect_timeout=1))
    args = ["fleet", "run", "--projects", str(tmp_path / "group.yaml"), "--scheduler", "http://x:9"]
    assert main(args) == 1
    assert "无法连接 Dask 调度器 http://x:9" in capsys.readouterr().err
    with Ledger(group.ledger_path, read_only=True) as ledger:
        assert [run.status for run in ledger.recent_runs(5)] == ["failed", "failed"]
    assert not (tmp_path / "p/outputs").exists() or not any((tmp_path / "p/outputs").iterdir())


def test_fleet_run_again_from_the_command_line_sends_no_mail_twice(fleet, tmp_path, capsys):
    """The same night again, through `reconcile fleet run`, on a copy of the group: the
    workspace that was held is free now, the broken one still fails, and the group's
    mails, already sent, are not sent again."""
    import shutil

    root = tmp_path / "again"
    shutil.copytree(fleet.root, root)
    args = ["fleet", "run", "--projects", str(root / "group.yaml"), "--as-of", "2026-11-20"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert out.startswith("集团 华东集团：6 个项目开始对账")
    assert f"  {LOCKED}：完成" in out and f"  {BROKEN}：失败" in out
    assert "集团 华东集团 2026-11-20：4 个项目完成，2 个失败" in out
    assert f"失败：{BROKEN}——配置错误：rules.yaml 第 3 行 report.validity" in out
    assert "集团结算表：" in out and "集团争议汇总：" in out
    # when they were sent: by the first night
    assert len(re.findall(r"邮件已于 \d{4}-\d{2}-\d{2}T[\d:]+\+08:00 发送", out)) == 2
    assert len(fleet.server.received) == fleet.received


def test_group_files_that_cannot_be_written_fail_the_command_but_keep_the_outcomes(
    tmp_path, capsys
):
    # The group's output folder is a file: nothing can be written under it. (The one
    # project is missing, so that no night has to run for the outcome to be recorded.)
    (tmp_path / "taken").write_text("", encoding="utf-8")
    group_yaml = tmp_path / "group.yaml"
    group_yaml.write_text("outputs: taken\nprojects: [{workspace: p}]\n", encoding="utf-8")
    assert main(["fleet", "run", "--projects", str(group_yaml), "--as-of", "2026-11-20"]) == 1
    captured = capsys.readouterr()
    assert "  p：失败" in captured.out
    assert "集团结算表与争议汇总无法写入" in captured.err and "taken/2026-11-20" in captured.err
    with Ledger(tmp_path / ".reconcile-group/ledger.sqlite", read_only=True) as ledger:
        (night,) = ledger.recent_runs(5)
    assert night.status == "failed"
    assert [(p["name"], p["status"]) for p in night.summary["projects"]] == [("p", "failed")]
    assert "集团结算表与争议汇总无法写入" in night.summary["error"]


def test_a_group_sheet_longer_than_excel_fails_the_command_rather_than_cutting_it(
    tmp_path, capsys, monkeypatch
):
    # At a group's full scale 明细 may need more rows than a worksheet holds; a cut table
    # would make every SUMPRODUCT total wrong. (A sheet of a few rows stands in for it.)
    monkeypatch.setattr("reconcile.publish.stream.EXCEL_ROWS", 3)
    group_yaml = tmp_path / "group.yaml"
    group_yaml.write_text("outputs: out\nprojects: [{workspace: p}]\n", encoding="utf-8")
    assert main(["fleet", "run", "--projects", str(group_yaml), "--as-of", "2026-11-20"]) == 1
    err = capsys.readouterr().err
    assert "集团结算表与争议汇总无法写入" in err and "超过 Excel 单个工作表的上限 3 行" in err
    assert not list((tmp_path / "out").rglob("*.xlsx"))
