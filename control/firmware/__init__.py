"""Firmware images: manifest build, load and verify (see manifest.py). Runtime-safe: no TensorFlow."""
from control.firmware.manifest import (
    ManifestError,
    Mismatch,
    build,
    current_model_hash,
    current_regmap_version,
    load,
    verify,
    write,
)

__all__ = ["ManifestError", "Mismatch", "build", "current_model_hash", "current_regmap_version", "load",
           "verify", "write"]
