# Sourced by scripts/serve_bench.sh and scripts/bench.sh: a throwaway workbenchd and a random
# model of a preset shape with a trained SentencePiece tokenizer (so it exports as GGUF for
# llama.cpp). Needs: $build (build directory), $work (scratch directory, removed by the caller),
# $pids (array; the caller's EXIT trap ends them: bench_model_cleanup).
#
#   bench_daemon_start [TCP_PORT TOKEN]   # workbenchd on $work/wb.sock (+ the OpenAI listener)
#   bench_model_init NAME PRESET VOCAB    # registered model NAME in $work/data/models/NAME
#       (with WB_BENCH_TOKENIZER=<tokenizer.model>, e.g. Llama 2's, that tokenizer instead of
#       training one: training a 32,000-piece tokenizer takes many minutes on a small CPU)
#   bench_model_gguf NAME                 # prints the path of its GGUF export

bench_model_cleanup() {
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
  done
}

# Waits until GET $1 answers 200, or the process $2 dies (its log $3 is shown).
bench_wait_http() {
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "$1" && return 0
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; return 1; }
    sleep 0.2
  done
  echo "$1 did not answer in 120 s" >&2
  return 1
}

wb() { "$build/bin/wb" --socket "$work/wb.sock" "$@"; }

bench_daemon_start() {
  : >"$work/workbench.toml"
  if [ -n "${1:-}" ]; then
    printf '[tcp]\nenabled = true\nhost = "127.0.0.1"\nport = %s\ntoken = "%s"\nmax_connections = 128\n' "$1" "$2" \
      >"$work/workbench.toml"
  fi
  "$build/bin/workbenchd" --config "$work/workbench.toml" --data-dir "$work/data" --socket "$work/wb.sock" \
    --plugin-dir "$build/lib/workbench/plugins" --log-level warn >"$work/daemon.log" 2>&1 &
  pids+=($!)
  local pid=$!
  for _ in $(seq 1 600); do
    wb status >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$work/daemon.log" >&2; return 1; }
    sleep 0.2
  done
  echo "workbenchd did not answer in 120 s" >&2
  return 1
}

bench_model_init() {
  if [ -n "${WB_BENCH_TOKENIZER:-}" ]; then
    wb model init "$1" --preset "$2" --tokenizer "$WB_BENCH_TOKENIZER" >/dev/null
    return
  fi
  # A corpus of pseudo-words (deterministic) with enough distinct pairs for the vocabulary.
  awk -v n=400000 'BEGIN { srand(7); split("ka lo mi nu re sa ti vo be da fe gi ho ju ke la ma ne pi qu ro su te ul va we xi yo zu an el in on", s, " ");
    for (i = 0; i < n; i++) { w = ""; k = 2 + int(rand() * 3); for (j = 0; j < k; j++) w = w s[1 + int(rand() * 34)];
      printf "%s%s", w, (i % 12 == 11 ? ".\n" : " ") } }' >"$work/corpus.txt"
  wb model init "$1" --preset "$2" --tokenizer-corpus "$work/corpus.txt" --vocab-size "$3" >/dev/null
}

bench_model_gguf() {
  wb model export "$1" "$work/gguf-$1" --format gguf >/dev/null
  ls "$work/gguf-$1"/*.gguf | head -1
}
