"""`ledger: postgresql://…` in rules.yaml: where a project's ledger lives on a server.

The password never sits in rules.yaml (a file clerks copy and mail around): it comes
from the environment, `RECONCILE_LEDGER_PASSWORD`, or else from libpq's own
`PGPASSWORD` or `~/.pgpass`. Each project keeps its ledger in its own schema of the
database, named after the project unless the URL says `?schema=…`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

PASSWORD_VARIABLE = "RECONCILE_LEDGER_PASSWORD"
SCHEMES = ("postgresql", "postgres")
_NAME_BYTES = 63  # PostgreSQL's identifier limit (NAMEDATALEN - 1); longer is cut silently
_MAX_URL = 1000


@dataclass(frozen=True)
class LedgerServer:
    """A ledger on a PostgreSQL server: `url` without a password, `schema` the project's."""

    url: str
    schema: str

    def shown(self) -> str:
        """The ledger as messages name it: the server's URL and the project's schema."""
        return f"{self.url}（schema {self.schema}）"


def _schema_name(name: str, what: str) -> str:
    if not name.strip():
        raise ValueError(f"{what}为空")
    if any(unicodedata.category(c)[0] == "C" for c in name):
        raise ValueError(f"{what}含有控制字符")
    if len(name.encode()) > _NAME_BYTES:
        raise ValueError(
            f"{what}超过 {_NAME_BYTES} 字节（PostgreSQL 的名称上限），"
            "请在 ledger 中写 ?schema=… 指定一个较短的名称"
        )
    if name.lower().startswith("pg_"):
        raise ValueError(f"{what}不能以 pg_ 开头（PostgreSQL 的系统 schema）")
    return name


def parse_ledger_url(value: str) -> tuple[str, str | None]:
    """(URL for the driver, schema named in the URL or None); ValueError in Chinese when
    the URL cannot name a ledger."""
    if len(value) > _MAX_URL or any(unicodedata.category(c)[0] == "C" for c in value):
        raise ValueError("ledger 的地址过长或含有控制字符")
    parts = urlsplit(value.strip())
    if parts.scheme not in SCHEMES:
        raise ValueError(
            "ledger 只支持 PostgreSQL，应写成 postgresql://用户@主机:端口/数据库；"
            "不写 ledger 则使用工作区内的 SQLite 台账"
        )
    example = "例如 postgresql://用户@主机:5432/数据库"
    try:
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as exc:
        raise ValueError(f"ledger 的端口应为数字，{example}") from exc
    if parts.password is not None:
        raise ValueError(
            f"ledger 中不能写密码：请删去地址中的密码，改由环境变量 {PASSWORD_VARIABLE} 提供"
        )
    if not parts.hostname or not parts.path.strip("/"):
        raise ValueError(f"ledger 应写明主机和数据库，{example}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key in ("password", "passfile") for key, _ in query):
        raise ValueError(f"ledger 中不能写密码：改由环境变量 {PASSWORD_VARIABLE} 提供")
    schemas = [v for k, v in query if k == "schema"]
    schema = _schema_name(schemas[-1], "ledger 中的 schema") if schemas else None
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def ledger_server(value: str, project: str) -> LedgerServer:
    """The server and the project's schema: the URL's `?schema=`, or the project's name."""
    url, schema = parse_ledger_url(value)
    return LedgerServer(url, schema or _schema_name(project.strip(), "项目名称（schema 名）"))
