"""Open a backend by name, or `auto`: fpga > rtl > cpu, the first that is available here.

- fpga: pynq importable (separate runtime environment), a firmware image given, its manifest verified
  (control.firmware.manifest) against the model and register map the host runs, and a board present.
- rtl:  iverilog and cocotb present and hw/rtl/qg_core_top.{f,v} in the tree.
- cpu:  the exported model artifacts.
fpga and rtl come wrapped in the failover watchdog with a warm CPU shadow (control/backends/failover.py).
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from control.backends.base import (
    BACKEND_NAMES,
    Backend,
    BackendFault,
    BackendIdentityError,
    BackendUnavailable,
)
from control.backends.cpu import CpuBackend
from control.backends.failover import FailoverBackend, WatchdogConfig
from control.driver.errors import TransportError
from control.driver.sim_io import SimConfig
from models.config import ModelConfig
from models.reference import ReferenceModel
from models.streaming import StreamingFeatures

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
RTL_DIR = REPO / "hw" / "rtl"
REGMAP_YAML = REPO / "firmware" / "regmap.yaml"


class FirmwareRejected(BackendUnavailable):
    """The firmware image's manifest does not match the host (model hash, regmap, file hashes)."""


@dataclass(frozen=True)
class BackendConfig:
    artifacts: Path  # models/<name>/artifacts
    model: ModelConfig
    firmware: Path | None = None  # fpga: .bit (with .hwh and manifest.json beside it)
    sim: SimConfig = field(default_factory=lambda: SimConfig(build_dir=REPO / "build" / "sim_bridge"))
    timeout_s: float = 2.0  # hardware: one batch must come back within this
    failover: bool = True  # wrap fpga/rtl in the watchdog with a CPU fallback
    watchdog: WatchdogConfig = field(default_factory=WatchdogConfig)


def probe(cfg: BackendConfig) -> dict[str, str | None]:
    """For each backend: None when it can be opened here, else why not (one line)."""
    out: dict[str, str | None] = {}
    if importlib.util.find_spec("pynq") is None:
        out["fpga"] = "pynq is not installed (board runtime environment: pip install '.[board]')"
    elif cfg.firmware is None:
        out["fpga"] = "no firmware image given (--firmware firmware/<board>/<design>.bit)"
    elif not Path(cfg.firmware).is_file():
        out["fpga"] = f"firmware image {cfg.firmware} not found"
    else:
        from control.driver.pynq_io import board_present  # pynq only past this point

        out["fpga"] = (
            None if board_present() else "no PYNQ device found (no board, PYNQ_REMOTE_DEVICES unset)"
        )
    if shutil.which("iverilog") is None:
        out["rtl"] = "iverilog not on PATH (Debian: apt-get install iverilog)"
    elif importlib.util.find_spec("cocotb") is None:
        out["rtl"] = "cocotb not installed (pip install '.[sim]')"
    elif not any((RTL_DIR / f"qg_core_top{s}").is_file() for s in (".f", ".v")):
        out["rtl"] = f"{RTL_DIR}/qg_core_top.v not found"
    else:
        out["rtl"] = None
    meta = Path(cfg.artifacts) / "metadata.json"
    out["cpu"] = None if meta.is_file() else f"model artifacts missing: {meta} (quoteguard model export)"
    return out


def choose(name: str, cfg: BackendConfig) -> str:
    avail = probe(cfg)
    if name == "auto":
        for n in BACKEND_NAMES:
            if avail[n] is None:
                return n
        raise BackendUnavailable(
            "no backend available: " + "; ".join(f"{n}: {avail[n]}" for n in BACKEND_NAMES)
        )
    if name not in BACKEND_NAMES:
        raise BackendUnavailable(f"unknown backend {name!r}; choose from auto, {', '.join(BACKEND_NAMES)}")
    if avail[name] is not None:
        raise BackendUnavailable(f"backend {name} unavailable: {avail[name]}")
    return name


def verify_firmware(image: Path, model_hash: str) -> None:
    """Refuse an image whose manifest disagrees with the host, with every reason in the message."""
    from control.firmware import manifest

    try:
        mismatches = manifest.verify(
            Path(image), model_hash=model_hash, regmap_version=manifest.current_regmap_version(REGMAP_YAML)
        )
    except manifest.ManifestError as e:
        raise FirmwareRejected(f"firmware {image} refused: {e}") from e
    if mismatches:
        raise FirmwareRejected(f"firmware {image} refused:\n  " + "\n  ".join(str(m) for m in mismatches))


def open_backend(name: str, cfg: BackendConfig, *, metrics=None, audit=None) -> Backend:
    """Open `name`, started and identity-checked. `auto` tries fpga > rtl > cpu among the available
    ones and moves on (logging why) when one fails to start; a named backend that fails raises."""
    if name != "auto":
        return _open(choose(name, cfg), cfg, metrics, audit)
    avail = probe(cfg)
    errors = []
    for n in BACKEND_NAMES:
        if avail[n] is not None:
            errors.append(f"{n}: {avail[n]}")
            continue
        try:
            return _open(n, cfg, metrics, audit)
        except (BackendFault, BackendUnavailable, BackendIdentityError) as e:
            log.warning("auto: backend %s failed to start, trying the next: %s", n, e)
            errors.append(f"{n}: {e}")
    raise BackendUnavailable("no backend available: " + "; ".join(errors))


def _open(chosen: str, cfg: BackendConfig, metrics, audit) -> Backend:
    model = ReferenceModel.load(cfg.artifacts)
    if chosen == "cpu":
        return CpuBackend(model, StreamingFeatures(cfg.model))
    if chosen == "fpga":
        verify_firmware(cfg.firmware, model.model_hash)
        primary = _open_fpga(cfg, model)
    else:
        primary = _open_rtl(cfg, model)
    if not cfg.failover:
        return primary
    return FailoverBackend(
        primary,
        lambda shadow: CpuBackend(model, shadow),
        StreamingFeatures(cfg.model),
        cfg.watchdog,
        metrics=metrics,
        audit=audit,
    )


def _device_backend(name: str, device, model: ReferenceModel, cfg: BackendConfig, firmware_hash: str):
    from control.backends.device import DeviceBackend

    backend = DeviceBackend(
        name,
        device,
        model_hash=model.model_hash,
        horizon_ns=model.horizon_ns,
        output_format=model.output_format,
        firmware_hash=firmware_hash,
        timeout_s=cfg.timeout_s,
    )
    try:
        return backend.start()
    except Exception:
        backend.close()
        raise


def _open_rtl(cfg: BackendConfig, model: ReferenceModel) -> Backend:
    from control.driver.device import Device
    from control.driver.sim_io import SimIO

    try:
        io = SimIO.launch(cfg.sim)
    except TransportError as e:
        raise BackendFault(f"rtl: cannot start the simulation: {e}") from e
    device = Device(io, io)
    return _device_backend(
        "rtl", device, model, cfg, firmware_hash=f"rtl-git-{device.read('ID_GIT_HASH'):08x}"
    )


def _open_fpga(cfg: BackendConfig, model: ReferenceModel) -> Backend:
    from control.driver.device import Device
    from control.driver.pynq_io import PynqIO
    from control.firmware.manifest import sha256_file

    try:
        io = PynqIO.from_overlay(Path(cfg.firmware))
    except TransportError as e:
        raise BackendFault(f"fpga: {e}") from e
    return _device_backend("fpga", Device(io, io), model, cfg, firmware_hash=sha256_file(Path(cfg.firmware)))


def load_fpga_image(image: Path, model_hash: str):
    """Verify `image`'s manifest, download it to the board through pynq, and check the card's identity.
    Returns the card's `control.driver.device.Identity`. Raises FirmwareRejected on a manifest mismatch
    (before touching the board), BackendUnavailable without pynq, BackendFault / BackendIdentityError on
    the board."""
    from control.driver.device import Device
    from control.driver.errors import IdentityMismatch

    verify_firmware(image, model_hash)
    if importlib.util.find_spec("pynq") is None:
        raise BackendUnavailable("pynq is not installed (board runtime environment: pip install '.[board]')")
    from control.driver.pynq_io import PynqIO

    try:
        io = PynqIO.from_overlay(Path(image), download=True)
    except TransportError as e:
        raise BackendFault(f"fpga: {e}") from e
    dev = Device(io, io)
    try:
        return dev.check_identity(model_hash)
    except IdentityMismatch as e:
        raise BackendIdentityError(f"fpga: {e}") from e
    finally:
        dev.close()
