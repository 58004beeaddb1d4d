"""The feature pipeline one record at a time, compiled with numba: the live CPU path. Same integers as
models/features.py (the vectorized reference) on every record; the arithmetic follows
models/FEATURES.md line by line, so this file is also the closest software model of the RTL.

All state lives in one int64 array, so a stream's state can be inspected, copied or reset cheaply.
"""
from __future__ import annotations

import logging

import numba
import numpy as np

from models.config import ModelConfig
from models.fixedpoint import KIND_CODE, RECIP, FeatureInputError, check_records, feature_table
from models.record import FLAG_RESET, empty_records

log = logging.getLogger(__name__)

# state slots
S_HAVE_PREV, S_PB, S_PA, S_PBSZ, S_PASZ, S_PTS, S_LAST_CHG, S_TFS, S_TFT, S_VOL, S_STARTED = range(11)
N_STATE = 11

K_SPREAD = KIND_CODE["spread"]
K_IMB = KIND_CODE["imbalance"]
K_WIMB = KIND_CODE["weighted_imbalance"]
K_MICRO = KIND_CODE["microprice"]
K_OFI = KIND_CODE["ofi"]
K_DMID = KIND_CODE["mid_change"]
K_TF = KIND_CODE["trade_flow"]
K_TACT = KIND_CODE["trade_activity"]
K_VOL = KIND_CODE["volatility"]
K_AGE = KIND_CODE["mid_age"]
K_GAP = KIND_CODE["event_gap"]
K_SHARE = KIND_CODE["touch_share"]


@numba.njit(cache=False, nogil=True)
def _bitlen(x: int) -> int:
    n = 0
    while x > 0:
        x >>= 1
        n += 1
    return n


@numba.njit(cache=False, nogil=True)
def _sat(x: int, lo: int, hi: int) -> int:
    return lo if x < lo else hi if x > hi else x


@numba.njit(cache=False, nogil=True)
def _scale(x: int, shift: int) -> int:
    return x << shift if shift >= 0 else x >> -shift


@numba.njit(cache=False, nogil=True)
def _ratio(num: int, den: int, recip: np.ndarray) -> int:
    if den <= 0:
        return 0
    s = _bitlen(den) - 8
    m = den >> s if s >= 0 else den << -s
    p = num * recip[m - 128]
    return _sat(p >> (s + 9), -128, 127)


# step() status codes: 0 valid, 1 invalid record (features still computed), >= 2 bad input (see
# BAD_FIELDS; nothing computed, state untouched).
ST_VALID, ST_INVALID, ST_BAD = 0, 1, 2
BAD_FIELDS = ("bid_px", "ask_px", "bid_sz", "ask_sz", "trade_buy", "trade_sell")
_U32 = (1 << 32) - 1
_I32_LO, _I32_HI = -(1 << 31), (1 << 31) - 1


@numba.njit(cache=False, nogil=True)
def _bad_input(r, levels) -> int:
    for k in range(levels):
        if r["bid_px"][k] < _I32_LO or r["bid_px"][k] > _I32_HI:
            return ST_BAD + 0
        if r["ask_px"][k] < _I32_LO or r["ask_px"][k] > _I32_HI:
            return ST_BAD + 1
        if r["bid_sz"][k] < 0 or r["bid_sz"][k] > _U32:
            return ST_BAD + 2
        if r["ask_sz"][k] < 0 or r["ask_sz"][k] > _U32:
            return ST_BAD + 3
    if r["trade_buy"] < 0 or r["trade_buy"] > _U32:
        return ST_BAD + 4
    if r["trade_sell"] < 0 or r["trade_sell"] > _U32:
        return ST_BAD + 5
    return 0


@numba.njit(cache=False, nogil=True)
def step(recs, i, levels, state, spec, weights, decay, recip, out):
    """Features of recs[i] into out[:F] (int8); returns a status code (ST_*)."""
    r = recs[i]
    bad = _bad_input(r, levels)
    if bad != 0:
        return bad
    bpx = r["bid_px"]
    apx = r["ask_px"]
    bsz = r["bid_sz"]
    asz = r["ask_sz"]
    b = np.int64(bpx[0])
    a = np.int64(apx[0])
    B = np.int64(bsz[0])
    A = np.int64(asz[0])
    ts = np.int64(r["ts_ns"])
    if (np.int64(r["flags"]) & FLAG_RESET) != 0 or state[S_STARTED] == 0:
        state[:] = 0
        state[S_PTS] = ts
        state[S_LAST_CHG] = ts
        state[S_STARTED] = 1
    invalid = b <= 0 or a <= 0 or a <= b
    have_prev = state[S_HAVE_PREV] != 0
    p_b = state[S_PB]
    p_a = state[S_PA]
    p_B = state[S_PBSZ]
    p_A = state[S_PASZ]

    dmid2 = (a + b) - (p_a + p_b) if have_prev else np.int64(0)
    tb = np.int64(r["trade_buy"])
    tsl = np.int64(r["trade_sell"])
    tf_s = state[S_TFS] - (state[S_TFS] >> decay[0]) + ((tb - tsl) << decay[1])
    tf_t = state[S_TFT] - (state[S_TFT] >> decay[0]) + ((tb + tsl) << decay[1])
    vol = state[S_VOL] - (state[S_VOL] >> decay[2]) + (abs(dmid2) << decay[3])
    sb_all = np.int64(0)
    sa_all = np.int64(0)
    wn = np.int64(0)
    wd = np.int64(0)
    for k in range(levels):
        sb_all += bsz[k]
        sa_all += asz[k]
        wn += weights[k] * (np.int64(bsz[k]) - np.int64(asz[k]))
        wd += weights[k] * (np.int64(bsz[k]) + np.int64(asz[k]))
    imb_l1 = _ratio(B - A, B + A, recip)

    for j in range(spec.shape[0]):
        kind = spec[j, 0]
        shift = spec[j, 1]
        lo = spec[j, 2]
        hi = spec[j, 3]
        if kind == K_SPREAD:
            v = _scale(a - b - 1, shift)
        elif kind == K_IMB:
            SB = np.int64(0)
            SA = np.int64(0)
            for k in range(spec[j, 4]):
                SB += bsz[k]
                SA += asz[k]
            v = _ratio(SB - SA, SB + SA, recip)
        elif kind == K_WIMB:
            v = _ratio(wn, wd, recip)
        elif kind == K_MICRO:
            v = ((a - b) * imb_l1) >> 1
        elif kind == K_OFI:
            if have_prev:
                eB = B if b > p_b else (B - p_B if b == p_b else -p_B)
                eA = A if a < p_a else (A - p_A if a == p_a else -p_A)
                v = _ratio(eB - eA, B + A + p_B + p_A, recip)
            else:
                v = np.int64(0)
        elif kind == K_DMID:
            v = _scale(dmid2, shift)
        elif kind == K_TF:
            v = _ratio(tf_s, tf_t, recip)
        elif kind == K_TACT:
            v = _scale(_bitlen(tf_t), shift)
        elif kind == K_VOL:
            v = _scale(vol, shift)
        elif kind == K_AGE:
            d = ts - state[S_LAST_CHG]
            v = _scale(_bitlen((d if d > 0 else 0) >> 10), shift)
        elif kind == K_GAP:
            d = ts - state[S_PTS]
            v = _scale(_bitlen((d if d > 0 else 0) >> 10), shift)
        else:  # K_SHARE
            if spec[j, 5] == 0:
                v = _ratio(B, sb_all, recip)
            else:
                v = _ratio(A, sa_all, recip)
        out[j] = _sat(v, lo, hi)

    if not invalid:  # invalid records never update state (FEATURES.md, "Invalid records")
        state[S_HAVE_PREV] = 1
        state[S_PB] = b
        state[S_PA] = a
        state[S_PBSZ] = B
        state[S_PASZ] = A
        state[S_PTS] = ts
        state[S_TFS] = tf_s
        state[S_TFT] = tf_t
        state[S_VOL] = vol
        if dmid2 != 0:
            state[S_LAST_CHG] = ts
    return ST_INVALID if invalid else ST_VALID


@numba.njit(cache=False, nogil=True)
def _run(recs, levels, state, spec, weights, decay, recip, feats, invalid):
    """Returns -1, or the index of the first record with bad input (processing stops there)."""
    for i in range(recs.shape[0]):
        st = step(recs, i, levels, state, spec, weights, decay, recip, feats[i])
        if st >= ST_BAD:
            return i
        invalid[i] = st == ST_INVALID
    return -1


def _bad_input_error(records: np.ndarray, i: int, status: int) -> FeatureInputError:
    field = BAD_FIELDS[status - ST_BAD]
    return FeatureInputError(
        f"record {i} (seq {int(records['seq'][i])}): {field} outside its contract range "
        f"(prices i32, sizes and trade volumes u32): {records[field][i]}")


class StreamingFeatures:
    """Per-event feature state machine of one stream. `update(record)` -> (int8 (F,), invalid)."""

    def __init__(self, cfg: ModelConfig) -> None:
        self.cfg = cfg
        self.levels = cfg.levels
        self.spec, self.weights, self.decay = feature_table(cfg)
        self.recip = RECIP.copy()
        self.state = np.zeros(N_STATE, dtype=np.int64)
        self._buf: np.ndarray | None = None
        self._checked: np.dtype | None = None

    def warm_up(self, record_levels: int | None = None) -> None:
        """Compile the kernel now (about a second) instead of on the first live record, for records
        carrying `record_levels` levels (default the config's; numba compiles once per record layout).
        The stream state is untouched."""
        levels = record_levels or self.levels
        scratch = np.zeros(N_STATE, dtype=np.int64)
        out = np.empty(self.spec.shape[0], dtype=np.int8)
        step(empty_records(1, levels), 0, self.levels, scratch, self.spec, self.weights, self.decay,
             self.recip, out)

    def reset(self) -> None:
        """Forget the stream: the next record starts a new one (as if it carried RESET)."""
        self.state[:] = 0

    def update_at(self, records: np.ndarray, i: int) -> tuple[np.ndarray, bool]:
        """Features of records[i] (no copy of the record: the fast live-path entry)."""
        if records.dtype is not self._checked:  # fields and level count, once per dtype
            check_records(records[:0], self.levels)
            self._checked = records.dtype
        out = np.empty(self.spec.shape[0], dtype=np.int8)
        st = step(records, i, self.levels, self.state, self.spec, self.weights, self.decay, self.recip, out)
        if st >= ST_BAD:
            raise _bad_input_error(records, i, st)
        return out, st == ST_INVALID

    def update(self, record: np.void | np.ndarray) -> tuple[np.ndarray, bool]:
        """Features of one record (a record scalar, or a 1-element record array)."""
        if isinstance(record, np.ndarray):
            if record.shape != (1,):
                raise FeatureInputError(f"update() takes one record, got an array of shape {record.shape}")
            return self.update_at(record, 0)
        if self._buf is None or self._buf.dtype != record.dtype:
            self._buf = np.zeros(1, dtype=record.dtype)
        self._buf[0] = record
        return self.update_at(self._buf, 0)

    def run(self, records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All records through this state machine, in order (compiled loop; replay and tests)."""
        check_records(records, self.levels)
        feats = np.empty((len(records), self.spec.shape[0]), dtype=np.int8)
        invalid = np.empty(len(records), dtype=np.bool_)
        bad = _run(records, self.levels, self.state, self.spec, self.weights, self.decay, self.recip,
                   feats, invalid)
        if bad >= 0:
            st = step(records, bad, self.levels, self.state, self.spec, self.weights, self.decay,
                      self.recip, feats[bad])
            raise _bad_input_error(records, bad, st)
        return feats, invalid
