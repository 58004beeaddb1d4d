"""Fixtures for the models tests: the default config and real recorded data from <repo>/../shared/data."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.config import ModelConfig, load_config

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
ARTIFACTS = REPO / "models" / "qg_mlp" / "artifacts"

BINANCE_STREAMS = {
    "btc2023": ["binance/usdm/btcusdt_20230404.dat.gz", "binance/usdm/btcusdt_20230405.dat.gz"],
    "btc2024": ["binance/usdm/btcusdt_20240718.gz", "binance/usdm/btcusdt_20240719.gz"],
    "eth2024": ["binance/usdm/ethusdt_20240718.gz", "binance/usdm/ethusdt_20240719.gz"],
}
LOBSTER_FILES = {
    "amzn5": "lobster/LOBSTER_SampleFile_AMZN_2012-06-21_5.zip",
    "amzn1": "lobster/LOBSTER_SampleFile_AMZN_2012-06-21_1.zip",
    "aapl1": "lobster/LOBSTER_SampleFile_AAPL_2012-06-21_1.zip",
}


def _need_data() -> None:
    if not DATA.is_dir():
        pytest.skip(f"real market data not found at {DATA}")


@pytest.fixture(scope="session")
def cfg() -> ModelConfig:
    return load_config("qg_mlp")


@pytest.fixture(scope="session")
def real_streams() -> dict[str, np.ndarray]:
    """Every real stream (10 levels as loaded): 3 Binance perpetual streams and 3 LOBSTER files."""
    _need_data()
    from control.book.replay import load_records
    from control.marketdata.lobster import load_lobster

    out = {}
    for name, files in BINANCE_STREAMS.items():
        out[name], _ = load_records([DATA / f for f in files], levels=10)
    for name, f in LOBSTER_FILES.items():
        out[name], _ = load_lobster(DATA / f, levels=10)
    return out


@pytest.fixture(scope="session")
def artifacts() -> Path:
    if not (ARTIFACTS / "metadata.json").is_file():
        pytest.fail(f"{ARTIFACTS} has no exported model (run `make model`)")
    return ARTIFACTS
