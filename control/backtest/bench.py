"""Speed of the quoting engine and the backtest on real data (run: python -m control.backtest.bench).

Prints: per-decision latency of QuotingEngine.on_book (p50/p99, µs), RFQ pricing latency, and the
backtest's throughput (records/s for one arm, wall time for all arms) on a recorded capture. Times
are from time.perf_counter_ns on whatever machine runs it: a shared machine gives noisy figures.
"""
from __future__ import annotations

import argparse
import json
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

from control.backtest.arrays import neutral_predictions
from control.backtest.data import load_replay, predict
from control.backtest.run import BacktestSettings, run_backtest
from control.backtest.simulator import simulate
from control.prediction import Prediction
from control.quoting import (
    OptionContract,
    OptionKind,
    QuotingEngine,
    RfqPricer,
    RfqRequest,
    RfqSide,
    load_config,
)

DEFAULT_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "binance" / "usdm"


def _pct(ns: np.ndarray) -> dict[str, float]:
    return {"p50_us": round(float(np.percentile(ns, 50)) / 1e3, 2), "p99_us": round(float(np.percentile(ns, 99)) / 1e3, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="*", type=Path,
                    default=[DEFAULT_DATA / "btcusdt_20240718.gz", DEFAULT_DATA / "btcusdt_20240719.gz"])
    ap.add_argument("--model", default="qg_mlp")
    args = ap.parse_args()

    rd = load_replay(args.data)
    cfg = load_config()
    sym = rd.instrument.symbol
    recs = rd.records
    out: dict[str, object] = {"data": [str(p) for p in args.data], "records": len(recs), "trades": len(rd.trades)}

    # 1. one decision
    eng = QuotingEngine(cfg)
    lat = np.empty(len(recs), np.int64)
    for i in range(len(recs)):
        ts = int(recs["ts_ns"][i])
        p = Prediction(int(recs["seq"][i]), ts, (), 0.2, 0.1, 0.5, 2_000_000_000, "", "cpu")
        t0 = time.perf_counter_ns()
        eng.on_book(sym, recs[i], p, now_ns=ts)
        lat[i] = time.perf_counter_ns() - t0
    out["on_book"] = _pct(lat)

    # 2. one RFQ
    pricer = RfqPricer(cfg, eng)
    now = int(recs["ts_ns"][-1])
    rfq = np.empty(2000, np.int64)
    for k in range(len(rfq)):
        req = RfqRequest(str(k), OptionContract(sym, Decimal(60000 + 100 * (k % 50)), now + 7 * 86_400 * 10**9,
                                                OptionKind.CALL if k % 2 else OptionKind.PUT), RfqSide.TWO_SIDED, Decimal("1"))
        t0 = time.perf_counter_ns()
        pricer.price(req, now_ns=now)
        rfq[k] = time.perf_counter_ns() - t0
    out["rfq_price"] = _pct(rfq)

    # 3. backtest throughput
    t0 = time.perf_counter()
    simulate(recs, neutral_predictions(len(recs)), rd.trades, QuotingEngine(cfg), sym, latency_ns=5_000_000,
             horizon_ns=2_000_000_000)
    one = time.perf_counter() - t0
    out["simulate_one_arm_s"] = round(one, 3)
    out["simulate_records_per_s"] = round(len(recs) / one)
    t0 = time.perf_counter()
    mp = predict(recs, args.model)
    out["predict_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    run_backtest(recs, rd.trades, cfg, BacktestSettings(sym, latency_ns=5_000_000, horizon_ns=mp.horizon_ns),
                 preds=mp.preds)
    out["run_backtest_three_arms_s"] = round(time.perf_counter() - t0, 3)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
