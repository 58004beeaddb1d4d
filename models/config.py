"""`models/<name>/config.yaml` -> frozen dataclasses. The one source of truth for features, labels,
network, quantizers, training, hls4ml and drift settings; every other module reads it from here.

Runtime-safe: no TensorFlow. Bad settings raise `ConfigError` naming the file and the key; nothing is
silently "fixed".
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent

FEATURE_KINDS = (
    "spread", "imbalance", "weighted_imbalance", "microprice", "ofi", "mid_change", "trade_flow",
    "trade_activity", "volatility", "mid_age", "event_gap", "touch_share",
)


class ConfigError(ValueError):
    """A model config is missing a key or holds a value outside its allowed set."""


@dataclass(frozen=True)
class GridSpec:
    """A fixed-point format: `bits` total, `integer` bits left of the point (sign excluded)."""

    bits: int
    integer: int
    signed: bool = True

    @property
    def frac(self) -> int:
        return self.bits - self.integer - int(self.signed)


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    kind: str
    shift: int = 0
    range: tuple[int, int] = (-128, 127)
    levels: int = 0                      # imbalance: levels summed
    weights: tuple[int, ...] = ()        # weighted_imbalance: per-level weights
    side: str = ""                       # touch_share: "bid" | "ask"


@dataclass(frozen=True)
class DecayConfig:
    trade_flow_shift: int
    trade_flow_prescale: int
    volatility_shift: int
    volatility_prescale: int


@dataclass(frozen=True)
class FeaturesConfig:
    result_grid: GridSpec
    scale: int
    decay: DecayConfig
    specs: tuple[FeatureSpec, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs)

    def index(self, name: str) -> int:
        return self.names.index(name)


@dataclass(frozen=True)
class LabelsConfig:
    horizon_events: int          # window: at most this many future records ...
    horizon_ms: int              # ... and at most this many milliseconds after the record
    move_threshold_bp: float     # up/down: mid moves by at least this many basis points in the window
    withdraw_fraction: float     # withdrawal: touch depth falls to <= (1 - fraction) x now in the window
    withdraw_levels: int         # touch depth = bid + ask size summed over this many levels
    eval_horizons_events: tuple[int, ...]  # extra horizons for the precision/recall-by-horizon plot

    @property
    def horizon_ns(self) -> int:
        return self.horizon_ms * 1_000_000


@dataclass(frozen=True)
class NetworkConfig:
    kind: str                    # "mlp" (default) | "conv1d"
    hidden: tuple[int, ...]      # mlp hidden widths
    window: int                  # conv1d: feature vectors per input window
    conv_filters: int
    conv_kernel: int
    outputs: tuple[str, ...]     # ("none", "up", "down", "withdraw")


@dataclass(frozen=True)
class QuantizersConfig:
    input: GridSpec
    weight: GridSpec
    bias: GridSpec
    relu: GridSpec
    output: GridSpec


@dataclass(frozen=True)
class DataSource:
    path: str                    # relative to the data root
    kind: str                    # "binance" | "lobster"
    split: str                   # "train" | "val" | "test" | "by_time"
    continues: str = ""          # binance: file whose book this one continues (no snapshot of its own)
    train_until: str = ""        # by_time: HH:MM local exchange time; before -> train
    val_until: str = ""          # by_time: before -> val, after -> test
    tz: str = "UTC"              # by_time: time zone of train_until / val_until (exchange local time)


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int
    batch_size: int
    learning_rate: float
    target_sparsity: float
    pruning_begin_fraction: float   # pruning starts after this fraction of the steps
    pruning_frequency: int
    withdraw_loss_weight: float
    class_weighting: str            # "balanced" | "none"
    max_train_records: int          # 0 = all; else a time-ordered stride subsample (speed)
    golden_slices: int
    golden_slice_len: int
    sources: tuple[DataSource, ...]


@dataclass(frozen=True)
class Hls4mlConfig:
    backend: str
    part: str
    clock_period_ns: float
    io_type: str
    strategy: str
    reuse_factor: int
    input_precision: str


@dataclass(frozen=True)
class DriftConfig:
    bin_edges: tuple[int, ...]      # fixed int8 bin edges for feature / output histograms
    output_bin_edges: tuple[int, ...]
    psi_warn: float
    psi_alert: float
    window_records: int


@dataclass(frozen=True)
class ModelConfig:
    name: str
    seed: int
    levels: int
    features: FeaturesConfig
    labels: LabelsConfig
    network: NetworkConfig
    quantizers: QuantizersConfig
    training: TrainingConfig
    hls4ml: Hls4mlConfig
    drift: DriftConfig
    path: Path
    raw: dict[str, Any]

    @property
    def n_features(self) -> int:
        return len(self.features.specs)

    def sha256(self) -> str:
        """Hash of the parsed config (key order independent), part of the model hash."""
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True).encode()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def _need(d: dict[str, Any], key: str, where: str) -> Any:
    if not isinstance(d, dict) or key not in d:
        raise ConfigError(f"{where}: missing key '{key}'")
    return d[key]


def _grid(d: dict[str, Any], where: str) -> GridSpec:
    bits = int(_need(d, "bits", where))
    integer = int(_need(d, "integer", where))
    signed = bool(d.get("signed", True))
    if bits < 2 or bits > 32 or integer < 0 or integer >= bits:
        raise ConfigError(f"{where}: bits={bits} integer={integer} is not a usable fixed-point format")
    return GridSpec(bits, integer, signed)


def _feature(d: dict[str, Any], where: str, levels: int) -> FeatureSpec:
    kind = _need(d, "kind", where)
    if kind not in FEATURE_KINDS:
        raise ConfigError(f"{where}: unknown feature kind '{kind}' (one of {', '.join(FEATURE_KINDS)})")
    rng = tuple(int(v) for v in d.get("range", (-128, 127)))
    if len(rng) != 2 or not -128 <= rng[0] < rng[1] <= 127:
        raise ConfigError(f"{where}: range {list(rng)} must lie inside [-128, 127]")
    spec = FeatureSpec(
        name=str(_need(d, "name", where)), kind=kind, shift=int(d.get("shift", 0)), range=rng,
        levels=int(d.get("levels", 0)), weights=tuple(int(w) for w in d.get("weights", ())),
        side=str(d.get("side", "")),
    )
    if kind == "imbalance" and not 1 <= spec.levels <= levels:
        raise ConfigError(f"{where}: imbalance levels={spec.levels} must be in 1..{levels}")
    if kind == "weighted_imbalance" and (len(spec.weights) != levels or min(spec.weights) < 0):
        raise ConfigError(f"{where}: weights must be {levels} non-negative integers")
    if kind == "touch_share" and spec.side not in ("bid", "ask"):
        raise ConfigError(f"{where}: side must be 'bid' or 'ask', got '{spec.side}'")
    return spec


def load_config(name_or_path: str | Path) -> ModelConfig:
    """Load `models/<name>/config.yaml` (given the name) or a config file by path."""
    p = Path(name_or_path)
    if p.suffix not in (".yaml", ".yml"):
        p = MODELS_DIR / str(name_or_path) / "config.yaml"
    if not p.is_file():
        raise ConfigError(f"model config not found: {p}")
    raw = yaml.safe_load(p.read_text())
    where = str(p)
    levels = int(_need(_need(raw, "book", where), "levels", f"{where}: book"))

    fr = _need(raw, "features", where)
    grid_raw = _need(fr, "result_grid", f"{where}: features")
    grid = _grid(grid_raw, f"{where}: features.result_grid")
    scale = int(_need(grid_raw, "scale", f"{where}: features.result_grid"))
    if scale != 1 << grid.frac:
        raise ConfigError(f"{where}: features.result_grid.scale={scale} != 2**frac ({1 << grid.frac})")
    dec = _need(fr, "decay", f"{where}: features")
    decay = DecayConfig(**{k: int(_need(dec, k, f"{where}: features.decay")) for k in (
        "trade_flow_shift", "trade_flow_prescale", "volatility_shift", "volatility_prescale")})
    specs = tuple(_feature(f, f"{where}: features.list[{i}]", levels)
                  for i, f in enumerate(_need(fr, "list", f"{where}: features")))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: duplicate feature names in features.list")
    features = FeaturesConfig(grid, scale, decay, specs)

    lb = _need(raw, "labels", where)
    w = f"{where}: labels"
    labels = LabelsConfig(
        horizon_events=int(_need(lb, "horizon_events", w)), horizon_ms=int(_need(lb, "horizon_ms", w)),
        move_threshold_bp=float(_need(lb, "move_threshold_bp", w)),
        withdraw_fraction=float(_need(lb, "withdraw_fraction", w)),
        withdraw_levels=int(_need(lb, "withdraw_levels", w)),
        eval_horizons_events=tuple(int(h) for h in _need(lb, "eval_horizons_events", w)),
    )
    if labels.horizon_events < 1 or labels.horizon_ms < 1:
        raise ConfigError(f"{w}: horizon_events and horizon_ms must be >= 1")
    if not 0.0 < labels.withdraw_fraction < 1.0:
        raise ConfigError(f"{w}: withdraw_fraction must be in (0, 1)")
    if not 1 <= labels.withdraw_levels <= levels:
        raise ConfigError(f"{w}: withdraw_levels must be in 1..{levels}")

    nw = _need(raw, "network", where)
    w = f"{where}: network"
    network = NetworkConfig(
        kind=str(_need(nw, "kind", w)), hidden=tuple(int(h) for h in _need(nw, "hidden", w)),
        window=int(nw.get("window", 1)), conv_filters=int(nw.get("conv_filters", 0)),
        conv_kernel=int(nw.get("conv_kernel", 0)), outputs=tuple(_need(nw, "outputs", w)),
    )
    if network.kind not in ("mlp", "conv1d"):
        raise ConfigError(f"{w}: kind must be 'mlp' or 'conv1d', got '{network.kind}'")
    if network.outputs != ("none", "up", "down", "withdraw"):
        raise ConfigError(f"{w}: outputs must be [none, up, down, withdraw] (the card's output order)")
    if network.kind == "conv1d" and not (network.window >= network.conv_kernel >= 1 and network.conv_filters >= 1):
        raise ConfigError(f"{w}: conv1d needs window >= conv_kernel >= 1 and conv_filters >= 1")

    qz = _need(raw, "quantizers", where)
    quant = QuantizersConfig(**{k: _grid(_need(qz, k, f"{where}: quantizers"), f"{where}: quantizers.{k}")
                                for k in ("input", "weight", "bias", "relu", "output")})
    if quant.input != grid:
        raise ConfigError(f"{where}: quantizers.input {quant.input} must equal features.result_grid {grid}")
    if quant.relu.signed:
        raise ConfigError(f"{where}: quantizers.relu must be unsigned (signed: false)")
    if quant.output.bits > 16 or not quant.output.signed:
        raise ConfigError(f"{where}: quantizers.output must be signed with at most 16 bits")

    tr = _need(raw, "training", where)
    w = f"{where}: training"
    sources = []
    for i, s in enumerate(_need(tr, "sources", w)):
        ws = f"{w}.sources[{i}]"
        src = DataSource(path=str(_need(s, "path", ws)), kind=str(_need(s, "kind", ws)),
                         split=str(_need(s, "split", ws)), continues=str(s.get("continues", "")),
                         train_until=str(s.get("train_until", "")), val_until=str(s.get("val_until", "")),
                         tz=str(s.get("tz", "UTC")))
        if src.kind not in ("binance", "lobster"):
            raise ConfigError(f"{ws}: kind must be 'binance' or 'lobster'")
        if src.split not in ("train", "val", "test", "by_time"):
            raise ConfigError(f"{ws}: split must be train | val | test | by_time")
        if src.split == "by_time" and not (src.train_until and src.val_until):
            raise ConfigError(f"{ws}: split by_time needs train_until and val_until (HH:MM)")
        sources.append(src)
    training = TrainingConfig(
        epochs=int(_need(tr, "epochs", w)), batch_size=int(_need(tr, "batch_size", w)),
        learning_rate=float(_need(tr, "learning_rate", w)),
        target_sparsity=float(_need(tr, "target_sparsity", w)),
        pruning_begin_fraction=float(_need(tr, "pruning_begin_fraction", w)),
        pruning_frequency=int(_need(tr, "pruning_frequency", w)),
        withdraw_loss_weight=float(_need(tr, "withdraw_loss_weight", w)),
        class_weighting=str(_need(tr, "class_weighting", w)),
        max_train_records=int(_need(tr, "max_train_records", w)),
        golden_slices=int(_need(tr, "golden_slices", w)),
        golden_slice_len=int(_need(tr, "golden_slice_len", w)),
        sources=tuple(sources),
    )
    if training.class_weighting not in ("balanced", "none"):
        raise ConfigError(f"{w}: class_weighting must be 'balanced' or 'none'")
    if not 0.0 <= training.target_sparsity < 1.0:
        raise ConfigError(f"{w}: target_sparsity must be in [0, 1)")

    hl = _need(raw, "hls4ml", where)
    w = f"{where}: hls4ml"
    hls = Hls4mlConfig(
        backend=str(_need(hl, "backend", w)), part=str(_need(hl, "part", w)),
        clock_period_ns=float(_need(hl, "clock_period_ns", w)), io_type=str(_need(hl, "io_type", w)),
        strategy=str(_need(hl, "strategy", w)), reuse_factor=int(_need(hl, "reuse_factor", w)),
        input_precision=str(_need(hl, "input_precision", w)),
    )

    dr = _need(raw, "drift", where)
    w = f"{where}: drift"
    drift = DriftConfig(
        bin_edges=tuple(int(v) for v in _need(dr, "bin_edges", w)),
        output_bin_edges=tuple(int(v) for v in _need(dr, "output_bin_edges", w)),
        psi_warn=float(_need(dr, "psi_warn", w)), psi_alert=float(_need(dr, "psi_alert", w)),
        window_records=int(_need(dr, "window_records", w)),
    )
    for key, edges in (("bin_edges", drift.bin_edges), ("output_bin_edges", drift.output_bin_edges)):
        if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
            raise ConfigError(f"{w}.{key}: edges must be strictly increasing")

    cfg = ModelConfig(
        name=str(_need(raw, "name", where)), seed=int(_need(raw, "seed", where)), levels=levels,
        features=features, labels=labels, network=network, quantizers=quant, training=training,
        hls4ml=hls, drift=drift, path=p, raw=raw,
    )
    log.debug("loaded model config %s from %s", cfg.name, p)
    return cfg
