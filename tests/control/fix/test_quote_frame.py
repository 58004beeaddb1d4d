"""control.fix.quote_frame.QuoteFrame (the appliance's compiled single-Quote writer) against the
general path (QuoteWriter.messages + encode_message): byte-identical on random quotes over the
scales, sizes, times and texts it covers, and declining (None) what it does not cover."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from control.fix.interface import InstrumentQuote, QuoteUpdate
from control.fix.messages import encode_message, utc_timestamp
from control.fix.quote_frame import QuoteFrame
from control.fix.quotes import QuoteWriter

LAST = (1 << 63) - 1   # the last int64 nanosecond (2262-04-11)


def _general(sym, tick, lot, sender, target, prefix, seq, now, qid, bp, ap, bl, al, reason, valid):
    def px(t):
        return None if t is None else t * tick

    def sz(n, side_px):
        return None if side_px is None else n * lot

    ev = QuoteUpdate((InstrumentQuote(sym, px(bp), px(ap), sz(bl, bp), sz(al, ap)),), reason, valid)
    (msg,) = QuoteWriter(prefix, start=qid).messages(ev, now)
    header = [(34, b"%d" % seq), (49, sender.encode()), (52, utc_timestamp(now)), (56, target.encode())]
    return encode_message(msg, header)


scales = st.sampled_from(["0.10", "0.01", "1", "0.5", "0.00001", "0.001", "10", "0.25", "5E-8"]).map(Decimal)
names = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="="),
                min_size=1, max_size=12)
prices = st.one_of(st.none(), st.integers(0, (1 << 40) - 1))
lots = st.integers(0, (1 << 40) - 1)


@settings(max_examples=3000, deadline=None)
@given(sym=names, tick=scales, lot=scales, sender=names, target=names, prefix=names,
       seq=st.integers(1, 10**12), now=st.integers(0, LAST), qid=st.integers(0, 10**12),
       bp=prices, ap=prices, bl=lots, al=lots,
       reason=st.one_of(st.just(""), st.text(alphabet="abcdefghijklmnopqrstuvwxyz_;", max_size=80)),
       valid=st.one_of(st.none(), st.integers(0, LAST)))
def test_quote_frame_equals_the_general_path(sym, tick, lot, sender, target, prefix, seq, now, qid, bp, ap,
                                             bl, al, reason, valid):
    frame = QuoteFrame.of(sym, tick, lot, sender, target, prefix)
    got = frame.quote(seq, now, qid, bp, ap, bl, al, reason, valid)
    assert got == _general(sym, tick, lot, sender, target, prefix, seq, now, qid, bp, ap, bl, al, reason, valid)


def test_quote_frame_declines_what_it_does_not_cover():
    assert QuoteFrame.of("X", Decimal("1E+1"), Decimal("1"), "A", "B", "QG") is None   # positive exponent
    assert QuoteFrame.of("X", Decimal("0"), Decimal("1"), "A", "B", "QG") is None
    f = QuoteFrame.of("BTCUSDT", Decimal("0.10"), Decimal("0.001"), "A", "B", "QG")
    t = 1_721_347_021_080_832_061
    assert f.quote(1, t, 1, -5, 10, 1, 1) is None            # negative price
    assert f.quote(1, t, 1, 5, 10, None, 1) is None          # a priced side without a size
    assert f.quote(1, -1, 1, 5, 10, 1, 1) is None            # before 1970
    assert f.quote(1, LAST + 1, 1, 5, 10, 1, 1) is None       # beyond int64 nanoseconds
    assert f.quote(1, t, 1, 5, 10, 1, 1, valid_until_ns=-5) is None
    assert f.quote(1, t, 1, 5, 10, 1, 1, "x" * 500) is None   # Text longer than the buffer takes
    assert f.quote(1, t, 1, 1 << 41, 10, 1, 1) is None
    assert f.quote(1, t, 7, 639439, 639440, 10, 10, "vol_spread") == _general(
        "BTCUSDT", Decimal("0.10"), Decimal("0.001"), "A", "B", "QG", 1, t, 7, 639439, 639440, 10, 10,
        "vol_spread", None)
