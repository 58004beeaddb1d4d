"""The initiator: logs on to a venue and streams our quotes as the policy changes them.

Each :class:`~control.fix.interface.QuoteUpdate` becomes a Quote (one instrument) or MassQuote
(several), each :class:`~control.fix.interface.Pull` a QuoteCancel (control/fix/quotes.py). The
session, its store and the transport are injected.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from control.fix.interface import QuoteEvent
from control.fix.messages import Message
from control.fix.quotes import QuoteWriter
from control.fix.runner import SessionRunner
from control.fix.session import Session, SessionNotActive
from control.fix.transport import Transport

log = logging.getLogger(__name__)


class LogonFailed(ConnectionError):
    """The venue did not accept our Logon (Logout, disconnect or timeout)."""


@dataclass
class InitiatorApp:
    """Keeps what the venue sent back: MassQuoteAcknowledgements, rejects."""

    acks: list[Message] = field(default_factory=list)
    rejects: list[Message] = field(default_factory=list)

    def on_logon(self, session: Session) -> list[Message]:
        return []

    def on_message(self, session: Session, msg: Message) -> list[Message]:
        if msg.msg_type == "b":
            self.acks.append(msg)
        elif msg.msg_type in ("3", "j"):
            log.warning("venue rejected a message: %s", msg)
            self.rejects.append(msg)
        return []

    def on_disconnect(self, session: Session, reason: str) -> None:
        log.info("venue session ended: %s", reason)


class QuoteStreamer:
    def __init__(self, session: Session, writer: QuoteWriter, app: InitiatorApp | None = None,
                 tick_s: float = 0.05) -> None:
        self.session = session
        self.writer = writer
        self.app = app or InitiatorApp()
        self.tick_s = tick_s
        self.sent_events = 0

    async def run(self, transport: Transport, events: AsyncIterator[QuoteEvent]) -> str:
        """Log on, send every event, log out when ``events`` ends. Returns the disconnect reason."""
        runner = SessionRunner(self.session, transport, self.app, self.tick_s)
        task = asyncio.create_task(runner.run())
        logged_on = asyncio.create_task(runner.logged_on.wait())
        closed = asyncio.create_task(runner.closed.wait())
        await asyncio.wait({logged_on, closed}, return_when=asyncio.FIRST_COMPLETED)
        logged_on.cancel()
        closed.cancel()
        if not runner.logged_on.is_set():
            reason = await task
            raise LogonFailed(f"logon to {transport.peer} failed: {reason}")
        try:
            async for event in events:
                if runner.closed.is_set():
                    break
                for msg in self.writer.messages(event, self.session.clock.time_ns()):
                    await runner.send(msg)
                self.sent_events += 1
        except SessionNotActive as exc:
            log.warning("stream stopped: %s", exc)
        if not runner.closed.is_set():
            await runner.logout("quote stream finished")
        return await task
