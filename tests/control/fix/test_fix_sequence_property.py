"""Property: whatever the network does to a peer's stream (reorder, drop, PossDup duplicates), once
the peer has answered our ResendRequests the application sees every message exactly once, in
sequence, and the session stays logged on."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from control.fix.messages import Message, encode, parse, utc_timestamp
from control.fix.session import Deliver, Role, Send, Session, SessionConfig, SessionState
from control.fix.store import MemoryStore

T0 = 1_764_150_000_000_000_000


class Clock:
    def time_ns(self) -> int:
        return T0


class Peer:
    """The counterparty: app messages 2..n+1, a Heartbeat n+2; answers ResendRequests."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.last = n + 2

    def raw(self, seq: int, possdup: bool = False) -> bytes:
        header = [(34, b"%d" % seq)]
        if possdup:
            header.append((43, b"Y"))
        header += [(49, b"CLIENT"), (52, utc_timestamp(T0)), (56, b"DESK")]
        if possdup:
            header.append((122, utc_timestamp(T0)))
        if seq == self.last:
            return encode(b"0", header, [])
        body = Message("R").add(131, f"RFQ-{seq}").add(146, 1).add(55, "BTCUSDT").fields()
        return encode(b"R", header, body)

    def gap_fill(self, seq: int, new_seq: int) -> bytes:
        header = [(34, b"%d" % seq), (43, b"Y"), (49, b"CLIENT"), (52, utc_timestamp(T0)), (56, b"DESK"),
                  (122, utc_timestamp(T0))]
        return encode(b"4", header, [(123, b"Y"), (36, b"%d" % new_seq)])

    def answer(self, begin: int) -> bytes:
        out = b""
        for s in range(begin, self.last + 1):
            out += self.gap_fill(s, s + 1) if s == self.last else self.raw(s, possdup=True)
        return out


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 15).flatmap(lambda n: st.tuples(
    st.just(n),
    st.permutations(list(range(2, n + 3))),
    st.sets(st.integers(2, n + 1)),        # dropped (the final Heartbeat gets through: it reveals a tail gap)
    st.sets(st.integers(2, n + 2)),        # duplicated as PossDup
    st.integers(1, 4))))
def test_reorder_drop_duplicate_then_resend_delivers_each_once_in_order(case):
    n, order, dropped, duplicated, chunking = case
    peer = Peer(n)
    s = Session(SessionConfig("DESK", "CLIENT", Role.ACCEPTOR), MemoryStore(), Clock())
    s.connection_made()
    s.data_received(encode(b"A", [(34, b"1"), (49, b"CLIENT"), (52, utc_timestamp(T0)), (56, b"DESK")],
                           [(98, b"0"), (108, b"30")]))
    wire = b""
    for seq in order:
        if seq not in dropped:
            wire += peer.raw(seq)
        if seq in duplicated:
            wire += peer.raw(seq, possdup=True)
    delivered: list[int] = []
    step = max(1, len(wire) // chunking)   # TCP reads of arbitrary size
    chunks = [wire[i:i + step] for i in range(0, len(wire), step)]
    rounds = 0
    while chunks and rounds < 10:
        requests: list[int] = []
        for c in chunks:
            acts = s.data_received(c)
            while True:
                for a in acts:
                    if isinstance(a, Deliver):
                        delivered.append(a.message.as_int(34))
                    elif isinstance(a, Send) and a.msg_type == "2":
                        requests.append(parse(a.data).as_int(7))
                if not s.pending:
                    break
                acts = s.data_received(b"")
        chunks = [peer.answer(b) for b in requests]
        rounds += 1
    assert s.state is SessionState.ACTIVE
    assert delivered == list(range(2, n + 2))
    assert s.next_target_seq == n + 3
