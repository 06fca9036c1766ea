#!/usr/bin/env bash
# Installs deps (plus Debian's python3-torch, the independent reference for the engine's forward
# and gradients), builds, and runs every test with CTest. Tests labeled `gpu` report skipped when
# no CUDA device answers. Then the fuzz targets (scripts/fuzz.sh) run for WB_FUZZ_SECONDS each
# (default 10; 0 skips them).
set -euo pipefail
cd "$(dirname "$0")/.."
# Test-only packages: chromium + chromium-driver for the web pages' browser tests (ctest -L
# browser, docs/WEB.md); slurm-wlm + munge for the one-node Slurm the Slurm tests start (ctest -L
# slurm, docs/SCALING.md).
WB_EXTRA_PACKAGES="${WB_EXTRA_PACKAGES:-} python3-torch python3-numpy chromium chromium-driver slurm-wlm munge" scripts/setup.sh
build_dir=${WB_BUILD_DIR:-build}
# Spinning OpenMP workers starve OpenBLAS threads on small machines (see daemon/src/lifecycle/main.cpp).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
jobs=$(nproc 2>/dev/null || echo 2)
(cd "$build_dir" && ctest --output-on-failure -j "$jobs" --timeout 600 "$@")
fuzz_seconds=${WB_FUZZ_SECONDS:-10}
if [ "$fuzz_seconds" -gt 0 ]; then scripts/fuzz.sh "$fuzz_seconds"; fi
