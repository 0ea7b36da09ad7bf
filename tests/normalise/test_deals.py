"""Deal cells (SPEC 6.5): stage words and flat keys, table-driven and as properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.normalise.deals import (
    STAGES,
    flat_key,
    flat_keys,
    is_room_key,
    parse_payment_status,
    parse_room,
    parse_stage,
    record_stage,
    room_label,
    stage_level,
)
from reconcile.normalise.errors import RowError

# Stages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "stage"),
    [
        ("小订", "小订"),
        ("认筹", "小订"),
        ("定金", "小订"),
        ("已交定金", "小订"),
        ("小定", "小订"),
        ("诚意金", "小订"),
        ("认购", "认购"),
        ("已认购", "认购"),
        ("大定", "认购"),
        ("已订", "认购"),  # a bare 订/定 is the subscription it always meant
        ("签约", "签约"),
        ("已签约", "签约"),
        ("草签", "签约"),
        ("网签", "签约"),
        ("成销", "签约"),
        ("合同备案", "签约"),
        ("退房", "退房"),
        ("退定", "退房"),
        ("退订", "退房"),
        ("已退房", "退房"),
        ("作废", "退房"),
        ("取消认购", "退房"),
        ("挞定", "退房"),  # the buyer walked away from the deposit: no deal (was 认购)
        ("已挞定", "退房"),
        ("弃购", "退房"),
        ("排号", "小订"),
        # what follows a contract says it was signed
        ("按揭中", "签约"),
        ("已放款", "签约"),
        ("已交房", "签约"),
        ("已入伙", "签约"),
        ("房款已结清", "签约"),
        (" 网签 ", "签约"),
        # a stage not reached yet: waiting to sign is a subscription, never a contract
        ("待签约", "认购"),
        ("未签约", "认购"),
        ("待网签", "认购"),
        ("尚未网签", "认购"),
        ("认购待签", "认购"),
        ("已认购未签约", "认购"),
        ("未签约退房", "退房"),
        ("认购转签约", "签约"),
        # a contract awaiting approval, or refused it, is still a subscription
        ("签约审核中", "认购"),
        ("签约待审核", "认购"),
        ("网签审批中", "认购"),
        ("签约被驳回", "认购"),
        ("签约审核不通过", "认购"),
        ("签约已审核", "签约"),
        ("签约（按揭申请）", "签约"),
    ],
)
def test_stage_words_read_as_their_level(cell: str, stage: str) -> None:
    assert parse_stage(cell).value == stage


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        (None, "stage_missing"),
        ("", "stage_missing"),
        ("意向", "stage_invalid"),
        ("成交", "stage_invalid"),
        # waiting to subscribe, or to be decided, names no stage (was 认购 by its 订/定)
        ("待认购", "stage_invalid"),
        ("未认购", "stage_invalid"),
        ("待定", "stage_invalid"),
        # any other stage awaiting approval names none reached: a refund counts once approved
        ("退房审核中", "stage_invalid"),
        ("退房申请", "stage_invalid"),
        ("退定待审批", "stage_invalid"),
        ("认购审批中", "stage_invalid"),
        ("认购被驳回", "stage_invalid"),
    ],
)
def test_an_unknown_stage_is_a_row_error(cell: str | None, code: str) -> None:
    parsed = parse_stage(cell)
    assert (parsed.value, parsed.error_code) == (None, code)
    assert any(word in (parsed.error or "") for word in ("小订", "审批"))


def test_levels_are_ordered_and_written_as_their_first_word() -> None:
    assert STAGES == ("小订", "认购", "签约", "退房")
    assert [stage_level(s) for s in STAGES] == [0, 1, 2, 3]
    assert stage_level(None) == -1


# Flats -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("5#-2单元-0802", "5-2-802"),
        ("5栋2单元802", "5-2-802"),
        ("5-2-802", "5-2-802"),
        ("5号楼2单元0802室", "5-2-802"),
        ("５栋２单元８０２", "5-2-802"),  # full-width digits
        ("5#楼2-802", "5-2-802"),
        ("5号2单元802", "5-2-802"),
        ("五号楼二单元802", "5-2-802"),
        ("十二栋3单元1201室", "12-3-1201"),
        ("山湖一号-一期-5#-2单元-0802", "5-2-802"),  # 明源's 房间编号: project, phase, flat
        ("山湖5-2-802", "5-2-802"),
        ("A座1001", "A-1001"),
        ("a座1001", "A-1001"),
        ("B1-1-1201", "B1-1-1201"),
        ("1-1501", "1-1501"),
        ("05栋0802", "5-802"),
        ("1001", None),  # a bare 房号 is no flat on its own
        ("802号", None),
        ("5栋", None),
        ("#", None),
        ("", None),
        ("abc", None),
    ],
)
def test_room_names_read_as_one_key(name: str, key: str | None) -> None:
    parsed = parse_room(name)
    assert (parsed.key if parsed is not None else None) == key


def test_a_bare_room_number_keeps_its_room() -> None:
    assert parse_room("1001") is not None
    assert parse_room("1001").room == "1001"  # type: ignore[union-attr]
    assert parse_room("0802室").room == "802"  # type: ignore[union-attr]


GUID = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"


@pytest.mark.parametrize(
    ("cells", "key"),
    [
        ({"room_id": GUID, "building": "5", "room": "802"}, GUID),
        ({"room_id": GUID.lower()}, GUID),
        ({"room_id": "R000123", "room_name": "5-2-802"}, "R000123"),
        ({"room_id": "山湖一号-一期-5#-2单元-0802"}, "5-2-802"),  # a name in 房间编号
        ({"room_name": "5栋2单元802", "room": "802"}, "5-2-802"),
        ({"building": "5#", "unit": "2单元", "room": "0802"}, "5-2-802"),
        ({"building": "5号楼", "unit": "二单元", "room": "802室"}, "5-2-802"),
        ({"building": "5栋", "room": "1001"}, "5-1001"),
        ({"building": "5栋", "room": "2-0802"}, "5-2-802"),  # the 房号 cell wrote unit-room
        ({"building": "5栋", "room": "5-2-0802"}, "5-2-802"),
        ({"room": "1-1501"}, "1-1501"),
        ({"room": "1001", "phone": "13800001111"}, "1001@13800001111"),
        ({"room": "1001", "unit": "2", "phone": "13800001111"}, "1001@13800001111"),
        ({"room_name": "1001", "phone": "13800001111"}, "1001@13800001111"),
        ({"room": "1001"}, None),  # no building and no buyer: no flat
        ({}, None),
    ],
)
def test_flat_key_is_the_most_specific_identity(cells: dict, key: str | None) -> None:
    assert flat_key(**cells) == key


def test_a_row_with_an_id_and_a_name_gives_both_identities() -> None:
    assert flat_keys(room_id=GUID, building="5#", unit="2", room="0802") == (GUID, "5-2-802")


def test_room_1001_in_different_buildings_is_different_flats() -> None:
    keys = {flat_key(building=b, unit=u, room="1001") for b in "1235" for u in "12"}
    assert len(keys) == 8
    assert flat_key(room="1001", phone="13800001111") != flat_key(room="1001", phone="13900002222")


def test_room_keys_and_labels() -> None:
    assert is_room_key("5-2-802") and is_room_key("A-1001")
    assert not is_room_key(GUID) and not is_room_key("1001@13800001111")
    assert not is_room_key("1001") and not is_room_key("5-2-0802")  # not spelled as a key
    assert room_label("1001@13800001111") == "1001@138****1111"
    assert room_label("5-2-802") == "5-2-802"


# Any way a clerk writes 楼栋, 单元 and 房号 gives the same key.
_NUMBER = st.integers(min_value=1, max_value=99)
_ROOM = st.integers(min_value=101, max_value=3299)
_BUILDING_WORDS = st.sampled_from(["#", "栋", "幢", "号楼", "#楼", "座"])


@given(
    building=_NUMBER,
    unit=_NUMBER,
    room=_ROOM,
    bword=_BUILDING_WORDS,
    uword=st.sampled_from(["单元", ""]),
    rword=st.sampled_from(["室", ""]),
    sep=st.sampled_from(["", "-", " ", "—", "/"]),
    pad=st.booleans(),
)
def test_every_spelling_of_a_flat_gives_the_same_key(
    building: int, unit: int, room: int, bword: str, uword: str, rword: str, sep: str, pad: bool
) -> None:
    want = f"{building}-{unit}-{room}"
    room_text = f"{room:05d}" if pad else str(room)
    unit_sep = sep or ("" if uword else "-")  # `5#2802` would be one number
    name = f"{building}{bword}{sep}{unit}{uword}{unit_sep}{room_text}{rword}"
    assert flat_key(room_name=name) == want, name
    assert flat_key(building=f"{building}{bword}", unit=f"{unit}{uword}", room=room_text) == want
    assert flat_key(room_name=f"{building}-{unit}-{room_text}") == want
    assert is_room_key(want)


@given(
    room=st.text(alphabet="0123456789", min_size=1, max_size=5),
    phone=st.from_regex(r"1[3-9]\d{9}", fullmatch=True),
)
def test_a_bare_room_is_a_flat_only_with_its_buyer(room: str, phone: str) -> None:
    assert flat_key(room=room) is None
    key = flat_key(room=room, phone=phone)
    assert key == f"{room.lstrip('0') or '0'}@{phone}"
    assert phone not in room_label(key)


@pytest.mark.parametrize(
    ("cell", "made"),
    [
        ("付款成功", True),
        ("已支付", True),
        (None, True),
        ("已退票", False),
        ("付款失败", False),
        ("待付款", False),
        ("审批中", False),
        ("已作废", False),
        # money on its way, or not yet out
        ("付款中", False),
        ("打款中", False),
        ("结算中", False),
        ("未结算", False),
        ("未到账", False),
        ("已结算", True),
        ("已到账", True),
        ("部分付款", True),
    ],
)
def test_a_payment_status_says_whether_money_went_out(cell: str | None, made: bool) -> None:
    parsed = parse_payment_status(cell)
    assert (parsed.error_code is None) is made
    if not made:
        assert parsed.error_code == RowError.PAYMENT_NOT_MADE and f"“{cell}”" in str(parsed.error)


# 明源's 激活/关闭 records --------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "reason", "own", "stage", "says"),
    [
        ("激活", None, "认购", "认购", None),
        ("激活", None, "签约", "签约", None),
        ("关闭", "转签约", "认购", "认购", None),  # the contract is the 签约 table's row
        ("关闭", "退房", "认购", "退房", None),
        ("关闭", "作废", "签约", "退房", None),
        ("关闭", "退房", None, "退房", None),  # a refund needs no stage of its own
        ("关闭", "换房", "认购", "认购", None),  # the deal moved: the judge follows it
        ("关闭", "换房", "签约", "签约", None),
        ("关闭", None, "认购", None, "未写关闭原因"),
        ("关闭", "其他", "签约", None, "签约已关闭（其他）"),
        ("激活", None, None, None, "表名也没有写明"),
    ],
)
def test_a_record_state_reads_as_its_tables_stage_or_how_it_closed(state, reason, own, stage, says):
    parsed = record_stage(state, reason, own)
    assert parsed.value == stage
    if says is None:
        assert parsed.error_code is None
    else:
        assert parsed.error_code == "stage_invalid" and says in (parsed.error or "")
