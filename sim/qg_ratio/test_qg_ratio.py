"""cocotb test of hw/rtl/qg_ratio.v against models.features.ratio (+ saturation to [LO, HI]): edge cases
(den <= 0, den = 1, powers of two and their neighbours, the widest values, negative numerators) and
random values over every magnitude, one per clock. VECTORS sets the random count (default 200)."""
from __future__ import annotations

import os

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from sim.common.golden import vectors

LATENCY = {0: 4, 1: 11}     # by the DEEP parameter (pipeline configuration compact / deep)


def cases(num_w: int, den_w: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    nmax, dmax = (1 << (num_w - 1)) - 1, (1 << (den_w - 1)) - 1
    dens = [0, -1, -dmax - 1, 1, 2, 3, 127, 128, 129, 255, 256, 257, dmax, dmax - 1]
    dens += [(1 << k) + d for k in range(1, den_w - 1) for d in (-1, 0, 1)]
    nums = [0, 1, -1, nmax, -nmax - 1, 127, -128, 128, -129]
    e_num = np.array([nums[i % len(nums)] for i in range(len(dens) * 3)], dtype=np.int64)
    e_den = np.array([dens[i % len(dens)] for i in range(len(dens) * 3)], dtype=np.int64)
    e_num[len(dens):2 * len(dens)] = e_den[len(dens):2 * len(dens)]           # num == den: 128 -> 127
    e_num[2 * len(dens):] = -e_den[2 * len(dens):] // 3                         # negative, floor
    bits_d = rng.integers(1, den_w, n)
    bits_n = rng.integers(1, num_w, n)
    r_den = rng.integers(0, 1 << 62, n) >> (63 - bits_d)
    r_num = (rng.integers(0, 1 << 62, n) >> (63 - bits_n)) * rng.choice([-1, 1], n)
    near = rng.integers(-3, 4, n) + r_den // 2 * rng.choice([-1, 1, 2], n)         # ratios near the clip points
    num = np.concatenate([e_num, r_num, np.clip(near, -nmax - 1, nmax)])
    den = np.concatenate([e_den, r_den, r_den])
    return num, den


@cocotb.test()
async def matches_software_ratio(dut):
    from models.features import ratio

    num_w, den_w = int(dut.NUM_WIDTH.value), int(dut.DEN_WIDTH.value)
    latency = LATENCY[int(dut.DEEP.value)]
    lo, hi = int(os.environ["QG_RATIO_LO"]), int(os.environ["QG_RATIO_HI"])
    num, den = cases(num_w, den_w, vectors())
    want = np.clip(ratio(num, den), lo, hi)
    Clock(dut.clk, 4, unit="ns").start()
    got = []
    for t in range(len(num) + latency):
        dut.num.value = int(num[t]) & ((1 << num_w) - 1) if t < len(num) else 0
        dut.den.value = int(den[t]) & ((1 << den_w) - 1) if t < len(num) else 0
        await ReadOnly()                # q now holds the result of the input driven `latency` cycles ago
        if t >= latency:
            got.append(int(dut.q.value.to_signed()))
        await RisingEdge(dut.clk)
    got = np.array(got[:len(num)])
    bad = np.flatnonzero(got != want[:len(got)])
    assert not len(bad), f"ratio({num[bad[0]]}, {den[bad[0]]}): RTL {got[bad[0]]} != software {want[bad[0]]}"
    dut._log.info("qg_ratio %dx%d [%d, %d]: %d cases exact", num_w, den_w, lo, hi, len(got))


@pytest.mark.parametrize("deep", [0, 1])
@pytest.mark.parametrize("num_w,den_w,lo,hi", [(48, 48, -128, 127), (42, 42, 0, 127), (34, 34, -128, 127)])
def test_qg_ratio(num_w: int, den_w: int, lo: int, hi: int, deep: int) -> None:
    from sim.common.runner import run_sim

    run_sim("qg_ratio", __file__,
            parameters={"NUM_WIDTH": num_w, "DEN_WIDTH": den_w, "LO": lo, "HI": hi, "DEEP": deep},
            extra_env={"QG_RATIO_LO": str(lo), "QG_RATIO_HI": str(hi)})
