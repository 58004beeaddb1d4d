"""The initiator: logs on to a venue and streams our quotes as the policy changes them.

Each :class:`~control.fix.interface.QuoteUpdate` becomes a Quote (one instrument) or MassQuote
(several), each :class:`~control.fix.interface.Pull` a QuoteCancel (control/fix/quotes.py). The
session, its store and the transport are injected; :meth:`QuoteStreamer.run_reconnecting` takes a
connect function and reconnects with backoff.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
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
        self._carry: QuoteEvent | None = None   # taken from the stream, not yet fully sent
        self._next: asyncio.Future[QuoteEvent] | None = None   # pending read of the stream

    async def run(self, transport: Transport, events: AsyncIterator[QuoteEvent]) -> str:
        """Log on, send every event, log out when ``events`` ends. Returns the disconnect reason.
        Raises LogonFailed when the venue does not accept the Logon."""
        reason, _ = await self._connected(transport, aiter(events))
        return reason

    async def run_reconnecting(self, connect: Callable[[], Awaitable[Transport]],
                               events: AsyncIterator[QuoteEvent], *, retry_s: float = 1.0,
                               max_retry_s: float = 30.0, max_failures: int | None = None) -> str:
        """Like :meth:`run`, but connect again (exponential backoff from ``retry_s``) whenever the
        connection drops or the Logon fails before ``events`` ends. The store keeps the sequence
        numbers, so the venue sees no gap it cannot close with a ResendRequest. An event whose
        messages were not all sent is sent again after the reconnect (quotes replace each other).
        ``max_failures`` consecutive failed attempts raise the last error."""
        it = aiter(events)
        delay, failures = retry_s, 0
        while True:
            try:
                reason, finished = await self._connected(await connect(), it)
            except (OSError, TimeoutError, LogonFailed) as exc:
                failures += 1
                if max_failures is not None and failures >= max_failures:
                    raise
                log.warning("venue connection attempt %d failed: %s; retry in %.1f s", failures, exc, delay)
            else:
                if finished:
                    return reason
                failures, delay = 0, retry_s
                log.warning("venue connection lost (%s); reconnecting in %.1f s", reason, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_retry_s)

    async def _connected(self, transport: Transport, events: AsyncIterator[QuoteEvent]) -> tuple[str, bool]:
        """One connection: log on, stream until ``events`` ends (then log out) or the connection
        drops. Returns (disconnect reason, whether ``events`` ended)."""
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
        finished = False
        while not runner.closed.is_set():
            if self._carry is None:
                # Wait for the next event or for the connection to drop, whichever comes first;
                # a pending read of the stream is kept for the next connection.
                if self._next is None:
                    self._next = asyncio.ensure_future(anext(events))
                dropped = asyncio.create_task(runner.closed.wait())
                done, _ = await asyncio.wait({self._next, dropped}, return_when=asyncio.FIRST_COMPLETED)
                dropped.cancel()
                if self._next not in done:
                    break
                nxt, self._next = self._next, None
                try:
                    self._carry = nxt.result()
                except StopAsyncIteration:
                    finished = True
                    break
                if runner.closed.is_set():
                    break
            try:
                for msg in self.writer.messages(self._carry, self.session.clock.time_ns()):
                    await runner.send(msg)
            except SessionNotActive as exc:
                log.warning("stream interrupted: %s", exc)
                break
            self._carry = None
            self.sent_events += 1
        if finished and not runner.closed.is_set():
            await runner.logout("quote stream finished")
        return await task, finished
