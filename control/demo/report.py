"""The demo's summary (a JSON-able dict) and its report folder: `report.md`, `summary.json` and three
PNG plots (mid price with the predictions and our quotes; quoted spread over time; per-stage latency
histogram). Matplotlib runs headless (Agg)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from control import metrics
from control.demo.orchestrate import DemoResult
from control.quoting.types import Action, ReasonCode

log = logging.getLogger(__name__)

STAGES = (*metrics.STAGES, "total")   # every stage the appliance times, then decode start -> FIX bytes
PLOTS = {
    "mid_predictions": "mid_predictions.png",
    "spread": "spread.png",
    "latency": "latency.png",
}


def _pct_us(ns: list[int]) -> dict[str, float] | None:
    if not ns:
        return None
    v = np.percentile(np.asarray(ns, dtype=np.float64) / 1e3, (50, 99))
    return {"p50": round(float(v[0]), 1), "p99": round(float(v[1]), 1)}


def _slice(r: DemoResult) -> dict[str, Any] | None:
    b = r.backend
    if b.primary_name is None:
        return None
    cycles = sorted(set(b.card_cycles))
    out: dict[str, Any] = {
        "backend": b.primary_name,
        "records": b.overlap.compared,
        "round_trip_us": _pct_us(b.primary_wall_ns),
        "card_cycles_t_out_minus_t_in": cycles,
        "latency_us": r.slice_latency_us,
        "faults": [f.__dict__ for f in b.faults],
    }
    if r.sim_clock_ns is not None and cycles:
        out["sim_clock_ns"] = r.sim_clock_ns
        out["datapath_ns_at_sim_clock"] = [round((c + 1) * r.sim_clock_ns, 1) for c in cycles]
    return out


def summary(r: DemoResult) -> dict[str, Any]:
    c, d, b = r.counters, r.decisions, r.backend
    ident = b.primary_identity
    bit_exact = None
    if b.primary_name is not None:
        bit_exact = {
            "hardware": b.primary_name,
            "compared": b.overlap.compared,
            "mismatched": b.overlap.mismatched,
            "identical": b.overlap.identical,
            "examples": b.overlap.examples,
        }
    return {
        "ok": r.ok,
        "symbol": r.symbol,
        "data": [str(p) for p in r.settings.data],
        "lines": c.lines,
        "events": c.records,
        "predictions": len(r.predictions),
        "predictions_by_backend": r.predictions.by_backend(),
        "refused_records": c.refused_records,
        "undecodable_lines": c.decode_errors,
        "invalid_predictions": c.invalid_predictions,
        "backend": {
            "requested": r.settings.backend,
            "segments": r.predictions.segments(),
            "notes": list(r.plan.notes),
        },
        "bit_exact": bit_exact,
        "quotes": {
            "sent": d.count(Action.QUOTE),
            "widened": d.widened_quotes,
            "size_cut": d.with_reason(ReasonCode.WITHDRAW_CUT),
            "pulled": d.count(Action.PULL),
            "unchanged": d.count(Action.UNCHANGED),
            "reasons": dict(sorted(d.reasons.items())),
        },
        "fix": r.fix.as_dict(),
        "latency_us": {s: r.latency_us[s] for s in STAGES if s in r.latency_us},
        "rtl_slice": _slice(r),
        "model": {
            "name": r.settings.model,
            "hash": r.model_hash,
            "card_model_hash": ident.model_hash if ident is not None else None,
            "firmware_hash": ident.firmware_hash if ident is not None else None,
            "regmap_version": ident.regmap_version if ident is not None else None,
            "core_id": ident.as_dict()["core_id"] if ident is not None else None,
        },
        "wall_s": round(r.wall_s, 2),
        "machine": {"cpus": os.cpu_count(), "load_avg_at_start": [round(x, 2) for x in r.load_avg]},
    }


def backend_line(s: dict[str, Any]) -> str:
    """'rtl (seq 1..64, 64 records) -> cpu (seq 65..3322, 3258 records)'"""
    return " -> ".join(
        f"{g['backend']} (seq {g['first_seq']}..{g['last_seq']}, {g['records']} records)"
        for g in s["backend"]["segments"]
    ) or "none (no records)"


def _markdown(s: dict[str, Any], plots: dict[str, str]) -> str:
    q, f, m = s["quotes"], s["fix"], s["model"]
    be = s["bit_exact"]
    lines = [
        f"# QuoteGuard demo: {s['symbol']}",
        "",
        f"Replayed {', '.join(f'`{p}`' for p in s['data'])} through the appliance: decode -> book -> "
        f"backend -> quoting -> FIX 4.4 to our own acceptor in venue role on {f['venue']}.",
        "",
        f"**Result: {'OK' if s['ok'] else 'FAILED'}** (bit-exact overlap and venue checks), "
        f"wall time {s['wall_s']} s on {s['machine']['cpus']} CPUs at load average "
        f"{s['machine']['load_avg_at_start'][0]} (shared machine: the latency tails are other processes).",
        "",
        "| what | value |",
        "|---|---|",
        f"| lines / events / predictions | {s['lines']} / {s['events']} / {s['predictions']} |",
        f"| backend | {backend_line(s)} |",
    ]
    if be is not None:
        verdict = "identical" if be["identical"] else f"{be['mismatched']} DIFFER"
        lines.append(
            f"| bit-exact ({be['hardware']} vs CPU reference) | {be['compared']} records compared, {verdict} |"
        )
    lines += [
        f"| quotes sent / widened / size cut / pulled | {q['sent']} / {q['widened']} / {q['size_cut']} / "
        f"{q['pulled']} ({q['unchanged']} decisions left the quote standing) |",
        f"| FIX messages sent / received by the venue | {f['messages_sent']} / "
        f"{f['messages_received_by_venue']} (seq {f['first_seq']}..{f['last_seq']}, "
        f"contiguous: {'yes' if f['seq_contiguous'] else 'NO'}, rejects {f['rejects']}) |",
        f"| refused records / undecodable lines / INVALID predictions | {s['refused_records']} / "
        f"{s['undecodable_lines']} / {s['invalid_predictions']} |",
        f"| model hash | `{m['hash']}` |",
    ]
    if m["firmware_hash"] is not None:
        lines.append(
            f"| card: model hash / firmware / regmap / core id | `{m['card_model_hash']}` / "
            f"`{m['firmware_hash']}` / v{m['regmap_version']} / {m['core_id']} |"
        )
    for note in s["backend"]["notes"]:
        lines.append(f"| note | {note} |")
    lines += ["", "## Latency per stage (CPU path, µs)", "", "| stage | p50 | p99 | p99.9 | n |", "|---|---:|---:|---:|---:|"]
    for stage, v in s["latency_us"].items():
        lines.append(f"| {stage} | {v['p50']:.1f} | {v['p99']:.1f} | {v['p99.9']:.1f} | {v['n']} |")
    lines += [
        "",
        "`decode` and `book` are per input line, the others per event; `fix_encode` is the hand-off of the "
        "quote event to the FIX session (the session encodes and sends it on its event loop).",
    ]
    rs = s["rtl_slice"]
    if rs is not None:
        lines += ["", f"## Hardware slice ({rs['backend']})", ""]
        rt = rs["round_trip_us"]
        if rt is not None:
            lines.append(
                f"- host round trip per record (simulator wall time on rtl): p50 {rt['p50']} µs, p99 {rt['p99']} µs"
            )
        if rs.get("datapath_ns_at_sim_clock"):
            lines.append(
                f"- datapath t_out - t_in = {rs['card_cycles_t_out_minus_t_in']} cycles "
                f"(record in to prediction out {rs['datapath_ns_at_sim_clock']} ns at the "
                f"{rs['sim_clock_ns']} ns simulation clock)"
            )
        for fault in rs["faults"]:
            lines.append(f"- fault at seq {fault['at_seq']}: {fault['reason']}: {fault['detail']}")
        if be is not None and be["examples"]:
            lines += ["", "First differences:", "", "```", *(json.dumps(e) for e in be["examples"]), "```"]
    lines += ["", "## Plots", ""]
    for title, name in (
        ("Mid price, our quotes and the predictions", plots.get("mid_predictions")),
        ("Quoted spread over time", plots.get("spread")),
        ("Per-stage latency (CPU path)", plots.get("latency")),
    ):
        if name is not None:
            lines += [f"### {title}", "", f"![{title}]({name})", ""]
    reasons = ", ".join(f"{k} {v}" for k, v in q["reasons"].items())
    lines += ["## Quoting reasons (decisions that sent a message)", "", reasons or "none", ""]
    return "\n".join(lines)


def _to_end(td: np.ndarray, y: np.ndarray, t_end: float) -> tuple[np.ndarray, np.ndarray]:
    """Hold the last quote to the end of the data (a quote stands until replaced)."""
    if len(td) and t_end > td[-1]:
        return np.append(td, t_end), np.append(y, y[-1])
    return td, y


def _plot_mid(r: DemoResult, path: Path, plt) -> None:
    p, d = r.predictions, r.decisions
    t0 = min(p.recv_ns) if p.recv_ns else 0
    t = (np.asarray(p.recv_ns, dtype=np.float64) - t0) / 1e9
    mid2 = np.asarray(p.mid2_ticks, dtype=np.float64)
    mid = np.where(mid2 > 0, mid2 * r.tick_size / 2, np.nan)
    fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(11, 6.5), height_ratios=(3, 2))
    ax1.plot(t, mid, lw=0.8, color="black", label="mid")
    if d.ts_ns:
        td = (np.asarray(d.ts_ns, dtype=np.float64) - t0) / 1e9
        for px, color, name in ((d.bid_px, "tab:green", "our bid"), (d.ask_px, "tab:red", "our ask")):
            y = np.where(np.asarray(px) > 0, np.asarray(px, dtype=np.float64) * r.tick_size, np.nan)
            ax1.step(*_to_end(td, y, float(t[-1])), where="post", lw=0.8, color=color, label=name)
        pulls = td[np.asarray(d.action) == Action.PULL.value]
        for x in pulls:
            ax1.axvline(x, color="tab:orange", lw=0.6, alpha=0.6)
    ax2.plot(t, p.p_up, lw=0.6, label="p_up")
    ax2.plot(t, p.p_down, lw=0.6, label="p_down")
    ax2.plot(t, p.p_withdraw, lw=0.6, label="p_withdraw", alpha=0.7)
    hw = np.asarray(p.backend) != "cpu"
    if hw.any():
        for ax in (ax1, ax2):
            ax.axvspan(t[hw].min(), t[hw].max(), color="tab:purple", alpha=0.15, label=f"{p.backend[0]} slice")
    ax1.set_ylabel("price")
    ax1.set_title(f"{r.symbol}: mid, our quotes (FIX), predictions")
    ax1.legend(loc="upper left", fontsize=8)
    ax2.set_ylabel("probability")
    ax2.set_xlabel("seconds since the first record (receive clock)")
    ax2.set_ylim(0, 1)
    ax2.legend(loc="upper left", fontsize=8, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_spread(r: DemoResult, path: Path, plt) -> None:
    d = r.decisions
    fig, ax = plt.subplots(figsize=(11, 4))
    t0 = min(r.predictions.recv_ns) if r.predictions.recv_ns else 0
    bid, ask = np.asarray(d.bid_px, dtype=np.float64), np.asarray(d.ask_px, dtype=np.float64)
    both = (bid > 0) & (ask > 0)
    if both.any():
        td = (np.asarray(d.ts_ns, dtype=np.float64) - t0) / 1e9
        t_end = (max(r.predictions.recv_ns) - t0) / 1e9
        spread_bp = np.where(both, (ask - bid) / np.where(both, (ask + bid) / 2, 1) * 1e4, np.nan)
        ax.step(*_to_end(td, spread_bp, t_end), where="post", lw=0.9, label="quoted spread (ask - bid)")
        base = np.where(both, 2 * np.asarray(d.half_spread_bp), np.nan)
        ax.step(*_to_end(td, base, t_end), where="post", lw=0.8, ls="--",
                label="base spread (2 x volatility half-spread)")
        w = np.asarray(d.widened) & both
        ax.scatter(td[w], spread_bp[w], s=12, color="tab:red", zorder=3, label="widened by the model")
        for x in td[np.asarray(d.action) == Action.PULL.value]:
            ax.axvline(x, color="tab:orange", lw=0.6, alpha=0.6)
    ax.set_ylabel("bp of mid")
    ax.set_xlabel("seconds since the first record (receive clock)")
    ax.set_title(f"{r.symbol}: quoted spread over time (orange: pulls)")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_latency(r: DemoResult, path: Path, plt) -> None:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    samples = {s: np.asarray(r.latency_ns[s], dtype=np.float64) / 1e3 for s in STAGES if r.latency_ns.get(s)}
    if samples:
        lo = max(min(float(v[v > 0].min()) for v in samples.values() if (v > 0).any()), 0.05)
        hi = max(float(v.max()) for v in samples.values())
        bins = np.logspace(np.log10(lo), np.log10(hi * 1.01), 60)
        for s, v in samples.items():
            ax.hist(np.clip(v, lo, None), bins=bins, histtype="step", lw=1.1, label=f"{s} (n={len(v)})")
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("µs")
    ax.set_ylabel("count")
    ax.set_title("per-stage latency, CPU path")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(r: DemoResult, out_dir: Path) -> tuple[dict[str, Any], list[Path]]:
    """Write the report folder; returns the summary (with the file list) and the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    s = summary(r)
    written: list[Path] = []
    for key, fn in (("mid_predictions", _plot_mid), ("spread", _plot_spread), ("latency", _plot_latency)):
        path = out_dir / PLOTS[key]
        fn(r, path, plt)
        written.append(path)
    md = out_dir / "report.md"
    md.write_text(_markdown(s, PLOTS))
    written.append(md)
    js = out_dir / "summary.json"
    s["report"] = {"dir": str(out_dir), "files": [p.name for p in written] + [js.name]}
    js.write_text(json.dumps(s, indent=1, default=str))
    written.append(js)
    log.info("demo report written to %s", out_dir)
    return s, written
