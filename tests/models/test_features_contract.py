"""The feature contract (models/FEATURES.md) on a hand-computed stream, its primitives against their
definitions, and the input checks. Both pipelines (numpy, streaming) must give the same integers."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.features import StreamingFeatures, bitlen, compute_features, ratio
from models.fixedpoint import RECIP, FeatureInputError
from models.record import FLAG_IN_SYNC, FLAG_RESET, empty_records

# (bid_px, bid_sz, ask_px, ask_sz, trade_buy, trade_sell, ts_ns, flags); derivations in the comments of
# EXPECTED below, written from FEATURES.md by hand (RECIP[m - 128] = floor(65536 / m)).
ROWS = [
    ([100, 99, 98, 97, 96], [10, 20, 30, 40, 50], [101, 102, 103, 104, 105], [30, 10, 10, 10, 10], 2, 0,
     1_000_000, FLAG_RESET | FLAG_IN_SYNC),
    ([101, 99, 98, 97, 96], [10, 20, 30, 40, 50], [101, 102, 103, 104, 105], [30, 10, 10, 10, 10], 0, 0,
     3_000_000, FLAG_IN_SYNC),                       # locked book: invalid, must not update state
    ([100, 99, 98, 97, 96], [10, 20, 30, 40, 50], [102, 103, 104, 105, 106], [5, 10, 10, 10, 10], 0, 0,
     3_500_000, FLAG_IN_SYNC),
    ([100, 99, 98, 97, 96], [10, 20, 30, 40, 50], [102, 103, 104, 105, 106], [5, 10, 10, 10, 10], 0, 0,
     4_000_000, FLAG_RESET | FLAG_IN_SYNC),          # RESET: state cleared
]
# spread imb1 imb2 imb3 imb5 wimb micro ofi dmid tf tact vol age gap bshare ashare
EXPECTED = np.array([
    # r0: imb1 = -20*409 >> 7 = -64; imb2 = -10*468 >> 8 = -19; imb3 = 10*297 >> 8 = 11; imb5 = 80*297 >> 9
    # = 46; wimb = 100*436 >> 11 = 21; micro = 1*-64 >> 1; tf = 32*512 >> 7 -> 127; tact = bitlen(32) << 1;
    # shares 10*436 >> 9 = 8, 30*468 >> 8 = 54
    [0, -64, -19, 11, 46, 21, -32, 0, 0, 127, 12, 0, 0, 0, 8, 54],
    # r1 (invalid): spread -1 -> 0; ofi eB=10 (bid up), eA=0: 10*409 >> 8 = 15; dmid2 = 1 -> 16; tf 28/28:
    # 28*292 >> 6 = 127; tact bitlen(28) << 1 = 10; vol 256 >> 5 = 8; age, gap bitlen(2e6 >> 10) << 2 = 44
    [0, -64, -19, 11, 46, 21, 0, 15, 16, 127, 10, 8, 44, 44, 8, 54],
    # r2: state still from r0. imb1 5*273 >> 5 = 42; imb2 15*364 >> 7 = 42; imb3 35*385 >> 8 = 52; imb5
    # 105*336 >> 9 = 68; wimb 225*276 >> 10 = 60; micro 2*42 >> 1 = 42; ofi eB=0, eA=-30: 30*297 >> 7 = 69;
    # age, gap bitlen(2.5e6 >> 10) << 2 = 48; ashare 5*364 >> 7 = 14
    [4, 42, 42, 52, 68, 60, 42, 69, 16, 127, 10, 8, 48, 48, 8, 14],
    # r3: RESET: every stateful feature restarts
    [4, 42, 42, 52, 68, 60, 42, 0, 0, 0, 0, 0, 0, 0, 8, 14],
], dtype=np.int8)


def _records(rows=ROWS, levels=5):
    r = empty_records(len(rows), levels)
    for i, (bp, bs, ap, as_, tb, tsell, ts, fl) in enumerate(rows):
        r["bid_px"][i], r["bid_sz"][i], r["ask_px"][i], r["ask_sz"][i] = bp, bs, ap, as_
        r["trade_buy"][i], r["trade_sell"][i], r["ts_ns"][i], r["flags"][i], r["seq"][i] = tb, tsell, ts, fl, i
    return r


def test_hand_computed_stream_numpy(cfg):
    feats, invalid = compute_features(_records(), cfg)
    np.testing.assert_array_equal(feats, EXPECTED)
    np.testing.assert_array_equal(invalid, [False, True, False, False])


def test_hand_computed_stream_streaming(cfg):
    recs = _records()
    s = StreamingFeatures(cfg)
    for i in range(len(recs)):
        f, inv = s.update(recs[i])
        np.testing.assert_array_equal(f, EXPECTED[i])
        assert inv == (i == 1)
    feats, invalid = StreamingFeatures(cfg).run(recs)
    np.testing.assert_array_equal(feats, EXPECTED)


def test_ten_level_records_use_first_five(cfg):
    r5 = _records()
    r10 = empty_records(len(r5), 10)
    for name in r5.dtype.names:
        if r5.dtype[name].shape:
            r10[name][:, :5] = r5[name]
            r10[name][:, 5:] = 7   # levels beyond book.levels must not matter
        else:
            r10[name] = r5[name]
    np.testing.assert_array_equal(compute_features(r10, cfg)[0], EXPECTED)
    np.testing.assert_array_equal(StreamingFeatures(cfg).run(r10)[0], EXPECTED)


def test_recip_table():
    assert RECIP[0] == 512 and RECIP[127] == 257 and RECIP.max() < 1024   # 10 bits
    assert all(RECIP[j] == 65536 // (128 + j) for j in range(128))


@settings(max_examples=300, deadline=None)
@given(num=st.integers(-(1 << 36), 1 << 36), den=st.integers(-5, 1 << 36))
def test_ratio_matches_definition(num, den):
    if den <= 0:
        want = 0
    else:
        s = den.bit_length() - 8
        m = den >> s if s >= 0 else den << -s
        want = min(max((num * (65536 // m)) >> (s + 9), -128), 127)
    assert int(ratio(np.array([num]), np.array([den]))[0]) == want


@settings(max_examples=200, deadline=None)
@given(x=st.integers(0, (1 << 62)))
def test_bitlen(x):
    assert int(bitlen(np.array([x], dtype=np.int64))[0]) == x.bit_length()


def test_missing_reset_on_first_record_is_a_stream_start(cfg):
    r = _records()
    r["flags"][0] = FLAG_IN_SYNC
    np.testing.assert_array_equal(compute_features(r, cfg)[0], EXPECTED)
    np.testing.assert_array_equal(StreamingFeatures(cfg).run(r)[0], EXPECTED)


@pytest.mark.parametrize("field,value,msg", [
    ("bid_sz", -1, r"record 2 \(seq 2\): bid_sz"),
    ("ask_px", 1 << 31, r"record 2 \(seq 2\): ask_px"),
    ("trade_sell", 1 << 32, r"record 2 \(seq 2\): trade_sell"),
])
def test_out_of_range_input_is_refused(cfg, field, value, msg):
    r = _records()
    if r.dtype[field].shape:
        r[field][2, 0] = value
    else:
        r[field][2] = value
    with pytest.raises(FeatureInputError, match=msg):
        compute_features(r, cfg)
    with pytest.raises(FeatureInputError, match=msg):
        StreamingFeatures(cfg).run(r)
    s = StreamingFeatures(cfg)
    s.update(r[0])
    s.update(r[1])
    with pytest.raises(FeatureInputError, match=r"record 0 \(seq 2\)"):
        s.update(r[2])


def test_too_few_levels_and_wrong_dtype(cfg):
    with pytest.raises(FeatureInputError, match="3 book levels"):
        compute_features(empty_records(4, 3), cfg)
    with pytest.raises(FeatureInputError, match="lack field 'seq'"):
        compute_features(np.zeros(3, dtype=[("ts_ns", "i8")]), cfg)
    with pytest.raises(FeatureInputError, match="3 book levels"):
        StreamingFeatures(cfg).update_at(empty_records(4, 3), 0)


def test_warm_up_leaves_state_alone(cfg):
    s = StreamingFeatures(cfg)
    recs = _records()
    s.update(recs[0])
    before = s.state.copy()
    s.warm_up()
    np.testing.assert_array_equal(s.state, before)
    np.testing.assert_array_equal(s.update(recs[1])[0], EXPECTED[1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pipelines_agree_on_corner_cases(cfg, seed):
    """The real data hold no invalid record and one RESET per stream, so the two pipelines are also
    held equal on streams dense in corner cases: invalid (locked / crossed / empty) touches, RESETs
    (some on invalid records), timestamps going backwards, empty levels, bursts of trades."""
    rng = np.random.default_rng(seed)
    n = 20000
    r = empty_records(n, 5)
    mid = 100000 + np.cumsum(rng.integers(-2, 3, n))
    spr = rng.integers(1, 4, n)
    for k in range(5):
        r["bid_px"][:, k] = mid - k
        r["ask_px"][:, k] = mid + spr + k
        r["bid_sz"][:, k] = rng.integers(0, 5000, n) * (rng.random(n) > 0.05)
        r["ask_sz"][:, k] = rng.integers(0, 5000, n) * (rng.random(n) > 0.05)
    bad = rng.random(n)
    r["ask_px"][bad < 0.02, 0] = r["bid_px"][bad < 0.02, 0]            # locked
    r["ask_px"][(bad > 0.02) & (bad < 0.03), 0] -= 10                   # crossed
    r["bid_px"][(bad > 0.03) & (bad < 0.035), 0] = 0                    # empty bid
    r["ts_ns"] = np.cumsum(rng.integers(0, 10**7, n))
    r["ts_ns"][rng.random(n) < 0.01] -= 10**7                           # clock steps back
    r["trade_buy"] = rng.integers(0, 3, n) * rng.integers(0, 10**6, n)
    r["trade_sell"] = rng.integers(0, 3, n) * rng.integers(0, 10**6, n)
    r["flags"] = FLAG_IN_SYNC
    r["flags"][rng.random(n) < 0.002] |= FLAG_RESET
    r["flags"][bad < 0.0005] |= FLAG_RESET                              # RESET on an invalid record
    r["seq"] = np.arange(n)
    feats, invalid = compute_features(r, cfg)
    assert 0.03 < invalid.mean() < 0.05
    s_feats, s_invalid = StreamingFeatures(cfg).run(r)
    np.testing.assert_array_equal(s_feats, feats)
    np.testing.assert_array_equal(s_invalid, invalid)
    s = StreamingFeatures(cfg)
    np.testing.assert_array_equal(np.array([s.update(r[i])[0] for i in range(3000)]), feats[:3000])
