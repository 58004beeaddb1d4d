"""Turn quoting-engine decisions into FIX 4.4 application messages.

* RFQ answer: Quote (35=S) with QuoteReqID(131) echoed, the instrument echoed, prices, sizes and
  ValidUntilTime(62); or QuoteRequestReject (35=AG) with QuoteRequestRejectReason(658) and Text.
* Streaming (initiator): Quote for one instrument, MassQuote (35=i) for several (one quote set,
  fragmented by ``max_entries`` with TotNoQuoteEntries/LastFragment), QuoteCancel (35=Z) on pull:
  QuoteCancelType 1 (cancel for symbols) with the instruments, or 4 (cancel all quotes).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from control.fix.interface import (
    InstrumentQuote,
    Pull,
    QuoteDecision,
    QuoteEvent,
    QuoteRequest,
    QuoteUpdate,
    RejectDecision,
)
from control.fix.messages import Message, utc_timestamp

QUOTE_TYPE_TRADEABLE = 1
QUOTE_CANCEL_FOR_SYMBOLS = 1
QUOTE_CANCEL_ALL = 4


def _instrument(msg: Message, req: QuoteRequest) -> Message:
    """Instrument component fields in dictionary order (55, 167, 200, 541, 202)."""
    msg.add(55, req.symbol).add(167, req.security_type).add(200, req.maturity_month_year)
    msg.add(541, req.maturity_date).add(201, req.put_or_call).add(202, req.strike_price)
    return msg


def _quote_sides(msg: Message, q: InstrumentQuote | QuoteDecision) -> Message:
    return msg.add(132, q.bid_px).add(133, q.offer_px).add(134, q.bid_size).add(135, q.offer_size)


def _stream_sides(msg: Message, q: InstrumentQuote) -> Message:
    """A side without a price is cancelled: its size is sent as 0 (FIX 4.4 MassQuote convention)."""
    bid_size = q.bid_size if q.bid_px is not None else Decimal(0)
    offer_size = q.offer_size if q.offer_px is not None else Decimal(0)
    return msg.add(132, q.bid_px).add(133, q.offer_px).add(134, bid_size).add(135, offer_size)


def rfq_answer(req: QuoteRequest, decision: QuoteDecision | RejectDecision, now_ns: int) -> Message:
    """The Quote or QuoteRequestReject answering one QuoteRequest."""
    if isinstance(decision, RejectDecision):
        msg = Message("AG").add(131, req.quote_req_id).add(658, int(decision.reason)).add(146, 1)
        _instrument(msg, req).add(54, req.side).add(38, req.order_qty)
        return msg.add(58, decision.text)
    msg = Message("S").add(131, req.quote_req_id).add(117, decision.quote_id)
    _instrument(msg, req).add(54, req.side).add(38, req.order_qty)
    _quote_sides(msg, decision)
    msg.add(62, utc_timestamp(decision.valid_until_ns)).add(60, utc_timestamp(now_ns))
    return msg.add(58, decision.text)


@dataclass
class QuoteWriter:
    """Stateful only in its id counter: QuoteIDs are ``<prefix>-<n>``, unique per writer."""

    prefix: str = "QG"
    max_entries: int = 100
    start: int = 1

    def __post_init__(self) -> None:
        if self.max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {self.max_entries}")
        self._ids = itertools.count(self.start)
        self._next: int | None = None   # a number peeked at and not yet taken

    def next_id(self) -> str:
        return f"{self.prefix}-{self.next_number()}"

    def next_number(self) -> int:
        """Take the number of the next QuoteID (``<prefix>-<n>``), for writers that format it themselves."""
        n = self.peek_number()
        self._next = None
        return n

    def peek_number(self) -> int:
        """The number the next QuoteID will carry, without taking it."""
        if self._next is None:
            self._next = next(self._ids)
        return self._next

    def messages(self, event: QuoteEvent, now_ns: int) -> list[Message]:
        if isinstance(event, Pull):
            return [self.cancel(event)]
        return self.update(event, now_ns)

    def update(self, event: QuoteUpdate, now_ns: int) -> list[Message]:
        valid = utc_timestamp(event.valid_until_ns) if event.valid_until_ns is not None else None
        if len(event.quotes) == 1:
            q = event.quotes[0]
            msg = Message("S").add(117, self.next_id()).add(537, QUOTE_TYPE_TRADEABLE).add(55, q.symbol)
            _stream_sides(msg, q).add(62, valid).add(60, utc_timestamp(now_ns))
            return [msg.add(58, event.reason or None)]
        quote_id = self.next_id()
        total = len(event.quotes)
        chunks = [event.quotes[i:i + self.max_entries] for i in range(0, total, self.max_entries)]
        out = []
        for n, chunk in enumerate(chunks):
            msg = Message("i").add(117, quote_id if n == 0 else f"{quote_id}.{n}").add(537, QUOTE_TYPE_TRADEABLE)
            msg.add(296, 1).add(302, "1").add(367, valid).add(304, total)
            msg.add(893, n == len(chunks) - 1).add(295, len(chunk))
            for k, q in enumerate(chunk):
                msg.add(299, f"{n * self.max_entries + k + 1}").add(55, q.symbol)
                _stream_sides(msg, q)
            out.append(msg)
        return out

    def cancel(self, event: Pull) -> Message:
        msg = Message("Z").add(117, self.next_id())
        if not event.symbols:
            return msg.add(298, QUOTE_CANCEL_ALL).add(58, event.reason or None)
        msg.add(298, QUOTE_CANCEL_FOR_SYMBOLS).add(295, len(event.symbols))
        for s in event.symbols:
            msg.add(55, s)
        return msg.add(58, event.reason or None)


class TickScale(Protocol):
    """Converts an engine's integer ticks and lots to prices and quantities (InstrumentConfig)."""

    def price(self, ticks: int) -> Decimal: ...
    def qty(self, lots: int) -> Decimal: ...


class EngineSide(Protocol):
    px: int
    lots: int


class EngineDecision(Protocol):
    """The shape of control/quoting's QuoteDecision that this layer relies on (duck-typed, so
    control/fix does not import control/quoting)."""

    symbol: str
    action: str                      # "quote" | "pull" | "unchanged"
    bid: EngineSide | None
    ask: EngineSide | None
    reasons: tuple[object, ...]


def events_from_decisions(decisions: Iterable[EngineDecision], scale: Callable[[str], TickScale],
                          valid_until_ns: int | None = None) -> list[QuoteEvent]:
    """One batch of engine decisions -> at most one QuoteUpdate (Quote or MassQuote) and one Pull.

    UNCHANGED decisions send nothing; PULL (or a decision with neither side) cancels the symbol;
    QUOTE sends both sides, a missing side with size 0. Reasons go to Text(58) where FIX has it.
    """
    quotes: list[InstrumentQuote] = []
    pulled: list[str] = []
    reasons: list[str] = []
    pull_reasons: list[str] = []
    for d in decisions:
        action = str(d.action)
        if action == "unchanged":
            continue
        if action == "pull" or (d.bid is None and d.ask is None):
            pulled.append(d.symbol)
            pull_reasons.extend(f"{d.symbol}: {r}" for r in d.reasons)
            continue
        inst = scale(d.symbol)
        quotes.append(InstrumentQuote(
            d.symbol,
            inst.price(d.bid.px) if d.bid is not None else None,
            inst.price(d.ask.px) if d.ask is not None else None,
            inst.qty(d.bid.lots) if d.bid is not None else None,
            inst.qty(d.ask.lots) if d.ask is not None else None))
        reasons.extend(str(r) for r in d.reasons)
    events: list[QuoteEvent] = []
    if quotes:
        events.append(QuoteUpdate(tuple(quotes), "; ".join(reasons)[:200], valid_until_ns))
    if pulled:
        events.append(Pull(tuple(pulled), "; ".join(pull_reasons)[:200]))
    return events
