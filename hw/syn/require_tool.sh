#!/usr/bin/env bash
# Usage: hw/syn/require_tool.sh TARGET TOOL [TOOL...]
# Vendor-tool gate for the Makefile: exits 2 at once, with a clear message, when a tool is not on PATH
# (Vivado, Vitis HLS, Vivado HLS, v++ are never installed in CI). Exits 0 when every tool is found.
set -u
target=${1:?usage: require_tool.sh TARGET TOOL [TOOL...]}
shift
missing=()
for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -ne 0 ]; then
    echo "error: make $target needs ${missing[*]} on PATH (AMD/Xilinx vendor tools; not installed here)." >&2
    echo "       Source the tool's settings64.sh first. The open ECP5 flow (make, make bitstream) needs no vendor tool." >&2
    exit 2
fi
exit 0
