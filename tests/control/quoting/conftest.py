"""Shared fixtures of the quoting tests: the packaged config and book/prediction builders."""
from __future__ import annotations

import numpy as np
import pytest

from control.prediction import Prediction
from control.quoting import QuotingEngine, load_config
from models.record import FLAG_IN_SYNC, empty_records

T0 = 1_721_347_020_000_000_000


def pinned(cfg):
    """The default config with the tunable half-spread floor pinned at 1 bp, so the exact numbers of
    these tests (1 bp = 10 ticks at a 100000-tick mid) survive retuning of default.yaml. The move and
    withdrawal curves stay the default's: the issue's reference scenarios test those."""
    return cfg.with_spread(floor_bp=1.0)


@pytest.fixture(scope="session")
def cfg():
    return pinned(load_config())


@pytest.fixture
def engine(cfg):
    return QuotingEngine(cfg)


def book(bid: int, ask: int, *, ts_ns: int = T0, flags: int = FLAG_IN_SYNC, seq: int = 1) -> np.void:
    r = empty_records(1)[0]
    r["seq"], r["ts_ns"], r["recv_ns"], r["flags"] = seq, ts_ns, ts_ns, flags
    r["bid_px"][0], r["ask_px"][0], r["bid_sz"][0], r["ask_sz"][0] = bid, ask, 5, 5
    return r


def pred(p_up: float = 0.0, p_down: float = 0.0, p_withdraw: float = 0.0, *, ts_ns: int = T0,
         horizon_ns: int = 1_000_000_000) -> Prediction:
    return Prediction(seq=1, ts_ns=ts_ns, logits=(0, 0, 0, 0), p_up=p_up, p_down=p_down,
                      p_withdraw=p_withdraw, horizon_ns=horizon_ns, model_hash="test", backend="cpu")


@pytest.fixture(name="book")
def book_fixture():
    return book


@pytest.fixture(name="pred")
def pred_fixture():
    return pred
