"""Drive a sans-IO :class:`~control.fix.session.Session` over an injected transport (asyncio).

The runner is the only place where session actions meet I/O: Send -> transport.write, Deliver ->
the application (whose answers go back through the session), Disconnect -> transport.close. Timers
tick every ``tick_s``.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from control.fix.messages import Message
from control.fix.session import Action, Deliver, Disconnect, LoggedOn, Send, Session, SessionState
from control.fix.transport import Transport
from control.fix.validation import InvalidMessage

log = logging.getLogger(__name__)


class Application(Protocol):
    def on_logon(self, session: Session) -> list[Message]:
        """Called once logged on; returns application messages to send."""

    def on_message(self, session: Session, msg: Message) -> list[Message]:
        """An inbound application message (or session Reject), in sequence; returns answers."""

    def on_disconnect(self, session: Session, reason: str) -> None: ...


class SessionRunner:
    def __init__(self, session: Session, transport: Transport, app: Application, tick_s: float = 0.05) -> None:
        self.session = session
        self.transport = transport
        self.app = app
        self.tick_s = tick_s
        self.logged_on = asyncio.Event()
        self.closed = asyncio.Event()
        self.disconnect_reason = ""

    async def run(self, initial: bytes = b"") -> str:
        """Run until disconnect; returns the reason. ``initial``: bytes already read (acceptor)."""
        try:
            await self._perform(self.session.connection_made())
            if initial:
                await self._receive(initial)
            while not self.closed.is_set():
                try:
                    data = await asyncio.wait_for(self.transport.read(), self.tick_s)
                except TimeoutError:
                    data = None
                if data == b"":
                    self.session.connection_lost()
                    self._close("connection closed by peer")
                    break
                if data:
                    await self._receive(data)
                if not self.closed.is_set():
                    await self._perform(self.session.tick())
        finally:
            if not self.closed.is_set():
                self.session.connection_lost()
                self._close("runner stopped")
            self.app.on_disconnect(self.session, self.disconnect_reason)
        return self.disconnect_reason

    async def _receive(self, data: bytes) -> None:
        await self._perform(self.session.data_received(data))
        while self.session.pending and not self.closed.is_set():
            await self._perform(self.session.data_received(b""))

    async def send(self, msg: Message) -> None:
        """Send one application message now (raises SessionNotActive when not logged on)."""
        await self._perform(self.session.send(msg))

    async def logout(self, text: str | None = None) -> None:
        await self._perform(self.session.logout(text))

    def _send_reply(self, reply: Message) -> list[Action]:
        """An application answer; one that breaks the dictionary is logged and dropped, so an
        application bug costs that answer, not the session."""
        try:
            return self.session.send(reply)
        except (InvalidMessage, ValueError) as exc:
            log.error("%s: application answer %r not sent: %s", self.session.config.target_comp_id,
                      reply.msg_type, exc)
            return []

    def _close(self, reason: str) -> None:
        if not self.closed.is_set():
            self.disconnect_reason = reason
            self.transport.close()
            self.closed.set()

    async def _perform(self, actions: list[Action]) -> None:
        wrote = False
        queue = list(actions)
        while queue:
            action = queue.pop(0)
            if isinstance(action, Send):
                self.transport.write(action.data)
                wrote = True
            elif isinstance(action, Deliver):
                for reply in self.app.on_message(self.session, action.message):
                    if self.session.state is SessionState.ACTIVE:
                        queue.extend(self._send_reply(reply))
            elif isinstance(action, LoggedOn):
                self.logged_on.set()
                for msg in self.app.on_logon(self.session):
                    queue.extend(self.session.send(msg))
            elif isinstance(action, Disconnect):
                if wrote:
                    await self.transport.drain()
                    wrote = False
                self._close(action.reason)
        if wrote:
            await self.transport.drain()
