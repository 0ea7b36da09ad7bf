"""`reconcile init`: a workspace with a rules.yaml that documents every key."""

from __future__ import annotations

import re
from typing import get_origin

from pydantic import BaseModel

from reconcile.cli.main import main
from reconcile.config.rules import Rules, parse_rules
from reconcile.config.workspace import rules_template


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        annotation = field.annotation
        if get_origin(annotation) in (dict, list):
            continue  # free-form mappings (types, channels, columns) are shown by example
        for candidate in getattr(annotation, "__args__", ()) or (annotation,):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                # null by default (consultant, rotation, smtp): their keys are shown in a comment
                shown = {"min_visible", "renewal", "default", "hours", "quota", "smtp"}
                shown |= {"extension", "queue"}  # SPEC 6.8, shown by example
                if name not in shown | {"consultant", "rotation"}:
                    keys += _keys(candidate, f"{prefix}{name}.")
    return keys


def test_the_template_states_every_default():
    assert parse_rules(rules_template()) == Rules()


def test_every_key_has_a_chinese_comment():
    lines = rules_template().splitlines()
    for key in _keys(Rules):
        name = key.split(".")[-1]
        indent = "  " * key.count(".")
        line = next((text for text in lines if re.match(rf"{indent}{name}:", text)), None)
        assert line is not None, f"{key} is missing from the template"
        comment = line.split("#", 1)[1] if "#" in line else ""
        assert re.search(r"[\u4e00-\u9fff]", comment), f"{key} has no Chinese comment"


def test_init_creates_the_workspace_and_never_overwrites(tmp_path, capsys):
    assert main(["init", str(tmp_path / "山湖一号")]) == 0
    root = tmp_path / "山湖一号"
    # SPEC §3's folders, the optional ones of later sections aside.
    assert {p.relative_to(root).as_posix() for p in root.rglob("*")} == {
        "rules.yaml",
        "inputs",
        "inputs/channels",
        "inputs/visits",
        "inputs/crm",
        "inputs/rulings",
        "inputs/payments",
        "inputs/statements",
        "inputs/roster",
        "outputs",
        "reports",
    }
    assert (root / "rules.yaml").read_text(encoding="utf-8") == rules_template()
    (root / "rules.yaml").write_text("project: 山湖一号\n", encoding="utf-8")
    assert main(["init", str(root)]) == 0
    assert "没有改动" in capsys.readouterr().out
    assert (root / "rules.yaml").read_text(encoding="utf-8") == "project: 山湖一号\n"
    assert main(["run", "--workspace", str(root), "--as-of", "2026-11-20"]) == 0


def test_init_takes_a_relative_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "新项目"]) == 0
    assert (tmp_path / "新项目" / "rules.yaml").is_file()
    assert "inputs/channels" in capsys.readouterr().out
