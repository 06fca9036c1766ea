#!/usr/bin/env bash
# Builds the CPU benchmarks (Release, in build/ unless WB_BUILD_DIR says otherwise): decode,
# training and one PPO iteration (bench_ppo, when the rlhf plugin is built), runs them on
# the 15M and 110M presets and appends their JSON lines to bench/results.jsonl (or $WB_BENCH_OUT),
# each tagged with the machine (lscpu model name). docs/PERFORMANCE.md explains the numbers.
#
#   scripts/bench.sh                 # both presets
#   WB_BENCH_PRESETS=15m scripts/bench.sh
#   scripts/bench.sh --model /models/my-llama   # one model directory instead of presets
#   LLAMA_BENCH=~/llama.cpp/build/bin/llama-bench scripts/bench.sh
#       # then also: each preset as a random model with a trained tokenizer (workbenchd, `wb model
#       # init`), exported as GGUF; bench_decode --model and llama-bench on that same checkpoint
#       # (128-token prompt, 64 generated, the same threads), alternating, and the ratios printed;
#       # WB_BENCH_TOKENIZER=<tokenizer.model> skips training the 32,000-piece tokenizer
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

if [ -n "${LLAMA_BENCH:-}" ] && [ ! -x "$LLAMA_BENCH" ]; then
  echo "bench.sh: LLAMA_BENCH=$LLAMA_BENCH is not an executable file" >&2
  exit 2
fi

if [ ! -f "$build_dir/build.ninja" ] && [ ! -f "$build_dir/Makefile" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build_dir" --target bench_decode bench_train -j "$jobs"
# bench_data_parallel exists where OpenMPI is installed (scripts/setup.sh installs it).
cmake --build "$build_dir" --target bench_data_parallel -j "$jobs" 2>/dev/null || true
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
# Data-parallel scaling over MPI: 1 and 2 ranks with one thread each (the same resources per rank),
# efficiency = tokens/s with 2 ranks / (2 × tokens/s with 1 rank).
if [ -x "$build_dir/bench/bench_data_parallel" ] && command -v mpirun >/dev/null 2>&1; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
  for p in $presets; do
    if [ "$p" = "110m" ]; then dp_args=(--seqs 1 --seq-len 256 --steps 2); else dp_args=(--seqs 2 --seq-len 256 --steps 3); fi
    for n in 1 2; do
      OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 run mpirun -np "$n" --oversubscribe \
        "$build_dir/bench/bench_data_parallel" --preset "$p" "${dp_args[@]}"
    done
    tail -n 4 "$out" | jq -rs --arg p "$p" 'map(select(.bench == "data_parallel")) | group_by(.phase)[] |
      (map(select(.world == 1))[0].tokens_per_s) as $one | (map(select(.world == 2))[0].tokens_per_s) as $two |
      "data parallel \($p) \(.[0].phase): 1 rank \($one | floor) tok/s, 2 ranks \($two | floor) tok/s, efficiency \($two / (2 * $one) * 100 | floor)%"' >&2
  done
fi

# ---- llama.cpp side by side (LLAMA_BENCH)
if [ -n "${LLAMA_BENCH:-}" ]; then
  cmake --build "$build_dir" --target workbenchd wb sft -j "$jobs"
  build=$(cd "$build_dir" && pwd)
  work=$(mktemp -d /tmp/wb-bench.XXXXXX)
  pids=()
  # shellcheck source=scripts/bench_model.sh
  . scripts/bench_model.sh
  trap 'bench_model_cleanup; rm -rf "$work"' EXIT
  bench_daemon_start
  summary=()
  for p in $presets; do
    bench_model_init "m$p" "$p" "${WB_BENCH_VOCAB:-32000}"
    gguf=$(bench_model_gguf "m$p")
    for round in 1 2; do
      run "$build_dir/bench/bench_decode" --model "$work/data/models/m$p" --prefill 128 --generate 64 --batches 1 |
        tee "$work/wb-$p-$round.jsonl" >/dev/null
      echo "+ $LLAMA_BENCH -m $gguf -p 128 -n 64 -t $jobs -o json" >&2
      "$LLAMA_BENCH" -m "$gguf" -p 128 -n 64 -t "$jobs" -o json >"$work/llama-$p-$round.json"
      jq -c --arg m "$machine" --arg p "$p" '.[] | {bench: "llama-bench", model: $p, machine: $m, n_prompt, n_gen,
        tokens_per_s: .avg_ts, build_commit}' "$work/llama-$p-$round.json" | tee -a "$out"
      wb_pf=$(jq -s -r 'map(select(.phase == "prefill"))[0].tokens_per_s' "$work/wb-$p-$round.jsonl")
      wb_dc=$(jq -s -r 'map(select(.phase == "decode"))[0].tokens_per_s' "$work/wb-$p-$round.jsonl")
      ll_pf=$(jq -r 'map(select(.n_prompt > 0 and .n_gen == 0))[0].avg_ts' "$work/llama-$p-$round.json")
      ll_dc=$(jq -r 'map(select(.n_gen > 0 and .n_prompt == 0))[0].avg_ts' "$work/llama-$p-$round.json")
      summary+=("$(jq -n -r --arg p "$p" --arg r "$round" --argjson a "$wb_pf" --argjson b "$ll_pf" --argjson c "$wb_dc" --argjson d "$ll_dc" \
        '"\($p) round \($r): prefill 128 workbench \($a | round) tok/s, llama.cpp \($b | round), ratio \($a / $b * 100 | round / 100); decode batch 1 workbench \($c * 10 | round / 10), llama.cpp \($d * 10 | round / 10), ratio \($c / $d * 100 | round / 100)"')")
    done
  done
  printf '%s\n' "${summary[@]}"
fi
echo "appended to $out" >&2
