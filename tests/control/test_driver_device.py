"""The driver against FakeIO: registers by name from the generated map, identity check, stream packing."""

from __future__ import annotations

import numpy as np
import pytest

from control.driver import regmap
from control.driver.device import Device
from control.driver.errors import (
    IdentityMismatch,
    RegisterAccessError,
    TransportClosed,
    TransportTimeout,
    UnknownRegister,
)
from control.driver.io import FakeIO, RegisterIO, StreamIO
from models.record import FLAG_IN_SYNC, FLAG_RESET, empty_records

MODEL_HASH = "0123456789abcdef" * 4
R = regmap.REGISTERS


def _card(
    model_hash: str = MODEL_HASH, magic: int = regmap.ID_VALUE, version: int = regmap.REGMAP_VERSION
) -> FakeIO:
    regs = {R["ID_MAGIC"].offset: magic, R["ID_REGMAP_VERSION"].offset: version, R["CTRL_CONTROL"].offset: 1}
    for i, name in enumerate(regmap.MODEL_HASH_REGISTERS):
        regs[R[name].offset] = int(model_hash[8 * i : 8 * i + 8], 16)
    return FakeIO(regs)


def _records(n: int) -> np.ndarray:
    r = empty_records(n, 10)
    r["seq"] = (1 << 32) - 2 + np.arange(n, dtype=np.uint64)  # crosses the wire's 32-bit wrap
    r["ts_ns"] = 1_721_260_800_000_000_000 + np.arange(n)
    r["bid_px"] = 6_400_000 - np.arange(10)
    r["ask_px"] = 6_400_001 + np.arange(10)
    r["bid_sz"] = 7
    r["ask_sz"] = 9
    r["flags"] = FLAG_IN_SYNC
    r["flags"][0] |= FLAG_RESET
    return r


def test_fakeio_is_both_protocols():
    io = FakeIO()
    assert isinstance(io, RegisterIO) and isinstance(io, StreamIO)


def test_registers_by_name():
    io = _card()
    dev = Device(io, io)
    assert dev.read("id_magic") == regmap.ID_VALUE
    dev.write("CTRL_CONTROL", 0)
    assert io.writes[-1] == (R["CTRL_CONTROL"].offset, 0)
    assert dev.read_field("CTRL_CONTROL", "ENABLE") == 0
    with pytest.raises(UnknownRegister, match="no register 'NOPE'"):
        dev.read("NOPE")
    with pytest.raises(RegisterAccessError, match="const, not writable"):
        dev.write("ID_MAGIC", 1)
    with pytest.raises(RegisterAccessError, match="32 bits"):
        dev.write("CTRL_CONTROL", 1 << 32)
    dump = dev.dump()
    assert list(dump) == list(R) and dump["ID_REGMAP_VERSION"] == regmap.REGMAP_VERSION
    assert set(dev.counters()) == {n for n in R if n.startswith("STATS_") and R[n].access == "ro"}


def test_pulse_keeps_rw_fields():
    io = _card()
    dev = Device(io, io)
    dev.pulse("CTRL_CONTROL", "SOFT_RESET")
    assert io.writes[-1] == (R["CTRL_CONTROL"].offset, 0b011)
    with pytest.raises(RegisterAccessError, match="not a pulse"):
        dev.pulse("CTRL_CONTROL", "ENABLE")


def test_identity():
    dev = Device(_card(), None)
    ident = dev.check_identity(MODEL_HASH)
    assert ident.model_hash == MODEL_HASH and ident.core_id == regmap.ID_VALUE
    with pytest.raises(IdentityMismatch, match="model hash"):
        dev.check_identity("f" * 64)
    with pytest.raises(IdentityMismatch, match="regmap version 7 != host"):
        Device(_card(version=7), None).check_identity(MODEL_HASH)
    with pytest.raises(IdentityMismatch, match="not a qg_core"):
        Device(_card(magic=0), None).check_identity(MODEL_HASH)


def test_stream_pack_and_receive():
    io = _card()
    dev = Device(io, io)
    recs = _records(4)
    dev.send_records(recs)
    wire = np.frombuffer(io.sent[-1], dtype=regmap.BOOK_RECORD_DTYPE)
    assert wire["seq"].tolist() == [(1 << 32) - 2, (1 << 32) - 1, 0, 1]
    np.testing.assert_array_equal(wire["bid_px"], recs["bid_px"][:, :5])
    assert wire["flags"].tolist() == recs["flags"].tolist()

    preds = np.zeros(4, dtype=regmap.PREDICTION_DTYPE)
    preds["seq"] = wire["seq"]
    preds["logits"] = np.arange(16).reshape(4, 4) - 8
    io.queue_frames(preds[:3].tobytes())
    io.queue_frames(preds[3:].tobytes())
    got = dev.recv_predictions(4, timeout_s=0.1)
    np.testing.assert_array_equal(got, preds)
    with pytest.raises(TransportTimeout):
        dev.recv_predictions(1, timeout_s=0.01)
    dev.close()
    with pytest.raises(TransportClosed):
        dev.read("ID_MAGIC")


def test_registers_only_device_refuses_streams():
    with pytest.raises(RegisterAccessError, match="without a stream"):
        Device(_card(), None).send_records(_records(1))
