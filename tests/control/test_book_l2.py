"""The blocked L2 book kernels against a naive dict model, under random update sequences."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from control.book import kernels as K

updates = st.lists(st.tuples(st.integers(1, 400), st.integers(0, 5)), max_size=600)


def _top(side: K.BookSideArrays, n: int, sign: int) -> tuple[list[int], list[int]]:
    px = np.zeros(n, np.int64)
    sz = np.zeros(n, np.int64)
    k = K.side_top(side.keys, side.vals, side.ix, n, sign, px, sz)
    return px[:k].tolist(), sz[:k].tolist()


@settings(max_examples=150, deadline=None)
@given(ups=updates, is_bid=st.booleans(), n=st.integers(1, 300))
def test_side_matches_model(ups: list[tuple[int, int]], is_bid: bool, n: int) -> None:
    side = K.BookSideArrays(max_blocks=2)          # starts tiny: exercises grow() and block splits
    sign = 1 if is_bid else -1
    model: dict[int, int] = {}
    for i, (p, s) in enumerate(ups):
        if side.free_blocks < 2:
            side.grow(2)
        K.side_set(side.keys, side.vals, side.ix, p * sign, s)
        if s:
            model[p] = s
        else:
            model.pop(p, None)
        if i % 37 == 0 or i == len(ups) - 1:
            order = sorted(model, reverse=is_bid)[:n]
            assert _top(side, n, sign) == (order, [model[q] for q in order])
            assert side.levels == len(model)
            assert side.free_blocks + int(side.ix[1]) == side.keys.shape[0]


@settings(max_examples=100, deadline=None)
@given(bids=updates, asks=updates, levels=st.integers(1, 12))
def test_apply_and_emit_top_n(bids: list[tuple[int, int]], asks: list[tuple[int, int]], levels: int) -> None:
    st_ = K.new_state(levels, futures=True, bbo_mode=False)
    b, a = K.BookSideArrays(max_blocks=700), K.BookSideArrays(max_blocks=700)
    lv = np.array(bids + [(p + 1000, s) for p, s in asks], dtype=np.int64).reshape(-1, 2)
    K.apply_levels(st_, b.keys, b.vals, b.ix, a.keys, a.vals, a.ix, lv[:, 0].copy(), lv[:, 1].copy(),
                   len(bids), len(asks))
    mb: dict[int, int] = {}
    ma: dict[int, int] = {}
    for model, seq, off in ((mb, bids, 0), (ma, asks, 1000)):
        for p, s in seq:
            if s:
                model[p + off] = s
            else:
                model.pop(p + off, None)
    out = np.zeros((2, K.record_width(levels)), np.int64)
    st_[K.S_TBUY] = 7
    crossed = K.emit(st_, b.keys, b.vals, b.ix, a.keys, a.vals, a.ix, out, 11, 12, 13)
    row = out[0]
    tb = sorted(mb, reverse=True)[:levels]
    ta = sorted(ma)[:levels]
    L = levels
    assert row[:4].tolist() == [0, 11, 12, 13]
    assert row[4:4 + L].tolist() == tb + [0] * (L - len(tb))
    assert row[4 + L:4 + 2 * L].tolist() == [mb[p] for p in tb] + [0] * (L - len(tb))
    assert row[4 + 2 * L:4 + 3 * L].tolist() == ta + [0] * (L - len(ta))
    assert row[4 + 3 * L:4 + 4 * L].tolist() == [ma[p] for p in ta] + [0] * (L - len(ta))
    assert row[4 + 4 * L:].tolist() == [7, 0, K.FLAG_IN_SYNC | K.FLAG_RESET]
    assert not crossed                       # asks are all above 1000 > every bid
    assert st_[K.S_TBUY] == 0 and st_[K.S_SEQ] == 1 and st_[K.S_PENDING_RESET] == 0
