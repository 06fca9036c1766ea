#!/usr/bin/env bash
# Installs the Debian 12 packages workbench needs (ARCHITECTURE.md section 2), then configures and
# builds into build/. Idempotent: packages already present are not reinstalled, and an existing
# build/ is rebuilt incrementally.
#   WB_EXTRA_PACKAGES="..."  more packages to install (scripts/test.sh adds python3-torch)
#   WB_BUILD_DIR=build       where to build
#   WB_CMAKE_ARGS="..."      extra CMake arguments
#   WB_BUILD_TARGETS="..."   build only these targets (and what they need); default: everything,
#                            tests and benchmarks included (scripts/demo.sh builds only what it runs)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libsqlite3-dev sqlite3 libtomlplusplus-dev catch2 nlohmann-json3-dev libcli11-dev
  libopenblas-dev libsentencepiece-dev sentencepiece libspdlog-dev
  openmpi-bin libopenmpi-dev
  slurm-wlm munge
  tmux curl jq
)
# shellcheck disable=SC2206
packages+=(${WB_EXTRA_PACKAGES:-})

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build_dir=${WB_BUILD_DIR:-build}
jobs=$(nproc 2>/dev/null || echo 2)
# shellcheck disable=SC2086
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release ${WB_CMAKE_ARGS:-} >/dev/null
targets=()
for t in ${WB_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j "$jobs" "${targets[@]}"
echo "setup: built ${WB_BUILD_TARGETS:-everything} into $build_dir/ (bin/workbenchd, bin/wb-worker, bin/wb, lib/workbench/plugins/)"
