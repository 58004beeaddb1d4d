"""The sorted-list L2 book against a naive dict model, under random update sequences."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from control.book.l2 import BookSide, L2Book

updates = st.lists(st.tuples(st.integers(1, 60), st.integers(0, 5)), max_size=300)


@settings(max_examples=200, deadline=None)
@given(ups=updates, is_bid=st.booleans(), n=st.integers(1, 12))
def test_side_matches_model(ups: list[tuple[int, int]], is_bid: bool, n: int) -> None:
    side = BookSide(is_bid)
    model: dict[int, int] = {}
    for px, sz in ups:
        side.set(px, sz)
        if sz:
            model[px] = sz
        else:
            model.pop(px, None)
        order = sorted(model, reverse=is_bid)
        assert side.top(n) == (order[:n], [model[p] for p in order[:n]])
        assert side.best() == ((order[0], model[order[0]]) if order else (0, 0))
        assert len(side) == len(model)


def test_load_skips_zero_sizes_and_sorts() -> None:
    book = L2Book()
    book.load(((10, 1), (12, 0), (11, 2)), ((14, 3), (13, 0), (15, 1)))
    assert book.bids.top(5) == ([11, 10], [2, 1])
    assert book.asks.top(5) == ([14, 15], [3, 1])
    assert not book.crossed()
    book.apply(((14, 7),), ())
    assert book.crossed()       # bid 14 >= ask 14: locked
    book.clear()
    assert book.bids.top(3) == ([], []) and not book.crossed()
