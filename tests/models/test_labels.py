"""Labels on hand-made streams (first touch wins, windows in events and ms, truncation, invalid records)
and the documented class balance on the real data."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from models.labels import DOWN, NONE, UP, make_labels
from models.record import FLAG_RESET, empty_records

# mid2 = bid + ask (half-ticks); None = invalid (crossed) record
MID2 = [20000, 20000, 20030, 19970, 20000, 20000, None, 20000, 20000, 20000]
DEPTH = [100, 100, 100, 100, 100, 40, 100, 100, 100, 100]


def _stream(reset_at=(8,)):
    n = len(MID2)
    r = empty_records(n, 5)
    for i, (m, d) in enumerate(zip(MID2, DEPTH, strict=True)):
        if m is None:
            r["bid_px"][i, 0], r["ask_px"][i, 0] = 10010, 10000
        else:
            r["bid_px"][i, 0], r["ask_px"][i, 0] = m // 2 - 1, m // 2 + 1
        r["bid_sz"][i, 0], r["ask_sz"][i, 0] = d // 2, d - d // 2
        r["ts_ns"][i] = i * 100_000_000
    for i in (0, *reset_at):
        r["flags"][i] |= FLAG_RESET
    return r


@pytest.fixture()
def lcfg(cfg):
    return replace(cfg.labels, horizon_events=3, horizon_ms=1000, move_threshold_bp=10.0,
                   withdraw_fraction=0.5, withdraw_levels=1)


def test_hand_stream(lcfg):
    lab = make_labels(_stream(), lcfg)
    np.testing.assert_array_equal(lab.labelled, [1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(lab.cls[:5], [UP, UP, DOWN, UP, NONE])
    np.testing.assert_array_equal(lab.withdraw[:5], [0, 0, 1, 1, 1])


def test_time_bound_closes_the_window(lcfg):
    # 150 ms: only the next record (100 ms later) is inside each window
    lab = make_labels(_stream(reset_at=()), replace(lcfg, horizon_ms=150))
    np.testing.assert_array_equal(lab.cls[:5], [NONE, UP, DOWN, UP, NONE])
    np.testing.assert_array_equal(lab.withdraw[:5], [0, 0, 0, 0, 1])
    # i = 7: the event window runs past the end, but the 150 ms bound closes inside the stream
    assert lab.labelled[7] and not lab.labelled[8] and not lab.labelled[6]


def test_threshold_scales_with_price(lcfg):
    # 40 bp: the largest swing (20030 -> 19970, 30 bp) is no longer a move
    lab = make_labels(_stream(), replace(lcfg, move_threshold_bp=40.0))
    assert (lab.cls[lab.labelled] == NONE).all()


def test_real_balance_matches_config_comment(cfg, real_streams):
    """The class balance written next to the label defaults in config.yaml (within a point)."""
    want = {"btc2023": (0.783, 0.107, 0.110, 0.271), "btc2024": (0.756, 0.121, 0.123, 0.221),
            "eth2024": (0.693, 0.156, 0.151, 0.250), "amzn5": (0.405, 0.291, 0.304, 0.353)}
    for name, shares in want.items():
        b = make_labels(real_streams[name], cfg.labels).balance()
        got = (b["none"], b["up"], b["down"], b["withdraw"])
        np.testing.assert_allclose(got, shares, atol=0.01, err_msg=name)
