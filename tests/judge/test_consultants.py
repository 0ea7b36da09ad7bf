"""In-house consultants and the rotation audit (SPEC 6.7), judged in memory: the cases
the seed scenarios leave out (tests/scenarios/cases/seed_00*.yaml hold the seeds' own),
and `explain` showing the consultant episode beside the channel's."""

from __future__ import annotations

from datetime import date

from reconcile.config.rules import parse_rules
from reconcile.judge import Judgement
from reconcile.judge.explain import explain
from reconcile.judge.reasons import k07, split
from reconcile.judge.reasons.split import ASSISTED, DESIGNATED, Help
from reconcile.judge.vocabulary import Code
from reconcile.publish.contract import contract_files
from reconcile.testing.nights import MemoryWorkspace

VISIT = ["客户姓名", "客户电话", "到访时间", "渠道", "经纪人", "接待顾问", "推荐人电话"]
ROSTER = ["日期", "顺序", "置业顾问", "是否休息"]
FOLLOW = ["客户姓名", "客户电话", "跟进时间", "跟进人"]


def _night(rules: str, files: dict[str, dict[str, list[list]]], as_of: date) -> Judgement:
    ws = MemoryWorkspace(rules)
    for rel, sheets in files.items():
        ws.put(rel, sheets)
    return ws.run(as_of).judgement


def _visits(*rows: list) -> dict[str, dict[str, list[list]]]:
    return {"visits/来访.xlsx": {"来访": [list(VISIT), *[list(row) for row in rows]]}}


def test_explain_shows_the_consultant_beside_the_channel() -> None:
    header, report = (
        ["客户姓名", "客户电话", "报备时间", "经纪人"],
        ["张先生", "138****1234", "2026-11-18 09:00", "王五"],
    )
    files = {
        "channels/链家/报备.xlsx": {"报备": [header, report]},
        **_visits(["张三", "13812341234", "2026-11-18 15:00", "链家", "王五", "王芳", None]),
    }  # fmt: skip
    files["visits/来访.xlsx"]["来访"][0].append("是否首访")
    files["visits/来访.xlsx"]["来访"][1].append("是")
    judgement = _night("consultant: {}\n", files, date(2026, 11, 20))
    text = "\n".join(explain(judgement, "13812341234", "山湖一号"))
    assert "接待：王芳；是否首访：是" in text  # the visit as registered
    assert "归属 1：渠道客户 链家" in text  # the channel's episode
    assert "置业顾问 1：王芳；建档 2026-11-18 15:00" in text  # and the consultant's
    assert "K01 首次接待" in text


def test_without_consultant_rules_nothing_is_judged_or_written() -> None:
    files = _visits(["张三", "13812341234", "2026-11-18 15:00", None, None, "王芳", None])
    judgement = _night("project: 山湖一号\n", files, date(2026, 11, 20))
    assert judgement.consultants is None and judgement.rotation is None
    assert set(contract_files(judgement)) == {
        "reports.csv", "attribution.csv", "deals.csv", "settlement.csv",
    }  # fmt: skip
    assert not any("置业顾问" in line for line in explain(judgement, "13812341234", "山湖一号"))


def test_a_referral_goes_to_the_receptionist_when_the_rules_say_so() -> None:
    files = _visits(
        ["老业主", "13900000001", "2026-11-01 10:00", None, None, "周杰", None],
        ["新客户", "13900000002", "2026-11-05 10:00", None, None, "郑华", "13900000001"],
    )
    for referral, owner, code in (
        ("referrer_owner", "周杰", "K04"),
        ("receptionist", "郑华", "K01"),
    ):
        judgement = _night(f"consultant: {{referral: {referral}}}\n", files, date(2026, 11, 6))
        assert judgement.consultants is not None
        [record] = judgement.consultants.by_phone("13900000002")
        assert (record.consultant, record.codes) == (owner, [code])


def test_only_the_owners_own_contacts_keep_the_record() -> None:
    files = {
        **_visits(["张三", "13800000001", "2026-11-01 10:00", None, None, "王芳", None]),
        # another consultant's follow-up does not keep 王芳's record alive
        "crm/跟进.xlsx": {"跟进": [FOLLOW, ["张三", "13800000001", "2026-11-09 10:00", "李明"]]},
    }
    judgement = _night("consultant: {}\n", files, date(2026, 11, 30))
    assert judgement.consultants is not None
    [record] = judgement.consultants.by_phone("13800000001")
    assert record.valid_until is not None and record.valid_until.date() == date(2026, 11, 11)
    assert record.codes == ["K01", "K05"]


def test_a_follow_up_before_any_visit_makes_the_follower_the_owner() -> None:
    files = {
        **_visits(["张三", "13800000001", "2026-11-05 10:00", None, None, "王芳", None]),
        "crm/跟进.xlsx": {"跟进": [FOLLOW, ["张三", "13800000001", "2026-11-02 10:00", "李明"]]},
    }
    judgement = _night("consultant: {}\n", files, date(2026, 11, 6))
    assert judgement.consultants is not None
    [record] = judgement.consultants.by_phone("13800000001")
    assert record.consultant == "李明" and record.source == "crm/跟进.xlsx#跟进!2"


def test_a_missed_turn_is_made_up_first_on_the_next_present_day() -> None:
    roster = [
        ROSTER,
        ["2026-12-01", 1, "王芳", "否"],
        ["2026-12-01", 2, "李明", "请假"],
        ["2026-12-01", 3, "赵强", "否"],
        ["2026-12-02", 1, "王芳", "否"],
        ["2026-12-02", 2, "李明", "否"],
        ["2026-12-02", 3, "赵强", "否"],
    ]
    files = {
        "roster/轮排表.xlsx": {"轮排表": roster},
        **_visits(
            ["甲", "13600000001", "2026-12-01 09:00", None, None, "王芳", None],
            ["乙", "13600000002", "2026-12-01 10:00", None, None, "赵强", None],
            ["丙", "13600000003", "2026-12-02 09:00", None, None, "李明", None],
            ["丁", "13600000004", "2026-12-02 10:00", None, None, "王芳", None],
        ),
    }
    made_up = _night("consultant: {}\nrotation: {missed_turn: make_up}\n", files, date(2026, 12, 2))
    verdicts = [(t.consultant, t.in_turn, t.verdict) for t in made_up.rotation or []]
    assert verdicts == [
        ("王芳", "王芳", "in_turn"),
        ("赵强", "李明", "missed"),  # 李明 away: 赵强 passes over him
        ("李明", "李明", "in_turn"),  # owed: 李明 first on his next day
        ("王芳", "王芳", "in_turn"),  # then the day's order
    ]
    forfeit = _night("consultant: {}\nrotation: {}\n", files, date(2026, 12, 2))
    verdicts = [(t.consultant, t.in_turn, t.verdict) for t in forfeit.rotation or []]
    assert verdicts[2] == ("李明", "王芳", "out_of_turn")  # nothing owed: 王芳 leads


def test_a_day_without_a_roster_is_not_audited() -> None:
    files = {
        "roster/轮排表.xlsx": {"轮排表": [ROSTER, ["2026-12-01", 1, "王芳", "否"]]},
        **_visits(["甲", "13600000001", "2026-12-02 09:00", None, None, "王芳", None]),
    }
    judgement = _night("rotation: {}\n", files, date(2026, 12, 2))
    assert judgement.rotation == [] and judgement.consultants is None


def test_a_corrected_roster_replaces_the_day_it_corrects() -> None:
    ws = MemoryWorkspace("consultant: {}\nrotation: {}\n")
    li = ["2026-12-01", 2, "李明", "否"]
    ws.put("roster/轮排表.xlsx", {"轮排表": [ROSTER, ["2026-12-01", 1, "王芳", "请假"], li]})
    visit = ["甲", "13600000001", "2026-12-01 09:00", None, None, "李明", None]
    ws.put("visits/来访.xlsx", _visits(visit)["visits/来访.xlsx"])
    first = ws.run(date(2026, 12, 1)).judgement.rotation or []
    assert [(t.in_turn, t.verdict) for t in first] == [("王芳", "missed")]
    # The office re-saves the roster: 王芳 was at work that day after all. The ledger
    # keeps the old row; the day is read from the corrected one.
    ws.put("roster/轮排表.xlsx", {"轮排表": [ROSTER, ["2026-12-01", 1, "王芳", "否"], li]})
    second = ws.run(date(2026, 12, 2)).judgement.rotation or []
    assert [(t.in_turn, t.verdict) for t in second] == [("王芳", "out_of_turn")]


def test_a_split_leaves_out_a_share_of_nothing() -> None:
    rules = parse_rules("consultant: {designated_other: [1, 0]}\n").consultant
    assert rules is not None
    asked = [Help(DESIGNATED, "李明", 20000)]
    assert split.shares("王芳", asked, None, rules) == ([("李明", 1.0)], Code.K02)


def test_same_day_help_counts_only_on_the_day_the_deal_reached_the_stage() -> None:
    rules = parse_rules("consultant: {assisted_same_day_only: true}\n").consultant
    assert rules is not None
    helped = [Help(ASSISTED, "赵强", 100), Help(ASSISTED, "李明", 102)]
    assert split.shares("王芳", helped, 100, rules) == (
        [("王芳", 0.5), ("赵强", 0.5)],
        Code.K03,
    )
    assert split.shares("王芳", helped, 101, rules) == ([("王芳", 1.0)], None)


def test_the_crm_cell_may_name_several_consultants() -> None:
    assert k07.names("吴磊/周杰、 郑华") == {"吴磊", "周杰", "郑华"}
    assert not k07.decide(["周杰", "吴磊"], "吴磊/周杰")
    assert k07.decide(["周杰"], "吴磊")
    assert not k07.decide(["周杰"], None)  # the CRM names nobody: nothing to compare
