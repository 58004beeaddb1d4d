"""Book statistics of a record stream (`quoteguard feed stats`): spread and touch-depth
distributions, update and trade rates. Pure numpy over models.record arrays, so the same numbers come
out for Binance and LOBSTER streams."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.record import FLAG_IN_SYNC

PERCENTILES = (1, 10, 50, 90, 99)


@dataclass(frozen=True)
class BookProfile:
    records: int
    in_sync: int
    duration_s: float                 # exchange time spanned by the records
    updates_per_s: float
    trades_buy_lots: int
    trades_sell_lots: int
    spread_ticks: dict[str, float]    # percentiles of best ask - best bid (two-sided rows only)
    one_tick_share: float             # share of two-sided rows with a one-tick spread
    touch_bid_lots: dict[str, float]
    touch_ask_lots: dict[str, float]
    depth_bid_lots: dict[str, float]  # sum over the record's levels
    depth_ask_lots: dict[str, float]
    one_sided: int                    # rows with an empty side
    crossed: int                      # rows with best bid >= best ask

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def _pct(x: np.ndarray) -> dict[str, float]:
    if len(x) == 0:
        return {f"p{p}": 0.0 for p in PERCENTILES}
    vals = np.percentile(x, PERCENTILES)
    return {f"p{p}": float(v) for p, v in zip(PERCENTILES, vals, strict=True)}


def profile(records: np.ndarray) -> BookProfile:
    synced = records[(records["flags"] & FLAG_IN_SYNC) != 0]
    b, a = synced["bid_px"][:, 0], synced["ask_px"][:, 0]
    two = (b > 0) & (a > 0)
    spread = (a - b)[two]
    ts = synced["ts_ns"]
    dur = float(ts.max() - ts.min()) / 1e9 if len(ts) > 1 else 0.0
    return BookProfile(
        records=len(records),
        in_sync=len(synced),
        duration_s=dur,
        updates_per_s=len(synced) / dur if dur > 0 else 0.0,
        trades_buy_lots=int(records["trade_buy"].sum()),
        trades_sell_lots=int(records["trade_sell"].sum()),
        spread_ticks=_pct(spread[spread > 0]),
        one_tick_share=float((spread == 1).mean()) if len(spread) else 0.0,
        touch_bid_lots=_pct(synced["bid_sz"][:, 0][two]),
        touch_ask_lots=_pct(synced["ask_sz"][:, 0][two]),
        depth_bid_lots=_pct(synced["bid_sz"].sum(axis=1)[two]),
        depth_ask_lots=_pct(synced["ask_sz"].sum(axis=1)[two]),
        one_sided=int((~two).sum()),
        crossed=int((spread <= 0).sum()),
    )
