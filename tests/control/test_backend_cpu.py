"""cpu backend on real Binance records: single-event and batch paths give the same integers as the
vectorized reference (models.features.compute_features + predict_batch); probabilities come from the
one shared function."""

from __future__ import annotations

import numpy as np

from control.backends.cpu import CpuBackend
from models.features import compute_features
from models.reference import ReferenceModel, probabilities


def test_batch_single_and_reference_agree(model_cfg, model_artifacts, binance_records):
    recs = binance_records[:1500]
    model = ReferenceModel.load(model_artifacts)
    feats, invalid = compute_features(recs, model_cfg)
    want = model.predict_batch(feats)

    batch = CpuBackend.open(model_artifacts, model_cfg)
    got_b = batch.submit(recs)
    single = CpuBackend.open(model_artifacts, model_cfg)
    got_s = [p for i in range(len(recs)) for p in single.submit(recs[i : i + 1])]
    assert [p.seq for p in got_s] == recs["seq"].tolist() == got_b.seqs
    np.testing.assert_array_equal(got_b.logits(), want)
    np.testing.assert_array_equal(np.array([p.logits for p in got_s]), want)
    np.testing.assert_array_equal(got_b.invalid, invalid)
    assert len(np.unique(want, axis=0)) > 10, "test network too degenerate to tell records apart"
    p = probabilities(want, model.output_format)
    assert [x.p_up for x in got_s] == p[:, 0].tolist()
    assert got_b[0].model_hash == model.model_hash and got_b[0].backend == "cpu"
    assert got_b[0].horizon_ns == model_cfg.labels.horizon_ms * 1_000_000


def test_mixed_batches_continue_state(model_cfg, model_artifacts, binance_records):
    recs = binance_records[:800]
    ref = CpuBackend.open(model_artifacts, model_cfg).submit(recs).logits()
    b = CpuBackend.open(model_artifacts, model_cfg)
    parts, i = [], 0
    for size in [1, 7, 1, 1, 100, 3, 1, 687]:
        parts.append(b.submit(recs[i : i + size]).logits())
        i += size
    np.testing.assert_array_equal(np.concatenate(parts), ref)
    assert b.health().ok and b.health().counters["processed"] == 800


def test_warm_then_submit_equals_continuous(model_cfg, model_artifacts, binance_records):
    recs = binance_records[:600]
    ref = CpuBackend.open(model_artifacts, model_cfg).submit(recs).logits()
    b = CpuBackend.open(model_artifacts, model_cfg)
    b.warm(recs[:250])
    np.testing.assert_array_equal(b.submit(recs[250:]).logits(), ref[250:])


def test_single_event_submit_equals_the_batch_path(model_cfg, model_artifacts, binance_records):
    """submit() of one record (its own fast path) gives what compute() + make_predictions() give:
    every Prediction field, the INVALID flags and the features, on the whole bundled capture."""
    from control.backends.base import make_predictions

    single = CpuBackend.open(model_artifacts, model_cfg)
    ref = CpuBackend.open(model_artifacts, model_cfg)
    for i in range(len(binance_records)):
        rec = binance_records[i : i + 1]
        got = single.submit(rec)
        feats, invalid, logits, _ = ref.compute(rec)
        want = make_predictions(rec, logits, invalid, ref.probs, horizon_ns=ref.model.horizon_ns,
                                model_hash=ref.model.model_hash, backend="cpu", features=feats)
        assert got.predictions == want.predictions, i
        assert got.invalid.dtype == want.invalid.dtype and (got.invalid == want.invalid).all()
        assert got.features.dtype == want.features.dtype and (got.features == want.features).all()
        assert set(got.stage_ns) == {"features", "inference"}
    assert single.processed == len(binance_records)
