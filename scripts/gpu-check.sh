#!/usr/bin/env bash
# gpu-check.sh — build and check the CUDA backend on a GPU machine, in one command.
#
#   scripts/gpu-check.sh --prepare   on a Debian 12 machine with network to the Debian archive:
#                                    fills .devdeps/ with what the GPU machine lacks (Catch2,
#                                    nlohmann-json, OpenBLAS + libgfortran, pkgconf; SQLite,
#                                    sentencepiece, toml++, spdlog, CLI11 and the Boost headers
#                                    the build includes, for --full-test), from
#                                    Debian packages (apt-get download + dpkg -x). .devdeps/ is
#                                    listed in .git/info/exclude, so carry it to the device.
#   scripts/gpu-check.sh             on the GPU machine: engine-only build with WB_CUDA=ON,
#                                    ctest -L gpu, parity against transformers/PEFT, benchmarks
#                                    at the 7B shape beside transformers/PEFT; writes
#                                    results.md + results.json (+ logs) to $OUT (default
#                                    build-gpu/results).
#   scripts/gpu-check.sh --build-and-test
#                                    on the GPU machine: the engine-only build of the GPU test
#                                    targets and ctest -L gpu only (no parity, no benchmarks);
#                                    ctest.log (+ configure/build logs) in $OUT. A short check.
#   scripts/gpu-check.sh --full-test on the GPU machine: the WHOLE project (daemon, CLI, plugins;
#                                    --prepare carries their deps, Boost as a header subset)
#                                    with WB_CUDA=ON, then its whole ctest suite on the GPU
#                                    machine. The sft, reward and serving test daemons pin
#                                    device = "cpu"; the device tests (explicit auto/cuda, the
#                                    plugin and daemon GPU tests) use the GPU. full_*.log in $OUT.
#   scripts/gpu-check.sh --dry-run   the same steps on a machine without a GPU: builds, runs the
#                                    GPU tests (they report Skipped) and the Python scripts'
#                                    CPU self-checks; no transformers needed.
# Environment: OUT (results folder), WB_GPU_BUILD (build folder, default build-gpu),
# WB_GPU_PYTHON (interpreter with torch/transformers/peft, default python3; /usr/bin/python3
# for --dry-run),
# WB_CUDA_ARCH (default "native" on the device, "80;90" for --dry-run), WB_GPU_SKIP_HF=1 (leave
# out the transformers/PEFT benchmarks, for a first smoke run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVDEPS="$ROOT/.devdeps"
BUILD="${WB_GPU_BUILD:-$ROOT/build-gpu}"
OUT="${OUT:-$BUILD/results}"
PY="${WB_GPU_PYTHON:-python3}"
MODE="${1:-run}"

log() { printf '[gpu-check %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

prepare() {
  local pkgs=(catch2 nlohmann-json3-dev libopenblas0-pthread libopenblas-pthread-dev
              libgfortran5 libquadmath0 pkgconf-bin libpkgconf3
              # the daemon, CLI and plugins (--full-test); Boost comes as a header subset below
              libsqlite3-dev libsqlite3-0 libsentencepiece-dev libsentencepiece0
              libtomlplusplus-dev libtomlplusplus3 libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
              libcli11-dev)
  local tmp
  tmp="$(mktemp -d)"
  chmod 755 "$tmp"  # apt downloads as _apt
  trap 'rm -rf "$tmp"' RETURN
  log "downloading ${pkgs[*]}"
  if ! (cd "$tmp" && apt-get download "${pkgs[@]}" >/dev/null 2>&1); then
    log "apt-get download failed; refreshing the package lists once (apt-get update)"
    apt-get update -qq >/dev/null
    (cd "$tmp" && apt-get download "${pkgs[@]}" >/dev/null) || {
      log "apt-get download failed: the Debian archive is needed for --prepare"; return 1; }
  fi
  rm -rf "$DEVDEPS"
  mkdir -p "$DEVDEPS"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$DEVDEPS"; done
  # Keep only what the build and the run need (carried paths are limited to 64 MiB).
  local blas="$DEVDEPS/usr/lib/x86_64-linux-gnu/openblas-pthread"
  rm -f "$blas"/*.a "$blas"/liblapack.so* "$blas"/libblas.so*
  rm -f "$DEVDEPS"/usr/lib/x86_64-linux-gnu/lib{sqlite3,fmt,spdlog,sentencepiece,sentencepiece_train}.a
  rm -rf "$DEVDEPS/usr/share/doc" "$DEVDEPS/usr/share/man" "$DEVDEPS/usr/share/lintian" \
         "$blas/pkgconfig" "$blas/cmake" "$DEVDEPS/usr/lib/x86_64-linux-gnu/cmake/openblas"*
  # Debian's .pc files say prefix=/usr: make them relative to where they lie.
  sed -i -E -e 's#^prefix=/usr$#prefix=${pcfiledir}/../../..#' -e 's#^exec_prefix=/usr$#exec_prefix=${prefix}#' \
    "$DEVDEPS"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc
  boost_subset || return 1
  # A relocatable openblas.pc: Debian's points at /usr and is chosen by update-alternatives.
  mkdir -p "$DEVDEPS/pkgconfig"
  cat > "$DEVDEPS/pkgconfig/openblas.pc" <<'PC'
prefix=${pcfiledir}/../usr
libdir=${prefix}/lib/x86_64-linux-gnu/openblas-pthread
includedir=${prefix}/include/x86_64-linux-gnu/openblas-pthread
Name: openblas
Description: OpenBLAS (Debian 12 libopenblas0-pthread, carried by scripts/gpu-check.sh)
Version: 0.3.21
Libs: -L${libdir} -lopenblas
Libs.private: -lm -lpthread -lgfortran
Cflags: -I${includedir}
PC
  local exclude="$ROOT/.git/info/exclude"
  if [ -d "$ROOT/.git" ] && ! grep -qx '/.devdeps/' "$exclude" 2>/dev/null; then
    mkdir -p "$(dirname "$exclude")"
    echo '/.devdeps/' >> "$exclude"
  fi
  log ".devdeps ready: $(du -sh "$DEVDEPS" | cut -f1) (carry it: run(carry=['.devdeps']))"
}

# The Boost headers the full build includes (Asio + Beast: header-only), not the whole 160 MB
# tree: every header a translation unit of the configured full build in build/ (or
# $WB_DEPS_SCAN_BUILD) pulls in, found with the compiler's -M, plus boost/config/ whole (other
# compilers take other branches there), and the CMake package files of Debian's libboost-dev.
boost_subset() {
  local scan="${WB_DEPS_SCAN_BUILD:-$ROOT/build}" list
  [ -f "$scan/compile_commands.json" ] && [ -d /usr/include/boost ] || {
    log "Boost subset needs a configured full build ($scan/compile_commands.json) and libboost-dev here"
    return 1; }
  list="$(mktemp)"
  log "finding the Boost headers the full build includes (compiler -M over $scan)"
  jq -r '.[] | select(.file | test("\\.(cpp|cc)$")) | .directory + "\t" + .command' \
      "$scan/compile_commands.json" |
    while IFS=$'\t' read -r dir cmd; do
      # Same flags, dependencies only: -o <obj> becomes -M output on stdout.
      cmd="$(sed -E 's# -o [^ ]+# -M -MF /dev/stdout -o /dev/null#' <<<"$cmd")"
      (cd "$dir" && eval "$cmd" 2>/dev/null) || true
    done | tr ' \\' '\n\n' | grep '^/usr/include/boost/' | sort -u > "$list"
  find /usr/include/boost/config -type f >> "$list"
  [ -s "$list" ] || { log "no Boost header found by the scan"; rm -f "$list"; return 1; }
  sort -u "$list" | while read -r h; do
    mkdir -p "$DEVDEPS$(dirname "$h")" && cp "$h" "$DEVDEPS$h"
  done
  local cm=/usr/lib/x86_64-linux-gnu/cmake
  mkdir -p "$DEVDEPS$cm"
  cp -r "$cm"/Boost-1.74.0 "$cm"/boost_headers-1.74.0 "$cm"/BoostDetectToolset-1.74.0.cmake "$DEVDEPS$cm/"
  log "Boost subset: $(sort -u "$list" | wc -l) headers, $(du -sh "$DEVDEPS/usr/include/boost" | cut -f1)"
  rm -f "$list"
}

# Points CMake, pkg-config and the loader at .devdeps when it exists.
use_devdeps() {
  CMAKE_EXTRA=()
  [ -d "$DEVDEPS" ] || { log "no .devdeps: relying on system packages"; return 0; }
  export CMAKE_PREFIX_PATH="$DEVDEPS/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export PKG_CONFIG_PATH="$DEVDEPS/pkgconfig:$DEVDEPS/usr/lib/x86_64-linux-gnu/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  local lib="$DEVDEPS/usr/lib/x86_64-linux-gnu"
  export LD_LIBRARY_PATH="$lib/openblas-pthread:$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  if ! command -v pkg-config >/dev/null 2>&1; then
    CMAKE_EXTRA+=("-DPKG_CONFIG_EXECUTABLE=$DEVDEPS/usr/bin/pkgconf")
  fi
}

# build ARCH [tests]: with "tests", only the GPU test executables (no benchmarks).
build() {
  local arch="$1" only_tests="${2:-}"
  use_devdeps
  log "configure (engine only, CUDA on, arch $arch) in $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWB_ENGINE_ONLY=ON \
        -DWB_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=$arch" "${CMAKE_EXTRA[@]}" > "$OUT/configure.log" 2>&1 \
    || { tail -30 "$OUT/configure.log"; return 1; }
  local targets=()
  [ "$only_tests" = tests ] || targets=(gpu_kernels gpu_llama gpu_parity)
  for t in "$ROOT"/tests/gpu/test_*.cpp; do targets+=("gpu_$(basename "$t" .cpp)"); done
  for t in "$ROOT"/tests/gpu/model/test_*.cpp; do targets+=("gpu_model_$(basename "$t" .cpp)"); done
  log "build ${targets[*]}"
  cmake --build "$BUILD" -j "$(nproc)" --target "${targets[@]}" > "$OUT/build.log" 2>&1 \
    || { grep -E 'error|FAILED' "$OUT/build.log" | head -30; return 1; }
}

gpu_tests() {
  log "ctest -L gpu"
  (cd "$BUILD" && ctest -L gpu -j 4 --output-on-failure) > "$OUT/ctest.log" 2>&1 && rc=0 || rc=$?
  grep -E 'tests passed|Total Test time' "$OUT/ctest.log" >&2 || tail -5 "$OUT/ctest.log" >&2
  return $rc
}

main_run() {
  mkdir -p "$OUT"
  local t0=$SECONDS status=0
  report() {
    "$PY" "$ROOT/scripts/gpu/report.py" --dir "$OUT" --seconds $((SECONDS - t0)) --status "$status" \
      > /dev/null || status=1
    log "done in $((SECONDS - t0)) s, status $status; results in $OUT/results.md"
  }
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/device.txt" 2>&1 || true
  if ! build "${WB_CUDA_ARCH:-native}"; then status=1; report; return 1; fi
  gpu_tests || status=1
  # Each phase has a time limit so the whole run stays within about 8 minutes.
  log "parity against transformers/PEFT"
  timeout 150 "$PY" "$ROOT/scripts/gpu/parity.py" --build "$BUILD" --out "$OUT/parity" \
    > "$OUT/parity.json" 2> "$OUT/parity.log" || { status=1; tail -20 "$OUT/parity.log" >&2; }
  log "benchmarks: ours (7B shape)"
  timeout 60 "$BUILD/bench/gpu_kernels" > "$OUT/bench_kernels.jsonl" 2> "$OUT/bench_kernels.log" \
    || status=1
  timeout 150 "$BUILD/bench/gpu_llama" --preset 7b --profile > "$OUT/bench_ours.jsonl" \
    2> "$OUT/bench_ours.log" || { status=1; tail -5 "$OUT/bench_ours.log" >&2; }
  # The same decode at batch 1 without programmatic dependent launch, to see what it buys.
  WB_CUDA_PDL=0 timeout 60 "$BUILD/bench/gpu_llama" --preset 7b --skip prefill,train \
    --decode-batch 1 > "$OUT/bench_ours_nopdl.jsonl" 2>> "$OUT/bench_ours.log" || true
  if [ "${WB_GPU_SKIP_HF:-0}" = 1 ]; then
    log "benchmarks: transformers/PEFT skipped (WB_GPU_SKIP_HF=1)"
  else
    log "benchmarks: transformers/PEFT (7B shape)"
    timeout 200 "$PY" "$ROOT/scripts/gpu/hf_bench.py" > "$OUT/bench_hf.jsonl" \
      2> "$OUT/bench_hf.log" || { status=1; tail -5 "$OUT/bench_hf.log" >&2; }
  fi
  report
  return $status
}

main_dry_run() {
  # Debian's interpreter carries torch/numpy here; the python3 first on PATH may not.
  [ -n "${WB_GPU_PYTHON:-}" ] || { [ -x /usr/bin/python3 ] && PY=/usr/bin/python3; }
  mkdir -p "$OUT"
  build "${WB_CUDA_ARCH:-80;90}"
  gpu_tests
  log "binaries without a device (must print a skipped line and exit 0)"
  "$BUILD/bench/gpu_kernels" && "$BUILD/bench/gpu_llama" && "$BUILD/bench/gpu_parity"
  log "python self-checks with $PY"
  "$PY" "$ROOT/scripts/gpu/parity.py" --self-test
  "$PY" "$ROOT/scripts/gpu/hf_bench.py" --self-test
  "$PY" "$ROOT/scripts/gpu/report.py" --self-test
  log "dry run passed"
}

main_build_and_test() {
  mkdir -p "$OUT"
  local t0=$SECONDS
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/device.txt" 2>&1 || true
  cat "$OUT/device.txt" >&2 || true
  build "${WB_CUDA_ARCH:-native}" tests
  log "build done in $((SECONDS - t0)) s"
  local rc=0
  gpu_tests || rc=$?
  # Skipped tests on a GPU machine mean the device did not answer: show them.
  grep -E 'Skipped|Failed|\*\*\*' "$OUT/ctest.log" >&2 || true
  log "build-and-test done in $((SECONDS - t0)) s, status $rc"
  return $rc
}

# The whole project (daemon, CLI, plugins, tests; no benchmarks) with the CUDA backend, against
# .devdeps (Boost subset, SQLite, sentencepiece, toml++, spdlog, CLI11 included since --prepare
# carries them), in $WB_GPU_FULL_BUILD (default build-gpu-full).
build_full() {
  local arch="$1"
  use_devdeps
  FULL="${WB_GPU_FULL_BUILD:-$ROOT/build-gpu-full}"
  log "configure (full project, CUDA on, arch $arch) in $FULL"
  cmake -S "$ROOT" -B "$FULL" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWB_CUDA=ON -DWB_BENCH=OFF \
        "-DCMAKE_CUDA_ARCHITECTURES=$arch" "${CMAKE_EXTRA[@]}" > "$OUT/full_configure.log" 2>&1 \
    || { tail -30 "$OUT/full_configure.log"; return 1; }
  log "build everything"
  cmake --build "$FULL" -j "$(nproc)" > "$OUT/full_build.log" 2>&1 \
    || { grep -E 'error|FAILED' "$OUT/full_build.log" | head -30; return 1; }
}

# --full-test: the whole project's suite on the GPU machine -> full_ctest.log. The whole suite
# must pass on a GPU machine too, as it does in CI. The sft, reward and serving test daemons pin
# device = "cpu", so their CPU-exact checks stay on the CPU. The device tests exercise the GPU:
# those that ask for auto or cuda explicitly, and the gpu-labelled plugin and daemon tests (a real
# workbenchd running jobs and serving on the GPU).
# WB_FULL_TEST_LABEL=gpu runs only the gpu-labelled ones.
main_full_test() {
  mkdir -p "$OUT"
  local t0=$SECONDS rc=0
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/device.txt" 2>&1 || true
  build_full "${WB_CUDA_ARCH:-native}" || { log "full build failed after $((SECONDS - t0)) s"; return 1; }
  local label=()
  [ -z "${WB_FULL_TEST_LABEL:-}" ] || label=(-L "$WB_FULL_TEST_LABEL")
  log "build done in $((SECONDS - t0)) s; ctest ${label[*]:-(everything)} over the whole project"
  (cd "$FULL" && ctest "${label[@]}" -j 8 --output-on-failure --timeout 300) > "$OUT/full_ctest.log" 2>&1 || rc=$?
  grep -E 'tests passed|Total Test time|Skipped|Failed|\*\*\*' "$OUT/full_ctest.log" >&2 || tail -5 "$OUT/full_ctest.log" >&2
  log "full-test done in $((SECONDS - t0)) s, status $rc"
  return $rc
}

case "$MODE" in
  --prepare) prepare ;;
  --dry-run) main_dry_run ;;
  --build-and-test) main_build_and_test ;;
  --full-test) main_full_test ;;
  run|--run) main_run ;;
  -h|--help) awk 'NR == 1 { next } /^set -euo pipefail/ { exit } { print }' "$0" ;;  # the header, to set -euo
  *) echo "usage: $0 [--prepare | --dry-run | --build-and-test | --full-test | --run]" >&2; exit 2 ;;
esac
