"""The CPU reference from the committed artifacts, without TensorFlow: golden vectors (features and
outputs), batch == single event, the hash check, probabilities, and no TensorFlow import."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from models.features import StreamingFeatures, compute_features
from models.record import empty_records
from models.reference import ModelArtifactError, ReferenceModel, probabilities


@pytest.fixture(scope="module")
def ref(artifacts):
    return ReferenceModel.load(artifacts)


@pytest.fixture(scope="module")
def golden(artifacts):
    with np.load(artifacts / "golden.npz") as z:
        return {k: z[k] for k in z.files}


def _golden_records(g, levels):
    n = len(g["seq"])
    r = empty_records(n, levels)
    for k in ("seq", "ts_ns", "bid_px", "bid_sz", "ask_px", "ask_sz", "trade_buy", "trade_sell", "flags"):
        r[k] = g[k]
    return r


def test_golden_layout(golden, cfg):
    n = len(golden["seq"])
    assert n == cfg.training.golden_slices * cfg.training.golden_slice_len
    assert golden["features"].dtype == np.int8 and golden["features"].shape == (n, cfg.n_features)
    assert golden["outputs"].dtype == np.int16 and golden["outputs"].shape == (n, 4)
    assert golden["bid_px"].shape == (n, cfg.levels)
    for start in golden["slice_start"]:
        assert golden["flags"][start] & 2, "every slice starts with a RESET record"
    assert len(set(golden["slice_source"].tolist())) == len(golden["slice_start"])


def test_golden_features_from_both_pipelines(golden, cfg):
    recs = _golden_records(golden, cfg.levels)
    starts = list(golden["slice_start"]) + [len(recs)]
    for a, b in zip(starts, starts[1:], strict=False):
        f, inv = compute_features(recs[a:b], cfg)
        np.testing.assert_array_equal(f, golden["features"][a:b])
        np.testing.assert_array_equal(inv, golden["invalid"][a:b])
    # one streaming pipeline over all slices: the RESET records restart it
    f, inv = StreamingFeatures(cfg).run(recs)
    np.testing.assert_array_equal(f, golden["features"])
    np.testing.assert_array_equal(inv, golden["invalid"])


def test_golden_outputs_batch_and_single(ref, golden):
    want = golden["outputs"].astype(np.int64)
    np.testing.assert_array_equal(ref.predict_batch(golden["features"]), want)
    np.testing.assert_array_equal(ref._predict_int64(golden["features"]), want)
    one = np.array([ref.predict_one(x) for x in golden["features"]])
    np.testing.assert_array_equal(one, want)


def test_batch_equals_single_on_extreme_inputs(ref):
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, size=(5000, ref.n_inputs)).astype(np.int8)
    x[:100] = rng.choice(np.array([-128, 127], dtype=np.int8), size=(100, ref.n_inputs))
    b = ref.predict_batch(x)
    np.testing.assert_array_equal(b, ref._predict_int64(x))
    np.testing.assert_array_equal(np.array([ref.predict_one(v) for v in x]), b)
    assert b.min() >= -(1 << 15) and b.max() < (1 << 15)


def test_metadata_contract(ref, cfg):
    m = ref.meta
    assert m["feature_names"] == list(cfg.features.names)
    assert m["output"]["names"] == ["none", "up", "down", "withdraw"]
    assert m["output"]["bits"] <= 16 and m["output"]["frac_bits"] == cfg.quantizers.output.frac
    assert ref.horizon_ns == cfg.labels.horizon_ms * 1_000_000
    assert len(ref.model_hash) == 64
    for name in (*cfg.features.names, "p_up", "p_down", "p_withdraw"):
        h = m["histograms"][name]
        assert len(h["edges"]) == len(h["counts"]) + 1 and sum(h["counts"]) > 0
    assert m["metrics"]["passed"] is True
    assert ref.float32_exact


def test_tampered_weights_fail_the_hash(artifacts, tmp_path):
    d = tmp_path / "art"
    shutil.copytree(artifacts, d)
    with np.load(d / "weights_int.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["W0"] = arrays["W0"].copy()
    arrays["W0"][0, 0] += 1
    np.savez(d / "weights_int.npz", **arrays)
    with pytest.raises(ModelArtifactError, match="model hash"):
        ReferenceModel.load(d)
    with pytest.raises(ModelArtifactError, match="missing artifact"):
        ReferenceModel.load(tmp_path / "nowhere")


def test_probabilities(ref):
    frac = ref.output_format.frac_bits
    z = np.array([[0, 0, 0, 0], [1 << frac, 0, 0, -(3 << frac)]])
    # raw softmax / sigmoid: a bare frac_bits, or calibrated=False
    p = probabilities(z, ref.meta, calibrated=False)
    np.testing.assert_allclose(p[0], [1 / 3, 1 / 3, 0.5])
    e = np.exp([1.0, 0.0, 0.0])
    np.testing.assert_allclose(p[1], [e[1] / e.sum(), e[2] / e.sum(), 1 / (1 + np.exp(3.0))])
    np.testing.assert_allclose(probabilities(z[1], frac), p[1])
    # the model's metadata carries its calibration (models/calibration.py), applied by default
    from models.calibration import apply_calibration
    np.testing.assert_array_equal(probabilities(z, ref.meta), apply_calibration(z / (1 << frac), ref.meta["calibration"]))
    np.testing.assert_array_equal(probabilities(z, ref.meta), probabilities(z, ref.output_format))
    with pytest.raises(ValueError, match="4 outputs"):
        probabilities(np.zeros(3), frac)


def test_bad_feature_input(ref):
    with pytest.raises(ValueError, match="shape"):
        ref.predict_batch(np.zeros((3, 5), dtype=np.int8))
    with pytest.raises(ValueError, match="int8"):
        ref.predict_batch(np.full((1, ref.n_inputs), 300))
    with pytest.raises(ValueError, match="shape"):
        ref.predict_one(np.zeros(5, dtype=np.int8))


def test_runtime_never_imports_tensorflow(artifacts):
    code = ("import sys, json, numpy as np\n"
            "from models.reference import ReferenceModel\n"
            "from models.features import StreamingFeatures, compute_features\n"
            "from models.labels import make_labels\n"
            "from models.config import load_config\n"
            f"m = ReferenceModel.load({str(artifacts)!r})\n"
            "m.predict_one(np.zeros(m.n_inputs, dtype=np.int8))\n"
            "StreamingFeatures(load_config('qg_mlp'))\n"
            "print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in "
            "('tensorflow', 'tf_keras', 'keras', 'qkeras', 'tensorflow_model_optimization'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_single_row_probabilities_are_bit_identical(ref, cfg):
    """probabilities_one (the live single-event path, also taken by probabilities() for one row) gives
    exactly the floats of the vectorized path: on every output of the bundled real capture and on random
    and extreme integers, calibrated, uncalibrated and with a bare frac_bits."""
    from pathlib import Path

    from control.book.replay import load_records
    from models.calibration import apply_calibration
    from models.reference import _calibration, probabilities_one

    capture = Path(__file__).resolve().parents[1] / "data" / "binance" / "btcusdt_20240718.gz"
    recs, _ = load_records([capture], levels=10)
    real = ref.predict_batch(compute_features(recs, cfg)[0])
    rng = np.random.default_rng(7)
    bound = 1 << (ref.output_format.bits - 1)
    rand = rng.integers(-bound, bound, (20000, 4))
    extreme = np.array([[bound - 1, -bound, -bound, bound - 1], [-bound, bound - 1, bound - 1, -bound],
                        [0, 0, 0, 0], [5, 5, 5, 5]])
    frac = ref.output_format.frac_bits
    for logits in (real, rand, extreme):
        for meta, cal in ((ref.output_format, True), (ref.output_format, False), (ref.meta, True), (frac, True)):
            z = np.asarray(logits, dtype=np.float64) * 2.0 ** -frac
            want = apply_calibration(z, _calibration(meta) if cal else None)  # the vectorized path itself
            got = np.array([probabilities_one(tuple(r), meta, calibrated=cal) for r in logits.tolist()])
            assert got.tobytes() == want.tobytes()
            one = probabilities(logits[:1], meta, calibrated=cal)
            assert one.shape == (1, 3) and one.tobytes() == want[:1].tobytes()
            assert probabilities(logits[0], meta, calibrated=cal).tobytes() == want[0].tobytes()
