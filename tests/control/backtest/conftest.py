"""Shared backtest test data."""
from __future__ import annotations

import pytest

from models.record import FLAG_IN_SYNC, empty_records


def touch_records(rows):
    """rows: (recv_ns, bid, ask) -> records with that touch (size 5 a side); exchange ts = recv."""
    r = empty_records(len(rows))
    for k, (t, b, a) in enumerate(rows):
        r[k]["seq"], r[k]["ts_ns"], r[k]["recv_ns"], r[k]["flags"] = k, t, t, FLAG_IN_SYNC
        r[k]["bid_px"][0], r[k]["ask_px"][0], r[k]["bid_sz"][0], r[k]["ask_sz"][0] = b, a, 5, 5
    return r


@pytest.fixture(scope="session")
def recs():
    """The pure function touch_records (session scope: nothing to reset between hypothesis inputs)."""
    return touch_records
