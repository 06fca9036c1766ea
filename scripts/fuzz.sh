#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (clang, ASan + UBSan) into build-fuzz/ and runs each for
# a bounded time, starting from its seed corpus in fuzz/corpus/<target>/. Installs clang with
# apt-get when it is missing. Idempotent. Exit status non-zero when a target finds a crash (the
# input is left as build-fuzz/findings/<target>/crash-*).
#   scripts/fuzz.sh [seconds]     seconds per target (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz: installing clang"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends clang >/dev/null
fi

build_dir=build-fuzz
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build_dir" -G Ninja -DWB_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build_dir" -j "$jobs"

status=0
for target in http_request json_body import_body jsonl_line safetensors hf_config sp_model; do
  work="$build_dir/findings/$target"
  mkdir -p "$work/corpus"
  echo "fuzz: $target for ${seconds}s"
  seeds=("$PWD/fuzz/corpus/$target")
  extra=()
  # The Llama 2 tokenizer.model is a seed when the shared test assets are present (it is not
  # committed: its license allows it only as a test asset).
  if [ "$target" = sp_model ] && [ -d ../shared/assets/llama2-tokenizer ]; then
    seeds+=("$(cd ../shared/assets/llama2-tokenizer && pwd)")
    extra+=(-max_len=1048576)  # the real model is 500 KB
  fi
  # New inputs go to the scratch corpus; the committed seeds are only read.
  if ! (cd "$work" && "../../fuzz/fuzz_$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
          "${extra[@]}" -print_final_stats=1 corpus "${seeds[@]}" >log.txt 2>&1); then
    echo "fuzz: $target FAILED; see $work/log.txt and $work/crash-*"
    tail -40 "$work/log.txt"
    status=1
  fi
done
exit $status
