"""QuotingEngine: pull conditions, hard limits, quote rate, requote tolerance and fills."""
from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from control.quoting import Action, QuotingEngine, ReasonCode, Side
from control.quoting.config import RiskLimits
from models.record import FLAG_IN_SYNC, FLAG_RESET

T0 = 1_721_347_020_000_000_000
SYM = "BTCUSDT"


def test_quotes_on_a_healthy_book(engine, book, pred):
    d = engine.on_book(SYM, book(99_999, 100_001), pred(), now_ns=T0)
    assert d.action is Action.QUOTE
    assert (d.bid.px, d.ask.px, d.bid.lots, d.ask.lots) == (99_990, 100_010, 10, 10)


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"flags": 0}, ReasonCode.BOOK_OUT_OF_SYNC),
    ({"crossed": True}, ReasonCode.BOOK_INVALID),
    ({"healthy": False}, ReasonCode.BACKEND_UNHEALTHY),
    ({"invalid": True}, ReasonCode.PREDICTION_INVALID),
    ({"no_pred": True}, ReasonCode.NO_PREDICTION),
    ({"age_ns": 1_000_000_001}, ReasonCode.PREDICTION_STALE),
])
def test_pull_conditions(engine, book, pred, kwargs, code):
    assert engine.on_book(SYM, book(99_999, 100_001), pred(), now_ns=T0).action is Action.QUOTE
    bid, ask = (100_001, 99_999) if kwargs.get("crossed") else (99_999, 100_001)
    p = None if kwargs.get("no_pred") else pred()
    d = engine.on_book(SYM, book(bid, ask, flags=kwargs.get("flags", FLAG_IN_SYNC)), p,
                       now_ns=T0 + kwargs.get("age_ns", 0), backend_healthy=kwargs.get("healthy", True),
                       prediction_invalid=kwargs.get("invalid", False))
    assert d.action is Action.PULL and d.pulled
    assert code in d.reason_codes()
    # nothing live any more: the next pull has nothing to cancel
    d2 = engine.on_book(SYM, book(bid, ask, flags=kwargs.get("flags", FLAG_IN_SYNC)), p,
                        now_ns=T0 + kwargs.get("age_ns", 0), backend_healthy=kwargs.get("healthy", True),
                        prediction_invalid=kwargs.get("invalid", False))
    assert d2.action is Action.UNCHANGED and d2.pulled


def test_prediction_exactly_at_horizon_is_still_valid(engine, book, pred):
    d = engine.on_book(SYM, book(99_999, 100_001), pred(), now_ns=T0 + 1_000_000_000)
    assert d.action is Action.QUOTE


def test_position_limit_cuts_then_pulls_the_side(engine, book, pred):
    engine.set_position(SYM, 95)                 # limit 100 lots
    d = engine.on_book(SYM, book(99_999, 100_001), pred(), now_ns=T0)
    assert d.bid.lots == 5 and d.ask.lots == 10
    assert any(r.code is ReasonCode.POSITION_LIMIT and r.side is Side.BID for r in d.reasons)
    engine.set_position(SYM, 100)
    d = engine.on_book(SYM, book(99_998, 100_002), pred(), now_ns=T0 + 1)
    assert d.bid is None and d.ask.lots == 10
    assert ReasonCode.SIZE_BELOW_MIN in d.reason_codes()


def test_notional_limit_binds_before_position(cfg, book, pred):
    inst = cfg.instrument(SYM)
    # 50 USDT of notional at ~10,000 USDT/BTC with 0.001 BTC lots = 5 lots
    tight = dataclasses.replace(inst, limits=RiskLimits(max_position_lots=100, max_notional=50.0,
                                                        max_quotes_per_s=20))
    eng = QuotingEngine(dataclasses.replace(cfg, instruments={SYM: tight}))
    d = eng.on_book(SYM, book(99_999, 100_001), pred(), now_ns=T0)
    # bid 9,999.0 x 5 lots = 49.995 USDT fits; ask 10,001.0 x 5 = 50.005 does not -> 4 lots
    assert d.bid.lots == 5 and d.ask.lots == 4
    assert ReasonCode.NOTIONAL_LIMIT in d.reason_codes()


def test_requote_tolerance_and_rate_limit(cfg, book, pred):
    inst = cfg.instrument(SYM)
    slow = dataclasses.replace(inst, limits=dataclasses.replace(inst.limits, max_quotes_per_s=2))
    eng = QuotingEngine(dataclasses.replace(cfg, instruments={SYM: slow}))
    assert eng.on_book(SYM, book(99_999, 100_001), pred(), now_ns=T0).action is Action.QUOTE
    # a 1-tick mid move keeps both live sides within the 0.3 bp (3 tick) tolerance
    assert eng.on_book(SYM, book(100_000, 100_002), pred(), now_ns=T0 + 1).action is Action.UNCHANGED
    # a widening beyond the tolerance (p_up 0.31 -> +0.375 bp = 3.75 ticks on the ask) requotes
    d = eng.on_book(SYM, book(100_000, 100_002), pred(p_up=0.31), now_ns=T0 + 2)
    assert d.action is Action.QUOTE and d.ask.px == 100_015   # ceil(100001 + 10 + 3.75)
    d = eng.on_book(SYM, book(99_980, 99_982), pred(), now_ns=T0 + 3)   # a 2 bp move: requote
    assert d.action is Action.PULL and ReasonCode.RATE_LIMITED in d.reason_codes()
    # one second after the first update the window has room again
    d = eng.on_book(SYM, book(99_980, 99_982), pred(ts_ns=T0 + 1_000_000_001), now_ns=T0 + 1_000_000_001)
    assert d.action is Action.QUOTE


def test_size_tolerance_and_limits_decide_whether_a_live_side_stands(engine, book, pred):
    assert engine.on_book(SYM, book(99_999, 100_001), pred(), now_ns=T0).action is Action.QUOTE
    # p_withdraw 0.5 cuts 15% -> 8 lots: within 0.2 x 10 lots of the live 10, the quote stands
    assert engine.on_book(SYM, book(99_999, 100_001), pred(p_withdraw=0.5), now_ns=T0 + 1).action is Action.UNCHANGED
    # p_withdraw 0.7 cuts 30% -> 7 lots: outside the size tolerance, requote
    d = engine.on_book(SYM, book(99_999, 100_001), pred(p_withdraw=0.7), now_ns=T0 + 2)
    assert d.action is Action.QUOTE and d.bid.lots == 7
    # position 94 leaves room for 6 lots: 6 vs the live 7 is inside the size tolerance, but a full
    # fill of the live bid would breach the position limit, so the limit alone forces the requote
    engine.set_position(SYM, 94)
    d = engine.on_book(SYM, book(99_999, 100_001), pred(p_withdraw=0.7), now_ns=T0 + 3)
    assert d.action is Action.QUOTE and d.bid.lots == 6


def test_fills_update_position_and_live_size(engine, book, pred):
    engine.on_book(SYM, book(99_999, 100_001), pred(), now_ns=T0)
    engine.on_fill(SYM, Side.BID, 4)
    assert engine.position(SYM) == 4
    assert engine.state(SYM).bid.lots == 6
    engine.on_fill(SYM, Side.ASK, 10)
    assert engine.position(SYM) == -6 and engine.state(SYM).ask is None
    with pytest.raises(ValueError):
        engine.on_fill(SYM, Side.ASK, 0)


def test_unknown_symbol_names_the_known_ones(engine, book, pred):
    from control.quoting import QuotingConfigError
    with pytest.raises(QuotingConfigError, match="BTCUSDT"):
        engine.on_book("XRPUSDT", book(1, 2), pred(), now_ns=T0)


def test_reset_flag_restarts_volatility(engine, book, pred):
    for i, mid in enumerate([100_000, 100_100, 99_900, 100_100]):
        engine.on_book(SYM, book(mid - 1, mid + 1, ts_ns=T0 + i), pred(), now_ns=T0 + i)
    assert engine.state(SYM).vol.sigma_bp() > 1.0
    engine.on_book(SYM, book(99_999, 100_001, ts_ns=T0 + 9, flags=FLAG_IN_SYNC | FLAG_RESET), pred(), now_ns=T0 + 9)
    assert engine.state(SYM).vol.sigma_bp() == 0.0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(-40, 40), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1),
                                st.integers(0, 2), st.integers(0, 12)), min_size=1, max_size=40))
def test_limits_never_exceeded_after_any_fill(cfg, book, pred, steps):
    """Random walk of the book, predictions and fills of our own quotes: a complete fill of any live
    side never takes the position or the notional beyond the limits, sizes stay on the lot grid, and
    the quote never crosses."""
    inst = cfg.instrument(SYM)
    tight = dataclasses.replace(inst, limits=RiskLimits(max_position_lots=25, max_notional=200.0,
                                                        max_quotes_per_s=1000))
    eng = QuotingEngine(dataclasses.replace(cfg, instruments={SYM: tight}))
    mid = 100_000
    for i, (dm, pu, pd, pw, fill_side, fill_lots) in enumerate(steps):
        mid += dm
        t = T0 + i * 1_000_000
        d = eng.on_book(SYM, book(mid - 1, mid + 1, ts_ns=t), pred(pu, pd, pw, ts_ns=t), now_ns=t)
        stt = eng.state(SYM)
        for side, q in ((Side.BID, stt.bid), (Side.ASK, stt.ask)):
            if q is None:
                continue
            assert q.lots % tight.size_step_lots == 0 and q.lots >= tight.min_size_lots
            after = stt.position_lots + int(side) * q.lots
            assert abs(after) <= 25
            assert abs(after) * inst.price(q.px) * inst.lot_size <= Decimal("200")
        if d.bid and d.ask:
            assert d.bid.px < d.ask.px and d.bid.px < mid + 1 and d.ask.px > mid - 1
        live = stt.bid if fill_side == 1 else stt.ask if fill_side == 2 else None
        if live is not None and fill_lots:
            eng.on_fill(SYM, Side.BID if fill_side == 1 else Side.ASK, min(fill_lots, live.lots))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tick=st.sampled_from(["0.1", "0.01", "0.00001", "0.5", "25", "0.0000001"]),
       lot=st.sampled_from(["0.001", "1", "0.00001", "0.1", "100"]),
       notional=st.floats(min_value=1e-3, max_value=1e12, allow_nan=False, allow_infinity=False),
       max_pos=st.integers(1, 10**7), px=st.integers(-10, 10**16), position=st.integers(-10**8, 10**8))
def test_integer_lot_limits_equal_the_decimal_ones(cfg, tick, lot, notional, max_pos, px, position):
    """LotLimits (the engine's integer path) == max_lots_within_limits (exact Decimals)."""
    from control.quoting.risk import LotLimits, max_lots_within_limits

    inst = dataclasses.replace(cfg.instruments[SYM], tick_size=Decimal(tick), lot_size=Decimal(lot),
                               limits=RiskLimits(max_pos, notional, 20))
    lim = LotLimits(inst)
    for side in (Side.BID, Side.ASK):
        assert lim.room(side, px, position) == max_lots_within_limits(inst, side, px, position)


def test_engine_on_real_data_equals_the_decimal_limits_and_pull_reasons(cfg):
    """Over the bundled real capture (with positions, unhealthy, invalid and stale moments mixed in):
    the engine's decisions equal those of an engine whose size limits take the Decimal path, and every
    pull lists exactly pull_reasons()."""
    from pathlib import Path

    import numpy as np

    from control.book.replay import load_records
    from control.prediction import Prediction
    from control.quoting.risk import max_lots_within_limits, pull_reasons

    class _DecimalLimits:
        def __init__(self, inst):
            self.inst = inst

        def room(self, side, px, position):
            return max_lots_within_limits(self.inst, side, px, position)

    capture = Path(__file__).resolve().parents[2] / "data" / "binance" / "btcusdt_20240718.gz"
    recs, _ = load_records([capture], levels=10)
    fast, ref = QuotingEngine(cfg), QuotingEngine(cfg)
    ref.state(SYM).lot_limits = _DecimalLimits(cfg.instruments[SYM])
    rng = np.random.default_rng(3)
    p = rng.random((len(recs), 3)) * [0.6, 0.6, 0.9]
    for i, r in enumerate(recs):
        ts = int(r["ts_ns"])
        pred = None if i % 501 == 0 else Prediction(int(r["seq"]), ts, (0, 0, 0, 0), *p[i], 2_000_000_000, "h", "cpu")
        kw = dict(now_ns=ts + (3_000_000_000 if i % 307 == 0 else 0), backend_healthy=i % 211 != 0,
                  prediction_invalid=i % 97 == 0)
        if i % 50 == 0:
            pos = int(rng.integers(-120, 120))
            for e in (fast, ref):
                e.set_position(SYM, pos)
        d = fast.on_book(SYM, r, pred, **kw)
        assert d == ref.on_book(SYM, r, pred, **kw), i
        pulls = pull_reasons(bid_px=int(r["bid_px"][0]), ask_px=int(r["ask_px"][0]), flags=int(r["flags"]),
                             prediction=pred, prediction_invalid=kw["prediction_invalid"],
                             backend_healthy=kw["backend_healthy"], now_ns=kw["now_ns"])
        if pulls:
            assert d.pulled and d.reasons == tuple(pulls)
