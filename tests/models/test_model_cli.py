"""`quoteguard model train|evaluate|export` through click's CliRunner."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from control.cli.model import model


@pytest.mark.parametrize("verb", ["train", "evaluate", "export"])
def test_help_has_examples(verb):
    r = CliRunner().invoke(model, [verb, "--help"])
    assert r.exit_code == 0
    assert "Examples:" in r.output and f"quoteguard model {verb}" in r.output


def test_unknown_config_is_a_usage_error(tmp_path):
    r = CliRunner().invoke(model, ["train", "--config", str(tmp_path / "nope.yaml")])
    assert r.exit_code == 2
    assert "model config not found" in r.output


def test_evaluate_without_training_is_a_usage_error(tmp_path):
    r = CliRunner().invoke(model, ["evaluate", "--work-dir", str(tmp_path / "w")])
    assert r.exit_code == 2
    assert "quoteguard model train" in r.output


def test_missing_data_is_a_usage_error(tmp_path):
    r = CliRunner().invoke(model, ["train", "--data-dir", str(tmp_path), "--work-dir", str(tmp_path / "w")])
    assert r.exit_code == 2
    assert "data files not found" in r.output


@pytest.mark.ml
def test_train_evaluate_export_round_trip(tmp_path):
    """One epoch end to end into tmp_path: the exported artifacts load without TensorFlow and their
    golden outputs come back from the integer reference."""
    from models.reference import ReferenceModel

    work, out = tmp_path / "work", tmp_path / "artifacts"
    runner = CliRunner()
    r = runner.invoke(model, ["train", "--epochs", "1", "--work-dir", str(work), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output[r.output.index("{"):])
    assert summary["train_records"] > 50_000 and set(summary["sparsity"]) == {"fc1", "fc2", "logits"}
    r = runner.invoke(model, ["export", "--work-dir", str(work), "--out", str(out)])
    assert r.exit_code == 2 and "quoteguard model evaluate" in r.output   # needs metrics first
    r = runner.invoke(model, ["evaluate", "--work-dir", str(work)])
    assert r.exit_code in (0, 1), r.output                                  # 1 epoch may miss targets
    assert "macro-F1" in r.output and (work / "report" / "confusion_test.png").is_file()
    assert (work / "report" / "calibration_test.png").is_file()
    assert (work / "report" / "pr_by_horizon_test.png").is_file()
    mfile = work / "report" / "metrics.json"
    good = mfile.read_text()
    mfile.write_text(json.dumps({**json.loads(good), "model_hash": "0" * 64}))
    r = runner.invoke(model, ["export", "--work-dir", str(work), "--out", str(out)])
    assert r.exit_code == 2 and "evaluate" in r.output                        # metrics of another model
    mfile.write_text(good)
    r = runner.invoke(model, ["export", "--work-dir", str(work), "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    ref = ReferenceModel.load(out)
    with np.load(out / "golden.npz") as z:
        np.testing.assert_array_equal(ref.predict_batch(z["features"]), z["outputs"].astype(np.int64))
