#!/usr/bin/env bash
# Installs deps (plus Debian's python3-torch, the independent reference for the engine's forward
# and gradients), builds, and runs every test with CTest. Tests labeled `gpu` report skipped when
# no CUDA device answers.
set -euo pipefail
cd "$(dirname "$0")/.."
WB_EXTRA_PACKAGES="${WB_EXTRA_PACKAGES:-} python3-torch python3-numpy" scripts/setup.sh
build_dir=${WB_BUILD_DIR:-build}
# Spinning OpenMP workers starve OpenBLAS threads on small machines (see daemon/src/lifecycle/main.cpp).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
jobs=$(nproc 2>/dev/null || echo 2)
cd "$build_dir"
ctest --output-on-failure -j "$jobs" --timeout 600 "$@"
