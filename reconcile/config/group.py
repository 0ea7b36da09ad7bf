"""`group.yaml`: a developer group's projects (集团项目清单) for `reconcile fleet`.

It lists each project's workspace (and, optionally, the folder of its ledger) and the
group-wide defaults of a fleet night that a project may override, plus the group's own
recipients: `notify.group_finance` gets the group settlement workbook and
`notify.group_admin` the group dispute digest. Parsed like rules.yaml (the same YAML
checks and Chinese messages naming key and line); relative paths are relative to the
folder of group.yaml.

    group: 华东区域集团
    defaults: {retries: 1, send: true}
    projects:
      - workspace: 山湖一号
      - {name: 滨江壹号, workspace: /data/binjiang, ledger: /data/ledgers/binjiang, retries: 2}
    notify:
      group_finance: [caiwu@group.cn]
      group_admin: [guanli@group.cn]
      smtp: {host: smtp.group.cn, port: 465, ssl: true, user: bot@group.cn,
             password_env: GROUP_SMTP_PASSWORD}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from reconcile.config.rules import (
    MailAddress,
    NotifyRules,
    Rules,
    RulesError,
    Smtp,
    _Strict,
    parse_yaml_model,
)

FILE_NAME = "group.yaml"
MAX_RETRIES = 5  # a broken workspace fails the same way every time: a few tries are plenty


class Defaults(_Strict):
    """What a project's night does unless its entry says otherwise."""

    retries: int = Field(default=1, ge=0, le=MAX_RETRIES)  # tries after the first
    send: bool = True  # false: mails stay in each project's outbox (like --no-email)


def _printable(value: str) -> str:
    if not value.strip() or not value.isprintable():
        raise ValueError("不能为空，也不能含换行或控制字符")
    return value.strip()


Printable = Annotated[str, AfterValidator(_printable)]


class ProjectEntry(_Strict):
    workspace: Printable = Field(max_length=1000)
    name: Printable | None = Field(default=None, max_length=100)  # the folder's name unless given
    ledger: Printable | None = None  # the folder of its ledger (its rules.yaml state_dir otherwise)
    retries: int | None = Field(default=None, ge=0, le=MAX_RETRIES)
    send: bool | None = None


class GroupNotify(_Strict):
    group_finance: list[MailAddress] = []
    group_admin: list[MailAddress] = []
    smtp: Smtp | None = None


class GroupFile(_Strict):
    group: Printable = Field(default="集团", max_length=100)
    timezone: str = "Asia/Shanghai"
    defaults: Defaults = Defaults()
    projects: list[ProjectEntry]
    notify: GroupNotify = GroupNotify()
    state_dir: str = ".reconcile-group"  # the group ledger: fleet nights and group mails
    outputs: str = "group-outputs"  # the group settlement and digest, per night

    @field_validator("projects")
    @classmethod
    def _some_projects(cls, value: list[ProjectEntry]) -> list[ProjectEntry]:
        if not value:
            raise ValueError("至少要列出一个项目，例如 - workspace: 山湖一号")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return Rules._known_timezone(value)


def _duplicates(group: GroupFile) -> list[tuple[tuple, str]]:
    """Two entries with one name or one workspace: outcomes and lines would mix."""
    problems: list[tuple[tuple, str]] = []
    names: dict[str, int] = {}
    places: dict[str, int] = {}
    for index, entry in enumerate(group.projects):
        name = _name(entry)
        if name in names:
            problems.append(
                (
                    ("projects", index, "name"),
                    f"项目名称“{name}”与第 {names[name] + 1} 项重复，请用 name 区分",
                )
            )
        names.setdefault(name, index)
        place = entry.workspace.strip().rstrip("/")
        if place in places:
            problems.append(
                (
                    ("projects", index, "workspace"),
                    f"工作目录与第 {places[place] + 1} 项相同，一个项目只能列一次",
                )
            )
        places.setdefault(place, index)
    return problems


def _name(entry: ProjectEntry) -> str:
    return (entry.name or Path(entry.workspace.strip().rstrip("/")).name or entry.workspace).strip()


@dataclass(frozen=True)
class Project:
    """One project of the fleet, its paths resolved and the defaults applied."""

    name: str
    workspace: Path
    ledger: Path | None  # overrides the workspace's state folder
    retries: int
    send: bool


@dataclass(frozen=True)
class Group:
    root: Path  # the folder of group.yaml
    source: Path
    settings: GroupFile
    projects: tuple[Project, ...]

    @property
    def name(self) -> str:
        return self.settings.group

    @property
    def state_dir(self) -> Path:
        return self.root / Path(self.settings.state_dir).expanduser()

    @property
    def ledger_path(self) -> Path:
        return self.state_dir / "ledger.sqlite"

    @property
    def outputs(self) -> Path:
        return self.root / Path(self.settings.outputs).expanduser()

    @property
    def rules(self) -> Rules:
        """The group as the mail code knows a project: its name, zone and server."""
        return Rules(
            project=self.name,
            timezone=self.settings.timezone,
            notify=NotifyRules(smtp=self.settings.notify.smtp),
        )


def parse_group(text: str, root: Path, source: str = FILE_NAME) -> Group:
    settings = parse_yaml_model(text, source, GroupFile, _duplicates)
    defaults = settings.defaults
    projects = tuple(
        Project(
            name=_name(entry),
            workspace=(root / Path(entry.workspace.strip()).expanduser()).resolve(),
            ledger=(root / Path(entry.ledger).expanduser()).resolve() if entry.ledger else None,
            retries=defaults.retries if entry.retries is None else entry.retries,
            send=defaults.send if entry.send is None else entry.send,
        )
        for entry in settings.projects
    )
    return Group(root.resolve(), root / source, settings, projects)


def load_group(path: Path) -> Group:
    if not path.is_file():
        raise RulesError(f"找不到集团项目清单 {path}")
    return parse_group(path.read_text(encoding="utf-8"), path.parent, source=path.name)
