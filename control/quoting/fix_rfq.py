"""The FIX acceptor's RFQ pricer: control.fix.interface.QuotePricer on top of RfqPricer.

Maps a FIX 4.4 QuoteRequest (Symbol, Side, OrderQty, SecurityType, PutOrCall, StrikePrice,
MaturityDate) to an RfqRequest and the answer back to FIX's QuoteDecision / RejectDecision with
decimal prices and sizes. Two kinds of request are answered:
- options (SecurityType OPT, or a Symbol like BTC-240719-65000-C): priced by Black-76 (RfqPricer);
- the streaming instrument itself (e.g. BTCUSDT): the engine's live two-sided quote, if it stands
  and is large enough.
Business problems never raise: they come back as a RejectDecision with a reason and a text.
"""
from __future__ import annotations

import calendar
import itertools
import logging
import re
from decimal import Decimal, InvalidOperation

from control.fix.interface import QuoteDecision, QuoteRequest, QuoteRequestRejectReason, RejectDecision
from control.quoting.black76 import OptionKind
from control.quoting.rfq import OptionContract, RfqPricer, RfqQuote, RfqRequest, RfqSide

log = logging.getLogger(__name__)

_OPTION_SYMBOL = re.compile(r"^([A-Z]+)-(\d{6})-(\d+(?:\.\d+)?)-([CP])$")   # BTC-240719-65000-C
_SIDES = {None: RfqSide.TWO_SIDED, "1": RfqSide.BUY, "2": RfqSide.SELL}


class FixRfqPricer:
    """Implements control.fix.interface.QuotePricer. `now_ns` is the request's received_ns, which must
    be on the clock of the predictions (ns since the epoch, UTC)."""

    def __init__(self, pricer: RfqPricer) -> None:
        self.pricer = pricer
        self._ids = itertools.count(1)

    def price_rfq(self, request: QuoteRequest) -> QuoteDecision | RejectDecision:
        side = _SIDES.get(request.side)
        if side is None:
            return RejectDecision(QuoteRequestRejectReason.OTHER, f"unsupported Side(54) {request.side!r}")
        if request.order_qty is None or request.order_qty <= 0:
            return RejectDecision(QuoteRequestRejectReason.OTHER, "OrderQty(38) > 0 is required")
        is_option = request.security_type == "OPT" or _OPTION_SYMBOL.match(request.symbol) is not None
        if is_option:
            return self._option(request, side)
        return self._streaming(request, side)

    # -- options ------------------------------------------------------------------------------------
    def _option(self, request: QuoteRequest, side: RfqSide) -> QuoteDecision | RejectDecision:
        contract = self._contract(request)
        if isinstance(contract, RejectDecision):
            return contract
        ans = self.pricer.price(RfqRequest(request.quote_req_id, contract, side, request.order_qty),
                                now_ns=request.received_ns)
        if not isinstance(ans, RfqQuote):
            return RejectDecision(QuoteRequestRejectReason(int(ans.fix_reason)), f"{ans.code.value}: {ans.detail}"[:200])
        return QuoteDecision(
            quote_id=f"{request.quote_req_id}-{next(self._ids)}", valid_until_ns=ans.valid_until_ns,
            bid_px=ans.bid_price, offer_px=ans.ask_price,
            bid_size=ans.qty if ans.bid_px is not None else None,
            offer_size=ans.qty if ans.ask_px is not None else None,
            text=(f"F={ans.forward:.2f} vol={ans.vol:.4f} delta={ans.greeks.delta:.4f} "
                  f"vega={ans.greeks.vega:.2f}")[:200])

    def _contract(self, request: QuoteRequest) -> OptionContract | RejectDecision:
        opt = self.pricer.cfg.options
        if opt is None:
            return RejectDecision(QuoteRequestRejectReason.UNKNOWN_SYMBOL, "options are not quoted (no options config)")
        m = _OPTION_SYMBOL.match(request.symbol)
        if m:
            base, yymmdd, strike_text, pc = m.groups()
            if not opt.underlying.startswith(base):
                return RejectDecision(QuoteRequestRejectReason.UNKNOWN_SYMBOL,
                                      f"{request.symbol}: options are quoted on {opt.underlying} only")
            date, kind = "20" + yymmdd, OptionKind(pc)
            strike: Decimal | None = Decimal(strike_text)
        else:
            if request.symbol != opt.underlying:
                return RejectDecision(QuoteRequestRejectReason.UNKNOWN_SYMBOL,
                                      f"{request.symbol}: options are quoted on {opt.underlying} only")
            if request.put_or_call not in (0, 1) or request.strike_price is None or not request.maturity_date:
                return RejectDecision(QuoteRequestRejectReason.OTHER,
                                      "option RFQ needs PutOrCall(201), StrikePrice(202) and MaturityDate(541)")
            date, kind, strike = request.maturity_date, OptionKind.CALL if request.put_or_call == 1 else OptionKind.PUT, request.strike_price
        try:
            if len(date) != 8 or not date.isdigit():
                raise ValueError(date)
            expiry_s = calendar.timegm((int(date[:4]), int(date[4:6]), int(date[6:]), opt.expiry_hour_utc, 0, 0))
            if not (1 <= int(date[4:6]) <= 12 and 1 <= int(date[6:]) <= 31):
                raise ValueError(date)
        except (ValueError, OverflowError):
            return RejectDecision(QuoteRequestRejectReason.OTHER, f"bad maturity date {date!r} (YYYYMMDD)")
        try:
            strike = Decimal(strike)
        except InvalidOperation:
            return RejectDecision(QuoteRequestRejectReason.OTHER, f"bad strike {strike!r}")
        return OptionContract(opt.underlying, strike, expiry_s * 1_000_000_000, kind)

    # -- the streaming instrument -------------------------------------------------------------------
    def _streaming(self, request: QuoteRequest, side: RfqSide) -> QuoteDecision | RejectDecision:
        eng = self.pricer.engine
        if request.symbol not in eng.cfg.instruments:
            return RejectDecision(QuoteRequestRejectReason.UNKNOWN_SYMBOL, f"{request.symbol} is not quoted")
        inst = eng.cfg.instrument(request.symbol)
        try:
            lots = inst.to_lots(request.order_qty)
        except ValueError as e:
            return RejectDecision(QuoteRequestRejectReason.OTHER, str(e))
        st = eng.state(request.symbol)
        bid = st.bid if side in (RfqSide.SELL, RfqSide.TWO_SIDED) else None
        ask = st.ask if side in (RfqSide.BUY, RfqSide.TWO_SIDED) else None
        if (side is not RfqSide.BUY and bid is None) or (side is not RfqSide.SELL and ask is None):
            return RejectDecision(QuoteRequestRejectReason.NO_MARKET_FOR_INSTRUMENT,
                                  f"{request.symbol}: no live quote on the side asked for (pulled or limited)")
        if any(q is not None and q.lots < lots for q in (bid, ask)):
            return RejectDecision(QuoteRequestRejectReason.QUOTE_REQUEST_EXCEEDS_LIMIT,
                                  f"{request.symbol}: {request.order_qty} exceeds the live quote size")
        pred = st.prediction
        valid_until = pred.ts_ns + pred.horizon_ns if pred is not None else request.received_ns
        return QuoteDecision(
            quote_id=f"{request.quote_req_id}-{next(self._ids)}", valid_until_ns=valid_until,
            bid_px=inst.price(bid.px) if bid else None, offer_px=inst.price(ask.px) if ask else None,
            bid_size=inst.qty(lots) if bid else None, offer_size=inst.qty(lots) if ask else None,
            text="streaming quote")
