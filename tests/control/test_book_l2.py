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


def _full(side: K.BookSideArrays, sign: int) -> tuple[list[int], list[int]]:
    return _top(side, side.levels + 1, sign)


def _diff(draw_pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A diff's updates on one side: one per price (as Binance sends them), in the drawn order."""
    seen: dict[int, int] = {}
    for p, s in draw_pairs:
        seen.setdefault(p, s)
    return list(seen.items())


# prices at the touch of the books above (bids 341-400, asks 1001-1061) and many zero sizes:
# deletions in the top N pull deeper levels, maybe updated in the same diff, into the record
diff_side = st.lists(st.tuples(st.integers(1, 60), st.sampled_from([0, 0, 0, 1, 2, 3])), max_size=80)


@settings(max_examples=300, deadline=None)
@given(book=st.tuples(updates, updates), diffs=st.lists(st.tuples(diff_side, diff_side), min_size=1, max_size=6),
       levels=st.integers(1, 12))
def test_deferred_deep_levels_change_no_record_and_no_book(book, diffs, levels: int) -> None:
    """apply_levels_deferring + emit, then apply_deferred, against apply_levels + emit: the same record
    after every diff (the deferred updates cannot reach the top N) and the same full book after."""
    sides = {}
    for name in ("ref", "lazy"):
        st_ = K.new_state(levels, futures=True, bbo_mode=False)
        b, a = K.BookSideArrays(max_blocks=800), K.BookSideArrays(max_blocks=800)
        for p, s in book[0]:
            K.side_set(b.keys, b.vals, b.ix, p, s)
        for p, s in book[1]:
            K.side_set(a.keys, a.vals, a.ix, -(p + 1000), s)
        sides[name] = (st_, b, a)
    dkey, dsz = np.zeros(K.MAX_LEVELS, np.int64), np.zeros(K.MAX_LEVELS, np.int64)
    for bd, ad in diffs:
        bids, asks = _diff([(401 - p, s) for p, s in bd]), _diff([(p * 7 % 61 + 1, s) for p, s in ad])  # at the touch
        lv = np.array(bids + [(p + 1000, s) for p, s in asks], dtype=np.int64).reshape(-1, 2)
        px, sz = lv[:, 0].copy(), lv[:, 1].copy()
        rows = []
        for name, (st_, b, a) in sides.items():
            arrays = (b.keys, b.vals, b.ix, a.keys, a.vals, a.ix)
            if name == "ref":
                K.apply_levels(st_, *arrays, px, sz, len(bids), len(asks))
            else:
                K.apply_deferred(st_, *arrays, dkey, dsz)          # the previous diff's deep levels
                K.apply_levels_deferring(st_, *arrays, px, sz, len(bids), len(asks), dkey, dsz)
            out = np.zeros((1, K.record_width(levels)), np.int64)
            st_[K.S_NOUT] = 0                                     # one output row, reused
            K.emit(st_, *arrays, out, 1, 2, 3)
            rows.append(out[0].tolist())
        assert rows[0] == rows[1]
    st_, b, a = sides["lazy"]
    K.apply_deferred(st_, b.keys, b.vals, b.ix, a.keys, a.vals, a.ix, dkey, dsz)
    assert st_[K.S_DEFER_B] == st_[K.S_DEFER_A] == 0
    _, rb, ra = sides["ref"]
    assert _full(b, 1) == _full(rb, 1) and _full(a, -1) == _full(ra, -1)


def test_per_line_path_defers_deep_levels_on_real_data() -> None:
    """On the recorded stream most levels of the large diffs are deferred, and the book after
    finish() equals the batch path's at every 500th line, at full depth."""
    from pathlib import Path

    from control.book.replay import load_records
    from control.book.stream import FeedProcessor
    from control.marketdata.source import read_lines

    path = Path(__file__).resolve().parents[1] / "data" / "binance" / "btcusdt_20240718.gz"
    lines = read_lines(path)
    inst = load_records([path], levels=10)[1].instrument
    lazy, ref = FeedProcessor(inst, levels=10), FeedProcessor(inst, levels=10)
    deferred = applied = 0
    for n, ln in enumerate(lines, 1):
        ref.process(ln)
        kind = lazy.decode_one(ln)
        if kind:
            lazy.book_one(kind)
            applied += int(lazy._fields[K.F_NBID] + lazy._fields[K.F_NASK]) if kind == K.K_DEPTH else 0
            deferred += lazy.finish()
        else:
            lazy.process(ln)
        if n % 500 == 0 or n == len(lines):
            for x, y, sign in ((lazy.book.bids, ref.book.bids, 1), (lazy.book.asks, ref.book.asks, -1)):
                assert _full(x, sign) == _full(y, sign)
    assert deferred > 0.3 * applied
