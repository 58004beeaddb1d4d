"""Time-ordered split, stream chaining, purging and conv1d windows (models/dataset.py)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from models.config import DataSource
from models.dataset import SPLIT_CODE, DatasetError, part, prepare_stream, split_codes, stream_groups, windows
from models.record import FLAG_RESET


def test_stream_groups_and_errors():
    a = DataSource("a.gz", "binance", "train")
    b = DataSource("b.gz", "binance", "train", continues="a.gz")
    c = DataSource("c.gz", "binance", "val")
    assert stream_groups([a, b, c]) == [[a, b], [c]]
    with pytest.raises(DatasetError, match="not listed before it"):
        stream_groups([b, a])
    with pytest.raises(DatasetError, match="already continues"):
        stream_groups([a, b, DataSource("d.gz", "binance", "val", continues="a.gz")])


def test_split_codes_by_file_and_by_time(real_streams):
    recs = real_streams["amzn5"]
    src = DataSource("x.zip", "lobster", "by_time", train_until="12:30", val_until="14:15", tz="America/New_York")
    codes = split_codes(recs, [src], [len(recs)])
    assert (np.diff(codes) >= 0).all() and set(np.unique(codes)) == {0, 1, 2}
    # 12:30 ET on 2012-06-21 is 16:30 UTC
    first_val = int(recs["ts_ns"][np.argmax(codes == SPLIT_CODE["val"])])
    assert first_val >= 1340296200 * 10**9 > int(recs["ts_ns"][np.argmax(codes == SPLIT_CODE["val"]) - 1])
    with pytest.raises(DatasetError, match="goes back in time"):
        split_codes(recs[:10], [DataSource("v", "binance", "val"), DataSource("t", "binance", "train")], [5, 5])


def test_purge_and_parts(cfg, real_streams):
    recs = real_streams["btc2024"]
    codes = np.zeros(len(recs), dtype=np.int8)
    codes[5000:] = SPLIT_CODE["test"]
    s = prepare_stream("btc", recs, codes, cfg)
    # no train label looks into the test part: records just before the boundary are purged
    assert not s.usable[4999] and s.usable[:4000].sum() > 3500
    tr, te = part([s], "train"), part([s], "test")
    assert len(tr) + len(te) == int(s.usable.sum())
    assert tr.x.shape[1] == cfg.n_features and te.persistence.shape == (len(te), 2)


def test_windows_respect_segments(cfg, real_streams):
    recs = real_streams["btc2024"][:300].copy()
    recs["flags"][100] |= FLAG_RESET
    s = prepare_stream("w", recs, np.zeros(len(recs), dtype=np.int8), cfg)
    x, ok = windows(s, 8)
    assert x.shape == (300, 8, cfg.n_features)
    np.testing.assert_array_equal(x[50], s.features[43:51])
    assert ok[7] and not ok[6] and not ok[106] and ok[107]
    p = part([s], "train", 8)
    assert p.x.shape[1:] == (8, cfg.n_features)
    c = replace(cfg, network=replace(cfg.network, kind="conv1d"))
    assert c.network.window == 8
