"""Host-side calibration of the probabilities (models/calibration.py): the math, the stored parameters
reproduced from the data, and every backend deriving identical probabilities from identical integers."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from models.calibration import (
    METHOD,
    Calibration,
    apply_calibration,
    calibrate,
    fit_calibration,
    reliability,
    training_weights,
)
from models.reference import ModelArtifactError, ReferenceModel, probabilities

from .conftest import DATA


@pytest.fixture(scope="module")
def ref(artifacts):
    return ReferenceModel.load(artifacts)


@pytest.fixture(scope="module")
def golden(artifacts):
    with np.load(artifacts / "golden.npz") as z:
        return z["outputs"].astype(np.int64)


def _identity(lw=(0.0, 0.0, 0.0), wl=0.0) -> dict:
    return {"method": METHOD, "class_log_weights": list(lw), "withdraw_log_weight_ratio": wl,
            "class_temperature": 1.0, "class_bias": [0.0, 0.0, 0.0], "withdraw_scale": 1.0, "withdraw_bias": 0.0}


def test_prior_correction_undoes_class_weights():
    """p(c|x) proportional to p_w(c|x) / w_c: with balanced weights, p_bal x training prior."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(50, 4))
    pi = np.array([0.6, 0.25, 0.15])
    w = 1.0 / (3 * pi)                               # balanced weights
    pi_wd = 0.2
    ww = np.array([1 / (2 * (1 - pi_wd)), 1 / (2 * pi_wd)])
    cal = _identity(np.log(w) - np.log(w[0]), float(np.log(ww[1] / ww[0])))
    got = apply_calibration(z, cal)
    raw = apply_calibration(z, None)
    e = np.exp(z[:, :3])
    p_bal = e / e.sum(1, keepdims=True)
    want = p_bal * pi / (p_bal * pi).sum(1, keepdims=True)
    np.testing.assert_allclose(got[:, :2], want[:, 1:], rtol=1e-12)
    odds = raw[:, 2] / (1 - raw[:, 2]) * pi_wd / (1 - pi_wd)
    np.testing.assert_allclose(got[:, 2], odds / (1 + odds), rtol=1e-12)


def test_fit_recovers_known_parameters():
    rng = np.random.default_rng(1)
    n = 40_000
    z = rng.normal(scale=1.5, size=(n, 4))
    true = {**_identity(), "class_temperature": 2.0, "class_bias": [0.0, -0.5, 0.3], "withdraw_scale": 0.5,
            "withdraw_bias": -1.0}
    p = apply_calibration(z, true)
    u = rng.random(n)
    cls = np.where(u < p[:, 0], 1, np.where(u < p[:, 0] + p[:, 1], 2, 0))
    wd = (rng.random(n) < p[:, 2]).astype(np.int8)
    cal = fit_calibration(np.rint(z * 1024), cls, wd, 10, [1.0, 1.0, 1.0], [1.0, 1.0])
    assert cal["class_temperature"] == pytest.approx(2.0, rel=0.05)
    np.testing.assert_allclose(cal["class_bias"], [0.0, -0.5, 0.3], atol=0.05)
    assert cal["withdraw_scale"] == pytest.approx(0.5, rel=0.05)
    assert cal["withdraw_bias"] == pytest.approx(-1.0, abs=0.05)


def test_training_weights_match_train_py():
    y = np.array([0, 0, 0, 1, 2, 2])
    np.testing.assert_allclose(training_weights(y, 3, "balanced"), [6 / 9, 6 / 3, 6 / 6])
    np.testing.assert_allclose(training_weights(y, 3, "none"), [1, 1, 1])


def test_reliability_numbers():
    r = reliability(np.array([0.05, 0.05, 0.95, 0.95]), np.array([0, 0, 1, 1]))
    assert r["brier"] == pytest.approx(0.0025)
    assert r["ece"] == pytest.approx(0.05)
    assert r["base_rate"] == 0.5


def test_metadata_carries_calibration(ref):
    cal = ref.meta.get("calibration")
    assert cal is not None, "metadata.json has no calibration (run `quoteguard model export`)"
    assert cal["method"] == METHOD and cal["fitted_on"].startswith("val split")
    assert ref.output_format.calibration == Calibration.from_dict(cal)
    assert ref.meta["model_hash"] == "75f4f49960eade2961f8e30647866aa38240be449deda987bff0a16126d62fd5"


def test_every_probability_path_is_identical(ref, golden):
    """Backends all call models.reference.probabilities with the model's OutputFormat: the calibrated
    values are identical whichever way they are asked for, one row or a batch, and differ from the raw."""
    from control.backends.base import ProbabilityCache

    p_fmt = probabilities(golden, ref.output_format)
    p_meta = probabilities(golden, ref.meta)
    p_ref = ref.probabilities(golden)
    assert np.array_equal(p_fmt, p_meta) and np.array_equal(p_fmt, p_ref)
    cache = ProbabilityCache(ref.output_format)
    assert np.array_equal(np.array(cache.many(golden)), p_fmt)
    ones = np.array([cache.one(tuple(int(v) for v in row)) for row in golden[:300]])
    assert np.array_equal(ones, p_fmt[:300])
    raw = probabilities(golden, ref.output_format, calibrated=False)
    assert np.array_equal(raw, probabilities(golden, ref.output_format.frac_bits))
    assert not np.allclose(raw, p_fmt)
    # class weighting over-states the rare classes: calibration lowers them on average
    assert p_fmt[:, 2].mean() < raw[:, 2].mean()


def test_bad_calibration_is_refused(artifacts, tmp_path):
    d = tmp_path / "a"
    shutil.copytree(artifacts, d)
    meta = json.loads((d / "metadata.json").read_text())
    meta["calibration"]["class_temperature"] = -1.0
    (d / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelArtifactError, match="calibration"):
        ReferenceModel.load(d)
    meta["calibration"]["method"] = "isotonic"
    (d / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelArtifactError, match="calibration"):
        ReferenceModel.load(d)


@pytest.fixture(scope="module")
def streams(cfg):
    if not DATA.is_dir():
        pytest.skip(f"real market data not found at {DATA}")
    from control.cli.model import load_training_streams

    return load_training_streams(cfg, DATA)


def test_stored_calibration_reproduces_from_the_data(cfg, ref, streams):
    """Training part -> class weights; validation part -> the affine map: the stored numbers again,
    and on the validation part the calibrated probabilities are better than the raw ones."""
    cal, rel = calibrate(cfg, streams, ref.predict_batch)
    stored = ref.meta["calibration"]
    for k in ("class_log_weights", "class_bias"):
        np.testing.assert_allclose(cal[k], stored[k], atol=2e-6)
    for k in ("class_temperature", "withdraw_log_weight_ratio", "withdraw_scale", "withdraw_bias"):
        assert cal[k] == pytest.approx(stored[k], abs=2e-6)
    assert cal["records"] == stored["records"]
    np.testing.assert_allclose(np.exp(cal["class_log_weights"]),
                               np.array(ref.meta["training"]["class_weights"]) / ref.meta["training"]["class_weights"][0],
                               rtol=1e-5)
    v = rel["val"]["all"]
    for name in ("p_up", "p_down", "p_withdraw"):
        assert v["calibrated"][name]["brier"] < v["raw"][name]["brier"]
        assert abs(v["calibrated"][name]["mean_p"] - v["calibrated"][name]["base_rate"]) < 0.02
    assert rel == ref.meta["metrics"]["calibration"] or json.loads(json.dumps(rel)) == ref.meta["metrics"]["calibration"]
