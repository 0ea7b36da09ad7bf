"""The sales manager's performance.xlsx (SPEC 6.7, §7) and its mail.

The nights are the seed scenarios' (tests/scenarios/cases/seed_00*.yaml), judged in
memory; the workbook is written by the product and recalculated by LibreOffice, whose
totals must be the CSVs' (performance.csv, rotation.csv). One night also runs through
`reconcile run`, which writes the workbook and posts it to `notify.sales_manager`.
"""

from __future__ import annotations

import email
from collections import defaultdict
from datetime import date
from email import policy
from pathlib import Path

import pytest

from reconcile.cli.main import main
from reconcile.judge import Judgement
from reconcile.publish.performance import (
    DAILY,
    DETAIL,
    ROTATION,
    SUMMARY,
    SUMMARY_COLUMNS,
    write_performance,
)
from reconcile.testing.nights import MemoryWorkspace
from tests.publish.conftest import Night, recalculate, sheets
from tests.scenarios.test_scenarios import CASES, load_case, typed_sheets, write_input

SPLITS = CASES / "seed_002_record_split_household.yaml"
ROTATION_CASE = CASES / "seed_003_rotation_forfeit.yaml"
TITLES = [column.title for column in SUMMARY_COLUMNS]


def _judged(path: Path, rules: str | None = None) -> Judgement:
    case = load_case(path)
    ws = MemoryWorkspace(rules or case["rules"])
    night = None
    for run in case["runs"]:
        for rel, files in (run.get("files") or {}).items():
            ws.put(rel, typed_sheets(rel, files))
        night = ws.run(date.fromisoformat(str(run["as_of"])))
    assert night is not None
    return night.judgement


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Judgement, Path]]:
    folder = tmp_path_factory.mktemp("performance")
    found = {}
    for name, path in (("splits", SPLITS), ("rotation", ROTATION_CASE)):
        judgement = _judged(path)
        book = folder / f"{name}.xlsx"
        write_performance(judgement, MemoryWorkspace(load_case(path)["rules"]).rules,
                          judgement.inputs.as_of, book)  # fmt: skip
        found[name] = (judgement, book)
    return found


def _summary(rows: list[list]) -> dict[str, dict[str, object]]:
    assert rows[0] == TITLES[: len(rows[0])]
    table = {}
    for row in rows[1:]:
        if row[0] == "合计":
            table["合计"] = dict(zip(TITLES, row, strict=False))
            break
        table[row[0]] = dict(zip(TITLES, row, strict=False))
    return table


def test_libreoffice_totals_are_the_csvs(books, tmp_path: Path) -> None:
    done = recalculate({name: book for name, (_, book) in books.items()}, tmp_path)
    for name, (judgement, _) in books.items():
        assert judgement.consultants is not None
        deals: dict[str, float] = defaultdict(float)
        amounts: dict[str, float] = defaultdict(float)
        differs: dict[str, int] = defaultdict(int)
        for share in judgement.consultants.shares:
            deals[share.consultant or ""] += share.share or 0
            amounts[share.consultant or ""] += share.amount or 0
            differs[share.consultant or ""] += "K07" in share.codes
        summary = _summary(done[name][SUMMARY])
        for consultant, total in deals.items():
            assert summary[consultant]["成交套数(按分成)"] == pytest.approx(total)
            assert summary[consultant]["业绩金额"] == pytest.approx(amounts[consultant])
            assert summary[consultant]["与CRM不符笔数"] == differs[consultant]
        assert summary["合计"]["成交套数(按分成)"] == pytest.approx(sum(deals.values()))
        assert summary["合计"]["业绩金额"] == pytest.approx(sum(amounts.values()))
        if judgement.rotation is None:
            assert len(done[name][SUMMARY][0]) == 5  # no rotation columns without the audit
            continue
        turns = judgement.rotation
        for consultant in summary:
            if consultant == "合计":
                continue
            mine = [t for t in turns if t.consultant == consultant]
            counted = [t for t in mine if t.verdict != "own_customer"]
            assert summary[consultant]["轮排接待"] == len(counted)
            assert summary[consultant]["按轮排"] == sum(t.verdict == "in_turn" for t in counted)
            assert summary[consultant]["缺席错过"] == sum(t.verdict == "missed" for t in mine)
            assert summary[consultant]["接待老客户"] == sum(
                t.verdict == "own_customer" for t in mine
            )
    # seed 002: 周杰 holds 0.2 of B-0101, 0.8 of B-0102 and the whole referral-free rest
    splits = _summary(done["splits"][SUMMARY])
    assert splits["吴磊"]["成交套数(按分成)"] == pytest.approx(0.8 + 1)
    assert splits["吴磊"]["业绩金额"] == pytest.approx(0.8 * 3_000_000 + 2_500_000)
    # seed 003: 王芳 took two turns in turn and received her own signed customer once
    turned = _summary(done["rotation"][SUMMARY])
    assert turned["王芳"]["按轮排"] == 2 and turned["王芳"]["接待老客户"] == 1
    assert turned["王芳"]["按轮排比例"] == pytest.approx(1)
    assert turned["陈静"]["按轮排比例"] == pytest.approx(0)


def test_the_rotation_sheets_only_with_rotation(books) -> None:
    with_rotation = sheets(books["rotation"][1])
    without = sheets(books["splits"][1])
    assert ROTATION in with_rotation and DAILY in with_rotation
    assert ROTATION not in without and DAILY not in without
    # per consultant and day: 陈静 on 12-01 received two, one out of turn, one missed
    daily = {(row[0], row[1]): row for row in with_rotation[DAILY][1:]}
    chen = daily[(date(2026, 12, 1), "陈静")]
    assert chen[2:5] == [2, 0, 0]
    assert "未按轮排（应轮到 李明）" in chen[5] and "缺席错过（应轮到 赵强）" in chen[5]
    assert chen[6] == "visits/来访登记.xlsx#来访!4；visits/来访登记.xlsx#来访!6"


def test_phones_are_masked(books) -> None:
    detail = sheets(books["splits"][1])[DETAIL]
    phones = [row[1] for row in detail[1:]]
    assert phones and all("****" in phone for phone in phones)


def test_a_night_writes_the_workbook_and_mails_the_sales_manager(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    case = load_case(ROTATION_CASE)
    (tmp_path / "rules.yaml").write_text(
        case["rules"] + "notify:\n  sales_manager: [经理 <manager@example.com>]\n", encoding="utf-8"
    )
    run = case["runs"][0]
    for rel, files in run["files"].items():
        write_input(tmp_path / "inputs", rel, files)
    as_of = str(run["as_of"])
    assert main(["run", "--workspace", str(tmp_path), "--as-of", as_of, "--no-email"]) == 0
    said = capsys.readouterr().out
    assert f"已写出 outputs/{as_of}/performance.xlsx（置业顾问业绩表）" in said
    assert f"邮件 置业顾问业绩表（{as_of}）→ 经理 <manager@example.com>：未发送" in said
    folder = tmp_path / "outputs" / as_of
    assert (folder / "performance.xlsx").is_file()
    for name in ("consultants.csv", "performance.csv", "rotation.csv"):
        assert (folder / name).is_file()
    message = email.message_from_bytes(
        (folder / "outbox" / "performance.eml").read_bytes(), policy=policy.default
    )
    assert message["To"] == "经理 <manager@example.com>"
    assert "置业顾问业绩表" in message["Subject"]
    attached = [part.get_filename() for part in message.iter_attachments()]
    assert attached == [f"置业顾问业绩表_{as_of}.xlsx"]


def test_no_consultant_rules_no_workbook(tmp_path: Path) -> None:
    judgement = _judged(SPLITS, rules="project: 山湖一号\n")
    assert judgement.consultants is None and judgement.rotation is None


def test_the_demos_workbook_opens_in_libreoffice_with_the_csvs_totals(
    demo_night: Night, tmp_path: Path
) -> None:
    """The demo (a roster, three consultants, one 80/20 split) as the sales manager opens it."""
    rows = demo_night.contract("performance")
    assert {r["share"] for r in rows if r["reason_codes"].startswith("K02")} == {"0.8", "0.2"}
    done = recalculate({"demo": demo_night.outputs / "performance.xlsx"}, tmp_path)["demo"]
    summary = _summary(done[SUMMARY])
    assert summary["合计"]["成交套数(按分成)"] == pytest.approx(
        sum(float(r["share"] or 0) for r in rows)
    )
    found = demo_night.judgement.consultants
    assert found is not None
    amounts = [share.amount or 0.0 for share in found.shares]
    assert sum(amounts) > 0 and summary["合计"]["业绩金额"] == pytest.approx(sum(amounts))
    turns = demo_night.contract("rotation")
    assert summary["合计"]["轮排接待"] == sum(t["verdict"] != "own_customer" for t in turns) > 0
    assert summary["合计"]["按轮排"] == sum(t["verdict"] == "in_turn" for t in turns)
