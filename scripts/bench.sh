#!/usr/bin/env bash
# Builds the CPU benchmarks (Release, in build/ unless WB_BUILD_DIR says otherwise): decode,
# training and one PPO iteration (bench_ppo, when the rlhf plugin is built), runs them on
# the 15M and 110M presets and appends their JSON lines to bench/results.jsonl (or $WB_BENCH_OUT),
# each tagged with the machine (lscpu model name). docs/PERFORMANCE.md explains the numbers.
#
#   scripts/bench.sh                 # both presets
#   WB_BENCH_PRESETS=15m scripts/bench.sh
#   scripts/bench.sh --model /models/my-llama   # one model directory instead of presets
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${WB_BUILD_DIR:-build}
out=${WB_BENCH_OUT:-bench/results.jsonl}
presets=${WB_BENCH_PRESETS:-"15m 110m"}
jobs=$(nproc 2>/dev/null || echo 2)
# OpenBLAS (its own pthreads) and the engine's OpenMP loops alternate; with libgomp's default
# active spin-wait the idle OpenMP workers burn the cores BLAS needs (4x slower training on 2
# cores in docs/PERFORMANCE.md). Passive waiting is the setting to measure with.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

if [ ! -f "$build_dir/build.ninja" ] && [ ! -f "$build_dir/Makefile" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build_dir" --target bench_decode bench_train -j "$jobs"
# bench_ppo needs wb_rlhf_core (not in a WB_ENGINE_ONLY build).
ppo=0
cmake --build "$build_dir" --target bench_ppo -j "$jobs" >/dev/null 2>&1 && ppo=1

cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
machine="$cpu, $(nproc) CPUs, OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
# Each JSON line of a benchmark, tagged with the machine (needs jq, which setup.sh installs).
tag() { grep --line-buffered '^{' | jq -c -S --unbuffered --arg m "$machine" '.machine = $m'; }

run() {
  echo "+ $*" >&2
  "$@" | tag | tee -a "$out"
}

if [ "${1:-}" = "--model" ]; then
  run "$build_dir/bench/bench_decode" --model "$2"
  run "$build_dir/bench/bench_train" --model "$2"
  exit 0
fi
for p in $presets; do
  if [ "$p" = "110m" ]; then
    # 110M on a small CPU: shorter runs (one step of 2 x 512 tokens, 64 generated tokens per decode).
    run "$build_dir/bench/bench_decode" --preset "$p" --generate 64
    run "$build_dir/bench/bench_train" --preset "$p" --seqs 2 --seq-len 512 --steps 1
    # One PPO iteration of 8 prompts, 16 answer tokens (a rollout of 8 timed alone).
    if [ "$ppo" = 1 ]; then run "$build_dir/bench/bench_ppo" --preset "$p" --batch 8 --generate 16 --gen-batches 8; fi
  else
    run "$build_dir/bench/bench_decode" --preset "$p"
    run "$build_dir/bench/bench_train" --preset "$p"
    # One PPO iteration of 32 prompts, 32 answer tokens; rollouts of 1 and 32 prompts timed alone.
    if [ "$ppo" = 1 ]; then run "$build_dir/bench/bench_ppo" --preset "$p"; fi
  fi
done
echo "appended to $out" >&2
