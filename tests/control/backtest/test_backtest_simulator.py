"""The fill simulator on hand-made scenarios with exact expected fills, and its no-look-ahead rule."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from control.backtest.arrays import (
    BUY,
    PRED_DTYPE,
    SELL,
    TRADE_DTYPE,
    BacktestInputError,
    neutral_predictions,
)
from control.backtest.simulator import simulate
from control.quoting import QuotingEngine, load_config
from models.record import FLAG_IN_SYNC, empty_records

SYM = "BTCUSDT"


def trades(rows):
    """rows: (recv_ns, px, lots, side)."""
    t = np.zeros(len(rows), dtype=TRADE_DTYPE)
    for k, (tr, px, lots, side) in enumerate(rows):
        t[k] = (tr, tr, px, lots, side)
    return t


def config_1bp():
    """The default config with the half-spread floor pinned at 1 bp (10 ticks at a 100000-tick mid),
    so the exact prices below survive retuning of default.yaml."""
    return load_config().with_spread(floor_bp=1.0)


def run(records, tr, preds=None, latency_ns=0):
    eng = QuotingEngine(config_1bp())
    p = neutral_predictions(len(records)) if preds is None else preds
    return simulate(records, p, tr, eng, SYM, latency_ns=latency_ns, horizon_ns=10**9), eng


# r0 quotes 99990 / 100010 x 10 lots (1 bp floor around a 100000-tick mid)
SCENARIO_RECORDS = [(1000, 99_999, 100_001), (3000, 99_949, 99_951)]
SCENARIO_TRADES = [
    (1500, 99_995, 3, SELL),     # above our bid: no fill
    (2000, 99_990, 3, SELL),     # at our bid: fills 3
    (2500, 100_020, 20, BUY),    # through our ask: fills our 10, not the trade's 20
    (2600, 100_030, 5, BUY),     # our ask is used up
]


def test_fills_at_and_through_our_price(recs):
    res, eng = run(recs(SCENARIO_RECORDS), trades(SCENARIO_TRADES))
    f = res.fills
    assert f["recv_ns"].tolist() == [2000, 2500]
    assert f["px"].tolist() == [99_990, 100_010]      # our price, not the trade's
    assert f["lots"].tolist() == [3, 10]
    assert f["side"].tolist() == [1, -1]
    assert f["trade"].tolist() == [1, 2] and f["record"].tolist() == [0, 0]
    assert eng.position(SYM) == -7
    assert res.trace["bid_px"][0] == 99_990 and res.trace["ask_px"][0] == 100_010
    assert res.trace["position"].tolist() == [0, -7]


def test_latency_delays_the_quote(recs):
    # With 600 ns latency the r0 quote is live at 1600: a trade at 1500 through our bid cannot fill it.
    tr = trades([(1500, 99_980, 3, SELL), (2000, 99_990, 2, SELL)])
    res, _ = run(recs(SCENARIO_RECORDS), tr, latency_ns=600)
    assert res.fills["recv_ns"].tolist() == [2000] and res.fills["lots"].tolist() == [2]
    res0, _ = run(recs(SCENARIO_RECORDS), tr, latency_ns=0)
    assert res0.fills["lots"].tolist() == [3, 2]


def test_old_quote_stands_until_the_replacement_is_live(recs):
    # r1 at 3000 moves the market 50 bp down; with 1000 ns latency the r0 quote (bid 99990) is live
    # until 4000, so a seller at 3500 still hits it at 99990. The jump lifts the volatility estimate
    # to sqrt(50^2 / (30 s / ln 2) x 1 s) = 7.6 bp: the new bid is 99500 - 76 = 99424.
    rows = [(1000, 99_999, 100_001), (3000, 99_499, 99_501)]
    tr = trades([(3500, 99_500, 4, SELL), (4500, 99_424, 4, SELL)])
    res, _ = run(recs(rows), tr, latency_ns=1000)
    assert res.trace["bid_px"][1] == 99_424
    assert res.fills["px"].tolist() == [99_990, 99_424]
    assert res.fills["record"].tolist() == [1, 1]


def test_pulled_quotes_do_not_fill(recs):
    p = neutral_predictions(2)
    p["invalid"][1] = True
    rows = [(1000, 99_999, 100_001), (1100, 99_999, 100_001)]
    res, _ = run(recs(rows), trades([(2000, 99_000, 5, SELL)]), preds=p)
    assert len(res.fills) == 0
    assert res.actions == {"quote": 1, "pull": 1}
    assert res.reason_counts["prediction_invalid"] == 1


def test_no_look_ahead(recs):
    """Changing anything after record k (later records, their predictions, later trades) changes no
    decision or fill before record k's arrival."""
    rng = np.random.default_rng(7)
    n = 400
    t = np.cumsum(rng.integers(1_000_000, 50_000_000, n))
    mid = 100_000 + np.cumsum(rng.integers(-8, 9, n))
    rows = [(int(t[i]), int(mid[i] - 1), int(mid[i] + 1)) for i in range(n)]
    tt = np.sort(rng.integers(t[0], t[-1], 300))
    tpx = mid[np.searchsorted(t, tt) - 1] + rng.integers(-15, 16, 300)
    tr = trades([(int(a), int(b), int(rng.integers(1, 8)), int(rng.choice([BUY, SELL]))) for a, b in zip(tt, tpx, strict=True)])
    preds = np.zeros(n, dtype=PRED_DTYPE)
    preds["p_up"], preds["p_down"], preds["p_withdraw"] = rng.random(n) * 0.9, rng.random(n) * 0.9, rng.random(n)
    full, _ = run(recs(rows), tr, preds, latency_ns=5_000_000)
    k = 200
    cut_rows = rows[:k] + [(a, b - 500, c - 500) for a, b, c in rows[k:]]
    cut_preds = preds.copy()
    cut_preds["p_up"][k:] = 0.99
    cut_tr = tr.copy()
    cut_tr["px"][cut_tr["recv_ns"] > t[k - 1]] += 777
    alt, _ = run(recs(cut_rows), cut_tr, cut_preds, latency_ns=5_000_000)
    before = full.fills["recv_ns"] <= t[k - 1]
    assert before.sum() > 0
    np.testing.assert_array_equal(full.fills[before], alt.fills[alt.fills["recv_ns"] <= t[k - 1]])
    np.testing.assert_array_equal(full.trace[:k], alt.trace[:k])


def test_records_received_out_of_order_are_acted_on_in_stream_order(recs):
    # r1 carries an earlier receive stamp than r0 (a snapshot fetched before the diffs): it is decided
    # at r0's time, so the trade at 1500 still meets r0's quote.
    rows = [(1000, 99_999, 100_001), (900, 99_999, 100_001)]
    res, _ = run(recs(rows), trades([(1500, 99_990, 1, SELL)]))
    assert res.fills["record"].tolist() == [1] and res.fills["px"].tolist() == [99_990]


def test_bad_inputs_are_named(recs):
    r = recs(SCENARIO_RECORDS)
    with pytest.raises(BacktestInputError, match="one per record"):
        run(r, trades(SCENARIO_TRADES), preds=neutral_predictions(3))
    with pytest.raises(BacktestInputError, match="trades recv_ns go backwards at index 1"):
        run(r, trades([(2000, 1, 1, BUY), (1000, 1, 1, BUY)]))
    with pytest.raises(BacktestInputError, match="side"):
        run(r, trades([(2000, 1, 1, 0)]))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), latency_ms=st.integers(0, 300), max_pos=st.integers(5, 40))
def test_position_limit_holds_through_latency(seed, latency_ms, max_pos, recs):
    """Random books, predictions and aggressive trades: however fills fall inside the latency window,
    the position never leaves +-max_position_lots, and no fill exceeds the trade's size."""
    rng = np.random.default_rng(seed)
    n = 120
    t = np.cumsum(rng.integers(1, 80, n)) * 1_000_000
    mid = 100_000 + np.cumsum(rng.integers(-6, 7, n))
    rows = [(int(t[i]), int(mid[i] - 1), int(mid[i] + 1)) for i in range(n)]
    k = 400
    tt = np.sort(rng.integers(t[0], t[-1] + 500_000_000, k))
    ref = mid[np.clip(np.searchsorted(t, tt) - 1, 0, n - 1)]
    sides = rng.choice([BUY, SELL], k)
    tr = trades([(int(a), int(r + s * rng.integers(0, 40)), int(rng.integers(1, 15)), int(s))
                 for a, r, s in zip(tt, ref, sides, strict=True)])
    preds = np.zeros(n, dtype=PRED_DTYPE)
    preds["p_withdraw"] = rng.random(n)
    cfg = config_1bp()
    inst = cfg.instrument(SYM)
    limits = dataclasses.replace(inst.limits, max_position_lots=max_pos)
    cfg = dataclasses.replace(cfg, instruments={SYM: dataclasses.replace(inst, limits=limits)})
    res = simulate(recs(rows), preds, tr, QuotingEngine(cfg), SYM, latency_ns=latency_ms * 1_000_000,
                   horizon_ns=10**9)
    pos = np.cumsum(res.fills["side"].astype(np.int64) * res.fills["lots"])
    assert np.all(np.abs(pos) <= max_pos)
    assert np.all(res.fills["lots"] <= tr["lots"][res.fills["trade"]])


def test_trade_match_times_never_later_than_arrival():
    from control.backtest.arrays import trade_match_times
    # clock offset -1000 ns (receive clock behind the venue's), one message delayed by 700 ns more
    tr = trades([(1000, 0, 1, BUY), (2000, 0, 1, BUY), (3000, 0, 1, BUY)])
    tr["ts_ns"] = [2000, 2300, 4000]
    np.testing.assert_array_equal(trade_match_times(tr), [1000, 1300, 3000])
    # the offset is local: a clock step far away (beyond the window) does not leak in
    far = trades([(1000, 0, 1, BUY), (10**12, 0, 1, BUY)])
    far["ts_ns"] = [1000, 10**12 - 5000]
    np.testing.assert_array_equal(trade_match_times(far, window_ns=10**9), [1000, 10**12])
    assert len(trade_match_times(trades([]))) == 0


def test_late_trade_message_meets_the_quote_live_at_the_match(recs):
    """A trade matched at 2500 whose message arrives at 3600, after r1 (received at 3000) moved the
    market down 50 bp: at the venue it hit the r0 bid (99990), live since 1000. Deciding fills on the
    message's arrival (the old rule) would let r1's requote (live at 3100) dodge it."""
    rows = [(1000, 99_999, 100_001), (3000, 99_499, 99_501)]
    tr = trades([(1500, 99_995, 1, SELL), (3600, 99_600, 4, SELL)])
    tr["ts_ns"][1] = 2500
    res, _ = run(recs(rows), tr, latency_ns=100)
    assert res.fills["px"].tolist() == [99_990] and res.fills["lots"].tolist() == [4]
    assert res.fills["recv_ns"].tolist() == [3600]          # stamped when we see it
    assert res.fills["record"].tolist() == [0]              # the last decision before the match
    eng = QuotingEngine(config_1bp())
    old = simulate(recs(rows), neutral_predictions(2), tr, eng, SYM, latency_ns=100, horizon_ns=10**9,
                   fill_clock="receive")
    assert len(old.fills) == 0
    with pytest.raises(ValueError, match="fill_clock"):
        simulate(recs(rows), neutral_predictions(2), tr, QuotingEngine(config_1bp()), SYM, latency_ns=0,
                 horizon_ns=10**9, fill_clock="exchange")


def ladder_records(rows, depth_lots=7):
    """rows: (recv_ns, bid, ask) -> records whose 10 levels a side run one tick apart from the touch,
    each `depth_lots` deep: our 1 bp quote (10 ticks off a 100000 mid) sits on the 10th level."""
    r = empty_records(len(rows))
    for k, (t, b, a) in enumerate(rows):
        r[k]["seq"], r[k]["ts_ns"], r[k]["recv_ns"], r[k]["flags"] = k, t, t, FLAG_IN_SYNC
        r[k]["bid_px"], r[k]["ask_px"] = b - np.arange(10), a + np.arange(10)
        r[k]["bid_sz"], r[k]["ask_sz"] = depth_lots, depth_lots
    return r


def run_rule(records, tr, rule, preds=None, latency_ns=0):
    p = neutral_predictions(len(records)) if preds is None else preds
    return simulate(records, p, tr, QuotingEngine(config_1bp()), SYM, latency_ns=latency_ns, horizon_ns=10**9,
                    fill_rule=rule)


LADDER = [(1000, 99_999, 100_001)]          # our bid 99990 = level 10 (7 lots ahead), ask 100010 likewise
LADDER_TRADES = [
    (2000, 99_990, 4, SELL),     # at our bid: 4 of the 7 ahead
    (2100, 99_990, 5, SELL),     # the last 3 ahead, then 2 for us
    (2200, 99_985, 20, SELL),    # through: the rest of our 10
]


@pytest.mark.parametrize("rule, lots", [("at_or_through", [4, 5, 1]), ("queue", [2, 8]), ("through", [10])])
def test_fill_rules_at_our_price(rule, lots):
    res = run_rule(ladder_records(LADDER), trades(LADDER_TRADES), rule)
    assert res.fills["lots"].tolist() == lots
    assert set(res.fills["px"].tolist()) == {99_990}


def test_queue_rule_nothing_ahead_when_we_improve_the_price(recs):
    # Touch 99980 / 100020: our 99990 bid is the best bid, the first seller at it fills us.
    rows = [(1000, 99_980, 100_020)]
    tr = trades([(2000, 99_990, 3, SELL)])
    assert run_rule(recs(rows), tr, "queue").fills["lots"].tolist() == [3]
    assert len(run_rule(recs(rows), tr, "through").fills) == 0


def test_queue_rule_keeps_the_place_of_an_unchanged_side():
    # r1's p_up widens the ask only: the bid is re-sent at the same price and size and keeps its
    # place (3 ahead after the first trade), so the second trade reaches it. Had it gone to the back
    # (7 ahead again) the 5-lot trade would not.
    rows = [(1000, 99_999, 100_001), (1500, 99_999, 100_001)]
    p = neutral_predictions(2)
    p["p_up"][1] = 0.9
    tr = trades([(1200, 99_990, 4, SELL), (2000, 99_990, 5, SELL)])
    res = run_rule(ladder_records(rows), tr, "queue", preds=p)
    assert res.trace["ask_px"][1] > res.trace["ask_px"][0] and res.trace["bid_px"][1] == 99_990
    assert res.fills["lots"].tolist() == [2]


def test_queue_rule_deeper_than_the_records_show(recs):
    # Our bid 99990 is below the single level the records show, so its queue is unknown: a trade at
    # it with the level still out of view reaches others first. r1 (touch 99990 x 5, received 3000)
    # brings it into view; until r1's requote goes live (latency 1000) the old bid stands and takes
    # its queue from r1: 5 ahead, so a 6-lot seller at 3500 leaves 1 for us.
    rows = [(1000, 99_999, 100_001), (3000, 99_990, 99_992)]
    tr = trades([(2000, 99_990, 4, SELL), (3500, 99_990, 6, SELL)])
    res = run_rule(recs(rows), tr, "queue", latency_ns=1000)
    assert res.fills["lots"].tolist() == [1] and res.fills["recv_ns"].tolist() == [3500]


def test_bad_fill_rule_is_named(recs):
    with pytest.raises(ValueError, match="fill_rule"):
        run_rule(recs(LADDER), trades([]), "front")
