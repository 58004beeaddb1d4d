"""QuoteWriter.encode_single (the appliance's dry-run encoder for a one-instrument Quote) against the
general path (QuoteWriter.messages + encode_message): byte-identical on the quotes of a real replay and
on every optional-field combination."""
from __future__ import annotations

import itertools
from decimal import Decimal

from control.fix.interface import InstrumentQuote, QuoteUpdate
from control.fix.messages import byte_sum, encode_message, utc_timestamp
from control.fix.quotes import QuoteWriter

T0 = 1_721_347_021_080_832_061


def _header(seq: int, now_ns: int) -> list[tuple[int, bytes]]:
    return [(34, b"%d" % seq), (49, b"QUOTEGUARD"), (52, utc_timestamp(now_ns)), (56, b"DRYRUN")]


def _both(events: list[QuoteUpdate]) -> None:
    fast, ref = QuoteWriter(), QuoteWriter()
    for n, ev in enumerate(events, 1):
        now = T0 + n * 7_654_321
        (msg,) = ref.messages(ev, now)
        assert fast.encode_single(ev, now, _header(n, now)) == encode_message(msg, _header(n, now))


def test_encode_single_matches_the_general_path_on_every_field_combination() -> None:
    px, sz = (None, Decimal("64000.1"), Decimal("0E-7")), (None, Decimal("0.010"), Decimal(3))
    events = [
        QuoteUpdate((InstrumentQuote("BTCUSDT", bp, op, bs, os_),), reason, valid)
        for bp, op, bs, os_, reason, valid in itertools.product(px, px, sz, sz, ("", "vol_spread;move_widen"),
                                                               (None, T0 + 2_000_000_000))
    ]
    _both(events)


def test_encode_single_matches_the_general_path_on_a_real_replay(model_cfg, model_artifacts) -> None:
    from pathlib import Path

    from control.appliance import Appliance, ApplianceConfig, QueueSink, head_lines, iter_lines
    from control.backends.cpu import CpuBackend
    from control.book.stream import FeedProcessor
    from control.marketdata.source import sniff_binance
    from control.metrics import Metrics
    from control.quoting.config import load_config
    from control.quoting.engine import QuotingEngine

    capture = Path(__file__).resolve().parents[2] / "data" / "binance" / "btcusdt_20240718.gz"
    inst = sniff_binance(head_lines(capture), capture)
    sink = QueueSink()
    app = Appliance(ApplianceConfig(inst.symbol), FeedProcessor(inst), CpuBackend.open(model_artifacts, model_cfg),
                    QuotingEngine(load_config()), sink, Metrics())
    app.run(iter_lines([capture]))
    updates = [e for e in sink.events if isinstance(e, QuoteUpdate)]
    assert len(updates) > 20
    _both(updates)


def test_byte_sum() -> None:
    for n in (0, 1, 255, 256, 257, 1000, 70_000):
        data = bytes((i * 37 + 11) % 256 for i in range(n))
        assert byte_sum(data) == sum(data)
    assert byte_sum(b"\xff" * 256) == 255 * 256


def test_dry_run_sink_frames_equal_its_general_path_on_a_real_replay(model_cfg, model_artifacts) -> None:
    """The appliance's dry-run requote path (DryRunSink.quote_decision: the compiled QuoteFrame from
    ticks and lots) against the same sink's general path (send(to_fix_event(...))) on every decision
    of a real replay: the same bytes, sequence numbers and QuoteIDs."""
    from pathlib import Path

    from control.appliance import Appliance, ApplianceConfig, DryRunSink, head_lines, iter_lines, to_fix_event
    from control.backends.cpu import CpuBackend
    from control.book.stream import FeedProcessor
    from control.marketdata.source import sniff_binance
    from control.metrics import Metrics
    from control.quoting.config import load_config
    from control.quoting.engine import QuotingEngine
    from control.quoting.types import Action

    capture = Path(__file__).resolve().parents[2] / "data" / "binance" / "btcusdt_20240718.gz"
    inst = sniff_binance(head_lines(capture), capture)
    app = Appliance(ApplianceConfig(inst.symbol), FeedProcessor(inst), CpuBackend.open(model_artifacts, model_cfg),
                    QuotingEngine(load_config()), DryRunSink(), Metrics())
    decisions = [d for ln in iter_lines([capture]) for d in app.on_line(ln) if d.action is Action.QUOTE]
    assert len(decisions) > 20
    fast, general = [], []
    a, b = DryRunSink(fast.append), DryRunSink(general.append)
    for d in decisions:
        assert a.quote_decision(d, app.inst, d.ts_ns)
        b.send(to_fix_event(d, app.inst), d.ts_ns)
    assert fast == general
