"""group.yaml: the group's projects, defaults a project overrides, Chinese errors with lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile.cli.main import main
from reconcile.config.group import load_group, parse_group
from reconcile.config.rules import RulesError

ROOT = Path("/data/group")


def test_projects_take_the_defaults_unless_they_override_them():
    group = parse_group(
        "group: 华东集团\n"
        "defaults: {retries: 2, send: false}\n"
        "projects:\n"
        "  - workspace: 山湖一号\n"
        "  - {name: 滨江, workspace: /srv/binjiang/, ledger: ../ledgers/binjiang, retries: 0}\n"
        "  - {workspace: sub/云栖府, send: true}\n",
        ROOT,
    )
    first, second, third = group.projects
    assert (first.name, first.workspace, first.ledger) == ("山湖一号", ROOT / "山湖一号", None)
    assert (first.retries, first.send) == (2, False)
    assert (second.name, second.workspace) == ("滨江", Path("/srv/binjiang"))
    assert second.ledger == Path("/data/ledgers/binjiang") and second.retries == 0
    assert (third.name, third.send, third.retries) == ("云栖府", True, 2)
    assert group.state_dir == ROOT / ".reconcile-group"
    assert group.outputs == ROOT / "group-outputs"
    assert group.rules.project == "华东集团" and group.rules.notify.smtp is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("projects: []\n", "group.yaml 第 1 行 projects: 至少要列出一个项目"),
        ("group: 集团\n", "group.yaml projects: 缺少此项"),
        (
            "projects:\n  - workspace: a\n  - {workspace: b, retries: 9}\n",
            "group.yaml 第 3 行 projects.1.retries: 应不大于 5",
        ),
        (
            "projects:\n  - workspace: a\n  - {workspace: b, colour: red}\n",
            "group.yaml 第 3 行 projects.1.colour: 未知的配置项",
        ),
        (
            "projects:\n  - workspace: x/a\n  - workspace: y/a\n",
            "group.yaml 第 3 行 projects.1.name: 项目名称“a”与第 1 项重复",
        ),
        (
            "projects:\n  - workspace: a\n  - {workspace: a/, name: b}\n",
            "group.yaml 第 3 行 projects.1.workspace: 工作目录与第 1 项相同",
        ),
        (
            "projects: [{workspace: a}]\nnotify:\n  group_admin: [guanli]\n",
            "group.yaml 第 3 行 notify.group_admin.0: 'guanli' 不是一个邮箱地址",
        ),
        (
            'group: "集团\\x1b[31m"\nprojects: [{workspace: a}]\n',
            "group.yaml 第 1 行 group: 不能为空，也不能含换行或控制字符",
        ),
        ("timezone: Mars/Base\nprojects: [{workspace: a}]\n", "第 1 行 timezone: 未知时区"),
        ("projects：\n  - workspace: a\n", "“projects”后是全角冒号“：”"),
        ("projects:\n\t- workspace: a\n", "不能用 Tab 缩进"),
    ],
)
def test_mistakes_are_named_by_key_and_line_in_chinese(text, expected):
    with pytest.raises(RulesError) as caught:
        parse_group(text, ROOT)
    assert expected in str(caught.value)


def test_fleet_commands_reject_a_bad_group_file_as_a_configuration_error(tmp_path, capsys):
    path = tmp_path / "group.yaml"
    path.write_text("projects:\n  - {workspace: a, retries: -1}\n", encoding="utf-8")
    assert main(["fleet", "status", "--projects", str(path)]) == 2
    err = capsys.readouterr().err
    assert "配置错误" in err and "group.yaml 第 2 行 projects.0.retries: 应不小于 0" in err
    assert main(["fleet", "run", "--projects", str(tmp_path / "none.yaml")]) == 2
    assert "找不到集团项目清单" in capsys.readouterr().err
    with pytest.raises(RulesError):
        load_group(tmp_path)
