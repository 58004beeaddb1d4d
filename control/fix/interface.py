"""What the FIX layer needs from the quoting engine, and nothing more.

The acceptor (RFQ server) calls an injected :class:`QuotePricer` for each QuoteRequest; the initiator
consumes a stream of :class:`QuoteUpdate` and :class:`Pull` events. control/quoting (or a test double)
provides them; control/fix never imports control/quoting.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import NamedTuple, Protocol


class QuoteRequestRejectReason(IntEnum):
    """QuoteRequestRejectReason (658), FIX 4.4."""

    UNKNOWN_SYMBOL = 1
    EXCHANGE_CLOSED = 2
    QUOTE_REQUEST_EXCEEDS_LIMIT = 3
    TOO_LATE_TO_ENTER = 4
    INVALID_PRICE = 5
    NOT_AUTHORIZED_TO_REQUEST_QUOTE = 6
    NO_MATCH_FOR_INQUIRY = 7
    NO_MARKET_FOR_INSTRUMENT = 8
    NO_INVENTORY = 9
    PASS = 10
    OTHER = 99


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    """One instrument of an inbound QuoteRequest (35=R), as the pricer sees it."""

    quote_req_id: str                  # QuoteReqID(131), echoed in the answer
    symbol: str                        # Symbol(55)
    counterparty: str                  # SenderCompID(49) of the requester
    received_ns: int                   # session clock when the request was processed
    side: str | None = None            # Side(54): '1' client buys, '2' client sells, None two-sided
    order_qty: Decimal | None = None   # OrderQty(38)
    security_type: str | None = None   # SecurityType(167), e.g. 'OPT'
    put_or_call: int | None = None     # PutOrCall(201): 0 put, 1 call
    strike_price: Decimal | None = None  # StrikePrice(202)
    maturity_date: str | None = None   # MaturityDate(541), YYYYMMDD
    maturity_month_year: str | None = None  # MaturityMonthYear(200)


@dataclass(frozen=True, slots=True)
class QuoteDecision:
    """A priced answer: becomes a Quote (35=S) with QuoteReqID echoed and ValidUntilTime."""

    quote_id: str
    valid_until_ns: int
    bid_px: Decimal | None = None
    offer_px: Decimal | None = None
    bid_size: Decimal | None = None
    offer_size: Decimal | None = None
    text: str | None = None            # the reason behind the price, Text(58)

    def __post_init__(self) -> None:
        if self.bid_px is None and self.offer_px is None:
            raise ValueError("a QuoteDecision needs a bid or an offer")


@dataclass(frozen=True, slots=True)
class RejectDecision:
    """A refusal: becomes QuoteRequestReject (35=AG) with QuoteRequestRejectReason(658) and Text."""

    reason: QuoteRequestRejectReason
    text: str


class QuotePricer(Protocol):
    def price_rfq(self, request: QuoteRequest) -> QuoteDecision | RejectDecision:
        """Price one RFQ. Must not raise for business problems: return a RejectDecision."""


class InstrumentQuote(NamedTuple):
    """Two-sided (or one-sided) quote for one instrument on a venue.

    InstrumentQuote and QuoteUpdate are NamedTuples: the appliance builds one of each per requote,
    inside the measured per-event latency, where a frozen dataclass's __init__ costs a microsecond."""

    symbol: str
    bid_px: Decimal | None
    offer_px: Decimal | None
    bid_size: Decimal | None = None
    offer_size: Decimal | None = None


class _QuoteUpdateFields(NamedTuple):
    quotes: tuple[InstrumentQuote, ...]
    reason: str = ""
    valid_until_ns: int | None = None


class QuoteUpdate(_QuoteUpdateFields):
    """The policy changed quotes: Quote for one instrument, MassQuote for several."""

    __slots__ = ()

    def __new__(cls, quotes: tuple[InstrumentQuote, ...], reason: str = "",
                valid_until_ns: int | None = None) -> QuoteUpdate:
        if not quotes:
            raise ValueError("a QuoteUpdate needs at least one instrument")
        return tuple.__new__(cls, (quotes, reason, valid_until_ns))


@dataclass(frozen=True, slots=True)
class Pull:
    """Withdraw quotes (QuoteCancel): for these symbols, or all when ``symbols`` is empty."""

    symbols: tuple[str, ...] = ()
    reason: str = ""


QuoteEvent = QuoteUpdate | Pull
