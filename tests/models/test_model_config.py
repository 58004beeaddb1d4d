"""models.config: the default config parses into the agreed contract; bad configs fail by name."""
from __future__ import annotations

import copy

import pytest
import yaml

from models.config import ConfigError, load_config

FEATURE_ORDER = ("spread", "imb_l1", "imb_l2", "imb_l3", "imb_l5", "imb_weighted", "microprice", "ofi", "dmid",
                 "trade_flow", "trade_activity", "volatility", "mid_age", "event_gap", "bid_touch_share",
                 "ask_touch_share")


def test_default_config(cfg):
    assert cfg.features.names == FEATURE_ORDER
    assert cfg.levels == 5 and cfg.features.scale == 128
    assert cfg.quantizers.input.frac == 7 and cfg.quantizers.output.bits <= 16
    assert cfg.network.outputs == ("none", "up", "down", "withdraw")
    assert load_config(cfg.path).sha256() == cfg.sha256()


def _write(tmp_path, raw):
    p = tmp_path / "config.yaml"
    p.write_text(yaml.safe_dump(raw))
    return p


@pytest.mark.parametrize("mutate,match", [
    (lambda r: r.pop("labels"), "missing key 'labels'"),
    (lambda r: r["features"]["list"][0].update(kind="fft"), r"features.list\[0\]: unknown feature kind 'fft'"),
    (lambda r: r["features"]["list"][1].update(levels=9), "imbalance levels=9"),
    (lambda r: r["quantizers"]["input"].update(bits=6), "must equal features.result_grid"),
    (lambda r: r["quantizers"]["output"].update(bits=20, integer=5), "at most 16 bits"),
    (lambda r: r["network"].update(outputs=["up", "down"]), "outputs must be"),
    (lambda r: r["labels"].update(withdraw_fraction=1.5), "withdraw_fraction"),
    (lambda r: r["training"]["sources"][0].update(split="later"), r"sources\[0\]: split"),
    (lambda r: r["drift"].update(bin_edges=[0, 0, 1]), "strictly increasing"),
])
def test_bad_config_names_the_key(cfg, tmp_path, mutate, match):
    raw = copy.deepcopy(cfg.raw)
    mutate(raw)
    with pytest.raises(ConfigError, match=match):
        load_config(_write(tmp_path, raw))
