"""`quoteguard demo` on the bundled real capture: the venue (our FIX acceptor on 127.0.0.1) received
exactly the quotes the appliance sent, with contiguous sequence numbers; the summary and the report
folder are complete; without iverilog it says so and runs on the CPU; with iverilog (marked `sim`) a
tiny RTL slice is bit-exact with the CPU reference and changes no quote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from control.cli import main

REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"
SUMMARY_KEYS = {
    "ok", "symbol", "data", "lines", "events", "predictions", "predictions_by_backend", "backend",
    "bit_exact", "quotes", "fix", "latency_us", "rtl_slice", "model", "wall_s", "machine", "report",
}
REPORT_FILES = ("report.md", "summary.json", "mid_predictions.png", "spread.png", "latency.png")


def _demo(tmp_path: Path, artifacts: Path, *args: str):
    return CliRunner().invoke(
        main,
        [
            "demo",
            "--data", str(CAPTURE),
            "--artifacts", str(artifacts),
            "--report", str(tmp_path / "report"),
            "--build-dir", str(tmp_path / "build"),
            *args,
        ],
    )


def _json(output: str) -> dict:
    return json.loads(output[output.index("{"):])


def _check_venue_got_what_we_sent(s: dict) -> None:
    f, q = s["fix"], s["quotes"]
    assert f["ok"] and f["problems"] == []
    assert f["messages_sent"] == f["messages_received_by_venue"] == q["sent"] + q["pulled"] > 0
    assert f["sent_by_type"] == f["received_by_type"]
    assert f["sent_by_type"].get("S", 0) == q["sent"] and f["sent_by_type"].get("Z", 0) == q["pulled"]
    assert f["seq_contiguous"]
    assert f["last_seq"] - f["first_seq"] + 1 == f["messages_sent"]  # one number per message, no gap
    assert f["rejects"] == 0 and f["venue"].startswith("127.0.0.1:")


def _check_report(s: dict, folder: Path) -> None:
    for name in REPORT_FILES:
        p = folder / name
        assert p.is_file() and p.stat().st_size > 0, name
        if name.endswith(".png"):
            assert p.read_bytes()[:4] == b"\x89PNG"
    assert json.loads((folder / "summary.json").read_text())["quotes"] == s["quotes"]
    md = (folder / "report.md").read_text()
    assert "Latency per stage" in md and "![" in md and s["model"]["hash"] in md


def test_cpu_demo_quotes_reach_the_venue(tmp_path, model_artifacts):
    r = _demo(tmp_path, model_artifacts, "--backend", "cpu", "--json")
    assert r.exit_code == 0, r.output
    s = _json(r.output)
    assert SUMMARY_KEYS <= set(s)
    assert s["ok"] and s["symbol"] == "BTCUSDT"
    assert s["events"] == s["predictions"] > 1000 and s["predictions_by_backend"] == {"cpu": s["events"]}
    assert s["bit_exact"] is None and s["rtl_slice"] is None
    assert [g["backend"] for g in s["backend"]["segments"]] == ["cpu"]
    assert s["quotes"]["widened"] <= s["quotes"]["sent"]
    _check_venue_got_what_we_sent(s)
    for stage in ("decode", "book", "features", "inference", "quoting", "total"):
        assert {"p50", "p99", "p99.9", "n"} <= set(s["latency_us"][stage])
    assert s["model"]["hash"] and s["model"]["firmware_hash"] is None
    _check_report(s, tmp_path / "report")


def test_without_iverilog_it_says_so_and_runs_on_the_cpu(tmp_path, model_artifacts, monkeypatch):
    import control.backends.select as select

    real_which = shutil.which
    monkeypatch.setattr(select.shutil, "which", lambda name: None if name == "iverilog" else real_which(name))
    r = _demo(tmp_path, model_artifacts, "--rtl-records", "8")
    assert r.exit_code == 0, r.output
    out = r.output
    assert "RTL slice skipped: iverilog not on PATH" in out
    for label in ("backend      cpu", "events", "quotes", "FIX 4.4", "latency", "model", "firmware", "report"):
        assert label in out, label
    assert "contiguous" in out and "result       OK" in out
    s = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert s["bit_exact"] is None
    _check_venue_got_what_we_sent(s)


@pytest.mark.parametrize(
    "args, text",
    [
        (["--backend", "rtl", "--rtl-records", "0"], "--backend rtl needs --rtl-records > 0"),
        (["--rtl-records", "-1"], "--rtl-records must be >= 0"),
        (["--backend", "fpga"], "backend fpga unavailable"),
        (["--backend", "gpu"], "Invalid value for '--backend'"),
        (["--data", "nope.gz"], "does not exist"),
    ],
)
def test_bad_input_exits_2(tmp_path, model_artifacts, args, text):
    r = _demo(tmp_path, model_artifacts, *args)
    assert r.exit_code == 2, r.output
    assert text in r.output


def test_missing_artifacts_exit_2(tmp_path):
    r = _demo(tmp_path, tmp_path / "no-artifacts", "--backend", "cpu")
    assert r.exit_code == 2 and "model artifacts" in r.output


@pytest.mark.sim
def test_rtl_slice_is_bit_exact_and_changes_no_quote(tmp_path, model_artifacts):
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not on PATH")
    r = _demo(tmp_path / "rtl", model_artifacts, "--backend", "rtl", "--rtl-records", "12", "--json")
    assert r.exit_code == 0, r.output
    s = _json(r.output)
    assert s["ok"]
    assert s["bit_exact"] == {"hardware": "rtl", "compared": 12, "mismatched": 0, "identical": True, "examples": []}
    segs = s["backend"]["segments"]
    assert [(g["backend"], g["records"]) for g in segs] == [("rtl", 12), ("cpu", s["events"] - 12)]
    assert segs[1]["first_seq"] == segs[0]["last_seq"] + 1
    assert s["rtl_slice"]["records"] == 12 and len(s["rtl_slice"]["card_cycles_t_out_minus_t_in"]) == 1
    assert s["model"]["card_model_hash"] == s["model"]["hash"] and s["model"]["firmware_hash"].startswith("rtl-")
    _check_venue_got_what_we_sent(s)
    _check_report(s, tmp_path / "rtl" / "report")
    cpu = _json(_demo(tmp_path / "cpu", model_artifacts, "--backend", "cpu", "--json").output)
    assert cpu["quotes"] == s["quotes"] and cpu["fix"]["sent_by_type"] == s["fix"]["sent_by_type"]


def test_demo_never_imports_tensorflow(tmp_path, model_artifacts):
    """In a fresh interpreter: the demo (CPU reference, report with plots) loads no TensorFlow / hls4ml."""
    import subprocess
    import sys

    code = (
        "import sys; from click.testing import CliRunner; from control.cli import main; "
        f"r = CliRunner().invoke(main, ['demo', '--backend', 'cpu', '--artifacts', {str(model_artifacts)!r}, "
        f"'--report', {str(tmp_path / 'r')!r}, '--build-dir', {str(tmp_path / 'b')!r}, '--json']); "
        "assert r.exit_code == 0, r.output; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'tf_keras', 'qkeras', 'hls4ml', 'pynq')))"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"
