"""A third, literal transcription of models/FEATURES.md in plain Python ints (no numpy, no numba),
held equal to the vectorized pipeline on real records and on a corner-case stream. It guards against
a misreading shared by the two production pipelines."""
from __future__ import annotations

import numpy as np

from models.features import compute_features
from models.record import FLAG_RESET


def _sat(x, lo=-128, hi=127):
    return min(max(x, lo), hi)


def _scale(x, shift):
    return x << shift if shift >= 0 else x >> -shift


def _ratio(num, den):
    if den <= 0:
        return 0
    s = den.bit_length() - 8
    m = den >> s if s >= 0 else den << -s
    return _sat((num * ((1 << 16) // m)) >> (s + 9))


def literal(records, cfg):
    L = cfg.levels
    d = cfg.features.decay
    st = None
    out, inval = [], []
    for i, r in enumerate(records.tolist()):
        rec = dict(zip(records.dtype.names, r, strict=True))   # Python ints: no silent overflow
        bpx, bsz = [int(v) for v in rec["bid_px"][:L]], [int(v) for v in rec["bid_sz"][:L]]
        apx, asz = [int(v) for v in rec["ask_px"][:L]], [int(v) for v in rec["ask_sz"][:L]]
        ts = int(rec["ts_ns"])
        if i == 0 or rec["flags"] & FLAG_RESET:
            st = dict(have_prev=0, pb=0, pa=0, pB=0, pA=0, p_ts=ts, last_chg=ts, tfs=0, tft=0, vol=0)
        b, a, B, A = bpx[0], apx[0], bsz[0], asz[0]
        dmid2 = (a + b) - (st["pa"] + st["pb"]) if st["have_prev"] else 0
        tfs = st["tfs"] - (st["tfs"] >> d.trade_flow_shift) + ((rec["trade_buy"] - rec["trade_sell"]) << d.trade_flow_prescale)
        tft = st["tft"] - (st["tft"] >> d.trade_flow_shift) + ((rec["trade_buy"] + rec["trade_sell"]) << d.trade_flow_prescale)
        vol = st["vol"] - (st["vol"] >> d.volatility_shift) + (abs(dmid2) << d.volatility_prescale)
        imb_l1 = _ratio(B - A, B + A)
        row = []
        for s in cfg.features.specs:
            lo, hi = s.range
            if s.kind == "spread":
                v = _scale(a - b - 1, s.shift)
            elif s.kind == "imbalance":
                v = _ratio(sum(bsz[:s.levels]) - sum(asz[:s.levels]), sum(bsz[:s.levels]) + sum(asz[:s.levels]))
            elif s.kind == "weighted_imbalance":
                v = _ratio(sum(w * (x - y) for w, x, y in zip(s.weights, bsz, asz, strict=True)),
                           sum(w * (x + y) for w, x, y in zip(s.weights, bsz, asz, strict=True)))
            elif s.kind == "microprice":
                v = ((a - b) * imb_l1) >> 1
            elif s.kind == "ofi":
                if not st["have_prev"]:
                    v = 0
                else:
                    eB = B if b > st["pb"] else B - st["pB"] if b == st["pb"] else -st["pB"]
                    eA = A if a < st["pa"] else A - st["pA"] if a == st["pa"] else -st["pA"]
                    v = _ratio(eB - eA, B + A + st["pB"] + st["pA"])
            elif s.kind == "mid_change":
                v = _scale(dmid2, s.shift)
            elif s.kind == "trade_flow":
                v = _ratio(tfs, tft)
            elif s.kind == "trade_activity":
                v = _scale(tft.bit_length(), s.shift)
            elif s.kind == "volatility":
                v = _scale(vol, s.shift)
            elif s.kind == "mid_age":
                v = _scale((max(ts - st["last_chg"], 0) >> 10).bit_length(), s.shift)
            elif s.kind == "event_gap":
                v = _scale((max(ts - st["p_ts"], 0) >> 10).bit_length(), s.shift)
            else:
                v = _ratio(B, sum(bsz)) if s.side == "bid" else _ratio(A, sum(asz))
            row.append(_sat(v, lo, hi))
        invalid = b <= 0 or a <= 0 or a <= b
        if not invalid:
            st.update(have_prev=1, pb=b, pa=a, pB=B, pA=A, p_ts=ts, tfs=tfs, tft=tft, vol=vol)
            if dmid2 != 0:
                st["last_chg"] = ts
        out.append(row)
        inval.append(invalid)
    return np.array(out, dtype=np.int8), np.array(inval)


def test_literal_equals_pipeline_on_real_records(cfg, real_streams):
    for name in ("btc2024", "amzn5"):
        recs = real_streams[name][:6000]
        f, inv = compute_features(recs, cfg)
        lf, linv = literal(recs, cfg)
        np.testing.assert_array_equal(f, lf)
        np.testing.assert_array_equal(inv, linv)


def test_literal_equals_pipeline_on_corner_cases(cfg, real_streams):
    recs = real_streams["eth2024"][:6000].copy()
    rng = np.random.default_rng(11)
    bad = rng.random(len(recs))
    recs["ask_px"][bad < 0.03, 0] = recs["bid_px"][bad < 0.03, 0]       # locked books
    recs["bid_px"][(bad > 0.03) & (bad < 0.04), 0] = 0                  # empty bid
    recs["flags"][bad > 0.997] |= FLAG_RESET
    recs["ts_ns"][rng.random(len(recs)) < 0.01] -= 10**8                # clock steps back
    f, inv = compute_features(recs, cfg)
    lf, linv = literal(recs, cfg)
    assert linv.sum() > 100
    np.testing.assert_array_equal(f, lf)
    np.testing.assert_array_equal(inv, linv)
