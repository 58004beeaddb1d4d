"""The feedback loop: what the appliance audits is training data for `quoteguard model train --audit`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from control.book.replay import load_records
from control.cli.model import load_training_streams
from control.cli.run import run
from models.config import load_config
from models.dataset import SPLIT_CODE
from models.record import truncate_levels

REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"


def test_audit_log_becomes_a_time_ordered_training_stream(tmp_path):
    audit = tmp_path / "audit"
    r = CliRunner().invoke(run, ["--backend", "cpu", "--dry-run", "--quiet", "--audit", str(audit),
                                 "--status-file", str(tmp_path / "status.json"), str(CAPTURE)])
    assert r.exit_code == 0, r.output
    cfg = load_config("qg_mlp")
    # The configured real-data sources first, then one stream per symbol of the audit log.
    streams = load_training_streams(cfg, REPO.parent / "shared" / "data", audit_dirs=(audit,))
    audit_streams = [s for s in streams if s.name.startswith("audit ")]
    assert [s.name for s in audit_streams] == ["audit audit/BTCUSDT"]
    s = audit_streams[0]
    direct, _ = load_records([CAPTURE], levels=10)
    np.testing.assert_array_equal(s.records, truncate_levels(direct, cfg.levels))
    n = len(s.records)
    assert (s.split[: int(n * 0.7)] == SPLIT_CODE["train"]).all()
    assert (s.split[int(n * 0.85):] == SPLIT_CODE["test"]).all()
    assert np.all(np.diff(s.split) >= 0), "the audit split must follow time"
    assert s.usable.sum() > 0.5 * n


def test_audit_dir_must_exist(tmp_path):
    from control.cli.model import model

    r = CliRunner().invoke(model, ["train", "--audit", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "does not exist" in r.output
