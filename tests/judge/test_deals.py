"""Deals across nights (SPEC 6.5): rows grouped into deals by flat and number, 交易变更
applied, and the owner among co-buyers. Frames are built as `load()` gives them."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.config.rules import parse_rules
from reconcile.judge.deals import Deal, Households, assemble, change_kind, settle
from reconcile.judge.inputs import empty_frame
from reconcile.judge.timeline import Episode, Report

ZONE = ZoneInfo("Asia/Shanghai")
AS_OF_END = datetime(2026, 12, 31, 23, 59, 59, tzinfo=ZONE)
_DATES = {"deposit": "deposit_at", "subscribed": "subscribed_at", "signed": "signed_at",
          "refunded": "refunded_at"}  # fmt: skip
A, B, C = "13800001111", "13900002222", "13700003333"


def day(text: str) -> datetime:
    return datetime.combine(datetime.fromisoformat(text).date(), time(0), ZONE)


def _frame(kind: str, rows: list[dict]) -> pl.DataFrame:
    """Rows of one kind as `load()` gives them: data fields as columns, dates as ISO text."""
    schema = dict(empty_frame(kind).schema)
    schema["at"] = schema["first_seen_at"] = pl.Datetime("us", "Asia/Shanghai")
    records = []
    for number, given_row in enumerate(rows, start=2):
        row = dict(given_row)
        record: dict = dict.fromkeys(schema)
        for short, name in _DATES.items():
            if short in row:
                record[name] = day(row.pop(short)).isoformat()
        dated = [day(record[n][:10]) for n in _DATES.values() if record.get(n)]
        at = row.pop("at", None)
        record["at"] = day(at) if at else (min(dated) if dated else None)
        record["first_seen_at"] = day(row.pop("seen", "2026-12-31"))
        record.update(path="crm/成交.xlsx", sheet="成交", row_no=number, first_run=1)
        record.update(row)
        record["source"] = f"{record['path']}#{record['sheet']}!{record['row_no']}"
        records.append(record)
    return pl.DataFrame(records, schema=schema)


def deals_of(rows: list[dict], changes: list[dict] = ()) -> list[Deal]:  # type: ignore[assignment]
    changes = [{"path": "crm/交易变更.xlsx", "sheet": "变更", **c} for c in changes]
    return assemble(_frame("deal", rows), _frame("deal_change", list(changes)), AS_OF_END)


def by_id(deals: list[Deal]) -> dict[str, Deal]:
    return {d.deal_id: d for d in deals}


def sale(phone: str = A, **cells) -> dict:
    return {"phone": phone, "customer_name": "张三", "stage": "签约", "amount": 3_000_000.0,
            "subscribed": "2026-11-10", "signed": "2026-11-15", **cells}  # fmt: skip


# Grouping rows into deals ------------------------------------------------------------------


def test_a_flat_keyed_by_building_and_room_then_by_its_contract_number_is_one_deal() -> None:
    night_1 = sale(building="5栋", room="802", stage="认购", signed=None)
    del night_1["signed"]
    # Night 2: the contract number alone (no room) for the same buyer, then a row that
    # spells the room another way with the same number.
    number_only = sale(contract_no="HT-0802", stage="网签", path="crm/签约.xlsx", seen="2026-12-02")
    spelled = sale(contract_no="HT-0802", room_name="5#-0802", path="crm/签约2.xlsx")
    for rows in ([night_1, number_only], [night_1, spelled], [night_1, number_only, spelled]):
        (deal,) = deals_of(rows)
        assert deal.deal_id == "HT-0802"
        assert deal.flats == ["5-802"]
        assert deal.stage == "签约" and deal.deal_date == day("2026-11-10")


def test_before_its_number_the_deal_is_named_by_its_flat() -> None:
    (deal,) = deals_of([sale(building="5#", unit="2单元", room="0802")])
    assert deal.deal_id == "5-2-802"
    (deal,) = deals_of([sale(room="1001")])
    assert deal.deal_id == "1001@138****1111"  # 房号 with the buyer, masked for people


def test_a_number_only_row_dated_before_the_flat_row_still_joins_it() -> None:
    early = {"phone": A, "stage": "小订", "deposit": "2026-11-01", "subscription_no": "RG-1"}
    (deal,) = deals_of([early, sale(building="5", unit="2", room="802", stage="认购")])
    assert deal.deal_id == "RG-1" and deal.flats == ["5-2-802"]
    assert deal.stage_at["小订"] == day("2026-11-01")


def test_numbers_name_the_deal_in_order() -> None:
    rows = [
        sale(room_name="5-2-802", subscription_no="RG-1"),
        sale(room_name="5-2-802", contract_no="HT-1"),
        sale(room_name="5-2-802", deal_no="CJ-1"),
    ]
    (deal,) = deals_of(rows)
    assert deal.deal_id == "CJ-1"
    assert (deal_id := by_id(deals_of(rows[:2]))) and list(deal_id) == ["HT-1"]
    assert list(by_id(deals_of(rows[:1]))) == ["RG-1"]


def test_a_flat_never_gives_two_deals_whatever_numbers_its_rows_carry() -> None:
    rows = [
        sale(room_name="5-2-802", subscription_no="RG-1"),
        sale(room_id="GUID-1", building="5", unit="2", room="802", subscription_no="RG-9"),
        sale(room_id="GUID-1", contract_no="HT-7"),
    ]
    (deal,) = deals_of(rows)
    assert deal.deal_id == "HT-7"
    assert {n for _, n in deal.numbers} == {"RG-1", "RG-9", "HT-7"}


def test_a_row_naming_the_numbers_of_two_deals_makes_them_one() -> None:
    rows = [
        sale(room_id="GUID-A", subscription_no="RG-1"),
        sale(room_name="5-2-802", contract_no="HT-1", path="crm/签约.xlsx"),
    ]
    assert len(deals_of(rows)) == 2  # nothing yet says GUID-A is 5-2-802
    both = {"phone": A, "stage": "签约", "signed": "2026-11-16", "subscription_no": "RG-1",
            "contract_no": "HT-1", "path": "crm/网签.xlsx"}  # fmt: skip
    (deal,) = deals_of([*rows, both])
    assert deal.deal_id == "HT-1" and deal.flats == ["GUID-A", "5-2-802"]
    assert deal.source_texts == (
        "crm/成交.xlsx#成交!2",
        "crm/签约.xlsx#成交!3",
        "crm/网签.xlsx#成交!4",
    )


def test_room_1001_across_buildings_gives_distinct_deals() -> None:
    rows = [
        sale(phone=f"1380000{i:04d}", building=f"{b}#", unit=f"{u}单元", room="1001")
        for i, (b, u) in enumerate([(1, 1), (1, 2), (2, 1), (3, 1), (5, 1), (5, 2), (6, 1), (8, 1)])
    ]
    deals = deals_of(rows)
    assert len(deals) == 8
    assert sorted(d.deal_id for d in deals) == sorted(
        ["1-1-1001", "1-2-1001", "2-1-1001", "3-1-1001", "5-1-1001", "5-2-1001", "6-1-1001",
         "8-1-1001"]
    )  # fmt: skip


def test_a_bare_room_number_is_two_flats_for_two_buyers() -> None:
    assert len(deals_of([sale(phone=A, room="1001"), sale(phone=B, room="1001")])) == 2


def test_a_bare_room_number_joins_its_buyers_flat_in_a_building() -> None:
    (deal,) = deals_of([sale(room="1001", stage="认购"), sale(room_name="5栋1001")])
    assert deal.flats == ["5-1001"] and deal.deal_id == "5-1001"


def test_co_buyers_of_one_row_are_one_deal_with_both_numbers() -> None:
    first = sale(phone=A, room="1001", customer_name="张三/李四")
    second = {**first, "phone": B, "row_no": 2}  # the same source row: a `a;b` cell
    (deal,) = deals_of([first, second])
    assert deal.buyers == [A, B] and deal.owners == [A, B]
    assert deal.source_texts == ("crm/成交.xlsx#成交!2",)


def test_a_flat_refunded_and_sold_again_is_a_new_deal() -> None:
    rows = [
        sale(phone=A, room_name="5-2-802", refunded="2026-11-20", stage="退房"),
        sale(phone=B, room_name="5-2-802", subscribed="2026-11-25", signed="2026-11-28"),
        # the old deal's refund row again, and the new deal's contract: neither splits further
        {"phone": A, "room_name": "5-2-802", "stage": "退房", "refunded": "2026-11-20"},
    ]
    deals = by_id(deals_of(rows))
    assert list(deals) == ["5-2-802", "5-2-802#2"]
    assert (deals["5-2-802"].stage, deals["5-2-802"].buyers) == ("退房", [A])
    assert (deals["5-2-802#2"].stage, deals["5-2-802#2"].buyers) == ("签约", [B])


def test_stage_dates_after_the_night_are_not_yet_known() -> None:
    row = sale(room_name="5-2-802", signed="2027-01-05")
    (deal,) = deals_of([row])
    assert deal.stage == "认购" and "签约" not in deal.stage_at


@pytest.mark.parametrize(
    ("dates", "made"),
    [
        ({"deposit": "2026-11-01", "subscribed": "2026-11-05", "signed": "2026-11-09"}, "11-05"),
        ({"deposit": "2026-11-01", "signed": "2026-11-09"}, "11-09"),  # 签约 when no 认购
        ({"deposit": "2026-11-01"}, "11-01"),  # never made: its earliest stage
        ({"subscribed": "2026-11-05", "refunded": "2026-11-07"}, "11-05"),
    ],
)
def test_the_deal_date_is_its_first_stage_at_subscription_level(dates: dict, made: str) -> None:
    stage = "退房" if "refunded" in dates else "签约" if "signed" in dates else "小订"
    row = {"phone": A, "room_name": "5-2-802", "stage": stage, **dates}
    (deal,) = deals_of([row])
    assert deal.deal_date == day(f"2026-{made}")


# 交易变更 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [("退房", "refund"), ("退定", "refund"), ("退订", "refund"), ("换房", "move"),
     ("换房(已执行)", "move"), ("更名", "buyers"), ("增减权益人", "buyers"),
     ("折扣变更", "other"), ("延期付款", "other"), (None, "other"), ("挞定", "refund"),
     ("弃购", "refund"), ("面积补差退款", "other")],
)  # fmt: skip
def test_change_kinds(text: str | None, kind: str) -> None:
    assert change_kind(text) == kind


def test_a_refund_in_the_change_sheet_refunds_the_deal_on_its_date() -> None:
    change = {"change_type": "退房", "room_name": "5#-2单元-0802", "customer_name": "张三",
              "at": "2026-11-25", "refund_amount": 50_000.0}  # fmt: skip
    (deal,) = deals_of([sale(building="5", unit="2", room="0802")], [change])
    assert deal.stage == "退房" and deal.stage_at["退房"] == day("2026-11-25")
    assert deal.refund_amount == 50_000.0
    assert deal.source_texts == ("crm/交易变更.xlsx#变更!2", "crm/成交.xlsx#成交!2")
    assert [(c.kind, c.change_type) for c in deal.changes] == [("refund", "退房")]


def test_a_change_finds_its_deal_by_any_number() -> None:
    change = {"change_type": "退定", "contract_no": "HT-1", "at": "2026-11-25"}
    (deal,) = deals_of([sale(room_name="5-2-802", contract_no="HT-1")], [change])
    assert deal.stage == "退房"


def test_a_room_change_moves_the_deal_with_its_new_price() -> None:
    rows = [
        sale(room_name="5-2-802", subscription_no="RG-1"),
        # The CRM after the change: the same deal on its new flat, dated as it always was.
        sale(room_name="5-2-902", amount=3_200_000.0, path="crm/成交2.xlsx"),
        # The old flat sold again to someone else after the change: a new deal.
        sale(phone=B, room_name="5-2-802", subscribed="2026-12-01", signed="2026-12-05"),
    ]
    change = {"change_type": "换房", "room_name": "5#-2单元-0802", "new_room_name": "5#-2单元-0902",
              "new_amount": 3_200_000.0, "at": "2026-11-20"}  # fmt: skip
    deals = by_id(deals_of(rows, [change]))
    assert list(deals) == ["5-2-802", "RG-1"]
    moved = deals["RG-1"]
    assert moved.flats == ["5-2-802", "5-2-902"] and moved.flat == "5-2-902"
    assert moved.amount == 3_200_000.0 and moved.buyers == [A]
    assert moved.changes[0].new_flat == "5-2-902"
    assert deals["5-2-802"].buyers == [B]


def test_a_room_change_to_a_bare_room_stays_in_its_building() -> None:
    change = {"change_type": "换房", "room_name": "5-2-802", "new_room_name": "0902",
              "at": "2026-11-20"}  # fmt: skip
    (deal,) = deals_of([sale(room_name="5-2-802"), sale(room_name="5-2-902")], [change])
    assert deal.flats == ["5-2-802", "5-2-902"] and deal.amount == 3_000_000.0


def test_a_rename_changes_the_buyers_never_the_owners() -> None:
    rows = [
        sale(room_name="5-2-802"),
        sale(phone=C, customer_name="王五", room_name="5-2-802", path="crm/成交2.xlsx"),
    ]
    change = {"change_type": "更名", "room_name": "5-2-802", "customer_name": "张三",
              "new_customer_name": "王五", "at": "2026-11-20"}  # fmt: skip
    (deal,) = deals_of(rows, [change])
    assert deal.buyers == [A, C] and deal.owners == [A]
    assert deal.customer_name == "王五"


def test_other_changes_are_kept_with_their_source() -> None:
    change = {"change_type": "折扣变更", "room_name": "5-2-802", "at": "2026-11-20"}
    (deal,) = deals_of([sale(room_name="5-2-802")], [change])
    assert deal.stage == "签约"
    assert [(c.kind, c.change_type, c.source) for c in deal.changes] == [
        ("other", "折扣变更", "crm/交易变更.xlsx#变更!2")
    ]
    assert "crm/交易变更.xlsx#变更!2" in deal.source_texts


def test_a_change_for_no_known_deal_makes_no_deal() -> None:
    change = {"change_type": "退房", "room_name": "9-9-909", "at": "2026-11-20"}
    (deal,) = deals_of([sale(room_name="5-2-802")], [change])
    assert deal.stage == "签约" and deal.changes == []


# 明源 records closed by 换房, without a 交易变更 sheet ------------------------------------------


def _order(room: str, number: str, subscribed: str, **cells) -> dict:
    """A 明源 认购 record: 激活 unless `close_reason` says how it closed."""
    cells = {"stage": "认购", **cells}
    record = sale(room_name=room, subscription_no=number, subscribed=subscribed, **cells)
    del record["signed"]
    return record


def _moved(room: str, number: str, subscribed: str, closed: str | None = None, **cells) -> dict:
    closed_at = day(closed).isoformat() if closed else None
    return _order(room, number, subscribed, close_reason="换房", closed_at=closed_at, **cells)


def test_a_record_closed_by_room_change_follows_the_buyer_to_the_new_record() -> None:
    rows = [
        _moved("5-2-802", "RG-1", "2026-11-10"),
        _order("5-2-902", "RG-2", "2026-11-20", amount=3_200_000.0),
    ]
    (deal,) = deals_of(rows)
    assert deal.deal_id == "RG-1" and deal.deal_date == day("2026-11-10")
    assert deal.flats == ["5-2-802", "5-2-902"] and deal.amount == 3_200_000.0
    assert [(c.kind, c.new_flat, c.source) for c in deal.changes] == [
        ("move", "5-2-902", "crm/成交.xlsx#成交!2")
    ]


def test_a_record_closed_by_room_change_alone_stays_a_deal() -> None:
    closed = _moved("5-2-802", "RG-1", "2026-11-10", path="crm/成交2.xlsx")
    (deal,) = deals_of([_order("5-2-802", "RG-1", "2026-11-10"), closed])
    assert deal.stage == "认购" and deal.flat == "5-2-802" and deal.changes == []


def test_room_changes_in_a_row_end_on_the_last_flat() -> None:
    rows = [
        _moved("5-2-802", "RG-1", "2026-11-10"),
        _moved("5-2-902", "RG-2", "2026-11-15"),
        _order("5-2-1002", "RG-3", "2026-11-20", amount=3_500_000.0),
    ]
    (deal,) = deals_of(rows)
    assert deal.deal_id == "RG-1" and deal.flat == "5-2-1002" and deal.amount == 3_500_000.0
    assert [c.new_flat for c in deal.changes] == ["5-2-902", "5-2-1002"]


def test_a_room_change_never_takes_an_earlier_purchase_of_the_buyer() -> None:
    rows = [
        _order("6-1-101", "RG-0", "2026-11-01"),  # bought before: a deal of its own
        _moved("5-2-802", "RG-1", "2026-11-10"),
        _order("5-2-902", "RG-2", "2026-11-20"),
    ]
    deals = by_id(deals_of(rows))
    assert sorted(deals) == ["RG-0", "RG-1"] and deals["RG-1"].flat == "5-2-902"


def test_the_closing_date_picks_the_new_record_over_a_purchase_in_between() -> None:
    rows = [
        _moved("5-2-802", "RG-1", "2026-11-10", closed="2026-11-20"),
        _order("6-1-101", "RG-X", "2026-11-12"),  # a second flat bought meanwhile
        _order("5-2-902", "RG-2", "2026-11-20"),
    ]
    deals = by_id(deals_of(rows))
    assert deals["RG-1"].flat == "5-2-902" and deals["RG-X"].flats == ["6-1-101"]


def test_another_buyer_of_the_vacated_flat_is_a_new_deal_not_a_rival() -> None:
    rows = [
        _moved("5-2-802", "RG-1", "2026-11-10"),
        _order("5-2-902", "RG-2", "2026-11-20"),
        _order("5-2-802", "RG-9", "2026-11-25", phone=B),
    ]
    deals = by_id(deals_of(rows))
    assert deals["RG-1"].flat == "5-2-902" and deals["RG-1"].rivals == []
    assert deals["RG-9"].buyers == [B] and deals["RG-9"].rivals == []


def test_a_change_sheet_moving_the_deal_is_not_followed_twice() -> None:
    rows = [
        _moved("5-2-802", "RG-1", "2026-11-10"),
        _order("5-2-902", "RG-2", "2026-11-20"),
        _order("6-1-101", "RG-X", "2026-11-25"),  # a later purchase: stays its own
    ]
    change = {"change_type": "换房", "room_name": "5-2-802", "new_room_name": "5-2-902",
              "at": "2026-11-20"}  # fmt: skip
    deals = by_id(deals_of(rows, [change]))
    assert sorted(deals) == ["RG-1", "RG-X"]
    assert [c.source for c in deals["RG-1"].changes] == ["crm/交易变更.xlsx#变更!2"]


def test_a_record_closed_by_refund_is_dated_by_its_closing_date() -> None:
    refund = _order("5-2-802", "RG-1", "2026-11-10", stage="退房", close_reason="退房",
                    closed_at=day("2026-11-22").isoformat(), seen="2026-11-30")  # fmt: skip
    (deal,) = deals_of([_order("5-2-802", "RG-1", "2026-11-10", seen="2026-11-11"), refund])
    assert deal.stage == "退房" and deal.stage_at["退房"] == day("2026-11-22")


# Properties ----------------------------------------------------------------------------------


def _shape(deals: list[Deal]) -> list[tuple]:
    return [
        (d.deal_id, d.buyers, d.flats, sorted(d.numbers), d.stage, d.deal_date, d.amount)
        for d in deals
    ]


_SPELLINGS = (
    lambda b, r: {"room_name": f"{b}#-2单元-{r:04d}"},
    lambda b, r: {"room_name": f"{b}栋2单元{r}"},
    lambda b, r: {"building": f"{b}号楼", "unit": "2", "room": f"{r:04d}"},
    lambda b, r: {"room_name": f"{b}-2-{r}"},
)


@st.composite
def _rows(draw) -> list[dict]:
    """Rows of a few flats (room 1001 in several buildings), spelled any way, with numbers
    from each flat's own pool or none, no refunds."""
    flats = draw(st.lists(st.sampled_from([(1, 1001), (2, 1001), (3, 1001), (2, 802)]),
                          min_size=1, max_size=4, unique=True))  # fmt: skip
    rows = []
    for index in range(draw(st.integers(len(flats), 8))):
        building, room = (
            flats[index % len(flats)] if index < len(flats) else draw(st.sampled_from(flats))
        )
        spelled = draw(st.sampled_from(_SPELLINGS))(building, room)
        number = draw(st.sampled_from([None, "contract_no", "subscription_no"]))
        if number:
            spelled[number] = f"{number[:3]}-{building}-{room}-{draw(st.integers(1, 2))}"
        phone = f"13{building}0000{room:04d}"
        subscribed = f"2026-11-{draw(st.integers(1, 20)):02d}"
        rows.append(sale(phone=phone, subscribed=subscribed, signed="2026-11-25", **spelled))
    return rows


@settings(max_examples=60, deadline=None)
@given(rows=_rows(), data=st.data())
def test_one_flat_one_deal_in_any_order(rows: list[dict], data: st.DataObject) -> None:
    deals = deals_of(rows)
    flats = {d.flat for d in deals}
    assert len(deals) == len(flats)  # one flat never gives two deals, none collapsed
    assert all(len(d.flats) == 1 for d in deals)
    shuffled = data.draw(st.permutations(list(range(len(rows)))))
    # The same rows in another file order: rows are placed by when they happened.
    again = [{**rows[i], "row_no": 100 + position} for position, i in enumerate(shuffled)]
    before = [{**row, "row_no": 100 + shuffled.index(i)} for i, row in enumerate(rows)]
    assert _shape(deals_of(again)) == _shape(deals_of(before))


# Owners among co-buyers ------------------------------------------------------------------------

RULES = parse_rules("project: 测试\n")


def _episode(phone: str, channel: str, visit: str, reported: str) -> Episode:
    report = Report(
        row_id=f"r-{phone}-{channel}", channel=channel, agent="王五", customer_name="张先生",
        phone_pattern=phone[:3] + "****" + phone[-4:], at=day(reported), report_type=None,
        until=None, order=(f"channels/{channel}/报备.xlsx", "报备", 2), status="valid",
        phone=phone,
    )  # fmt: skip
    return Episode(phone, "channel", day(visit), "张三", until=day("2027-01-31"),
                   channels=[channel], agent="王五", report=report)  # fmt: skip


def _settle(deal: Deal, episodes: list[Episode], rules=RULES, households=None):
    grouped: dict[str, list[Episode]] = {}
    for episode in episodes:
        grouped.setdefault(episode.phone, []).append(episode)
    return settle([deal], grouped, households or Households(), rules, AS_OF_END)


def _co_bought() -> Deal:
    (deal,) = deals_of([sale(phone=A, room_name="5-2-802"), {**sale(phone=B, room_name="5-2-802"),
                                                              "row_no": 2}])  # fmt: skip
    return deal


def test_a_co_buyers_claim_makes_the_deal_that_channels_with_that_buyers_number() -> None:
    deal = _co_bought()
    (line,) = _settle(deal, [_episode(B, "链家", "2026-11-05", "2026-11-01")])
    assert (line.channel, line.customer_phone, line.status) == ("链家", B, "payable")
    assert deal.phone == B


def test_among_co_buyers_the_earliest_claim_by_conflict_order_wins() -> None:
    claims = [
        _episode(A, "我爱我家", "2026-11-06", "2026-10-20"),  # reported first, brought later
        _episode(B, "链家", "2026-11-05", "2026-11-01"),
    ]
    (line,) = _settle(_co_bought(), claims)
    assert (line.channel, line.customer_phone) == ("链家", B)  # first_visit first
    by_report = parse_rules("project: 测试\nconflict: {order: [first_report, first_visit]}\n")
    (line,) = _settle(_co_bought(), claims, by_report)
    assert (line.channel, line.customer_phone) == ("我爱我家", A)


def test_a_household_member_of_a_co_buyer_counts_too() -> None:
    households = Households()
    households.join(B, C)
    (line,) = _settle(_co_bought(), [_episode(C, "链家", "2026-11-05", "2026-11-01")],
                      households=households)  # fmt: skip
    assert (line.channel, line.customer_phone) == ("链家", B)


def test_with_nobody_claiming_the_first_buyers_number_is_the_customer() -> None:
    (line,) = _settle(_co_bought(), [])
    assert (line.owner_type, line.customer_phone, line.reason_codes) == ("natural", A, ("N01",))


def test_a_buyer_a_rename_brought_never_takes_the_deal() -> None:
    rows = [
        sale(room_name="5-2-802"),
        sale(phone=C, customer_name="王五", room_name="5-2-802", path="crm/成交2.xlsx"),
    ]
    change = {"change_type": "更名", "room_name": "5-2-802", "customer_name": "张三",
              "new_customer_name": "王五", "at": "2026-11-20"}  # fmt: skip
    (deal,) = deals_of(rows, [change])
    (line,) = _settle(deal, [_episode(C, "我爱我家", "2026-11-05", "2026-11-01")])
    assert (line.owner_type, line.customer_phone) == ("natural", A)


def test_a_deposit_only_deal_is_below_the_commission_stage() -> None:
    row = {"phone": A, "room_name": "5-2-802", "stage": "小订", "deposit": "2026-11-08",
           "amount": 3_000_000.0}  # fmt: skip
    (deal,) = deals_of([row])
    (line,) = _settle(deal, [_episode(A, "链家", "2026-11-05", "2026-11-01")])
    assert (line.stage, line.status, line.reason_codes) == ("小订", "not_payable", ("S01",))
    assert line.deal_date == day("2026-11-08")
