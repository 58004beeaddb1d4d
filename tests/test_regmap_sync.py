"""firmware/regmap.yaml is the single source: every generated file must equal a fresh regeneration."""
from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from firmware import gen_regmap

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("rel", sorted(gen_regmap.OUTPUTS.values()))
def test_generated_file_matches_regmap_yaml(tmp_path: Path, rel: str) -> None:
    assert gen_regmap.main(["--root", str(tmp_path)]) == 0
    fresh = (tmp_path / rel).read_text()
    committed = (ROOT / rel).read_text()
    assert committed == fresh, f"{rel} is stale: run `python firmware/gen_regmap.py` and commit the result"
    assert gen_regmap.HEADER in fresh.splitlines()[0]


def test_python_map_is_consistent() -> None:
    rm = importlib.import_module("control.driver.regmap")
    assert rm.REGISTERS[rm.ID_REGISTER].reset == rm.ID_VALUE
    assert rm.REGISTERS[rm.VERSION_REGISTER].reset == rm.REGMAP_VERSION
    assert len(rm.MODEL_HASH_REGISTERS) == 8
    offsets = [r.offset for r in rm.REGISTERS.values()]
    assert len(set(offsets)) == len(offsets) and all(o % 4 == 0 for o in offsets)
    # corundum-style chain: TYPE/VERSION/NEXT at the start of each block, NEXT walks every block
    chain, off = [], 0
    by_off = {r.offset: r for r in rm.REGISTERS.values()}
    while True:
        chain.append(by_off[off].block)
        off = by_off[off + 8].reset
        if off == 0:
            break
    assert chain == list(rm.BLOCKS)
    assert rm.BOOK_RECORD_DTYPE.itemsize == 104 and rm.PREDICTION_DTYPE.itemsize == 32


def test_pack_roundtrip_and_range_check() -> None:
    from models.record import empty_records

    rm = importlib.import_module("control.driver.regmap")
    rec = empty_records(3, levels=10)
    rec["seq"] = [1, 2, 3]
    rec["bid_px"][:, 0] = [100, 101, 102]
    rec["ask_sz"][:, 4] = 2**32 - 1
    wire = rm.pack(rec)
    assert wire.tobytes()[:4] == (1).to_bytes(4, "little")
    np.testing.assert_array_equal(wire["bid_px"], rec["bid_px"][:, :5])
    rec["ask_sz"][0, 0] = 2**32
    with pytest.raises(ValueError, match="ask_sz"):
        rm.pack(rec)
    raw = np.zeros(2, dtype=rm.PREDICTION_DTYPE).tobytes()
    assert len(rm.unpack(raw)) == 2
    with pytest.raises(ValueError):
        rm.unpack(raw[:-1])


def test_a_held_param_must_be_a_boolean() -> None:
    import yaml

    spec = yaml.safe_load((ROOT / "firmware" / "regmap.yaml").read_text())
    spec["params"]["GIT_HASH"]["held"] = "yes"
    with pytest.raises(gen_regmap.RegmapError, match="param GIT_HASH: held must be true or false"):
        gen_regmap.parse(spec)
