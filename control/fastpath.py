"""The CPU appliance's per-line path in one compiled call: decode -> book -> features -> inference
(integers and probabilities).

The appliance's generic path calls four compiled kernels through four Python layers per book event
(FeedProcessor.decode_one / book_one, StreamingFeatures.update_at, ReferenceModel.predict_one): about
50 arguments unboxed and a handful of small arrays allocated per line, which on this kind of machine
was a third of the per-event latency. `CpuLinePath` runs the same kernels (control.book.kernels
decode_line / book_line, models.streaming.step, models.reference._forward_one and probabilities_row: no
second copy of any arithmetic) from one compiled function, stamping each stage's end on CLOCK_MONOTONIC (the clock of
time.perf_counter_ns) so the per-stage latencies stay measured.

It takes only the steady state: a line the compiled decoder accepts that makes exactly one record
with a valid contract range. Everything else comes back as a code saying how far it got, and the
caller finishes that line on the generic path from that point (FeedProcessor.book_result,
Backend.submit), so both paths share every state array and leave identical state
(tests/control/test_fastpath.py replays real captures and fuzzed lines through both).
"""
from __future__ import annotations

import sys

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from control.backends.cpu import CpuBackend
from control.book.kernels import B_RECORD, K_DECLINE, N_TOUCH, book_line, decode_line
from control.book.stream import FeedProcessor
from models.fixedpoint import FeatureInputError, check_records
from models.reference import _forward_one, probabilities_row, probability_constants
from models.streaming import ST_BAD, step

# run() results
DECLINED = 0     # the compiled decoder declined the line: the generic path takes it from the start
BOOKED = 1       # decoded and booked, no single valid record: FeedProcessor.book_result(kind, code)
EVENT = 2        # one record, its features, logits and probabilities (feature status in res[R_STATUS])
REFUSED = 3      # one record whose fields are outside the feature contract: Backend.submit raises
# res[] layout: one tolist() gives the caller everything about the line
R_KIND = 0          # the message kind (decode_line)
R_BOOK = 1          # the book_line result (BOOKED)
R_STATUS = 2        # the feature status (ST_VALID / ST_INVALID / >= ST_BAD)
R_T = 3             # + T_*: stage end stamps, CLOCK_MONOTONIC ns (the clock of time.perf_counter_ns)
T_DECODED, T_BOOKED, T_FEATURES, T_INFERRED = 0, 1, 2, 3
R_TOUCH = 7         # the record's touch (seq, ts, recv, best bid, best ask, flags), EVENT only
R_LOGITS = R_TOUCH + N_TOUCH   # its logits, EVENT only


@intrinsic
def _monotonic_ns(typingctx):
    """clock_gettime(CLOCK_MONOTONIC) in ns: the clock time.perf_counter_ns reads on Linux. Declared
    as an external symbol (resolved from the process's libc at load), so the caller stays cacheable."""
    sig = types.int64()

    def codegen(context, builder, signature, args):
        i64, i32 = ir.IntType(64), ir.IntType(32)
        ts = cgutils.alloca_once(builder, ir.ArrayType(i64, 2))
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i32, [i32, ts.type]), "clock_gettime")
        builder.call(fn, [i32(1), ts])   # CLOCK_MONOTONIC
        sec = builder.load(builder.gep(ts, [i32(0), i32(0)]))
        nsec = builder.load(builder.gep(ts, [i32(0), i32(1)]))
        return builder.add(builder.mul(sec, i64(1_000_000_000)), nsec)

    return sig, codegen


def _pointer_cast(dtype):
    @intrinsic
    def cast(typingctx, addr):
        """An address (int64) as a typed pointer, for numba.carray."""
        sig = types.CPointer(dtype)(types.int64)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(types.CPointer(dtype)))

        return sig, codegen

    return cast


_i64p, _i8p, _u8p = _pointer_cast(types.int64), _pointer_cast(types.int8), _pointer_cast(types.uint8)
_f8p = _pointer_cast(types.float64)

# The arrays travel as a table of addresses and shapes (ctx), not as ~40 arguments: unboxing an array
# argument costs ~55 ns, which was 2.2 us per line. CpuLinePath keeps every array alive and rebuilds
# the table when the feed's arrays move. Slots, in order (int64 unless noted; 2-D marked):
_SLOTS = ("st", "pmul", "pdiv", "smul", "sdiv", "fields", "lv_px", "lv_sz", "bk:2", "bv:2", "bix", "ak:2",
          "av:2", "aix", "out:2", "cross_idx", "dkey", "dsz", "touch", "fstate", "spec:2", "weights", "decay",
          "recip", "w", "b", "table:2", "logits", "res", "sym:u8", "feats:i8", "pconst:f8", "zf:f8", "probs:f8")
(_ST, _PMUL, _PDIV, _SMUL, _SDIV, _FIELDS, _LV_PX, _LV_SZ, _BK, _BV, _BIX, _AK, _AV, _AIX, _OUT, _CROSS_IDX, _DKEY,
 _DSZ, _TOUCH, _FSTATE, _SPEC, _WEIGHTS, _DECAY, _RECIP, _W, _B, _TABLE, _LOGITS, _RES, _SYM, _FEATS, _PCONST, _ZF,
 _PROBS) = range(34)
assert len(_SLOTS) == 34
_SCALARS = len(_SLOTS) * 3   # then: futures, max_ticks, max_lots, levels
CTX_LEN = _SCALARS + 4


@numba.njit(inline="always")
def _v1(ctx, k):
    return numba.carray(_i64p(ctx[3 * k]), ctx[3 * k + 1])


@numba.njit(inline="always")
def _f1(ctx, k):
    return numba.carray(_f8p(ctx[3 * k]), ctx[3 * k + 1])


@numba.njit(inline="always")
def _v2(ctx, k):
    return numba.carray(_i64p(ctx[3 * k]), (ctx[3 * k + 1], ctx[3 * k + 2]))


@numba.njit(cache=False, nogil=True)
def _line(buf, n, recv, ctx, rec):
    """The result code; res[]: see R_*."""
    st, fields, lv_px, lv_sz = _v1(ctx, _ST), _v1(ctx, _FIELDS), _v1(ctx, _LV_PX), _v1(ctx, _LV_SZ)
    futures = ctx[_SCALARS] != 0
    sym = numba.carray(_u8p(ctx[3 * _SYM]), ctx[3 * _SYM + 1])
    res = _v1(ctx, _RES)
    k = decode_line(buf, 0, n, recv, st, futures, sym, _v1(ctx, _PMUL), _v1(ctx, _PDIV),
                    _v1(ctx, _SMUL), _v1(ctx, _SDIV), ctx[_SCALARS + 1], ctx[_SCALARS + 2],
                    fields, lv_px, lv_sz)
    res[R_T + T_DECODED] = _monotonic_ns()
    res[R_KIND] = k
    if k == K_DECLINE:
        return DECLINED
    touch = _v1(ctx, _TOUCH)
    r = book_line(k, st, _v2(ctx, _BK), _v2(ctx, _BV), _v1(ctx, _BIX), _v2(ctx, _AK),
                  _v2(ctx, _AV), _v1(ctx, _AIX), _v2(ctx, _OUT), _v1(ctx, _CROSS_IDX),
                  futures, fields, lv_px, lv_sz, _v1(ctx, _DKEY), _v1(ctx, _DSZ), rec, touch)
    res[R_T + T_BOOKED] = _monotonic_ns()
    if r != B_RECORD:   # no record, several, crossed, or the book needs room / Python: book_result()
        res[R_BOOK] = r
        return BOOKED
    feats = numba.carray(_i8p(ctx[3 * _FEATS]), ctx[3 * _FEATS + 1])
    s = step(rec, 0, ctx[_SCALARS + 3], _v1(ctx, _FSTATE), _v2(ctx, _SPEC), _v1(ctx, _WEIGHTS),
             _v1(ctx, _DECAY), _v1(ctx, _RECIP), feats)
    res[R_T + T_FEATURES] = _monotonic_ns()
    res[R_STATUS] = s
    if s >= ST_BAD:
        return REFUSED
    logits = _v1(ctx, _LOGITS)
    _forward_one(feats, _v1(ctx, _W), _v1(ctx, _B), _v2(ctx, _TABLE), logits)
    zf = _f1(ctx, _ZF)
    for j in range(4):
        zf[j] = logits[j]
    probabilities_row(zf, _f1(ctx, _PCONST), _f1(ctx, _PROBS))
    res[R_T + T_INFERRED] = _monotonic_ns()
    for j in range(N_TOUCH):
        res[R_TOUCH + j] = touch[j]
    for j in range(logits.shape[0]):
        res[R_LOGITS + j] = logits[j]
    return EVENT


_DTYPES = {"": np.dtype(np.int64), "u8": np.dtype(np.uint8), "i8": np.dtype(np.int8), "f8": np.dtype(np.float64)}


def _table(arrays: dict[str, np.ndarray], scalars: tuple[int, ...]) -> np.ndarray:
    """The ctx table of `arrays` (by slot name) and the scalars; ValueError when an array is not the
    dtype, rank and C layout its slot declares (the kernel would read it wrongly)."""
    ctx = np.zeros(CTX_LEN, np.int64)
    for k, slot in enumerate(_SLOTS):
        name, _, kind = slot.partition(":")
        a = arrays[name]
        ndim = 2 if kind == "2" else 1
        dtype = _DTYPES["" if kind == "2" else kind]
        if a.dtype != dtype or a.ndim != ndim or not a.flags.c_contiguous:
            raise ValueError(f"fused path: {name} is {a.dtype} {a.shape}, expected {dtype} rank {ndim} C-contiguous")
        ctx[3 * k] = a.ctypes.data
        ctx[3 * k + 1] = a.shape[0]
        ctx[3 * k + 2] = a.shape[1] if ndim == 2 else 0
    ctx[_SCALARS:] = scalars
    return ctx


class CpuLinePath:
    """One feed and a CpuBackend, run line by line in one compiled call. Holds no state of its own:
    every array is the feed's or the backend's (a book that grows gets new arrays: `rebind`)."""

    def __init__(self, feed: FeedProcessor, backend: CpuBackend) -> None:
        if not feed.compiled:
            raise ValueError("CpuLinePath needs the compiled feed path")
        self.feed, self.backend = feed, backend
        f, m = backend.features, backend.model
        self.feats = np.zeros(f.spec.shape[0], np.int8)      # the last event's features (reused)
        self.logits = np.zeros(m.n_outputs, np.int64)        # ... and logits (reused)
        self.res = np.zeros(R_LOGITS + m.n_outputs, np.int64)
        self.probs = np.zeros(3, np.float64)                 # ... and its p_up, p_down, p_withdraw
        if m.n_outputs != 4:
            raise ValueError(f"fused path: the network has {m.n_outputs} outputs, probabilities take 4")
        self._model = {"pconst": probability_constants(m.output_format), "zf": np.zeros(4, np.float64),
                       "probs": self.probs, "fstate": f.state, "spec": f.spec, "weights": f.weights, "decay": f.decay,
                       "recip": f.recip, "feats": self.feats, "w": m._w, "b": m._b, "table": m._table,
                       "logits": self.logits, "res": self.res}
        self.rebind()

    @classmethod
    def of(cls, feed: FeedProcessor, backend: object) -> CpuLinePath | None:
        """The fused path when this pair can take it (compiled feed, the plain cpu backend), else None."""
        if type(backend) is not CpuBackend or not feed.compiled or sys.platform != "linux":
            return None   # (the stage stamps read CLOCK_MONOTONIC = 1, perf_counter_ns's clock on Linux)
        try:
            check_records(feed.rec1[:0], backend.features.levels)
            return cls(feed, backend)
        except (FeatureInputError, ValueError):
            return None   # the generic path takes every line (and refuses records with the reason)

    def rebind(self) -> None:
        """Take the feed's current arrays: FeedProcessor refreshes `_book_args` whenever its book
        arrays may have moved (a grown book, after any Python-path line); run() rebinds on a new tuple.
        `_keep` holds every array the table points into."""
        feed = self.feed
        futures, sym, pmul, pdiv, smul, sdiv, max_ticks, max_lots = feed._spec
        bk, bv, bix, ak, av, aix = feed._book_args
        dkey, dsz = feed.book.deferred
        arrays = {"st": feed.st, "pmul": pmul, "pdiv": pdiv, "smul": smul, "sdiv": sdiv, "fields": feed._fields,
                  "lv_px": feed._lv_px, "lv_sz": feed._lv_sz, "bk": bk, "bv": bv, "bix": bix, "ak": ak, "av": av,
                  "aix": aix, "out": feed.builder.out, "cross_idx": feed._cross_idx, "dkey": dkey, "dsz": dsz,
                  "touch": feed.touch, "sym": sym, **self._model}
        self._ctx = _table(arrays, (int(bool(futures)), max_ticks, max_lots, self.backend.features.levels))
        self._keep = arrays
        self._bound = feed._book_args

    def run(self, raw: bytes, recv_ns: int | None) -> int:
        """One line (recv_ns None: a recorded `<ts> <json>` line) or live frame; see the result codes."""
        feed = self.feed
        if feed._book_args is not self._bound:
            self.rebind()
        feed._line, feed._recv, feed._stale = raw, -1 if recv_ns is None else recv_ns, True
        return _line(np.frombuffer(raw, np.uint8), len(raw), feed._recv, self._ctx, feed.rec1)

    def warm_up(self) -> None:
        """Compile now (~4 s, once per process: the kernels it calls are compiled in-process, not
        cached, so an edit to any of them is never served stale) on a line the decoder declines:
        no state changes."""
        self.run(b"0 {}", None)
