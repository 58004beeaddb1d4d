"""Audit log: append-only rolling Parquet, immutable closed files, records read back bit-for-bit."""

from __future__ import annotations

import os
import stat

import numpy as np
import pyarrow.parquet as pq
import pytest

from control.audit import AuditConfig, AuditError, AuditWriter, audit_files, read_records, read_table, streams
from control.prediction import Prediction
from models.record import FLAG_IN_SYNC, FLAG_RESET, empty_records


def _records(n: int, levels: int = 5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    r = empty_records(n, levels)
    r["seq"] = np.arange(n)
    r["ts_ns"] = 1_700_000_000_000_000_000 + np.arange(n) * 1000
    r["recv_ns"] = r["ts_ns"] + 50
    r["update_id"] = np.arange(n) * 3
    r["bid_px"] = 1000 - np.arange(levels) - rng.integers(0, 3, (n, 1))
    r["ask_px"] = r["bid_px"][:, :1] + 1 + np.arange(levels)
    r["bid_sz"] = rng.integers(1, 10**9, (n, levels))
    r["ask_sz"] = rng.integers(1, 10**9, (n, levels))
    r["trade_buy"] = rng.integers(0, 100, n)
    r["flags"] = FLAG_IN_SYNC
    r["flags"][0] |= FLAG_RESET
    return r


def test_roundtrip_and_rolling(tmp_path):
    recs = _records(2500)
    w = AuditWriter(AuditConfig(tmp_path, rows_per_file=1000, flush_rows=300), "m" * 64, "f" * 64)
    for chunk in np.array_split(recs, 17):
        w.events(chunk, "BTCUSDT")
    w.close()
    files = audit_files(tmp_path, "events")
    assert len(files) == 3
    assert [pq.ParquetFile(f).metadata.num_rows for f in files] == [1000, 1000, 500]
    for f in files:
        assert not os.stat(f).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    back = read_records(tmp_path)
    assert back.dtype == recs.dtype
    np.testing.assert_array_equal(back, recs)
    t = read_table(tmp_path, "events")
    assert set(t.column("model_hash").to_pylist()) == {"m" * 64}
    assert set(t.column("firmware_hash").to_pylist()) == {"f" * 64}


def test_second_session_appends_and_stream_filter(tmp_path):
    a, b = _records(10, seed=1), _records(7, seed=2)
    w = AuditWriter(AuditConfig(tmp_path), "m", "f")
    w.events(a, "BTCUSDT")
    w.events(b, "ETHUSDT")
    w.close()
    first = set(audit_files(tmp_path, "events"))
    w2 = AuditWriter(AuditConfig(tmp_path), "m", "f")
    w2.events(a, "BTCUSDT")
    w2.close()
    assert first < set(audit_files(tmp_path, "events"))
    np.testing.assert_array_equal(read_records(tmp_path, stream="ETHUSDT"), b)
    assert streams(tmp_path) == ["BTCUSDT", "ETHUSDT"]
    assert len(read_records(tmp_path, stream="BTCUSDT")) == 20


def test_predictions_quotes_control(tmp_path):
    w = AuditWriter(AuditConfig(tmp_path), "m" * 64, "f" * 64)
    preds = [
        Prediction(
            seq=i,
            ts_ns=i * 10,
            logits=(1, -2, 3, 4),
            p_up=0.1,
            p_down=0.2,
            p_withdraw=0.3,
            horizon_ns=10**9,
            model_hash="m" * 64,
            backend="cpu",
        )
        for i in range(5)
    ]
    w.predictions(preds, "BTCUSDT")
    w.quotes([{"seq": 1, "bid_px": 99.5, "ask_px": 100.5, "bid_qty": 1.0, "ask_qty": 1.0}])
    w.control("failover", from_backend="rtl", to_backend="cpu", reason="timeout", at_seq=3)
    w.close()
    p = read_table(tmp_path, "predictions")
    assert p.column("seq").to_pylist() == list(range(5))
    assert p.column("logits").to_pylist()[0] == [1, -2, 3, 4]
    c = read_table(tmp_path, "control").to_pylist()
    assert c[0]["event"] == "failover" and c[0]["reason"] == "timeout" and c[0]["firmware_hash"] == "f" * 64


def test_missing_dir_is_a_clear_error(tmp_path):
    with pytest.raises(AuditError, match="does not exist"):
        read_records(tmp_path / "nope")
    with pytest.raises(AuditError, match="no closed events"):
        read_records(tmp_path)
