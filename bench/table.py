"""One table from the results of bench/run_all.py: rows of (area, measure, ours, reference, ratio), the
headline ratios against the references first, the machine under the title. Also the readers of the
scripts that print text only (feed_replay.py, redis_throughput.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.run_all import BenchResults

_NUM = r"([\d,]+(?:\.\d+)?)"


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def parse_feed_replay(out: str) -> dict[str, Any]:
    """Figures printed by bench/feed_replay.py for its first file: every `<label>  <CPU-time msg/s>
    <wall msg/s>` row under the `msg/s (CPU time)  msg/s (wall)` header (labels as printed, so a new
    row of the script shows up here unchanged; the CPU-time column, which a shared machine disturbs
    least) and the per-event table."""
    first = out.split("\n\n")[0]
    rates = {}
    table = first.split("streaming per event")[0]
    for m in re.finditer(rf"^\s+(\S.*?\S)\s+{_NUM}\s+{_NUM}\s*$", table, re.M):
        rates[m.group(1)] = _num(m.group(2))
    d: dict[str, Any] = {"rates_msgs_per_s": rates}
    header = re.search(r"^(\S.*?)\s*:\s*(\d+) lines", first, re.M)
    if header:
        d["file"], d["lines"] = header.group(1), int(header.group(2))
    for kind in ("depth", "bbo", "trade", "all"):
        m = re.search(rf"^\s+{kind}\s+(\d+)\s+{_NUM}\s+{_NUM}", first, re.M)
        if m:
            d[f"per_event_{kind}"] = {"n": int(m.group(1)), "p50_us": _num(m.group(2)), "p99_us": _num(m.group(3))}
    return d


def parse_redis(out: str) -> dict[str, Any]:
    d: dict[str, Any] = {}
    patterns = {
        "publish_events_per_s": rf"publish \(pipelined XADD\):\s+{_NUM} events/s",
        "worker_events_per_s": rf"consume\+predict\+publish \(worker\):\s+{_NUM} events/s",
        "end_to_end_events_per_s": rf"end to end \(publish -> last pred\):\s+{_NUM} events/s",
        "redis_used_memory_mib": rf"used_memory {_NUM} MiB",
        "predictions_published": rf"predictions published: {_NUM}",
    }
    for key, pat in patterns.items():
        m = re.search(pat, out)
        if m:
            d[key] = _num(m.group(1))
    return d


TEXT_PARSERS: dict[str, Callable[[str], dict[str, Any]]] = {"feed": parse_feed_replay, "redis": parse_redis}


@dataclass(frozen=True)
class Row:
    area: str
    measure: str
    ours: str
    reference: str = ""
    ratio: float | None = None  # > 1: ours is better by this factor (faster / higher rate)
    source: str = ""
    headline: bool = False


def dig(d: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def _us(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.0f} µs" if x >= 1000 else f"{x:.2f} µs" if x < 10 else f"{x:.1f} µs"


def _rate(x: float | None, unit: str = "/s") -> str:
    return "n/a" if x is None else f"{x:,.0f} {unit}"


def _lat(d: dict | None, p50: str = "p50_us", p99: str = "p99_us") -> str:
    if not d:
        return "n/a"
    return f"p50 {_us(d.get(p50))}, p99 {_us(d.get(p99))}"


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _status(r: BenchResults, key: str) -> str | None:
    run = r.runs.get(key)
    if run is None:
        return "not run (not selected)"
    if run.status != "ok":
        return f"{run.status}: {run.reason}"
    return None


def rows(r: BenchResults) -> list[Row]:
    out: list[Row] = []

    def missing(area: str, key: str, what: str) -> bool:
        st = _status(r, key)
        if st is not None:
            out.append(Row(area, what, st, source=key))
        return st is not None

    # feed decode + book
    if not missing("feed", "feed", "decode + book (bench/feed_replay.py)"):
        f = r.runs["feed"].data
        rates = f.get("rates_msgs_per_s", {})
        ref_label = next((k for k in rates if "json.loads" in k and "orjson" not in k), None)
        ref = rates.get(ref_label) if ref_label else None
        for label, v in rates.items():
            if label.startswith("reference"):
                continue
            target = re.search(r"target >= ?([\d,]+)", label)
            if target:
                out.append(Row("feed", label, _rate(v, "msg/s"), f"target >= {target.group(1)} msg/s",
                               _div(v, _num(target.group(1))), "feed"))
            else:
                out.append(Row("feed", label, _rate(v, "msg/s"),
                               f"{ref_label} {_rate(ref, 'msg/s')}" if ref else "", _div(v, ref), "feed",
                               headline="all messages" in label))
        out.append(Row("feed", "per message, all types", _lat(f.get("per_event_all")), source="feed"))
    if not missing("book", "end_to_end", "per-line decode / book (bench/end_to_end.py)"):
        lat = r.runs["end_to_end"].data["latency_us"]
        out.append(Row("feed", "decode per line (appliance)", _lat(lat.get("decode"), "p50", "p99"), source="end_to_end"))
        out.append(Row("book", "book update per line (appliance)", _lat(lat.get("book"), "p50", "p99"),
                       source="end_to_end"))
    # features + CPU inference
    if not missing("cpu inference", "cpu_inference", "bench/cpu_inference.py"):
        d = r.runs["cpu_inference"].data
        cpu, tf = d.get("cpu_backend_process", {}), d.get("tensorflow_process", {})
        out.append(Row("features", "single event, streaming (compiled)", _lat(cpu.get("single_feature_only")),
                       source="cpu_inference"))
        out.append(Row("features", "batch, streaming", _rate(cpu.get("batch_features_streaming_rps"), "rec/s"),
                       f"numpy compute_features {_rate(cpu.get('batch_features_numpy_rps'), 'rec/s')}",
                       _div(cpu.get("batch_features_streaming_rps"), cpu.get("batch_features_numpy_rps")),
                       "cpu_inference"))
        single = dig(cpu, "single_feature_plus_inference.p50_us")
        out.append(Row("cpu inference", "single event, features + inference",
                       _lat(cpu.get("single_feature_plus_inference")), "target p50 <= 5 µs, p99 <= 20 µs",
                       source="cpu_inference"))
        for name, key in (("QKeras model.predict", "qkeras_predict_single"),
                          ("QKeras in tf.function", "qkeras_tf_function_single"),
                          ("hls4ml C simulation", "hls4ml_csim_single")):
            ref = dig(tf, f"{key}.p50_us")
            out.append(Row("cpu inference", f"single event p50 vs {name}", _us(single),
                           _us(ref) if ref is not None else str(tf.get("hls4ml_csim") or tf.get("error") or "n/a"),
                           _div(ref, single), "cpu_inference", headline=True))
        batch = cpu.get("batch_inference_rps")
        out.append(Row("cpu inference", "batch inference", _rate(batch, "rec/s"), "target >= 1,000,000 rec/s",
                       _div(batch, 1e6), "cpu_inference"))
        for name, key in (("QKeras model.predict", "qkeras_predict_batch_rps"),
                          ("QKeras in tf.function", "qkeras_tf_function_batch_rps"),
                          ("hls4ml C simulation", "hls4ml_csim_batch_rps")):
            ref = tf.get(key)
            out.append(Row("cpu inference", f"batch vs {name}", _rate(batch, "rec/s"),
                           _rate(ref, "rec/s") if ref is not None else "n/a", _div(batch, ref), "cpu_inference",
                           headline=True))
        exact = {k: tf.get(k) for k in ("qkeras_predict_exact", "qkeras_tf_function_exact", "hls4ml_csim_exact")}
        exact["single_equals_batch"] = cpu.get("single_equals_batch")
        exact["batch_float32_equals_int64"] = cpu.get("batch_float32_equals_int64")
        same = all(v is True for v in exact.values() if v is not None)
        out.append(Row("cpu inference", "same integers as the references",
                       "yes" if same else "NO", ", ".join(f"{k}={v}" for k, v in exact.items() if v is not None),
                       source="cpu_inference"))
        rss_keys = sorted(k for k in cpu if k.startswith("rss_mb"))
        cpu_rss = cpu.get("rss_mb_model_ready", cpu.get(rss_keys[0]) if rss_keys else None)
        for k in rss_keys:
            out.append(Row("memory", f"CPU backend process (no TensorFlow), {k}", f"{cpu[k]:.0f} MB",
                           source="cpu_inference"))
        if tf.get("rss_mb") and cpu_rss:
            out.append(Row("memory", "TensorFlow process (QKeras + hls4ml C-sim) RSS", f"{tf['rss_mb']:.0f} MB",
                           f"CPU backend process, model ready {cpu_rss:.0f} MB", _div(tf["rss_mb"], cpu_rss),
                           "cpu_inference"))
    # RTL
    rtl, pr = r.rtl, r.post_route
    if rtl.get("status") == "ok":
        cyc = rtl["latency_cycles"]
        out.append(Row("rtl", "qg_core_top record in -> prediction out (cocotb, Icarus)",
                       f"{cyc} cycles, II {rtl['ii_in']:g} (one record per clock)",
                       f"{cyc * rtl['sim_clock_ns']:.0f} ns at the {rtl['sim_clock_ns']:g} ns sim clock", source="rtl"))
    else:
        out.append(Row("rtl", "qg_core_top latency (cocotb)", f"{rtl.get('status')}: {rtl.get('reason', '')}",
                       source="rtl"))
    if pr.get("status") == "ok":
        fmax = pr["fmax_mhz"]
        design = f"{pr.get('board')} {pr.get('design')} ({pr.get('flow')} flow)"
        out.append(Row("rtl", "post-route Fmax", f"{fmax:.1f} MHz",
                       f"target {pr.get('target_mhz')} MHz, met={pr.get('met')}; {design}"
                       + (f"; manifest: {pr['manifest_latency_cycles']} cycles = {pr['manifest_latency_ns']} ns"
                          if pr.get("manifest_latency_ns") is not None else "")
                       + ("" if pr.get("model_hash_matches") in (True, None)
                          else "; built from ANOTHER model than models/qg_mlp/artifacts"),
                       _div(fmax, pr.get("target_mhz")), "manifest"))
        if pr.get("utilization"):
            out.append(Row("rtl", "post-route utilization", pr["utilization"], source="manifest"))
        # the built configuration's own cycles (hw/boards.yaml `pipeline:`), not the compact simulation's
        cycles = pr.get("manifest_latency_cycles") or (rtl["latency_cycles"] if rtl.get("status") == "ok" else None)
        if cycles:
            ns = cycles * 1000.0 / fmax
            single = dig(r.runs.get("cpu_inference").data if _status(r, "cpu_inference") is None else {},
                         "cpu_backend_process.single_feature_plus_inference.p50_us")
            out.append(Row("rtl", "record in -> prediction out at post-route Fmax", f"{ns:.1f} ns",
                           f"CPU single event p50 {_us(single)}" if single else "n/a",
                           _div(single * 1000.0 if single else None, ns), "rtl + manifest", headline=True))
    else:
        out.append(Row("rtl", "post-route ns (firmware/ecp5-85f/manifest.json)", pr.get("status", "not built"),
                       pr.get("reason", ""), source="manifest"))
    # FIX
    if not missing("fix", "fix", "bench/fix.py"):
        fr = {row["name"]: row for row in r.runs["fix"].data.get("rows", [])}

        def fx(prefix: str) -> dict | None:
            return next((v for k, v in fr.items() if k.startswith(prefix)), None)

        for what, ours_k, ref_k in (("encode a Quote", "ours encode", "simplefix encode"),
                                    ("Quote frame, compiled (the appliance's requote path)", "ours Quote frame",
                                     "simplefix encode"),
                                    ("frame + parse, 64 KiB chunks", "ours frame + parse", "simplefix parse")):
            o, ref = fx(ours_k), fx(ref_k)
            if o and ref:
                out.append(Row("fix", what, f"{o['us_per_msg']:.1f} µs/msg", f"simplefix {ref['us_per_msg']:.1f} µs/msg",
                               _div(ref["us_per_msg"], o["us_per_msg"]), "fix", headline=True))
        for what, k in (("session send (dictionary check, memory store)", "ours session send (validate"),
                        ("session send, SQLite FULL (fsync per message)", "ours session send (SqliteStore FULL"),
                        ("session receive (frame, parse, validate, sequence)", "ours session receive"),
                        ("loopback TCP initiator -> our venue", "ours loopback TCP")):
            o = fx(k)
            if o:
                out.append(Row("fix", what, f"{o['us_per_msg']:.1f} µs/msg ({o['msg_per_s']:,.0f} msg/s)",
                               source="fix"))
    # failover
    if not missing("failover", "failover", "bench/failover_switch.py"):
        for f in r.runs["failover"].data.get("rows", []):
            out.append(Row("failover", f"rtl -> cpu on '{f.get('fault')}' ({f.get('reason')})",
                           f"detect + switch {f.get('detect_and_switch_ms')} ms, switch {f.get('switch_ms')} ms",
                           f"rtl batch {f.get('rtl_batch_ms')} ms, cpu batch {f.get('cpu_batch_ms')} ms; "
                           f"same predictions as all-CPU: {'yes' if f.get('identical_to_cpu') else 'NO'}",
                           source="failover"))
    # end to end
    if not missing("end to end", "end_to_end", "bench/end_to_end.py"):
        e = r.runs["end_to_end"].data
        lat = e["latency_us"]
        out.append(Row("end to end", "per event, decode -> FIX bytes (CPU backend)",
                       _lat(lat.get("total"), "p50", "p99"), "target p99 <= 50 µs",
                       _div(50.0, dig(lat, "total.p99")), "end_to_end"))
        gen = e.get("generic_path_latency_us", {}).get("total")
        if gen:
            out.append(Row("end to end", "same, generic per-stage path (a compiled call per stage)",
                           _lat(gen, "p50", "p99"), "the fused path's reference",
                           _div(gen.get("p99"), dig(lat, "total.p99")), "end_to_end"))
        for stage in ("features", "inference", "quoting", "fix_encode"):
            if stage in lat:
                out.append(Row("end to end", f"stage {stage}", _lat(lat[stage], "p50", "p99"), source="end_to_end"))
        out.append(Row("end to end", "throughput", f"{e.get('events_per_s', 0):,} events/s, "
                       f"{e.get('lines_per_s', 0):,} lines/s", f"{e.get('events')} events of {len(e.get('files', []))} file(s)",
                       source="end_to_end"))
        rss = e.get("rss_mb", {})
        out.append(Row("memory", "appliance process RSS (peak)", f"{rss.get('VmRSS', 0):.0f} MB "
                       f"({rss.get('VmHWM', 0):.0f} MB)", "target <= 300 MB", _div(300.0, rss.get("VmHWM")),
                       "end_to_end"))
    # scale-out, backtest
    if not missing("scale-out", "redis", "bench/redis_throughput.py"):
        d = r.runs["redis"].data
        out.append(Row("scale-out", "Redis Streams publish -> worker -> prediction",
                       _rate(d.get("end_to_end_events_per_s"), "events/s"),
                       f"worker alone {_rate(d.get('worker_events_per_s'), 'events/s')}", source="redis"))
        if d.get("redis_used_memory_mib") is not None:
            out.append(Row("memory", "redis-server used_memory", f"{d['redis_used_memory_mib']:.1f} MiB",
                           source="redis"))
    if not missing("quoting", "backtest", "control/backtest/bench.py"):
        d = r.runs["backtest"].data
        out.append(Row("quoting", "QuotingEngine.on_book", _lat(d.get("on_book")), source="backtest"))
        out.append(Row("quoting", "option RFQ (Black-76 + Greeks)", _lat(d.get("rfq_price")), source="backtest"))
        out.append(Row("backtest", "one arm over real records", _rate(d.get("simulate_records_per_s"), "rec/s"),
                       f"three arms {d.get('run_backtest_three_arms_s')} s for {d.get('records')} records",
                       source="backtest"))
    return out


def _ratio(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:,.0f}x" if x >= 100 else f"{x:.1f}x" if x >= 1 else f"{x:.2f}x"


def _cell(x: object) -> str:
    return " ".join(str(x).split()).replace("|", "\\|")


def markdown(r: BenchResults, table: list[Row]) -> str:
    m = r.machine
    v = ", ".join(f"{k} {val}" for k, val in m["versions"].items() if val)
    lines = [
        "# QuoteGuard benchmarks",
        "",
        f"{'Quick run (small counts)' if r.quick else 'Full run'} on {m['date_utc']}: {m['cpu_model']}, "
        f"{m['cpus']} CPUs ({m['cpus_usable']} usable), Python {m['python']}, {m['platform']}; load average "
        f"{' / '.join(str(x) for x in m['load_avg_at_start'])} at start (a shared machine inflates the tails). "
        f"{v}. Total {r.wall_s:.0f} s.",
        "",
        "Ratio: how many times better ours is (reference time / ours, or ours rate / reference); for a target "
        "row, how far inside the target (>= 1x: met).",
        "",
        "## Headline: against the references",
        "",
        "| measure | ours | reference | ratio |",
        "|---|---|---|---:|",
    ]
    for row in table:
        if row.headline:
            lines.append(f"| {row.area}: {_cell(row.measure)} | {_cell(row.ours)} | {_cell(row.reference)} | "
                         f"{_ratio(row.ratio)} |")
    lines += ["", "## All figures", "", "| area | measure | ours | reference / target | ratio | source |",
              "|---|---|---|---|---:|---|"]
    for row in table:
        lines.append(f"| {row.area} | {_cell(row.measure)} | {_cell(row.ours)} | {_cell(row.reference)} | "
                     f"{_ratio(row.ratio)} | {row.source} |")
    lines += ["", "## Runs", "", "| key | status | s | command | note |", "|---|---|---:|---|---|"]
    for run in r.runs.values():
        status = run.status if run.status == "ok" else _cell(f"{run.status}: {run.reason}")
        lines.append(f"| {run.key} | {status} | {run.wall_s:.1f} | `{' '.join(run.argv)}` | {run.note} |")
    rt = r.rtl
    lines.append(f"| rtl | {_cell(rt.get('status'))}{_cell(': ' + rt['reason']) if rt.get('reason') else ''} | "
                 f"{rt.get('wall_s', 0):.1f} | `{' '.join(rt.get('argv', []))}` | cocotb latency_and_throughput |")
    text_runs = [run for run in r.runs.values() if run.note.startswith("no --json") and run.stdout]
    for run in text_runs:
        lines += ["", f"## {run.key}: printed output (verbatim)", "", "```", run.stdout.rstrip(), "```"]
    lines.append("")
    return "\n".join(lines)


def write(r: BenchResults, out_dir: Path) -> tuple[list[Row], list[Path]]:
    table = rows(r)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "BENCH.md"
    md.write_text(markdown(r, table))
    js = out_dir / "bench.json"
    js.write_text(json.dumps({
        "machine": r.machine, "quick": r.quick, "wall_s": round(r.wall_s, 1), "failed": r.failed,
        "rows": [asdict(x) for x in table], "runs": {k: v.as_dict() for k, v in r.runs.items()},
        "rtl": r.rtl, "post_route": r.post_route,
    }, indent=1, default=str))
    return table, [md, js]
