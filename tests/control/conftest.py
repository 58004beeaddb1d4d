"""Fixtures of the control-plane tests: the model (the exported artifacts when they exist, else a
seeded integer network of the configured shape saved through the real artifact writer), real Binance
records, and a real redis-server on a free loopback port. Heavy imports stay inside the fixtures so the
board-runtime environment (pynq, numpy 1.26, no numba) can collect tests/control/test_driver_pynq.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "models" / "qg_mlp" / "artifacts"
BINANCE = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"


@pytest.fixture(scope="session")
def model_cfg():
    from models.config import load_config

    return load_config("qg_mlp")


def _seeded_artifacts(cfg, out: Path) -> Path:
    from models.reference import ACT_RELU, ACT_SIGNED, DenseLayer, model_hash, save_weights_int

    rng = np.random.default_rng(cfg.seed)
    q = cfg.quantizers
    widths = [cfg.n_features, *cfg.network.hidden, len(cfg.network.outputs)]
    layers = []
    for k, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        last = k == len(widths) - 2
        act = q.output if last else q.relu
        W = np.clip(np.rint(rng.normal(0, 9, (n_in, n_out))), -32, 31).astype(np.int64)
        b = rng.integers(-64, 64, n_out).astype(np.int64)
        layers.append(
            DenseLayer(W, b, q.weight.frac, q.bias.frac, ACT_SIGNED if last else ACT_RELU, act.bits, act.frac)
        )
    input_frac = q.input.frac
    meta = {
        "name": cfg.name,
        "config_sha256": cfg.sha256(),
        "model_hash": model_hash(layers, input_frac, cfg.sha256()),
        "labels": {"horizon_ms": cfg.labels.horizon_ms},
        "output": {"frac_bits": q.output.frac, "names": list(cfg.network.outputs)},
        "synthetic": "seeded test network (models/qg_mlp/artifacts not exported yet)",
    }
    out.mkdir(parents=True, exist_ok=True)
    save_weights_int(out / "weights_int.npz", layers, input_frac)
    (out / "metadata.json").write_text(json.dumps(meta, indent=1))
    return out


@pytest.fixture(scope="session")
def model_artifacts(model_cfg, tmp_path_factory) -> Path:
    if (ARTIFACTS / "metadata.json").is_file() and (ARTIFACTS / "weights_int.npz").is_file():
        return ARTIFACTS
    return _seeded_artifacts(model_cfg, tmp_path_factory.mktemp("artifacts"))


@pytest.fixture(scope="session")
def binance_records():
    from control.book.replay import load_records

    records, _ = load_records([BINANCE], levels=10)
    return records


@pytest.fixture()
def redis_url(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not on PATH (Debian: apt-get install redis-server)")
    from control.scaleout.server import RedisServer

    with RedisServer(tmp_path / "redis") as srv:
        yield srv.url
