#!/usr/bin/env bash
# Serving side by side, one client for both servers: build/bench/serve_bench --url drives
# workbenchd's OpenAI listener and, when LLAMA_SERVER points at a llama-server binary,
# llama-server on the same random checkpoint exported as GGUF (`wb model export --format gguf`),
# one server at a time; prints tokens/s per concurrency and the ratio workbench / llama-server.
# JSON lines go to $WB_BENCH_OUT (default bench/results.jsonl). docs/PERFORMANCE.md explains them.
#
#   scripts/serve_bench.sh                                     # 15M, workbench alone
#   LLAMA_SERVER=~/llama.cpp/build/bin/llama-server WB_SERVE_BENCH_PRESET=110m scripts/serve_bench.sh
#
# Settings (environment): WB_BUILD_DIR (build), WB_SERVE_BENCH_PRESET (15m; tiny, 15m, 110m),
# WB_SERVE_BENCH_CONCURRENCY ("1 8 32"), WB_SERVE_BENCH_GENERATE (128), WB_SERVE_BENCH_REPS (2),
# WB_SERVE_BENCH_VOCAB (the tokenizer trained for the random model: 32000, the presets' vocabulary),
# WB_BENCH_TOKENIZER (a tokenizer.model to use instead of training one, e.g. Llama 2's: training
# 32,000 pieces takes many minutes on a small CPU),
# WB_SERVE_BENCH_PORT (11499; llama-server gets the next port), LLAMA_SERVER_ARGS (extra arguments),
# OMP_WAIT_POLICY (PASSIVE).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${WB_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
out=${WB_BENCH_OUT:-$root/bench/results.jsonl}
preset=${WB_SERVE_BENCH_PRESET:-15m}
conc=${WB_SERVE_BENCH_CONCURRENCY:-"1 8 32"}
gen=${WB_SERVE_BENCH_GENERATE:-128}
reps=${WB_SERVE_BENCH_REPS:-2}
vocab=${WB_SERVE_BENCH_VOCAB:-32000}
port=${WB_SERVE_BENCH_PORT:-11499}
threads=$(nproc 2>/dev/null || echo 2)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
max_c=1
for c in $conc; do [ "$c" -gt "$max_c" ] && max_c=$c; done

if [ -n "${LLAMA_SERVER:-}" ] && [ ! -x "$LLAMA_SERVER" ]; then
  echo "serve_bench.sh: LLAMA_SERVER=$LLAMA_SERVER is not an executable file" >&2
  exit 2
fi
command -v jq >/dev/null || { echo "serve_bench.sh: needs jq (scripts/setup.sh installs it)" >&2; exit 2; }
if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" --target workbenchd wb sft serve serve_bench -j "$threads"

work=$(mktemp -d /tmp/wb-serve-bench.XXXXXX)
pids=()
# shellcheck source=scripts/bench_model.sh
. "$root/scripts/bench_model.sh"
trap 'bench_model_cleanup; rm -rf "$work"' EXIT

cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
machine="$cpu, $threads CPUs, OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
run_client() {  # label url [token] -> JSON lines (tagged) on stdout and in $out
  echo "+ serve_bench --url $2 ($1)" >&2
  "$build/bench/serve_bench" --url "$2" --server "$1" --api-model bench ${3:+--token "$3"} \
    --concurrency $conc --generate "$gen" --reps "$reps" |
    grep --line-buffered '^{' | jq -c -S --unbuffered --arg m "$machine" --arg p "$preset" '.machine = $m | .model = $p' |
    tee -a "$out" | tee -a "$work/lines.jsonl"
}

# ---- workbench: a daemon with the TCP listener, a random model with a trained tokenizer
token=bench-$RANDOM$RANDOM
bench_daemon_start "$port" "$token"
bench_model_init bench "$preset" "$vocab"
wb serve start --model bench --max-batch "$max_c" --max-queue $((4 * max_c)) >/dev/null
run_client workbench "http://127.0.0.1:$port" "$token"

# ---- llama-server on the same checkpoint, when given
if [ -n "${LLAMA_SERVER:-}" ]; then
  gguf=$(bench_model_gguf bench)
  wb serve stop >/dev/null  # one server at a time
  lport=$((port + 1))
  ctx=$(jq -r .max_position_embeddings "$work/data/models/bench/config.json" 2>/dev/null || echo 2048)
  # shellcheck disable=SC2086
  "$LLAMA_SERVER" -m "$gguf" --host 127.0.0.1 --port "$lport" -t "$threads" -np "$max_c" -c $((ctx * max_c)) \
    -cb --no-warmup ${LLAMA_SERVER_ARGS:-} >"$work/llama-server.log" 2>&1 &
  pids+=($!)
  bench_wait_http "http://127.0.0.1:$lport/health" "${pids[1]}" "$work/llama-server.log"
  run_client llama-server "http://127.0.0.1:$lport"
fi

# ---- summary
echo "preset $preset, $gen tokens per request, greedy, best of $reps ($machine)"
jq -r -s '
  (map(select(.server == "workbench")) | map({key: (.concurrency | tostring), value: .tokens_per_s}) | from_entries) as $w
  | (map(select(.server == "llama-server")) | map({key: (.concurrency | tostring), value: .tokens_per_s}) | from_entries) as $l
  | ($w | keys_unsorted[]) as $c
  | "concurrency \($c): workbench \($w[$c] * 10 | round / 10) tok/s"
    + (if $l[$c] then ", llama-server \($l[$c] * 10 | round / 10) tok/s, ratio \(($w[$c] / $l[$c]) * 100 | round / 100)" else "" end)
' "$work/lines.jsonl"
[ -n "${LLAMA_SERVER:-}" ] || echo "(LLAMA_SERVER not set: llama-server not run, no ratios)"
