"""A tight L2 price-level book: per side a dict price -> size plus a sorted key list.

Keys are stored so that the best level is always index 0 (bids as -price), so the top N is a slice
and an insert or delete is one bisect plus one list memmove; books here hold a few thousand levels,
where that beats trees and heaps in CPython. Prices are ticks, sizes lots, both exact ints.
"""
from __future__ import annotations

from bisect import bisect_left, insort

from control.marketdata.events import Levels


class BookSide:
    __slots__ = ("sizes", "keys", "sign")

    def __init__(self, is_bid: bool) -> None:
        self.sizes: dict[int, int] = {}
        self.keys: list[int] = []
        self.sign = -1 if is_bid else 1

    def clear(self) -> None:
        self.sizes.clear()
        self.keys.clear()

    def set(self, price: int, size: int) -> None:
        """Set the level at `price` to `size`; size 0 deletes it (absent levels are a no-op)."""
        k = price * self.sign
        sizes = self.sizes
        if size:
            if k not in sizes:
                insort(self.keys, k)
            sizes[k] = size
        elif k in sizes:
            del sizes[k]
            keys = self.keys
            del keys[bisect_left(keys, k)]

    def apply(self, levels: Levels) -> None:
        for price, size in levels:
            self.set(price, size)

    def load(self, levels: Levels) -> None:
        self.clear()
        sign = self.sign
        sizes = self.sizes
        for price, size in levels:
            if size:
                sizes[price * sign] = size
        self.keys = sorted(sizes)

    def best(self) -> tuple[int, int]:
        """(price, size) of the best level, (0, 0) when empty."""
        if not self.keys:
            return 0, 0
        k = self.keys[0]
        return k * self.sign, self.sizes[k]

    def top(self, n: int) -> tuple[list[int], list[int]]:
        ks = self.keys[:n]
        sizes = self.sizes
        return [k * self.sign for k in ks], [sizes[k] for k in ks]

    def __len__(self) -> int:
        return len(self.keys)


class L2Book:
    __slots__ = ("bids", "asks")

    def __init__(self) -> None:
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()

    def load(self, bids: Levels, asks: Levels) -> None:
        self.bids.load(bids)
        self.asks.load(asks)

    def apply(self, bids: Levels, asks: Levels) -> None:
        self.bids.apply(bids)
        self.asks.apply(asks)

    def crossed(self) -> bool:
        """Best bid >= best ask (crossed or locked); an empty side is never crossed."""
        b, a = self.bids.keys, self.asks.keys
        return bool(b and a and -b[0] >= a[0])
