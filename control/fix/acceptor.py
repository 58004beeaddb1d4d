"""The acceptor: the desk's RFQ server, which can also play the venue for our own initiator.

* :class:`SessionDirectory` (sans-IO) picks the session for a connection from its first message:
  a Logon from a known counterparty CompID to our CompID gets that counterparty's session (config and
  persistent store); anything else is refused with a Logout carrying Text, then the connection is
  closed.
* :class:`AcceptorApp` answers QuoteRequest (35=R) through the injected :class:`QuotePricer` with a
  Quote (QuoteReqID echoed, ValidUntilTime) or QuoteRequestReject (658 + Text) and, in the venue
  role, records Quote / MassQuote / QuoteCancel and acknowledges each MassQuote with a
  MassQuoteAcknowledgement (35=b, QuoteStatus 0 accepted).
* :class:`Acceptor` serves both over asyncio TCP on 127.0.0.1.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from control.fix.dictionary import MESSAGES, GroupDef, MemberDef
from control.fix.framing import Frame, Framer
from control.fix.interface import QuotePricer, QuoteRequest
from control.fix.messages import GarbledMessage, Message, encode, parse, utc_timestamp
from control.fix.quotes import rfq_answer
from control.fix.runner import SessionRunner
from control.fix.session import Clock, Role, Session, SessionConfig, SessionState
from control.fix.store import MemoryStore, MessageStore
from control.fix.transport import DEFAULT_HOST, TcpTransport, serve_tcp, server_port

log = logging.getLogger(__name__)

FIRST_MESSAGE_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Counterparty:
    comp_id: str                   # their SenderCompID
    password: str | None = None    # required Password(554), if any


@dataclass(frozen=True, slots=True)
class AcceptorConfig:
    comp_id: str                                   # our CompID (their TargetCompID)
    counterparties: tuple[Counterparty, ...]
    host: str = DEFAULT_HOST
    port: int = 0
    max_latency_s: float = 120.0


@dataclass(frozen=True, slots=True)
class Refusal:
    """A connection we will not serve: the Logout to send (may be empty) and why."""

    data: bytes
    reason: str


def refusal_logout(first: Message, our_comp_id: str, text: str, now_ns: int) -> bytes:
    """Logout (35=5, Text) addressed back to whoever sent ``first``; not part of any session."""
    their = first.value(49) or b"UNKNOWN"
    header = [(34, b"1"), (49, our_comp_id.encode()), (52, utc_timestamp(now_ns)), (56, their)]
    return encode(b"5", header, [(58, text.encode())])


class SessionDirectory:
    """Known counterparties, their sessions and stores; one logged-on connection each."""

    def __init__(self, config: AcceptorConfig, clock: Clock,
                 store_factory: Callable[[str], MessageStore] | None = None) -> None:
        self.config = config
        self.clock = clock
        self._parties = {c.comp_id: c for c in config.counterparties}
        self._store_factory = store_factory or (lambda _cid: MemoryStore())
        self._stores: dict[str, MessageStore] = {}
        self._active: set[str] = set()

    def open(self, first: Message) -> Session | Refusal:
        now = self.clock.time_ns()
        sender = first.text(49, "")
        target = first.text(56, "")
        if first.msg_type != "A":
            return Refusal(b"", f"first message is MsgType {first.msg_type!r}, not Logon")
        party = self._parties.get(sender)
        if party is None or target != self.config.comp_id:
            text = f"Logon rejected: unknown CompID {sender!r}->{target!r}"
            return Refusal(refusal_logout(first, self.config.comp_id, text, now), text)
        if sender in self._active:
            text = f"Logon rejected: session {sender} already logged on"
            return Refusal(refusal_logout(first, self.config.comp_id, text, now), text)
        store = self._stores.get(sender)
        if store is None:
            store = self._stores[sender] = self._store_factory(sender)
        cfg = SessionConfig(self.config.comp_id, sender, Role.ACCEPTOR, password=party.password,
                            max_latency_s=self.config.max_latency_s)
        self._active.add(sender)
        return Session(cfg, store, self.clock)

    def release(self, session: Session) -> None:
        self._active.discard(session.config.target_comp_id)

    def is_active(self, comp_id: str) -> bool:
        return comp_id in self._active

    def store(self, comp_id: str) -> MessageStore | None:
        return self._stores.get(comp_id)


def _flatten(members: tuple[MemberDef, ...]) -> set[int]:
    out: set[int] = set()
    for m in members:
        if isinstance(m, GroupDef):
            out.add(m.count_tag)
            out |= _flatten(m.members)
        else:
            out.add(m.tag)
    return out


def group_entries(msg: Message, count_tag: int) -> list[dict[int, bytes]]:
    """Entries of a top-level repeating group as {tag: value} (nested groups flattened, last wins)."""
    mdef = MESSAGES[msg.msg_type]
    gdef = next(m for m in mdef.members if isinstance(m, GroupDef) and m.count_tag == count_tag)
    members = _flatten(gdef.members)
    fields = msg.fields()
    try:
        i = [t for t, _ in fields].index(count_tag) + 1
    except ValueError:
        return []
    entries: list[dict[int, bytes]] = []
    for tag, value in fields[i:]:
        if tag not in members:
            break
        if tag == gdef.delimiter or not entries:
            entries.append({})
        entries[-1][tag] = value
    return entries


def _dec(v: bytes | None) -> Decimal | None:
    return None if v is None else Decimal(v.decode())


def quote_requests(msg: Message, now_ns: int) -> list[QuoteRequest]:
    """One QuoteRequest per NoRelatedSym entry of a validated 35=R."""
    req_id = msg.text(131, "")
    who = msg.text(49, "")
    out = []
    for e in group_entries(msg, 146):
        side = e.get(54)
        out.append(QuoteRequest(
            quote_req_id=req_id, symbol=e.get(55, b"").decode("latin-1"), counterparty=who, received_ns=now_ns,
            side=side.decode("latin-1") if side else None, order_qty=_dec(e.get(38)),
            security_type=e[167].decode("latin-1") if 167 in e else None,
            put_or_call=int(e[201]) if 201 in e else None, strike_price=_dec(e.get(202)),
            maturity_date=e[541].decode("latin-1") if 541 in e else None,
            maturity_month_year=e[200].decode("latin-1") if 200 in e else None))
    return out


@dataclass(frozen=True, slots=True)
class Received:
    """One application message the venue role took in."""

    counterparty: str
    seq: int
    poss_dup: bool
    msg_type: str
    quote_id: str | None
    symbols: tuple[str, ...]


@dataclass
class AcceptorApp:
    """Application behind the acceptor: RFQ desk (with a pricer) and/or venue recorder."""

    clock: Clock
    pricer: QuotePricer | None = None
    venue: bool = False
    received: list[Received] = field(default_factory=list)

    def on_logon(self, session: Session) -> list[Message]:
        log.info("counterparty %s logged on", session.config.target_comp_id)
        return []

    def on_disconnect(self, session: Session, reason: str) -> None:
        log.info("counterparty %s disconnected: %s", session.config.target_comp_id, reason)

    def on_message(self, session: Session, msg: Message) -> list[Message]:
        t = msg.msg_type
        if t == "R":
            return self._rfq(msg)
        if self.venue and t in ("S", "i", "Z"):
            return self._record(session, msg)
        if t in ("3", "j", "b", "AG"):
            log.info("%s from %s: %s", MESSAGES[t].name, session.config.target_comp_id, msg)
            return []
        reason = 4 if t in ("R", "S", "i", "Z") else 3  # 4 application not available, 3 unsupported
        return [Message("j").add(45, msg.value(34)).add(372, t).add(380, reason)
                .add(58, f"{MESSAGES[t].name} not handled by this acceptor")]

    def _rfq(self, msg: Message) -> list[Message]:
        if self.pricer is None:
            return [Message("j").add(45, msg.value(34)).add(372, "R").add(380, 4)
                    .add(58, "no RFQ pricer on this acceptor")]
        now = self.clock.time_ns()
        out = []
        for req in quote_requests(msg, now):
            decision = self.pricer.price_rfq(req)
            out.append(rfq_answer(req, decision, self.clock.time_ns()))
        return out

    def _record(self, session: Session, msg: Message) -> list[Message]:
        t = msg.msg_type
        symbols = tuple(v.decode("latin-1") for tag, v in msg.fields() if tag == 55)
        self.received.append(Received(session.config.target_comp_id, msg.as_int(34) or 0,
                                      msg.value(43) == b"Y", t, msg.text(117), symbols))
        if t == "i":
            return [Message("b").add(117, msg.value(117)).add(297, 0)]
        return []


class Acceptor:
    """asyncio TCP server running one session per connected, known counterparty."""

    def __init__(self, config: AcceptorConfig, app: AcceptorApp, clock: Clock,
                 store_factory: Callable[[str], MessageStore] | None = None, tick_s: float = 0.05) -> None:
        self.config = config
        self.app = app
        self.clock = clock
        self.directory = SessionDirectory(config, clock, store_factory)
        self.tick_s = tick_s
        self.runners: list[SessionRunner] = []
        self.refusals: list[Refusal] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen (127.0.0.1 by default); returns the bound port."""
        self._server = await serve_tcp(self._handle, self.config.host, self.config.port)
        return server_port(self._server)

    async def stop(self) -> None:
        for r in self.runners:
            if r.session.state is SessionState.ACTIVE:
                await r.logout("acceptor shutting down")
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _first_frame(self, transport: TcpTransport) -> tuple[Message | None, bytes]:
        framer = Framer()
        seen = b""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FIRST_MESSAGE_TIMEOUT_S
        while loop.time() < deadline:
            try:
                chunk = await asyncio.wait_for(transport.read(), deadline - loop.time())
            except TimeoutError:
                break
            if not chunk:
                break
            seen += chunk
            for item in framer.feed(chunk):
                if isinstance(item, Frame):
                    try:
                        return parse(item.raw), seen
                    except GarbledMessage as exc:
                        log.warning("garbled first message from %s: %s", transport.peer, exc)
        return None, seen

    async def _handle(self, transport: TcpTransport) -> None:
        first, seen = await self._first_frame(transport)
        if first is None:
            log.warning("no Logon from %s: closing", transport.peer)
            return
        opened = self.directory.open(first)
        if isinstance(opened, Refusal):
            log.warning("connection from %s refused: %s", transport.peer, opened.reason)
            self.refusals.append(opened)
            if opened.data:
                transport.write(opened.data)
                await transport.drain()
            return
        runner = SessionRunner(opened, transport, self.app, self.tick_s)
        self.runners.append(runner)
        try:
            await runner.run(initial=seen)
        finally:
            self.directory.release(opened)
