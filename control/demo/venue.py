"""A FIX 4.4 session over TCP on 127.0.0.1, from our initiator (control.fix.initiator.QuoteStreamer) to
our own acceptor in venue role (control.fix.loopback.venue_acceptor), and the checks that the venue
received exactly what the appliance sent: the same application messages (Quote / MassQuote /
QuoteCancel) with the same sequence numbers, every number in order and none missing, no resends.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from control.fix.interface import QuoteEvent
from control.fix.messages import parse
from control.fix.store import MemoryStore

log = logging.getLogger(__name__)

APP_TYPES = ("S", "i", "Z")  # Quote, MassQuote, QuoteCancel: what the appliance sends


@dataclass
class FixOutcome:
    host: str
    port: int
    disconnect: str  # why the initiator's session ended
    sent: list[tuple[int, str]]  # (MsgSeqNum, MsgType) of every message our session stored, in order
    received: list[tuple[int, str, bool]]  # (MsgSeqNum, MsgType, PossDup) the venue recorded, in order
    initiator_next_seq: int  # our next outbound MsgSeqNum after logout
    venue_next_expected: int  # the venue's next expected inbound MsgSeqNum after logout
    acks: int = 0  # MassQuoteAcknowledgements back
    rejects: int = 0  # Reject / BusinessMessageReject back
    events_sent: int = 0  # quote events handed to the session
    problems: list[str] = field(default_factory=list)

    @property
    def app_sent(self) -> list[tuple[int, str]]:
        return [(s, t) for s, t in self.sent if t in APP_TYPES]

    @property
    def app_received(self) -> list[tuple[int, str]]:
        return [(s, t) for s, t, _ in self.received]

    @property
    def by_type_sent(self) -> dict[str, int]:
        return dict(Counter(t for _, t in self.app_sent))

    @property
    def by_type_received(self) -> dict[str, int]:
        return dict(Counter(t for _, t in self.app_received))

    @property
    def seq_contiguous(self) -> bool:
        """Our stored numbers run 1..n without a hole, and the venue expects n+1: it took every one."""
        seqs = [s for s, _ in self.sent]
        return seqs == list(range(1, len(seqs) + 1)) and self.venue_next_expected == self.initiator_next_seq

    @property
    def ok(self) -> bool:
        return not self.check()

    def check(self) -> list[str]:
        """Why the venue's view differs from ours (empty when it does not)."""
        out = list(self.problems)
        if len(self.app_received) != len(self.app_sent):
            out.append(f"venue received {len(self.app_received)} quote messages, we sent {len(self.app_sent)}")
        elif self.app_received != self.app_sent:
            out.append("venue received other sequence numbers or message types than we sent")
        if not self.seq_contiguous:
            out.append(
                f"sequence numbers not contiguous: ours {self.sent[:1]}..{self.sent[-1:]}, venue expects "
                f"{self.venue_next_expected}, our next is {self.initiator_next_seq}"
            )
        if any(dup for _, _, dup in self.received):
            out.append("the venue saw resent (PossDup) messages")
        if self.rejects:
            out.append(f"the venue rejected {self.rejects} messages")
        return out

    def as_dict(self) -> dict[str, object]:
        app = self.app_sent
        return {
            "venue": f"{self.host}:{self.port}",
            "session_end": self.disconnect,
            "quote_events": self.events_sent,
            "messages_sent": len(app),
            "messages_received_by_venue": len(self.app_received),
            "sent_by_type": self.by_type_sent,
            "received_by_type": self.by_type_received,
            "first_seq": app[0][0] if app else None,
            "last_seq": app[-1][0] if app else None,
            "session_messages": len(self.sent),
            "seq_contiguous": self.seq_contiguous,
            "mass_quote_acks": self.acks,
            "rejects": self.rejects,
            "ok": self.ok,
            "problems": self.check(),
        }


async def stream_to_venue(
    events: AsyncIterator[QuoteEvent], *, on_listen: Callable[[str, int], None] | None = None
) -> FixOutcome:
    """Start our venue acceptor on a free port of 127.0.0.1, log our initiator on, send every event of
    `events`, log out, stop the venue, and return what each side saw."""
    from control.fix.initiator import QuoteStreamer
    from control.fix.loopback import OUR_ID, initiator_session, venue_acceptor
    from control.fix.quotes import QuoteWriter
    from control.fix.transport import DEFAULT_HOST, connect_tcp

    venue = venue_acceptor(0)
    port = await venue.start()
    if on_listen is not None:
        on_listen(DEFAULT_HOST, port)
    store = MemoryStore()
    try:
        session = initiator_session(store)
        streamer = QuoteStreamer(session, QuoteWriter(prefix=f"QG{store.next_sender_seq()}"))
        transport = await connect_tcp(DEFAULT_HOST, port)
        reason = await streamer.run(transport, events)
    finally:
        await venue.stop()
    venue_store = venue.directory.store(OUR_ID)
    sent_n = store.next_sender_seq()
    sent = [(seq, parse(raw).msg_type) for seq, raw in store.sent(1, sent_n - 1)]
    received = [
        (r.seq, r.msg_type, r.poss_dup) for r in venue.app.received if r.counterparty == OUR_ID
    ]
    log.info("FIX session to the venue ended (%s): %d messages stored, venue recorded %d",
             reason, len(sent), len(received))
    return FixOutcome(
        DEFAULT_HOST,
        port,
        reason,
        sent,
        received,
        sent_n,
        venue_store.next_target_seq() if venue_store is not None else 1,
        acks=len(streamer.app.acks),
        rejects=len(streamer.app.rejects),
        events_sent=streamer.sent_events,
    )
