"""The appliance's dry-run Quote bytes (DryRunSink.quote_decision: the compiled QuoteFrame) against the
general path (QuoteWriter.messages + encode_message) on a real replay; the checksum helper."""
from __future__ import annotations

from control.fix.messages import byte_sum


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
