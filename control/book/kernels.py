"""The compiled (numba) steady-state path of a Binance stream, in one module on purpose: numba's
on-disk cache is invalidated only when the file that defines a function changes, so kernels that
inline each other must live in one file or a stale cache keeps running old code.

Four parts:
1. Canonical-message decoder (`decode_payload`): the exact byte layout Binance sends for depthUpdate,
   bookTicker and trade (compact JSON, fixed key order). It accelerates BinanceDecoder and never
   disagrees with it: for any line it produces exactly the fields BinanceDecoder would, or declines
   (K_DECLINE) and the caller hands the line to BinanceDecoder, which decodes it or raises the specific
   DecodeError. It declines anything not byte-for-byte canonical (whitespace, escapes, other key
   orders, raw events, snapshots, other streams) and any value the reference would refuse.
   tests/control/test_book_kernels.py holds it to that with differential fuzzing.
2. Blocked L2 book (`side_set`, `apply_levels`, `emit`): each side is a sorted list of blocks of up
   to BLOCK levels (keys ascending; asks keyed by -price, so the best level is always the last key of
   the last block). An insert or delete shifts at most one block plus the short block order on a
   split: on the recorded BTCUSDT stream a flat sorted array moved ~600 entries per insert/delete,
   because futures diffs touch levels across the whole depth. The top N is read backwards from the
   end. Block search reads a contiguous per-position last-key array; a price-indexed hint window
   (see BookSideArrays) turns the common case, a size change of an existing level, into one checked
   lookup. All int64 ticks and lots.
3. The batch loop (`run_lines`): handles, without returning to Python, exactly the cases whose outcome
   needs no decision (a canonical chained diff on a synced book, a trade with a new id, a bookTicker)
   and stops at the first line that needs anything else, saying why. FeedProcessor then handles that
   line through BinanceDecoder and InstrumentBook (control/book/sync.py), which share the same state
   arrays, and calls it again.
4. One line at a time (`decode_line`, `book_line`): the same decoder and book step as two calls, so
   the appliance can time its decode and book stages separately; the record goes straight into a
   reusable one-record array. `book_line` defers a diff's deep levels, which cannot change the record,
   until after the quote (`apply_levels_deferring` / `apply_deferred`).

All mutable per-stream scalars live in one int64 state vector `st`; the S_* constants name its slots.
The per-level inner loops (number scanning, `_side_set`) work on raw pointers (`_ptr`): numba pays a
reference-count round trip (two atomic operations) for every inlined helper call that takes an array,
which was most of the per-level cost (decode 69 -> 25 ns per level on the 44-level BTCUSDT diffs).
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba.core import types
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

from control.marketdata.instruments import Instrument


# ==== 0. raw memory access ===================================================================
@intrinsic
def _ptr(typingctx, arr):
    """A C-contiguous array's data as a raw pointer. The decoder's inlined helpers read the line and
    the scale tables through these: each helper taking an array would cost a reference-count round
    trip (atomic increment and decrement) per inlined call, i.e. several per price level."""
    if not isinstance(arr, types.Array) or arr.layout != "C":
        return None                              # typing error: only contiguous arrays have a flat layout
    sig = types.CPointer(arr.dtype)(arr)

    def codegen(context, builder, signature, args):
        return context.make_array(signature.args[0])(context, builder, args[0]).data

    return sig, codegen


@intrinsic
def _load8(typingctx, p, j):
    """p[j:j+8] (a uint8 pointer) as a little-endian uint64 in one unaligned load; the caller
    guarantees that eight bytes are there."""
    sig = types.uint64(p, j)

    def codegen(context, builder, signature, args):
        q = builder.bitcast(builder.gep(args[0], [args[1]]), llvm_ir.IntType(64).as_pointer())
        return builder.load(q, align=1)

    return sig, codegen


# ==== 1. state vector and records ============================================================
# ---- state vector slots -------------------------------------------------------------------------
S_SYNCED = 0          # 1 when snapshot + contiguous diffs (or BBO mode after the first BBO)
S_LAST_U = 1          # last applied update id
S_STRADDLE = 2        # 1: the next diff must straddle the snapshot id (Python handles it)
S_PENDING_RESET = 3   # 1: the next record carries FLAG_RESET
S_TBUY = 4            # buyer-initiated lots since the previous record
S_TSELL = 5
S_LAST_TRADE = 6      # last accepted trade id
S_SEQ = 7             # next record sequence number
# slots 8, 9 unused (level counts live in each side's index vector)
S_NOUT = 10           # rows in the output buffer
S_MESSAGES = 11       # lines / frames processed
S_EV_DEPTH = 12
S_EV_BBO = 13
S_EV_TRADE = 14
S_RECORDS = 15
S_CROSSED = 16
S_NCROSS_IDX = 17     # crossed-line indices written to the report buffer by the batch loop
S_FUTURES = 18        # 1: futures (pu chain), 0: spot (U == u + 1)
S_BBO_MODE = 19       # 1: the book is the BBO (no depth)
S_LEVELS = 20         # N of the top-N record
S_DEFER_B = 21        # bid updates deferred by book_line (in the deferred arrays, first)
S_DEFER_A = 22        # ask updates deferred by book_line (after the bids)
N_STATE = 24

FLAG_IN_SYNC = 1
FLAG_RESET = 2


def new_state(levels: int, futures: bool, bbo_mode: bool) -> np.ndarray:
    st = np.zeros(N_STATE, dtype=np.int64)
    st[S_LAST_U] = -1
    st[S_LAST_TRADE] = -1
    st[S_PENDING_RESET] = 1
    st[S_FUTURES] = int(futures)
    st[S_BBO_MODE] = int(bbo_mode)
    st[S_LEVELS] = levels
    return st


def record_width(levels: int) -> int:
    """Columns of one output row: seq, ts, recv, uid, 4 x levels, trade_buy, trade_sell, flags."""
    return 7 + 4 * levels


BLOCK = 64            # levels per block of the blocked sorted book side
HINT_W = 1 << 18      # ticks in the price-indexed hint window of a book side


class BookSideArrays:
    """One side of the blocked book: `keys`/`vals` (max_blocks, BLOCK) and the index vector `ix`:
    ix[0] levels, ix[1] blocks in use, ix[2] free blocks, then per-block counts, the block order
    (ascending keys), the free-block stack and, per order position, that block's last key (so the
    block search reads one small contiguous array instead of one scattered block per probe), then the
    hint window: its base key (set by the first level) and HINT_W slots, one per key from the base,
    holding block * BLOCK + slot + 1 of that key's level, or anything stale: a hint is only trusted
    after checking that slot holds that key in a block in use (free blocks have count 0), so a size
    update of an existing level near the touch, most of a diff, costs one lookup instead of two
    searches. Bids use key = price, asks key = -price, so on both sides the best level is the last
    key of the last block."""

    __slots__ = ("keys", "vals", "ix")

    def __init__(self, max_blocks: int = 64) -> None:
        self.keys = np.zeros((max_blocks, BLOCK), np.int64)
        self.vals = np.zeros((max_blocks, BLOCK), np.int64)
        self.ix = np.zeros(3 + 4 * max_blocks + 1 + HINT_W, np.int64)
        side_clear(self.ix, max_blocks)

    @property
    def levels(self) -> int:
        return int(self.ix[0])

    @property
    def free_blocks(self) -> int:
        return int(self.ix[2])

    def grow(self, min_free: int) -> None:
        """Make room for `min_free` more blocks (the kernels never reallocate)."""
        old_b = self.keys.shape[0]
        new_b = max(2 * old_b, old_b + min_free - self.free_blocks + 1)
        keys = np.zeros((new_b, BLOCK), np.int64)
        vals = np.zeros((new_b, BLOCK), np.int64)
        keys[:old_b] = self.keys
        vals[:old_b] = self.vals
        ix = np.zeros(3 + 4 * new_b + 1 + HINT_W, np.int64)
        ix[:3] = self.ix[:3]
        ix[3:3 + old_b] = self.ix[3:3 + old_b]                              # counts
        ix[3 + new_b:3 + new_b + old_b] = self.ix[3 + old_b:3 + 2 * old_b]  # order
        nfree = int(self.ix[2])
        free = list(self.ix[3 + 2 * old_b:3 + 2 * old_b + nfree])
        free = list(range(new_b - 1, old_b - 1, -1)) + free                 # new blocks first-out last
        ix[3 + 2 * new_b:3 + 2 * new_b + len(free)] = free
        ix[2] = len(free)
        ix[3 + 3 * new_b:3 + 3 * new_b + old_b] = self.ix[3 + 3 * old_b:3 + 4 * old_b]  # last keys
        ix[3 + 4 * new_b:] = self.ix[3 + 4 * old_b:]                        # hint window
        self.keys, self.vals, self.ix = keys, vals, ix


@numba.njit(cache=True, nogil=True)
def side_clear(ix, max_blocks):
    ix[0] = 0
    ix[1] = 0
    ix[2] = max_blocks
    for k in range(max_blocks):                  # free blocks have count 0 (hints check it)
        ix[3 + k] = 0
    f0 = 3 + 2 * max_blocks
    for k in range(max_blocks):
        ix[f0 + k] = max_blocks - 1 - k


@numba.njit(cache=True, nogil=True)
def side_set(keys, vals, ix, key, size) -> None:
    """Set the level `key` to `size` (0 deletes; deleting an absent level is a no-op). The caller
    guarantees a free block (ix[2] > 0) for a possible split."""
    _side_set(_ptr(keys), _ptr(vals), _ptr(ix), keys.shape[0], key, size)


@numba.njit(cache=True, nogil=True, inline="always")
def _side_set(kp, vp, xp, mb, key, size) -> None:
    """side_set on raw pointers (keys/vals row-major (mb, BLOCK), ix): inlined into the per-level
    loops without a reference-count round trip per level."""
    cnt0 = 3
    ord0 = 3 + mb
    free0 = 3 + 2 * mb
    last0 = 3 + 3 * mb
    hb = 3 + 4 * mb                              # xp[hb]: hint base; xp[hb + 1 + t]: hint of base + t
    nblk = xp[1]
    if xp[hb] == 0:
        xp[hb] = key - (HINT_W >> 1)
        if xp[hb] == 0:
            xp[hb] = 1
    t = key - xp[hb]
    inwin = t >= 0 and t < HINT_W
    if inwin and size != 0:
        h = xp[hb + 1 + t] - 1
        if h >= 0:
            hbk = h // BLOCK
            hs = h - hbk * BLOCK
            if hbk < mb and hs < xp[cnt0 + hbk] and kp[hbk * BLOCK + hs] == key:
                vp[hbk * BLOCK + hs] = size
                return
    if nblk == 0:
        if size == 0:
            return
        xp[2] -= 1
        b = xp[free0 + xp[2]]
        kp[b * BLOCK + 0] = key
        vp[b * BLOCK + 0] = size
        xp[cnt0 + b] = 1
        xp[ord0] = b
        xp[last0] = key
        xp[1] = 1
        xp[0] += 1
        if inwin:
            xp[hb + 1 + t] = b * BLOCK + 1
        return
    # block: the first (in key order) whose last key >= key, else the last block. Both searches are
    # branch-free lower bounds (a fixed number of steps, no mispredicted jumps; keys are distinct, so
    # the position is the same as any binary search's)
    base = 0
    n = nblk
    while n > 1:
        half = n >> 1
        base += half * (xp[last0 + base + half] < key)
        n -= half
    lo = base + (xp[last0 + base] < key)
    pos = lo if lo < nblk else nblk - 1
    b = xp[ord0 + pos]
    c = xp[cnt0 + b]
    base = 0
    n = c
    while n > 1:
        half = n >> 1
        base += half * (kp[b * BLOCK + base + half] < key)
        n -= half
    lo = base + (kp[b * BLOCK + base] < key)
    if lo < c and kp[b * BLOCK + lo] == key:
        if size != 0:
            vp[b * BLOCK + lo] = size
            if inwin:
                xp[hb + 1 + t] = b * BLOCK + lo + 1
            return
        for j in range(lo, c - 1):
            kj = kp[b * BLOCK + j + 1]
            kp[b * BLOCK + j] = kj
            vp[b * BLOCK + j] = vp[b * BLOCK + j + 1]
            tj = kj - xp[hb]
            if tj >= 0 and tj < HINT_W:
                xp[hb + 1 + tj] = b * BLOCK + j + 1
        xp[cnt0 + b] = c - 1
        xp[0] -= 1
        if c == 1:                               # block emptied: unlink and free it
            for j in range(pos, nblk - 1):
                xp[ord0 + j] = xp[ord0 + j + 1]
                xp[last0 + j] = xp[last0 + j + 1]
            xp[1] = nblk - 1
            xp[free0 + xp[2]] = b
            xp[2] += 1
        elif lo == c - 1:
            xp[last0 + pos] = kp[b * BLOCK + c - 2]
        return
    if size == 0:
        return
    if c == BLOCK:                       # full: split the upper half into a new block
        half = c >> 1
        xp[2] -= 1
        nb = xp[free0 + xp[2]]
        for j in range(half, c):
            kj = kp[b * BLOCK + j]
            kp[nb * BLOCK + j - half] = kj
            vp[nb * BLOCK + j - half] = vp[b * BLOCK + j]
            tj = kj - xp[hb]
            if tj >= 0 and tj < HINT_W:
                xp[hb + 1 + tj] = nb * BLOCK + j - half + 1
        xp[cnt0 + b] = half
        xp[cnt0 + nb] = c - half
        for j in range(nblk, pos + 1, -1):
            xp[ord0 + j] = xp[ord0 + j - 1]
            xp[last0 + j] = xp[last0 + j - 1]
        xp[ord0 + pos + 1] = nb
        xp[last0 + pos + 1] = xp[last0 + pos]
        xp[last0 + pos] = kp[b * BLOCK + half - 1]
        xp[1] = nblk + 1
        if lo > half:
            b = nb
            lo -= half
            pos += 1
        c = xp[cnt0 + b]
    for j in range(c, lo, -1):
        kj = kp[b * BLOCK + j - 1]
        kp[b * BLOCK + j] = kj
        vp[b * BLOCK + j] = vp[b * BLOCK + j - 1]
        tj = kj - xp[hb]
        if tj >= 0 and tj < HINT_W:
            xp[hb + 1 + tj] = b * BLOCK + j + 1
    kp[b * BLOCK + lo] = key
    vp[b * BLOCK + lo] = size
    xp[cnt0 + b] = c + 1
    xp[0] += 1
    if inwin:
        xp[hb + 1 + t] = b * BLOCK + lo + 1
    if lo == c:
        xp[last0 + pos] = key


@numba.njit(cache=True, nogil=True)
def side_top(keys, vals, ix, n, sign, out_px, out_sz) -> int:
    """Best `n` levels as prices (key * sign) and sizes, best first; returns how many."""
    mb = keys.shape[0]
    k = 0
    p = ix[1] - 1
    while p >= 0 and k < n:
        b = ix[3 + mb + p]
        j = ix[3 + b] - 1
        while j >= 0 and k < n:
            out_px[k] = keys[b, j] * sign
            out_sz[k] = vals[b, j]
            k += 1
            j -= 1
        p -= 1
    return k


@numba.njit(cache=True, nogil=True)
def apply_levels(st, bk, bv, bix, ak, av, aix, lv_px, lv_sz, nbid, nask) -> None:
    """Apply a diff's levels: the first `nbid` entries of lv_* are bids, the next `nask` asks."""
    bkp, bvp, bxp, bmb = _ptr(bk), _ptr(bv), _ptr(bix), bk.shape[0]
    akp, avp, axp, amb = _ptr(ak), _ptr(av), _ptr(aix), ak.shape[0]
    for k in range(nbid):
        _side_set(bkp, bvp, bxp, bmb, lv_px[k], lv_sz[k])
    for k in range(nbid, nbid + nask):
        _side_set(akp, avp, axp, amb, -lv_px[k], lv_sz[k])


_KEY_MIN = -(2**63)


@numba.njit(cache=True, nogil=True, inline="always")
def _kth_key(kp, xp, mb, m):
    """Key of the m-th best level of a side (m >= 1), or _KEY_MIN when it has fewer levels."""
    p = xp[1] - 1
    while p >= 0:
        b = xp[3 + mb + p]
        c = xp[3 + b]
        if m <= c:
            return kp[b * BLOCK + c - m]
        m -= c
        p -= 1
    return _KEY_MIN


@numba.njit(cache=True, nogil=True, inline="always")
def _near_threshold(kp, xp, mb, lvp, lsp, k0, k1, sign, n):
    """The lowest key the top `n` of this side can hold after applying updates lv[k0:k1] (key = sign
    x price), or _KEY_MIN (apply everything now). With T the m-th best key today and d the deletions
    at keys >= T, at least m - d levels stay at >= T, so m >= n + d puts the whole top n at >= T:
    updates below T cannot change the record. Iterated from m = n to the smallest such m."""
    m = n
    while True:
        t = _kth_key(kp, xp, mb, m)
        if t == _KEY_MIN:
            return _KEY_MIN
        d = 0
        for k in range(k0, k1):
            if lsp[k] == 0 and sign * lvp[k] >= t:
                d += 1
        if m >= n + d:
            return t
        m = n + d


@numba.njit(cache=True, nogil=True, inline="always")
def _apply_near(kp, vp, xp, mb, lvp, lsp, k0, k1, sign, t, dkp, dsp, nd):
    """Updates lv[k0:k1] of one side (key = sign x price): those at keys >= t into the book, the others
    appended to the deferred keys/sizes from index nd; returns the new count."""
    for k in range(k0, k1):
        key = sign * lvp[k]
        if key >= t:
            _side_set(kp, vp, xp, mb, key, lsp[k])
        else:
            dkp[nd] = key
            dsp[nd] = lsp[k]
            nd += 1
    return nd


@numba.njit(cache=True, nogil=True)
def apply_levels_deferring(st, bk, bv, bix, ak, av, aix, lv_px, lv_sz, nbid, nask, dkey, dsz) -> None:
    """apply_levels for the latency-critical path: the updates that can reach the top-N record now,
    the rest (deep levels; on the large diffs most of them) into dkey/dsz (keys, bids first) for
    apply_deferred once the record's quote is out. The record is the one apply_levels would give
    (see _near_threshold); apply_decoded applies the deferred updates before anything else touches
    the book, and no diff has two updates of one price on a side, so the final book is the same."""
    n = st[S_LEVELS]
    bkp, bvp, bxp, bmb = _ptr(bk), _ptr(bv), _ptr(bix), bk.shape[0]
    akp, avp, axp, amb = _ptr(ak), _ptr(av), _ptr(aix), ak.shape[0]
    lvp, lsp, dkp, dsp = _ptr(lv_px), _ptr(lv_sz), _ptr(dkey), _ptr(dsz)
    tb = _near_threshold(bkp, bxp, bmb, lvp, lsp, 0, nbid, 1, n)
    ta = _near_threshold(akp, axp, amb, lvp, lsp, nbid, nbid + nask, -1, n)
    nd = _apply_near(bkp, bvp, bxp, bmb, lvp, lsp, 0, nbid, 1, tb, dkp, dsp, 0)
    st[S_DEFER_B] = nd
    nd = _apply_near(akp, avp, axp, amb, lvp, lsp, nbid, nbid + nask, -1, ta, dkp, dsp, nd)
    st[S_DEFER_A] = nd - st[S_DEFER_B]


@numba.njit(cache=True, nogil=True)
def apply_deferred(st, bk, bv, bix, ak, av, aix, dkey, dsz) -> int:
    """Apply the updates apply_levels_deferring left pending; returns how many."""
    nb = st[S_DEFER_B]
    na = st[S_DEFER_A]
    if nb + na == 0:
        return 0
    bkp, bvp, bxp, bmb = _ptr(bk), _ptr(bv), _ptr(bix), bk.shape[0]
    akp, avp, axp, amb = _ptr(ak), _ptr(av), _ptr(aix), ak.shape[0]
    for k in range(nb):
        _side_set(bkp, bvp, bxp, bmb, dkey[k], dsz[k])
    for k in range(nb, nb + na):
        _side_set(akp, avp, axp, amb, dkey[k], dsz[k])
    st[S_DEFER_B] = 0
    st[S_DEFER_A] = 0
    return nb + na


@numba.njit(cache=True, nogil=True)
def emit(st, bk, bv, bix, ak, av, aix, out, ts_ns, recv_ns, update_id) -> bool:
    """Write one top-N record row into out[st[S_NOUT]]; returns True if the book is crossed or locked.
    The caller guarantees a free row."""
    L = st[S_LEVELS]
    row = out[st[S_NOUT]]
    row[0] = st[S_SEQ]
    row[1] = ts_ns
    row[2] = recv_ns
    row[3] = update_id
    nb = side_top(bk, bv, bix, L, 1, row[4:4 + L], row[4 + L:4 + 2 * L])
    for k in range(nb, L):
        row[4 + k] = 0
        row[4 + L + k] = 0
    na = side_top(ak, av, aix, L, -1, row[4 + 2 * L:4 + 3 * L], row[4 + 3 * L:4 + 4 * L])
    for k in range(na, L):
        row[4 + 2 * L + k] = 0
        row[4 + 3 * L + k] = 0
    row[4 + 4 * L] = st[S_TBUY]
    row[5 + 4 * L] = st[S_TSELL]
    flags = FLAG_IN_SYNC
    if st[S_PENDING_RESET] != 0:
        flags |= FLAG_RESET
        st[S_PENDING_RESET] = 0
    row[6 + 4 * L] = flags
    st[S_TBUY] = 0
    st[S_TSELL] = 0
    st[S_SEQ] += 1
    st[S_NOUT] += 1
    st[S_RECORDS] += 1
    crossed = nb > 0 and na > 0 and row[4] >= row[4 + 2 * L]
    if crossed:
        st[S_CROSSED] += 1
    return crossed


# ==== 2. canonical-message decoder ============================================================
K_DECLINE, K_DEPTH, K_BBO, K_TRADE = 0, 1, 2, 3
MAX_FRAC = 18
MAX_LEVELS = 4096               # levels per message the scratch arrays hold; more -> decline
MAX_TS_MS = (2**63 - 1) // 1_000_000
_MAXV = 2**63 - 1

# fields[] layout per kind
F_RECV, F_TS = 0, 1
F_U_FIRST, F_U_FINAL, F_PU, F_NBID, F_NASK = 2, 3, 4, 5, 6            # depth
F_BBO_U, F_BPX, F_BSZ, F_APX, F_ASZ = 2, 3, 4, 5, 6                    # bbo
F_TID, F_TPX, F_TSZ, F_TSIDE = 2, 3, 4, 5                              # trade (side +1 buy / -1 sell)
N_FIELDS = 8


def _b(s: bytes) -> np.ndarray:
    return np.frombuffer(s, dtype=np.uint8).copy()


@dataclass(frozen=True)
class FastSpec:
    """Per-instrument constants of the compiled decoder."""

    futures: bool
    sym: np.ndarray          # the symbol's bytes, as it appears in the "s" field
    pmul: np.ndarray
    pdiv: np.ndarray
    smul: np.ndarray
    sdiv: np.ndarray
    max_ticks: int
    max_lots: int

    @classmethod
    def of(cls, inst: Instrument) -> FastSpec:
        def tables(scaler) -> tuple[np.ndarray, np.ndarray]:
            mul = np.zeros(MAX_FRAC + 1, np.int64)
            div = np.ones(MAX_FRAC + 1, np.int64)
            for f in range(MAX_FRAC + 1):
                m, d = scaler.factors(f)
                if m < 2**62 and d < 2**62:
                    mul[f], div[f] = m, d      # mul 0 marks "decline" (would not fit int64)
            return mul, div

        pmul, pdiv = tables(inst.price_scaler)
        smul, sdiv = tables(inst.size_scaler)
        return cls(inst.market != "spot", _b(inst.symbol.encode()), pmul, pdiv, smul, sdiv,
                   inst.max_ticks, inst.max_lots)


_HEAD = _b(b'{"stream":"')
_DATA = _b(b'","data":{')
_DEPTH_E = _b(b'"e":"depthUpdate","E":')
_BBO_E = _b(b'"e":"bookTicker","u":')
_BBO_SPOT = _b(b'"u":')
_TRADE_E = _b(b'"e":"trade","E":')
_T = _b(b',"T":')
_E = _b(b',"E":')
_S = _b(b',"s":"')
_QU = _b(b'","U":')
_QB = _b(b'","b":')
_QT = _b(b'","t":')
_U = _b(b',"u":')
_PU = _b(b',"pu":')
_BL = _b(b',"b":[')
_AL = _b(b'],"a":[')
_END_L = _b(b']}}')
_BB = _b(b',"B":')
_A = _b(b',"a":')
_AA = _b(b',"A":')
_END = _b(b'}}')
_P = _b(b',"p":')
_Q = _b(b',"q":')
_X = _b(b',"X":"')
_M = _b(b'","m":')
_M2 = _b(b',"m":')
_MM = _b(b',"M":')
_B = _b(b',"b":')
_TRUE = _b(b'true')
_LIM = _b(b"9223372036854775807")
_FALSE = _b(b'false')


@numba.njit(cache=True, nogil=True, inline="always")
def _lit(buf, i, e, pat):
    m = len(pat)
    if i < 0 or i + m > e:
        return -1
    for k in range(m):
        if buf[i + k] != pat[k]:
            return -1
    return i + m


@numba.njit(cache=True, nogil=True, inline="always")
def _uint(buf, i, e):
    """JSON non-negative integer (no sign, no leading zero, <= 18 digits) -> (value, next) or (0, -1)."""
    if i < 0 or i >= e:
        return 0, -1
    c = buf[i]
    if c < 48 or c > 57:
        return 0, -1
    if c == 48:
        if i + 1 < e and 48 <= buf[i + 1] <= 57:
            return 0, -1
        return 0, i + 1
    v = 0
    j = i
    while j < e and 48 <= buf[j] <= 57:
        v = v * 10 + (buf[j] - 48)
        j += 1
        if j - i > 18:
            return 0, -1
    return v, j


_U8 = np.uint64
_LO7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_ADD = np.uint64(0x7676767676767676)
_HI = np.uint64(0x8080808080808080)
_ZEROS = np.uint64(0x3030303030303030)
_SW1 = np.uint64(0x0F0F0F0F0F0F0F0F)
_SW2 = np.uint64(0x00FF00FF00FF00FF)
_SW4 = np.uint64(0x0000FFFF0000FFFF)
_P10 = np.array([10**k for k in range(19)], np.int64)


@numba.njit(cache=True, nogil=True, inline="always")
def _swar8(x):
    """The leading ASCII digits of the 8 bytes in x (little-endian: first byte lowest): (value, count
    0..8). One carry-free per-byte range test finds the first non-digit; three multiplies add up the
    digits (shifted to the top bytes, so the bytes below count as leading zeros)."""
    y = x ^ _ZEROS                                       # digit bytes -> 0..9
    nd = (((y & _LO7) + _ADD) | y) & _HI                 # bit 7 of each byte: not a digit
    n = 8 if nd == 0 else np.int64(trailing_zeros(nd)) >> 3
    if n == 0:
        return 0, 0
    w = y << _U8(64 - 8 * n) if n < 8 else y
    w = ((w & _SW1) * _U8(2561)) >> _U8(8)
    w = ((w & _SW2) * _U8(6553601)) >> _U8(16)
    w = ((w & _SW4) * _U8(42949672960001)) >> _U8(32)
    return np.int64(w), n


@numba.njit(cache=True, nogil=True, inline="always")
def _dec(buf, i, e):
    """'"123.45"' -> (12345, 2, next) or (0, 0, -1): digits, optionally '.' and more digits, at most 18
    digits in all (so the value fits int64). Eight bytes at a time where eight are left, byte by byte
    near the end of the buffer; one loop serves both digit runs (helpers taking `buf` would each cost
    a reference-count round trip per call once inlined)."""
    if i < 0 or i >= e or buf[i] != 34:
        return 0, 0, -1
    j = i + 1
    v = 0
    ni = 0
    part = 0                                             # 0: integer digits, 1: fraction digits
    while True:
        j0 = j
        while True:
            if j + 8 <= e:
                d, n = _swar8(_load8(buf, j))
                v = v * _P10[n] + d
                j += n
                if n < 8:
                    break
            else:
                while j < e:
                    c = buf[j]
                    if c < 48 or c > 57:
                        break
                    v = v * 10 + (c - 48)
                    j += 1
                break
        cnt = j - j0
        if part == 0:
            ni = cnt
            if ni == 0 or ni > 18:
                return 0, 0, -1
            if j < e and buf[j] == 46:
                j += 1
                part = 1
                continue
            f = 0
        else:
            f = cnt
            if f == 0 or ni + f > 18:
                return 0, 0, -1
        break
    if j >= e or buf[j] != 34:
        return 0, 0, -1
    return v, f, j + 1


@numba.njit(cache=True, nogil=True, inline="always")
def _units(v, f, mul, div):
    """Exact conversion to steps, or -1 (not exact, too many digits, overflow). v < 10**18 (at most
    18 digits), so a multiplier of 1 cannot overflow and a divisor of 1 needs no division: the common
    cases (e.g. sizes with exactly the lot's decimals) cost no integer division at all."""
    if f > 18:
        return -1
    m = mul[f]
    if m == 0:
        return -1
    if m != 1 and v > _MAXV // m:
        return -1
    x = v * m
    d = div[f]
    if d == 1:
        return x
    # x >= 0; the usual divisors as constants, which compile to a multiply instead of a division
    if d == 10:
        q = x // 10
    elif d == 100:
        q = x // 100
    elif d == 1000:
        q = x // 1000
    else:
        q = x // d
    if q * d != x:
        return -1
    return q


@numba.njit(cache=True, nogil=True, inline="always")
def _price(buf, i, e, mul, div, max_ticks):
    v, f, j = _dec(buf, i, e)
    if j < 0:
        return 0, -1
    q = _units(v, f, mul, div)
    if q <= 0 or q > max_ticks:
        return 0, -1
    return q, j


@numba.njit(cache=True, nogil=True, inline="always")
def _size(buf, i, e, mul, div, max_lots):
    v, f, j = _dec(buf, i, e)
    if j < 0:
        return 0, -1
    q = _units(v, f, mul, div)
    if q < 0 or q > max_lots:
        return 0, -1
    return q, j


@numba.njit(cache=True, nogil=True, inline="always")
def _ts(buf, i, e):
    v, j = _uint(buf, i, e)
    if j < 0 or v > MAX_TS_MS:
        return 0, -1
    return v * 1_000_000, j


@numba.njit(cache=True, nogil=True, inline="always")
def _plain_str(buf, i, e):
    """Skip a JSON string body of plain printable ASCII (no escapes, no control characters, no
    bytes >= 0x80, which could be invalid UTF-8 that the reference refuses); returns the index of
    the closing quote or -1."""
    if i < 0:
        return -1
    j = i
    while j < e:
        c = buf[j]
        if c == 34:
            return j
        if c == 92 or c < 32 or c >= 128:
            return -1
        j += 1
    return -1


@numba.njit(cache=True, nogil=True, inline="always")
def _levels(buf, i, e, lv_px, lv_sz, cap, k, pmul, pdiv, smul, sdiv, max_ticks, max_lots):
    """`["p","q"],["p","q"]` up to the closing ']' (not consumed), at most `cap` entries in lv_* in all.
    Returns (count, next) or (0, -1)."""
    n = 0
    if i < e and buf[i] == 93:
        return 0, i
    while True:
        if k + n >= cap or i >= e or buf[i] != 91:
            return 0, -1
        p, i = _price(buf, i + 1, e, pmul, pdiv, max_ticks)
        if i < 0 or i >= e or buf[i] != 44:
            return 0, -1
        q, i = _size(buf, i + 1, e, smul, sdiv, max_lots)
        if i < 0 or i >= e or buf[i] != 93:
            return 0, -1
        lv_px[k + n] = p
        lv_sz[k + n] = q
        n += 1
        i += 1
        if i < e and buf[i] == 44:
            i += 1
            continue
        return n, i


@numba.njit(cache=True, nogil=True)
def decode_payload(data, i, e, recv_ns, futures, sym, pmul_a, pdiv_a, smul_a, sdiv_a, max_ticks, max_lots,
                   fields, lv_px_a, lv_sz_a):
    """Decode data[i:e] (one canonical JSON message). Returns K_* and fills fields / lv_*."""
    buf = _ptr(data)
    pmul, pdiv, smul, sdiv = _ptr(pmul_a), _ptr(pdiv_a), _ptr(smul_a), _ptr(sdiv_a)
    lv_px, lv_sz = _ptr(lv_px_a), _ptr(lv_sz_a)
    cap = min(len(lv_px_a), len(lv_sz_a))
    i = _lit(buf, i, e, _HEAD)
    if i < 0:
        return K_DECLINE
    i = _plain_str(buf, i, e)
    if i < 0:
        return K_DECLINE
    i = _lit(buf, i, e, _DATA)
    if i < 0:
        return K_DECLINE
    fields[F_RECV] = recv_ns
    j = _lit(buf, i, e, _DEPTH_E)
    if j >= 0:
        ev_ts, j = _ts(buf, j, e)              # E
        if futures:
            j = _lit(buf, j, e, _T)
            ev_ts, j = _ts(buf, j, e)          # T replaces E on futures
        j = _lit(buf, j, e, _S)
        j = _lit(buf, j, e, sym)
        j = _lit(buf, j, e, _QU)
        first, j = _uint(buf, j, e)
        j = _lit(buf, j, e, _U)
        final, j = _uint(buf, j, e)
        pu = -1
        if futures:
            j = _lit(buf, j, e, _PU)
            pu, j = _uint(buf, j, e)
        j = _lit(buf, j, e, _BL)
        if j < 0 or first > final:
            return K_DECLINE
        nb, j = _levels(buf, j, e, lv_px, lv_sz, cap, 0, pmul, pdiv, smul, sdiv, max_ticks, max_lots)
        j = _lit(buf, j, e, _AL)
        if j < 0:
            return K_DECLINE
        na, j = _levels(buf, j, e, lv_px, lv_sz, cap, nb, pmul, pdiv, smul, sdiv, max_ticks, max_lots)
        j = _lit(buf, j, e, _END_L)
        if j != e:
            return K_DECLINE
        fields[F_TS] = ev_ts
        fields[F_U_FIRST] = first
        fields[F_U_FINAL] = final
        fields[F_PU] = pu
        fields[F_NBID] = nb
        fields[F_NASK] = na
        return K_DEPTH
    j = _lit(buf, i, e, _BBO_E if futures else _BBO_SPOT)
    if j >= 0:
        uid, j = _uint(buf, j, e)
        j = _lit(buf, j, e, _S)
        j = _lit(buf, j, e, sym)
        j = _lit(buf, j, e, _QB)
        bpx, j = _price(buf, j, e, pmul, pdiv, max_ticks)
        j = _lit(buf, j, e, _BB)
        bsz, j = _size(buf, j, e, smul, sdiv, max_lots)
        j = _lit(buf, j, e, _A)
        apx, j = _price(buf, j, e, pmul, pdiv, max_ticks)
        j = _lit(buf, j, e, _AA)
        asz, j = _size(buf, j, e, smul, sdiv, max_lots)
        ts = recv_ns
        if futures:
            j = _lit(buf, j, e, _T)
            ts, j = _ts(buf, j, e)
            j = _lit(buf, j, e, _E)
            _, j = _ts(buf, j, e)
        j = _lit(buf, j, e, _END)
        if j != e:
            return K_DECLINE
        fields[F_TS] = ts
        fields[F_BBO_U] = uid
        fields[F_BPX] = bpx
        fields[F_BSZ] = bsz
        fields[F_APX] = apx
        fields[F_ASZ] = asz
        return K_BBO
    j = _lit(buf, i, e, _TRADE_E)
    if j >= 0:
        _, j = _ts(buf, j, e)                  # E
        ts = 0
        if futures:
            j = _lit(buf, j, e, _T)
            ts, j = _ts(buf, j, e)
        j = _lit(buf, j, e, _S)
        j = _lit(buf, j, e, sym)
        j = _lit(buf, j, e, _QT)
        tid, j = _uint(buf, j, e)
        j = _lit(buf, j, e, _P)
        px, j = _price(buf, j, e, pmul, pdiv, max_ticks)
        j = _lit(buf, j, e, _Q)
        sz, j = _size(buf, j, e, smul, sdiv, max_lots)
        if futures:
            j = _lit(buf, j, e, _X)
            if j < 0:
                return K_DECLINE
            j = _plain_str(buf, j, e)
            j = _lit(buf, j, e, _M)
        else:
            j = _lit(buf, j, e, _B)
            _, j = _uint(buf, j, e)
            j = _lit(buf, j, e, _A)
            _, j = _uint(buf, j, e)
            j = _lit(buf, j, e, _T)
            ts, j = _ts(buf, j, e)
            j = _lit(buf, j, e, _M2)
        if j < 0:
            return K_DECLINE
        k = _lit(buf, j, e, _TRUE)
        maker = k >= 0
        if not maker:
            k = _lit(buf, j, e, _FALSE)
        if not futures:
            k = _lit(buf, k, e, _MM)
            k2 = _lit(buf, k, e, _TRUE)
            k = k2 if k2 >= 0 else _lit(buf, k, e, _FALSE)
        k = _lit(buf, k, e, _END)
        if k != e or sz == 0:
            return K_DECLINE
        fields[F_TS] = ts
        fields[F_TID] = tid
        fields[F_TPX] = px
        fields[F_TSZ] = sz
        fields[F_TSIDE] = -1 if maker else 1    # buyer is maker -> seller-initiated
        return K_TRADE
    return K_DECLINE


@numba.njit(cache=True, nogil=True)
def recv_prefix(buf, i, e):
    """'<digits> ' receive timestamp of a recorded line -> (recv_ns, payload start) or (0, -1)."""
    v = 0
    j = i
    while j < e and 48 <= buf[j] <= 57:
        j += 1
    nd = j - i
    if nd == 0 or nd > 19 or j >= e or buf[j] != 32:
        return 0, -1
    if nd == 19:
        # up to 9223372036854775807 fits; compare digit strings to avoid overflow
        for k in range(19):
            d = buf[i + k]
            ld = _LIM[k]
            if d < ld:
                break
            if d > ld:
                return 0, -1
    for k in range(i, j):
        v = v * 10 + (buf[k] - 48)
    if v < 10**17:
        if v > _MAXV // 1000:
            return 0, -1
        v *= 1000
    return v, j + 1


# ==== 3. batch loop ============================================================
R_DONE = 0      # all lines handled
R_PYTHON = 1    # line i needs the Python path
R_GROW = 2      # line i needs more book capacity
R_FLUSH = 3     # line i needs a free output row


@numba.njit(cache=True, nogil=True)
def needs_python(k, st, futures, fields) -> bool:
    """Whether a decoded message of kind `k` needs a decision the compiled loop does not take (an
    unsynced or straddling depth book, a diff that does not chain, a BBO that does not advance, a
    repeated trade id): the line then goes through BinanceDecoder and the Python sync rules. Reads
    the state only."""
    if k == K_DEPTH:
        if st[S_BBO_MODE] == 0:
            if st[S_SYNCED] == 0 or st[S_STRADDLE] != 0:
                return True
            if futures:
                return fields[F_PU] != st[S_LAST_U]
            return fields[F_U_FIRST] != st[S_LAST_U] + 1
        return False
    if k == K_BBO:
        if st[S_BBO_MODE] != 0:
            return st[S_SYNCED] == 0 or fields[F_BBO_U] <= st[S_LAST_U]
        return False
    return fields[F_TID] <= st[S_LAST_TRADE]


@numba.njit(cache=True, nogil=True)
def apply_decoded(k, i, recv, st, bk, bv, bix, ak, av, aix, out, cross_idx, futures, fields, lv_px,
                  lv_sz, dkey, dsz, defer):
    """Apply decoded message `k` of line `i` (received at `recv`) to the book, after any updates a
    previous line deferred. Returns R_DONE when it was applied (and counted), else R_PYTHON / R_GROW /
    R_FLUSH with nothing of this message applied. `defer`: deep levels of a diff go to dkey/dsz
    (apply_levels_deferring) instead of into the book."""
    if needs_python(k, st, futures, fields):
        return R_PYTHON
    apply_deferred(st, bk, bv, bix, ak, av, aix, dkey, dsz)   # capacity for them was checked with their diff
    if k == K_DEPTH:
        if st[S_BBO_MODE] == 0:
            nb = fields[F_NBID]
            na = fields[F_NASK]
            if bix[2] < nb + 1 or aix[2] < na + 1:      # worst case: one split per level
                return R_GROW
            if st[S_NOUT] >= len(out):
                return R_FLUSH
            if defer:
                apply_levels_deferring(st, bk, bv, bix, ak, av, aix, lv_px, lv_sz, nb, na, dkey, dsz)
            else:
                apply_levels(st, bk, bv, bix, ak, av, aix, lv_px, lv_sz, nb, na)
            st[S_LAST_U] = fields[F_U_FINAL]
            if emit(st, bk, bv, bix, ak, av, aix, out, fields[F_TS], recv, fields[F_U_FINAL]):
                c = st[S_NCROSS_IDX]
                if c < len(cross_idx):
                    cross_idx[c] = i
                    st[S_NCROSS_IDX] = c + 1
        st[S_EV_DEPTH] += 1
    elif k == K_BBO:
        if st[S_BBO_MODE] != 0:
            if st[S_NOUT] >= len(out):
                return R_FLUSH
            side_clear(bix, bk.shape[0])
            side_clear(aix, ak.shape[0])
            side_set(bk, bv, bix, fields[F_BPX], fields[F_BSZ])
            side_set(ak, av, aix, -fields[F_APX], fields[F_ASZ])
            st[S_LAST_U] = fields[F_BBO_U]
            if emit(st, bk, bv, bix, ak, av, aix, out, fields[F_TS], recv, fields[F_BBO_U]):
                c = st[S_NCROSS_IDX]
                if c < len(cross_idx):
                    cross_idx[c] = i
                    st[S_NCROSS_IDX] = c + 1
        st[S_EV_BBO] += 1
    else:
        st[S_LAST_TRADE] = fields[F_TID]
        if fields[F_TSIDE] > 0:
            st[S_TBUY] += fields[F_TSZ]
        else:
            st[S_TSELL] += fields[F_TSZ]
        st[S_EV_TRADE] += 1
    st[S_MESSAGES] += 1
    return R_DONE


@numba.njit(cache=True, nogil=True)
def run_lines(buf, starts, ends, i0, i1, recv_override, st, bk, bv, bix, ak, av, aix, out, cross_idx,
              futures, sym, pmul, pdiv, smul, sdiv, max_ticks, max_lots, fields, lv_px, lv_sz, dkey, dsz):
    """Returns (index of the first unhandled line, R_*). recv_override >= 0: lines are bare JSON
    frames received at that time; otherwise each line starts with its '<recv ts> ' prefix."""
    for i in range(i0, i1):
        s = starts[i]
        e = ends[i]
        if recv_override >= 0:
            recv = recv_override
            p = s
        else:
            recv, p = recv_prefix(buf, s, e)
            if p < 0:
                return i, R_PYTHON
        k = decode_payload(buf, p, e, recv, futures, sym, pmul, pdiv, smul, sdiv, max_ticks, max_lots,
                           fields, lv_px, lv_sz)
        if k == K_DECLINE:
            return i, R_PYTHON
        r = apply_decoded(k, i, recv, st, bk, bv, bix, ak, av, aix, out, cross_idx, futures, fields,
                          lv_px, lv_sz, dkey, dsz, False)
        if r != R_DONE:
            return i, r
    return i1, R_DONE


# ==== 4. one line at a time (the appliance's per-event path) ==================================
# book_line results (R_GROW / R_FLUSH: nothing changed, make room and call again)
B_NONE = 0        # applied, no record (a trade, or a message the book mode ignores)
B_RECORD = 1      # applied, its record is in `rec` (and `touch`)
B_ROWS = 4        # applied, its record is in the output buffer after earlier rows: take() them
B_CROSSED = 8     # bit set with B_RECORD / B_ROWS: the update left the book crossed or locked
B_PYTHON = 16     # the state changed since decode_line: nothing applied, the line needs Python

T_SEQ, T_TS, T_RECV, T_BID, T_ASK, T_FLAGS = 0, 1, 2, 3, 4, 5   # touch[] layout
N_TOUCH = 6


@numba.njit(cache=True, nogil=True)
def decode_line(buf, s, e, recv_override, st, futures, sym, pmul, pdiv, smul, sdiv, max_ticks, max_lots,
                fields, lv_px, lv_sz):
    """The decode stage of one line: its message kind (K_DEPTH / K_BBO / K_TRADE, fields in `fields`
    and `lv_*`) when the compiled book step can apply it, else K_DECLINE: the line goes through
    BinanceDecoder and the Python sync rules. Changes no book state."""
    if recv_override >= 0:
        recv = recv_override
        p = s
    else:
        recv, p = recv_prefix(buf, s, e)
        if p < 0:
            return K_DECLINE
    k = decode_payload(buf, p, e, recv, futures, sym, pmul, pdiv, smul, sdiv, max_ticks, max_lots,
                       fields, lv_px, lv_sz)
    if k == K_DECLINE or needs_python(k, st, futures, fields):
        return K_DECLINE
    return k


@numba.njit(cache=True, nogil=True)
def book_line(k, st, bk, bv, bix, ak, av, aix, out, cross_idx, futures, fields, lv_px, lv_sz, dkey, dsz,
              rec, touch):
    """The book stage of one line decoded by decode_line: apply it, and when it made a record with
    no earlier row pending, move that row out of the buffer into the one-record array `rec` (and its
    touch: seq, ts, recv, best bid, best ask, flags into `touch`). Returns B_* or R_GROW / R_FLUSH.
    A diff's deep levels that cannot reach the record are left in dkey/dsz (apply_deferred; the next
    message applies them first if the caller has not)."""
    pending = st[S_NOUT]
    ncross = st[S_NCROSS_IDX]
    r = apply_decoded(k, 0, fields[F_RECV], st, bk, bv, bix, ak, av, aix, out, cross_idx, futures,
                      fields, lv_px, lv_sz, dkey, dsz, True)
    if r != R_DONE:
        return B_PYTHON if r == R_PYTHON else r
    if st[S_NOUT] == pending:
        return B_NONE
    crossed = B_CROSSED if st[S_NCROSS_IDX] != ncross else 0
    if pending != 0:
        return B_ROWS | crossed
    L = st[S_LEVELS]
    row = out[0]
    x = rec[0]
    x["seq"] = row[0]
    x["ts_ns"] = row[1]
    x["recv_ns"] = row[2]
    x["update_id"] = row[3]
    bpx = x["bid_px"]
    bsz = x["bid_sz"]
    apx = x["ask_px"]
    asz = x["ask_sz"]
    for j in range(L):
        bpx[j] = row[4 + j]
        bsz[j] = row[4 + L + j]
        apx[j] = row[4 + 2 * L + j]
        asz[j] = row[4 + 3 * L + j]
    x["trade_buy"] = row[4 + 4 * L]
    x["trade_sell"] = row[5 + 4 * L]
    x["flags"] = row[6 + 4 * L]
    touch[T_SEQ] = row[0]
    touch[T_TS] = row[1]
    touch[T_RECV] = row[2]
    touch[T_BID] = row[4]
    touch[T_ASK] = row[4 + 2 * L]
    touch[T_FLAGS] = row[6 + 4 * L]
    st[S_NOUT] = 0
    return B_RECORD | crossed
