"""The rule registry: one entry per reason code of SPEC §6.2, each defined in one module.

A module holds everything about its code: the Chinese label, its meaning, the line of the
agency template's 说明 sheet that explains it, its neutral wording on a receipt, and the
functions that decide it, which the judge's stages call. A family whose decision is
genuinely one function shares a module (R06/R07 `existing`, C01/D01 `contest`, X01/X02
`refund`). To change a rule, edit its module and add a scenario (docs/design.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from reconcile.judge.reasons import (
    a01,
    c02,
    contest,
    e01,
    existing,
    h01,
    j01,
    k01,
    k04,
    k05,
    k06,
    k07,
    n01,
    p01,
    q01,
    r01,
    r02,
    r03,
    r04,
    r05,
    r08,
    r09,
    r10,
    r11,
    refund,
    s01,
    split,
    turns,
)
from reconcile.judge.reasons.entry import Notes, Reason
from reconcile.judge.vocabulary import Code

_ENTRIES = (
    r01.REASON,
    r02.REASON,
    r03.REASON,
    r04.REASON,
    r05.REASON,
    existing.R06,
    existing.R07,
    r08.REASON,
    r09.REASON,
    r10.REASON,
    a01.REASON,
    contest.C01,
    c02.REASON,
    contest.D01,
    n01.REASON,
    e01.REASON,
    p01.REASON,
    h01.REASON,
    refund.X01,
    s01.REASON,
    j01.REASON,
    refund.X02,
    r11.REASON,
    q01.REASON,
    k01.REASON,
    split.K02,
    split.K03,
    k04.REASON,
    k05.REASON,
    k06.REASON,
    k07.REASON,
    turns.T01,
    turns.T02,
    turns.T03,
)
REASONS: dict[Code, Reason] = {entry.code: entry for entry in _ENTRIES}
# Codes an agency's receipt leaves out until the customer's contract is signed.
CONFIDENTIAL = frozenset(code for code, entry in REASONS.items() if entry.confidential)


def labels(codes: Iterable[str]) -> str:
    """Codes with their Chinese labels, as people read them: `R08 报备晚于到访；…`."""
    return "；".join(REASONS[Code(code)].text for code in codes)


__all__ = ["CONFIDENTIAL", "REASONS", "Code", "Notes", "Reason", "labels"]
