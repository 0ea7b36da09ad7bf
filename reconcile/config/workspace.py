"""A workspace: `rules.yaml`, `inputs/`, `outputs/`, `reports/` and the state folder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path

from reconcile.config.ledger_url import LedgerServer, ledger_server
from reconcile.config.rules import Rules, load_rules

INPUT_FOLDERS = ("channels", "visits", "crm", "rulings", "payments", "statements", "roster")
# Folders whose sub-folder names the channel: inputs/channels/<渠道>/, inputs/statements/<渠道>/
CHANNEL_FOLDERS = ("channels", "statements")
WORKSPACE_FOLDERS = (*(f"inputs/{name}" for name in INPUT_FOLDERS), "outputs", "reports")


@dataclass(frozen=True)
class Workspace:
    root: Path
    rules: Rules

    @classmethod
    def open(cls, root: Path) -> Workspace:
        root = root.resolve()
        return cls(root, load_rules(root / "rules.yaml"))

    @property
    def inputs(self) -> Path:
        return self.root / "inputs"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def state_dir(self) -> Path:
        state = Path(self.rules.state_dir).expanduser()
        return state if state.is_absolute() else self.root / state

    @property
    def ledger_path(self) -> Path:
        return self.state_dir / "ledger.sqlite"

    @property
    def ledger(self) -> Path | LedgerServer:
        """Where the ledger lives: `ledger:` names a server, else SQLite in the state folder."""
        if self.rules.ledger is None:
            return self.ledger_path
        return ledger_server(self.rules.ledger, self.rules.project)

    def today(self) -> date:
        return datetime.now(self.rules.zone).date()

    def end_of_day(self, day: date) -> str:
        """The instant a run as of `day` judges at: 23:59:59 local, ISO 8601 with offset."""
        return datetime.combine(day, time(23, 59, 59), self.rules.zone).isoformat()

    def now(self) -> str:
        return datetime.now(self.rules.zone).isoformat(timespec="seconds")


def rules_template() -> str:
    """The fully commented rules.yaml: every key with its default and a Chinese comment."""
    return (resources.files("reconcile") / "templates" / "rules.yaml").read_text(encoding="utf-8")


def make_folders(root: Path) -> list[Path]:
    """The folders of SPEC §3 that are missing, created."""
    created: list[Path] = []
    for folder in WORKSPACE_FOLDERS:
        path = root / folder
        if not path.is_dir():
            path.mkdir(parents=True)
            created.append(path)
    return created


def init_workspace(root: Path) -> list[Path]:
    """Create the folders of SPEC §3 and a commented rules.yaml; never overwrites a file."""
    created = make_folders(root)
    rules = root / "rules.yaml"
    if not rules.exists():
        rules.write_text(rules_template(), encoding="utf-8")
        created.append(rules)
    return created
