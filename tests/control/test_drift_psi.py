"""Drift: PSI is ~0 on the training distribution and alerts (log + metric) on a shifted one."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from control.drift import DriftConfig, DriftMonitor, DriftReferenceError, load_config, load_reference, psi
from control.metrics import Metrics


def _meta(tmp_path, rng):
    edges = np.arange(-128, 129, 16)
    train = rng.normal(0, 30, 50_000).clip(-128, 127)
    counts, _ = np.histogram(train, edges)
    p = tmp_path / "metadata.json"
    p.write_text(json.dumps({"histograms": {"imb_l1": {"edges": edges.tolist(), "counts": counts.tolist()}}}))
    return p


def test_psi_basics():
    a = np.array([10.0, 20, 30, 40])
    assert psi(a, a) == pytest.approx(0.0)
    assert psi(a, a[::-1]) > 0.2


def test_monitor_alerts_on_shift(tmp_path, caplog):
    rng = np.random.default_rng(0)
    ref = load_reference(_meta(tmp_path, rng))
    m = Metrics()
    mon = DriftMonitor(ref, DriftConfig(warn=0.1, alert=0.2, min_samples=1000), metrics=m)
    mon.observe({"imb_l1": rng.normal(0, 30, 5000).clip(-128, 127).astype(np.int8)})
    assert mon.evaluate()["imb_l1"] < 0.05
    assert m.value("quoteguard_drift_alerts_total", {"name": "imb_l1"}) is None
    mon.reset_window()
    assert mon.evaluate() == {}
    mon.observe({"imb_l1": rng.normal(60, 20, 5000).clip(-128, 127).astype(np.int8), "other": np.zeros(3)})
    with caplog.at_level(logging.WARNING, logger="control.drift"):
        value = mon.evaluate()["imb_l1"]
    assert value > 0.2
    assert "drift ALERT: PSI of imb_l1" in caplog.text
    assert m.value("quoteguard_drift_alerts_total", {"name": "imb_l1"}) == 1.0
    assert m.value("quoteguard_drift_psi", {"name": "imb_l1"}) == pytest.approx(value)


def test_missing_histograms(tmp_path):
    p = tmp_path / "metadata.json"
    p.write_text("{}")
    with pytest.raises(DriftReferenceError, match="no 'histograms'"):
        load_reference(p)


def test_training_histograms_of_the_exported_model(model_cfg, model_artifacts, binance_records):
    """The exported metadata carries a histogram for every feature, logit and probability; live data
    from a later day scores a finite PSI on each."""
    from control.backends.cpu import CpuBackend

    meta = model_artifacts / "metadata.json"
    ref = (
        load_reference(meta)
        if "histograms" in meta.read_text()
        else pytest.skip("seeded model: no histograms")
    )
    cfg = load_config(meta)
    batch = CpuBackend.open(model_artifacts, model_cfg).submit(binance_records)
    logits = batch.logits()
    values = {n: batch.features[:, k] for k, n in enumerate(model_cfg.features.names)}
    values |= {f"logit_{n}": logits[:, k] for k, n in enumerate(model_cfg.network.outputs)}
    values |= {n: np.array([getattr(p, n) for p in batch]) for n in ("p_up", "p_down", "p_withdraw")}
    assert set(values) == set(ref)
    mon = DriftMonitor(ref, cfg, metrics=Metrics())
    mon.observe(values)
    out = mon.evaluate()
    assert set(out) == set(ref) and all(np.isfinite(v) and v >= 0 for v in out.values())
    print({k: round(v, 3) for k, v in out.items()})
