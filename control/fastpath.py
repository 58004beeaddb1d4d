"""The CPU appliance's per-line path in one compiled call: decode -> book -> features -> inference.

The appliance's generic path calls four compiled kernels through four Python layers per book event
(FeedProcessor.decode_one / book_one, StreamingFeatures.update_at, ReferenceModel.predict_one): about
50 arguments unboxed and a handful of small arrays allocated per line, which on this kind of machine
was a third of the per-event latency. `CpuLinePath` runs the same kernels (control.book.kernels
decode_line / book_line, models.streaming.step, models.reference._forward_one: no second copy of any
arithmetic) from one compiled function, stamping each stage's end on CLOCK_MONOTONIC (the clock of
time.perf_counter_ns) so the per-stage latencies stay measured.

It takes only the steady state: a line the compiled decoder accepts that makes exactly one record
with a valid contract range. Everything else comes back as a code saying how far it got, and the
caller finishes that line on the generic path from that point (FeedProcessor.book_result,
Backend.submit), so both paths share every state array and leave identical state
(tests/control/test_fastpath.py replays real captures and fuzzed lines through both).
"""
from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from control.backends.cpu import CpuBackend
from control.book.kernels import B_RECORD, K_DECLINE, book_line, decode_line
from control.book.stream import FeedProcessor
from models.fixedpoint import FeatureInputError, check_records
from models.reference import _forward_one
from models.streaming import ST_BAD, step

# run() results
DECLINED = 0     # the compiled decoder declined the line: the generic path takes it from the start
BOOKED = 1       # decoded and booked, no single valid record: FeedProcessor.book_result(kind, code)
EVENT = 2        # one record, its features and logits (INVALID flag in `invalid`)
REFUSED = 3      # one record whose fields are outside the feature contract: Backend.submit raises
# stamps[] indices (CLOCK_MONOTONIC ns, as time.perf_counter_ns)
T_DECODED, T_BOOKED, T_FEATURES, T_INFERRED = 0, 1, 2, 3


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


@numba.njit(cache=False, nogil=True)
def monotonic_ns():
    return _monotonic_ns()


@numba.njit(cache=False, nogil=True)
def _line(buf, n, recv, st, futures, sym, pmul, pdiv, smul, sdiv, max_ticks, max_lots, fields, lv_px, lv_sz,
          bk, bv, bix, ak, av, aix, out, cross_idx, dkey, dsz, rec, touch,
          levels, fstate, spec, weights, decay, recip, feats, w, b, table, logits, res):
    """res[0]: result code, res[1]: message kind or book_line result, res[2]: feature status,
    res[3 + T_*]: stage end stamps."""
    k = decode_line(buf, 0, n, recv, st, futures, sym, pmul, pdiv, smul, sdiv, max_ticks, max_lots,
                    fields, lv_px, lv_sz)
    res[3 + T_DECODED] = _monotonic_ns()
    res[1] = k
    if k == K_DECLINE:
        return DECLINED
    r = book_line(k, st, bk, bv, bix, ak, av, aix, out, cross_idx, futures, fields, lv_px, lv_sz, dkey, dsz,
                  rec, touch)
    res[3 + T_BOOKED] = _monotonic_ns()
    if r != B_RECORD:   # no record, several, crossed, or the book needs room / Python: book_result()
        res[2] = r
        return BOOKED
    s = step(rec, 0, levels, fstate, spec, weights, decay, recip, feats)
    res[3 + T_FEATURES] = _monotonic_ns()
    res[2] = s
    if s >= ST_BAD:
        return REFUSED
    _forward_one(feats, w, b, table, logits)
    res[3 + T_INFERRED] = _monotonic_ns()
    return EVENT


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
        self.res = np.zeros(3 + 4, np.int64)
        self._model = (f.levels, f.state, f.spec, f.weights, f.decay, f.recip, self.feats,
                       m._w, m._b, m._table, self.logits, self.res)
        self.rebind()

    @classmethod
    def of(cls, feed: FeedProcessor, backend: object) -> CpuLinePath | None:
        """The fused path when this pair can take it (compiled feed, the plain cpu backend), else None."""
        if type(backend) is not CpuBackend or not feed.compiled:
            return None
        try:
            check_records(feed.rec1[:0], backend.features.levels)
        except FeatureInputError:
            return None   # the generic path refuses each record with the reason
        return cls(feed, backend)

    def rebind(self) -> None:
        """Take the feed's current book arrays: FeedProcessor refreshes `_book_args` whenever they may
        have moved (a grown book, after any Python-path line), and run() rebinds on a new tuple."""
        feed = self.feed
        self._bound = feed._book_args
        self._feed = (feed.st, *feed._spec, feed._fields, feed._lv_px, feed._lv_sz, *feed._book_args,
                      feed.builder.out, feed._cross_idx, *feed.book.deferred, feed.rec1, feed.touch)

    def run(self, raw: bytes, recv_ns: int | None) -> int:
        """One line (recv_ns None: a recorded `<ts> <json>` line) or live frame; see the result codes."""
        feed = self.feed
        if feed._book_args is not self._bound:
            self.rebind()
        feed._line, feed._recv, feed._stale = raw, -1 if recv_ns is None else recv_ns, True
        return _line(np.frombuffer(raw, np.uint8), len(raw), feed._recv, *self._feed, *self._model)

    def booked(self, kind: int, r: int) -> np.ndarray:
        """Finish a BOOKED line on the feed's generic book stage."""
        return self.feed.book_result(kind, r)

    def warm_up(self) -> None:
        """Compile now (a few seconds on first use) on a line the decoder declines: no state changes."""
        self.run(b"0 {}", None)
