"""K07 与CRM置业顾问不符: a deal's consultants differ from the CRM's 置业顾问 (SPEC 6.7).

The CRM cell may name several consultants (`张三/李四`); it agrees when it names exactly
the consultants with a share. A deal whose CRM row names nobody is not compared.
"""

from __future__ import annotations

import re

from reconcile.judge.reasons.entry import Reason
from reconcile.judge.vocabulary import Code

_SEPARATORS = re.compile(r"[/、,，;；\s]+")


def names(cell: str | None) -> frozenset[str]:
    """The consultants a CRM 置业顾问 cell names."""
    return frozenset(name for name in _SEPARATORS.split(cell or "") if name)


def decide(consultants: list[str], crm_cell: str | None) -> bool:
    """Whether the deal's consultants differ from the CRM's."""
    crm = names(crm_cell)
    return bool(crm) and crm != frozenset(consultants)


REASON = Reason(
    Code.K07,
    "与CRM置业顾问不符",
    "The consultants the rules give a deal differ from the CRM deal's 置业顾问 (SPEC 6.7).",
    decide=(decide, names),
)
