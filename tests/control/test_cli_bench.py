"""`quoteguard bench`: runs the area benchmarks as subprocesses and writes one table with the machine
description; reads the scripts that print text only; a failing script is exit 1, a missing tool a
'skipped' row, a missing firmware manifest 'not built'."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

import bench.run_all as run_all
from bench.run_all import BenchResults, Run, Script
from bench.table import markdown, parse_feed_replay, parse_redis, rows
from control.cli import main

FEED_TEXT = """load average 2.01 on 2 CPUs (figures are per process, one thread)
btcusdt_20240718.gz (binance:usdm:BTCUSDT): 11414 lines, 3326 depth diffs (~21.7 price levels each), record levels=10
                                                        msg/s (CPU time)  msg/s (wall)
  reference: json.loads loop (parse only)                        150,083       150,001
  reference: orjson.loads loop (parse only)                      504,986       504,900
  python path, all messages (decode+book+record)                  31,750        31,700
  batch, depth diffs, steady state (target >=200,000)             93,041        93,000
  steady-state depth diff: 1.64 µs CPU mean (decode+book+record)
  streaming per event (µs)         n      p50      p99     mean
    depth                      3326     9.29    63.79    23.52
    all                       11414     4.51    26.04
"""  # the layout bench/feed_replay.py prints (a real run's, with other figures)
REDIS_TEXT = """5000 records (btcusdt_20240718.gz...), batch 256, redis-server on 127.0.0.1
publish (pipelined XADD):               48040 events/s
consume+predict+publish (worker):       10405 events/s
end to end (publish -> last pred):       8459 events/s
predictions published: 5000; redis used_memory 4.1 MiB
"""


def test_text_outputs_are_read():
    f = parse_feed_replay(FEED_TEXT)
    assert f["rates_msgs_per_s"]["python path, all messages (decode+book+record)"] == 31750
    assert f["rates_msgs_per_s"]["reference: json.loads loop (parse only)"] == 150083
    assert f["rates_msgs_per_s"]["batch, depth diffs, steady state (target >=200,000)"] == 93041
    assert len(f["rates_msgs_per_s"]) == 4          # the per-event table is not read as rates
    assert f["per_event_all"] == {"n": 11414, "p50_us": 4.51, "p99_us": 26.04}
    r = parse_redis(REDIS_TEXT)
    assert r["end_to_end_events_per_s"] == 8459 and r["redis_used_memory_mib"] == 4.1


def _results() -> BenchResults:
    res = BenchResults(run_all.machine(), quick=True)
    res.runs["feed"] = Run("feed", "feed", ["python", "bench/feed_replay.py"], "ok",
                           data=parse_feed_replay(FEED_TEXT), stdout=FEED_TEXT, note="no --json: verbatim")
    cpu = {"single_feature_plus_inference": {"p50_us": 2.5, "p99_us": 3.0}, "batch_inference_rps": 5e6,
           "single_equals_batch": True, "rss_mb_model_ready": 180.0}
    tf = {"qkeras_predict_single": {"p50_us": 50000.0, "p99_us": 60000.0},
          "qkeras_tf_function_single": {"p50_us": 250.0, "p99_us": 300.0}, "qkeras_predict_batch_rps": 5e5,
          "qkeras_predict_exact": True, "hls4ml_csim": "not built", "rss_mb": 800.0}
    res.runs["cpu_inference"] = Run("cpu_inference", "cpu", ["python"], "ok",
                                    data={"cpu_backend_process": cpu, "tensorflow_process": tf})
    res.runs["fix"] = Run("fix", "fix", ["python"], "failed", reason="exit 1: boom")
    res.rtl = {"status": "ok", "latency_cycles": 19, "latency_reg": 19, "ii_in": 1.0, "ii_out": 1.0, "sim_clock_ns": 4.0}
    res.post_route = {"status": "ok", "fmax_mhz": 190.0, "target_mhz": 150.0, "met": True, "board": "ecp5-85f",
                      "design": "qg_core", "flow": "open"}
    return res


def test_table_headline_ratios_and_machine():
    res = _results()
    table = rows(res)
    by = {(r.area, r.measure): r for r in table}
    q = by[("cpu inference", "single event p50 vs QKeras model.predict")]
    assert q.headline and q.ratio == pytest.approx(20000.0)
    assert by[("cpu inference", "batch vs QKeras model.predict")].ratio == pytest.approx(10.0)
    ns = by[("rtl", "record in -> prediction out at post-route Fmax")]
    assert ns.ours == "100.0 ns" and ns.ratio == pytest.approx(25.0)  # 2.5 µs / 100 ns
    assert by[("fix", "bench/fix.py")].ours == "failed: exit 1: boom"
    assert by[("feed", "batch, depth diffs, steady state (target >=200,000)")].ratio == pytest.approx(93041 / 200000)
    # a manifest built from another pipeline configuration than the simulated one: its own cycles count
    res.post_route["manifest_latency_cycles"] = 40
    ns = {(x.area, x.measure): x for x in rows(res)}[("rtl", "record in -> prediction out at post-route Fmax")]
    assert ns.ours == f"{40 * 1000 / 190:.1f} ns"
    md = markdown(res, table)
    m = res.machine
    assert m["cpu_model"] in md and f"Python {m['python']}" in md and f"numpy {m['versions']['numpy']}" in md
    assert "load average" in md and "## Headline" in md and "printed output (verbatim)" in md
    assert "hls4ml C simulation | 2.50 µs | not built" in md


def test_bench_cli_runs_scripts_and_writes_the_table(tmp_path):
    r = CliRunner().invoke(main, ["bench", "--quick", "--only", "fix", "--only", "backtest",
                                  "--out", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    js = json.loads(r.output[r.output.index("{"):])
    assert set(js["runs"]) == {"fix", "backtest"} and not js["failed"]
    assert all(v["status"] == "ok" for v in js["runs"].values())
    m = js["machine"]
    assert m["cpus"] >= 1 and m["python"] and m["versions"]["numpy"] and len(m["load_avg_at_start"]) == 3
    measures = {row["measure"] for row in js["rows"]}
    assert {"encode a Quote", "frame + parse, 64 KiB chunks", "QuotingEngine.on_book"} <= measures
    fix_rows = [row for row in js["rows"] if row["area"] == "fix" and row["ratio"] is not None]
    assert fix_rows and all(row["headline"] for row in fix_rows)
    assert js["rtl"]["status"] == "skipped"
    assert js["post_route"]["status"] in ("ok", "not built")
    assert (tmp_path / "BENCH.md").read_text().startswith("# QuoteGuard benchmarks")
    assert (tmp_path / "raw" / "fix.txt").is_file() and (tmp_path / "bench.json").is_file()


def test_a_failing_script_is_exit_1_and_a_missing_tool_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(run_all, "scripts", lambda: (
        Script("fix", "always fails", ("-c", "import sys; sys.exit(3)"), ("-c", "import sys; sys.exit(3)"), json=True),
        Script("redis", "needs a tool", ("-c", "print(1)"), ("-c", "print(1)"), json=False,
               needs=("no-such-tool-here",)),
    ))
    r = CliRunner().invoke(main, ["bench", "--quick", "--only", "fix", "--only", "redis", "--out", str(tmp_path)])
    assert r.exit_code == 1, r.output
    assert "fix: failed: exit 3" in r.output and "failed: fix" in r.output
    assert "redis: skipped: no-such-tool-here not on PATH" in r.output


def test_bad_option_is_exit_2():
    assert CliRunner().invoke(main, ["bench", "--only", "nope"]).exit_code == 2


@pytest.mark.sim
def test_rtl_cycles_from_the_cocotb_latency_test(tmp_path):
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not on PATH")
    r = CliRunner().invoke(main, ["bench", "--only", "rtl", "--out", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    rtl = json.loads(r.output[r.output.index("{"):])["rtl"]
    assert rtl["status"] == "ok" and 0 < rtl["latency_cycles"] <= 20 and rtl["ii_in"] == 1.0


def test_post_route_from_the_manifest_or_not_built(tmp_path):
    assert run_all.post_route(tmp_path / "manifest.json")["status"] == "not built"
    m = tmp_path / "manifest.json"
    m.write_text(json.dumps({"board": "ecp5-85f", "design": "qg_core", "flow": "open", "model": {"hash": "x"},
                             "timing": {"fmax_mhz": 63.4, "latency_cycles": 19, "latency_ns": 299.7, "met": False,
                                        "target_mhz": 150.0},
                             "utilization": {"device": {"DSP": {"used": 35, "available": 156}}}}))
    pr = run_all.post_route(m)
    assert pr["status"] == "ok" and pr["fmax_mhz"] == 63.4 and pr["manifest_latency_ns"] == 299.7
    assert pr["utilization"] == "DSP 35/156" and pr["model_hash_matches"] is False


def test_only_choices_are_the_runner_keys():
    from control.cli.bench import KEYS

    assert KEYS == run_all.keys()
