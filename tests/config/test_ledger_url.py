"""`ledger:` in rules.yaml names a PostgreSQL server; errors name the key and its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile.config.ledger_url import LedgerServer
from reconcile.config.rules import RulesError, parse_rules
from reconcile.config.workspace import Workspace


def _workspace(tmp_path: Path, rules: str) -> Workspace:
    (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    return Workspace.open(tmp_path)


def test_without_ledger_the_sqlite_file_in_the_state_folder(tmp_path: Path):
    ws = _workspace(tmp_path, "project: 西溪\n")
    assert ws.ledger == tmp_path.resolve() / ".reconcile" / "ledger.sqlite"


def test_a_server_url_gives_the_projects_own_schema(tmp_path: Path):
    ws = _workspace(tmp_path, "project: 西溪项目\nledger: postgresql://reconcile@db:5432/group\n")
    assert ws.ledger == LedgerServer("postgresql://reconcile@db:5432/group", "西溪项目")
    named = _workspace(
        tmp_path, "project: 西溪\nledger: postgres://r@db/group?sslmode=require&schema=xixi\n"
    )
    assert named.ledger == LedgerServer("postgres://r@db/group?sslmode=require", "xixi")


@pytest.mark.parametrize(
    ("ledger", "said"),
    [
        ("sqlite:///tmp/x.db", "只支持 PostgreSQL"),
        ("/srv/ledger.sqlite", "只支持 PostgreSQL"),
        ("postgresql://reconcile:secret@db/group", "不能写密码"),
        ("postgresql://reconcile@db/group?password=secret", "不能写密码"),
        ("postgresql://reconcile@db:port/group", "端口应为数字"),
        ("postgresql://reconcile@db", "应写明主机和数据库"),
        ("postgresql://reconcile@db/group?schema=pg_catalog", "不能以 pg_ 开头"),
        ("postgresql://reconcile@db/group?schema=" + "项" * 22, "超过 63 字节"),
    ],
)
def test_a_bad_ledger_is_named_with_its_line(ledger: str, said: str):
    with pytest.raises(RulesError) as error:
        parse_rules(f"project: 西溪\ntimezone: Asia/Shanghai\nledger: '{ledger}'\n")
    message = str(error.value)
    assert "第 3 行 ledger:" in message and said in message
    assert "secret" not in message, "a password written by mistake is not repeated"


def test_a_project_name_too_long_for_a_schema_asks_for_one(tmp_path: Path):
    with pytest.raises(RulesError) as error:
        parse_rules(f"project: {'很长的项目名' * 4}\nledger: postgresql://r@db/group\n")
    assert "第 2 行 ledger:" in str(error.value) and "?schema=" in str(error.value)
    parse_rules(f"project: {'很长的项目名' * 4}\nledger: postgresql://r@db/group?schema=p1\n")
