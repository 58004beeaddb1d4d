"""The runtime never imports TensorFlow: the cpu backend, the appliance path and the CLI run in a fresh
interpreter without it (and without pynq). Prints the process RSS."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import sys, resource
from pathlib import Path
from control.appliance import Appliance, ApplianceConfig, DryRunSink, head_lines, iter_lines
from control.backends.select import BackendConfig, open_backend
from control.book.stream import FeedProcessor
from control.marketdata.source import sniff_binance
from control.metrics import Metrics
from control.quoting.config import load_config as load_quoting
from control.quoting.engine import QuotingEngine
from models.config import load_config
art, capture = Path(sys.argv[1]), Path(sys.argv[2])
backend = open_backend("cpu", BackendConfig(art, load_config("qg_mlp")))
inst = sniff_binance(head_lines(capture), capture)
app = Appliance(ApplianceConfig(inst.symbol), FeedProcessor(inst, levels=10), backend,
                QuotingEngine(load_quoting()), DryRunSink(), Metrics())
c = app.run(iter_lines([capture]))
assert c.records > 1000, c
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras", "qkeras", "hls4ml", "pynq"))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"events={c.records} max_rss_mb={rss:.0f} forbidden={bad}")
sys.exit(1 if bad else 0)
"""


def test_cpu_runtime_never_imports_tensorflow(model_artifacts):
    capture = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(model_artifacts), str(capture)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(r.stdout.strip())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "forbidden=[]" in r.stdout


def test_cli_help_imports_nothing_heavy():
    code = (
        "import sys; from click.testing import CliRunner; from control.cli import main; "
        "r = CliRunner().invoke(main, ['run', '--help']); assert r.exit_code == 0, r.output; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'pynq', 'numba')))"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
