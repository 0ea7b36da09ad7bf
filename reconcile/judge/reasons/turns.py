"""T01 未按轮排接待, T02 接待老客户轮空 and T03 缺席错过轮次: the reception rotation
(轮排, SPEC 6.7; seeds 002 and 003).

One walk decides all three. Each roster day starts from the day's order. Every
reception of a customer with no valid owner is a turn:
- received by the consultant in turn: `in_turn`, and the turn moves on;
- received by someone else: `out_of_turn` (T01), and the consultant in turn keeps it;
- the consultants in turn listed as away that day are passed over: the reception by the
  next present consultant is `missed` (T03), naming the first absent one; with
  `missed_turn: make_up` each missed turn is owed and given at their next present day,
  ahead of the order, one per reception (with `forfeit` nothing is owed: seed 003,
  錯過本輪接待順序的，不再安排補接).
A returning customer received by their owner is `own_customer`; with
`skip_turn_for_own_customer` the owner's next turn is skipped (T02 on that reception).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconcile.config.rules import RotationRules
from reconcile.judge.reasons.entry import Reason
from reconcile.judge.vocabulary import Code

IN_TURN, OUT_OF_TURN, OWN_CUSTOMER, MISSED = "in_turn", "out_of_turn", "own_customer", "missed"
VERDICTS = (IN_TURN, OUT_OF_TURN, OWN_CUSTOMER, MISSED)
TURN_LABELS = {  # `rotation.csv` verdicts as people read them
    IN_TURN: "按轮排",
    OUT_OF_TURN: "未按轮排",
    OWN_CUSTOMER: "接待老客户",
    MISSED: "缺席错过",
}


@dataclass(slots=True)
class Rotation:
    """The rotation's state: the day's order and pointer, and what carries across days."""

    rules: RotationRules
    order: list[str] = field(default_factory=list)  # the day's consultants, in roster order
    away: frozenset[str] = frozenset()
    at: int = 0  # index into `order` of the consultant in turn
    skips: dict[str, int] = field(default_factory=dict)  # turns to skip (T02)
    owed: dict[str, int] = field(default_factory=dict)  # missed turns to make up (> 0)

    def start_day(self, order: list[str], away: frozenset[str]) -> None:
        self.order, self.away, self.at = order, away, 0

    def turn(self, receiver: str) -> tuple[str, str | None, list[Code]]:
        """(verdict, the consultant whose turn it was, codes) of a turn taken by `receiver`."""
        return decide(self, receiver)

    def own_customer(self, owner: str) -> list[Code]:
        """A returning customer received by their owner: skip their next turn (T02)."""
        if not self.rules.skip_turn_for_own_customer:
            return []
        self.skips[owner] = self.skips.get(owner, 0) + 1
        return [Code.T02]


def decide(state: Rotation, receiver: str) -> tuple[str, str | None, list[Code]]:
    """The verdict of one turn, moving the rotation on."""
    owed = state.owed and [n for n in state.order if n in state.owed and n not in state.away]
    if owed:  # make-up turns come first, one per reception
        due = owed[0]
        if receiver != due:
            return OUT_OF_TURN, due, [Code.T01]
        state.owed[due] -= 1
        if not state.owed[due]:
            del state.owed[due]
        return IN_TURN, due, []
    if not state.order:
        return OUT_OF_TURN, None, [Code.T01]
    absent: list[str] = []
    index = state.at
    for _ in range(2 * len(state.order)):  # a skip is used once, so two rounds settle it
        name = state.order[index % len(state.order)]
        if name in state.away:
            absent.append(name)
        elif state.skips.get(name):
            state.skips[name] -= 1
        else:
            break
        index += 1
    else:
        return OUT_OF_TURN, None, [Code.T01]  # everyone is away today
    due = state.order[index % len(state.order)]
    state.at = index % len(state.order)
    if state.rules.missed_turn == "make_up":
        for name in dict.fromkeys(absent):
            state.owed[name] = state.owed.get(name, 0) + 1
    if receiver != due:
        return OUT_OF_TURN, due, [Code.T01]
    state.at = (index + 1) % len(state.order)
    if absent:
        return MISSED, absent[0], [Code.T03]
    return IN_TURN, due, []


T01 = Reason(
    Code.T01,
    "未按轮排接待",
    "A customer without an owner received by someone other than the consultant in turn "
    "while that consultant was present (SPEC 6.7).",
    decide=(decide,),
)
T02 = Reason(
    Code.T02,
    "接待老客户轮空",
    "A returning customer received by their owner: with skip_turn_for_own_customer the "
    "owner's next turn is skipped (SPEC 6.7).",
    decide=(Rotation.own_customer, decide),
)
T03 = Reason(
    Code.T03,
    "缺席错过轮次",
    "The consultant in turn was away that day: the reception that passed over them is "
    "missed; forfeit or made up by missed_turn (SPEC 6.7).",
    decide=(decide,),
)
