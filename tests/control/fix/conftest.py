"""Shared helpers for the FIX tests: a fake clock and a scripted counterparty that writes raw FIX."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from control.fix.messages import Message, encode, parse, utc_timestamp
from control.fix.session import Action, Deliver, Disconnect, Role, Send, Session, SessionConfig
from control.fix.store import MemoryStore

T0 = 1_764_150_000_000_000_000  # 2025-11-26 09:40 UTC, in ns


class FakeClock:
    def __init__(self, ns: int = T0) -> None:
        self.ns = ns

    def time_ns(self) -> int:
        return self.ns

    def advance(self, seconds: float) -> None:
        self.ns += int(seconds * 1_000_000_000)


@dataclass
class Peer:
    """The other side of a session, writing exact bytes (so tests can break the rules)."""

    sender: str
    target: str
    clock: FakeClock
    seq: int = 1
    sent: list[bytes] = field(default_factory=list)

    def raw(self, msg_type: str, body: list[tuple[int, object]] = (), *, seq: int | None = None,
            possdup: bool = False, orig_sending_ns: int | None = None, sending_ns: int | None = None,
            sender: str | None = None, target: str | None = None) -> bytes:
        if seq is None:
            seq = self.seq
            self.seq += 1
        header: list[tuple[int, bytes]] = [(34, b"%d" % seq)]
        if possdup:
            header.append((43, b"Y"))
        header += [(49, (sender or self.sender).encode()),
                   (52, utc_timestamp(self.clock.ns if sending_ns is None else sending_ns)),
                   (56, (target or self.target).encode())]
        if orig_sending_ns is not None:
            header.append((122, utc_timestamp(orig_sending_ns)))
        m = Message(msg_type).extend(body)
        data = encode(msg_type.encode(), header, m.fields())
        self.sent.append(data)
        return data

    def logon(self, hb: int = 30, **kw: object) -> bytes:
        body = [(98, 0), (108, hb)] + list(kw.pop("extra", []))
        return self.raw("A", body, **kw)


def sends(actions: list[Action]) -> list[Message]:
    return [parse(a.data) for a in actions if isinstance(a, Send)]


def delivered(actions: list[Action]) -> list[Message]:
    return [a.message for a in actions if isinstance(a, Deliver)]


def disconnects(actions: list[Action]) -> list[Disconnect]:
    return [a for a in actions if isinstance(a, Disconnect)]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def acceptor(clock: FakeClock) -> Session:
    cfg = SessionConfig("DESK", "CLIENT", Role.ACCEPTOR, heartbeat_interval_s=30, password="s3cret")
    s = Session(cfg, MemoryStore(), clock)
    assert s.connection_made() == []
    return s


@pytest.fixture
def peer(clock: FakeClock) -> Peer:
    return Peer("CLIENT", "DESK", clock)


@pytest.fixture
def logged_on(acceptor: Session, peer: Peer) -> Session:
    acts = acceptor.data_received(peer.logon(extra=[(554, "s3cret")]))
    assert [m.msg_type for m in sends(acts)] == ["A"]
    return acceptor


class Helpers:
    """Helper functions, handed to tests as the ``h`` fixture (importlib mode: no conftest imports)."""

    sends = staticmethod(sends)
    delivered = staticmethod(delivered)
    disconnects = staticmethod(disconnects)
    Peer = Peer
    FakeClock = FakeClock
    T0 = T0


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers


def feed(session: Session, data: bytes) -> list[Action]:
    """data_received until nothing is pending (what the runner does)."""
    acts = session.data_received(data)
    while session.pending:
        acts += session.data_received(b"")
    return acts


Helpers.feed = staticmethod(feed)
