"""Loading the quoting config: the packaged default and specific errors for bad settings."""
from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from control.quoting.config import DEFAULT_CONFIG_PATH, QuotingConfigError, load_config


def test_default_config_loads():
    cfg = load_config()
    btc = cfg.instrument("BTCUSDT")
    assert btc.tick_size == Decimal("0.1") and btc.lot_size == Decimal("0.001")
    assert btc.to_ticks("64000.1") == 640_001
    assert cfg.options is not None and cfg.options.underlying == "BTCUSDT"
    with pytest.raises(ValueError, match="not a multiple"):
        btc.to_ticks("64000.15")


def _write(tmp_path, mutate):
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    mutate(raw)
    p = tmp_path / "q.yaml"
    p.write_text(yaml.safe_dump(raw))
    return p


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda r: r["instruments"]["BTCUSDT"].pop("tick_size"), r"instruments\.BTCUSDT\.tick_size: missing"),
    (lambda r: r["instruments"]["BTCUSDT"].update(tick_size="-0.1"), r"tick_size: must be > 0"),
    (lambda r: r["instruments"]["BTCUSDT"]["limits"].update(max_position_lots=0), r"max_position_lots: must be >= 1"),
    (lambda r: r["instruments"]["BTCUSDT"].update(base_size_lots=10, size_step_lots=3), r"not a multiple"),
    (lambda r: r["policy"]["spread"].update(floor_bp="wide"), r"policy\.spread\.floor_bp: expected a number"),
    (lambda r: r["policy"].update(move_widen_bp=[[0, 0], [0.5, 10], [0.4, 20]]), r"strictly increasing"),
    (lambda r: r["policy"].update(move_widen_bp=[[0, 10], [1, 0]]), r"must not decrease"),
    (lambda r: r["policy"].update(withdraw_size_cut=[[0, 0], [1, 1.5]]), r"withdraw_size_cut\[1\] y: must be <= 1"),
    (lambda r: r["options"].update(underlying="SOLUSDT"), r"options\.underlying: 'SOLUSDT' is not a configured"),
    (lambda r: r["options"]["surface"]["vols"][0].pop(), r"options\.surface\.vols\[0\]: expected 5 vols"),
    (lambda r: r.update(instruments={}), r"at least one instrument"),
])
def test_bad_settings_are_named(tmp_path, mutate, match):
    with pytest.raises(QuotingConfigError, match=match):
        load_config(_write(tmp_path, mutate))


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(QuotingConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("instruments: [unclosed")
    with pytest.raises(QuotingConfigError, match="not valid YAML"):
        load_config(bad)


def test_default_instruments_match_the_feed_registry():
    """The quoting config's tick and lot (quote currency) are the feed registry's (venue units) for every
    instrument it quotes, so that a price the engine sends is one the feed's ticks can express."""
    from control.marketdata.instruments import DEFAULT_REGISTRY
    from control.marketdata.lobster import PRICE_UNITS_PER_USD

    cfg = load_config()
    by_symbol: dict[str, list] = {}
    for inst in DEFAULT_REGISTRY:
        by_symbol.setdefault(inst.symbol, []).append(inst)
    for symbol, q in cfg.instruments.items():
        feeds = by_symbol.get(symbol)
        assert feeds, f"{symbol} is quoted but no feed instrument carries it"
        for inst in feeds:
            if inst.market == "spot":       # BTCUSDT spot: another market's grid, not quoted
                continue
            unit = Decimal(PRICE_UNITS_PER_USD) if inst.venue == "lobster" else Decimal(1)
            assert Decimal(inst.tick) / unit == q.tick_size, (inst.name, inst.tick, q.tick_size)
            assert Decimal(inst.lot) == q.lot_size, (inst.name, inst.lot, q.lot_size)
