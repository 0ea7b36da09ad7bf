"""Real SMTP servers on 127.0.0.1 for the mail tests (aiosmtpd, each in its own thread).

`serve()` starts one on a free port: plain, STARTTLS (`tls=` with `starttls=True`) or
implicit TLS (`tls=` alone), with a login it accepts or always rejects, or one that
drops the connection in the middle of a message. What it accepted is in `.received`.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes  # the message as it arrived, dot-unstuffed
    login: str | None


@dataclass
class Recorder:
    """The handler: keeps every message the server accepted (answered 250)."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        login = session.auth_data.login.decode() if session.auth_data else None
        self.received.append(
            Received(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                content=bytes(envelope.original_content or b""),
                login=login,
            )
        )
        return "250 2.0.0 Message accepted for delivery"


class DroppingSMTP(SMTP):
    """Answers DATA with 354, reads the first line of the message, then hangs up."""

    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        await self._reader.readuntil(b"\r\n")
        assert self.transport is not None
        self.transport.close()


class _Controller(Controller):
    """A controller on a free port (port 0), building `smtp_class` sessions."""

    def __init__(self, handler: Any, smtp_class: type[SMTP], **kwargs: Any) -> None:
        self._smtp_class = smtp_class
        super().__init__(handler, hostname=HOST, port=0, server_hostname="localhost", **kwargs)

    def factory(self) -> SMTP:
        return self._smtp_class(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class Server:
    host: str
    port: int
    handler: Recorder

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def authenticator(user: str | None, password: str | None):
    """An aiosmtpd authenticator accepting exactly (user, password); None rejects everyone."""

    def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any):
        ok = (
            user is not None
            and isinstance(data, LoginPassword)
            and data.login.decode() == user
            and data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    return check


@contextmanager
def serve(
    *,
    user: str | None = None,
    password: str | None = None,
    reject_login: bool = False,
    tls: ssl.SSLContext | None = None,
    starttls: bool = False,
    drop_mid_message: bool = False,
) -> Iterator[Server]:
    """A running SMTP server on 127.0.0.1; stopped when the block ends.

    `user`/`reject_login` turn on AUTH (login required); `tls` with `starttls` offers
    and requires STARTTLS, `tls` alone wraps the socket in TLS from the first byte.
    """
    handler = Recorder()
    kwargs: dict[str, Any] = {}
    if user is not None or reject_login:
        kwargs.update(
            authenticator=authenticator(None if reject_login else user, password),
            auth_required=True,
            # STARTTLS sessions log in after the upgrade; plain and implicit-TLS
            # sessions carry no `_tls_protocol`, so aiosmtpd must not insist on it.
            auth_require_tls=bool(tls and starttls),
        )
    if tls is not None and starttls:
        kwargs.update(tls_context=tls, require_starttls=True)
    elif tls is not None:
        kwargs.update(ssl_context=tls)
    controller = _Controller(handler, DroppingSMTP if drop_mid_message else SMTP, **kwargs)
    controller.start()
    try:
        yield Server(HOST, controller.port, handler)
    finally:
        controller.stop()
