#!/usr/bin/env bash
# The workbench demo, end to end on CPU: build, start workbenchd on a fresh data dir, generate the
# synthetic task suite, train a SentencePiece tokenizer and a tiny Llama on its corpus (pretrain),
# fine-tune it with LoRA on the suite's chat rows (SFT), and evaluate base vs SFT adapter on
# held-out prompts with the suite's exact checker. Prints a table, writes the same figures to
# <data_dir>/results.json and prints that path last.
#
#   scripts/demo.sh                       # setup.sh (packages + build into build/), then the demo
#   WB_SKIP_SETUP=1 WB_BUILD_DIR=build-x scripts/demo.sh   # reuse an existing build
# Knobs (defaults: about 5 minutes after the build on 2 idle cores; see docs/DEMO.md):
#   WB_DEMO_PRETRAIN_STEPS, WB_DEMO_SFT_STEPS, WB_DEMO_EVAL_LIMIT, WB_DEMO_SEED
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ "${WB_SKIP_SETUP:-0}" != 1 ]; then
  scripts/setup.sh
fi
build=${WB_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
wb_bin=${WB_BIN:-$build/bin/wb}
wbd_bin=$build/bin/workbenchd
suite_bin=$build/bin/wb-suite
plugins=$build/lib/workbench/plugins
for f in "$wb_bin" "$wbd_bin" "$suite_bin" "$plugins/libwb_sft.so"; do
  [ -e "$f" ] || { echo "demo: missing $f (build first: scripts/setup.sh)" >&2; exit 1; }
done

pretrain_steps=${WB_DEMO_PRETRAIN_STEPS:-3000}
sft_steps=${WB_DEMO_SFT_STEPS:-300}
eval_limit=${WB_DEMO_EVAL_LIMIT:-300}
seed=${WB_DEMO_SEED:-1}

# Idle OpenMP threads sleep instead of spinning: much faster on a shared, loaded machine.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

demo_dir=$(mktemp -d /tmp/wb-demo.XXXXXX)
data_dir=$demo_dir/data
sock=$demo_dir/run/wb.sock
wb() { "$wb_bin" --socket "$sock" "$@"; }
t_start=$(date +%s)
stamp() { echo "[demo $(( $(date +%s) - t_start ))s] $*"; }

"$wbd_bin" --data-dir "$data_dir" --socket "$sock" --plugin-dir "$plugins" --log-level warn \
  >"$demo_dir/daemon.log" 2>&1 &
daemon_pid=$!
stop_daemon() {
  if kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
}
trap stop_daemon EXIT
for _ in $(seq 1 100); do
  wb status >/dev/null 2>&1 && break
  kill -0 "$daemon_pid" 2>/dev/null || { cat "$demo_dir/daemon.log" >&2; exit 1; }
  sleep 0.1
done
wb status >/dev/null
stamp "workbenchd running (data dir $data_dir, socket $sock)"

# ---- data ------------------------------------------------------------------------------------
"$suite_bin" generate --seed "$seed" --out "$demo_dir/suite" --size demo >/dev/null
# The storage layer has no plain-text kind: pretraining lines travel as prompt rows.
jq -Rc 'select(length > 0) | {prompt: .}' "$demo_dir/suite/pretrain.txt" >"$demo_dir/pretrain.jsonl"
wb dataset import corpus "$demo_dir/pretrain.jsonl" --kind prompt --eval-fraction 0.02 >/dev/null
wb dataset import chat "$demo_dir/suite/sft_train.jsonl" --kind sft >/dev/null
wb dataset import chat-eval "$demo_dir/suite/sft_eval.jsonl" --kind sft >/dev/null
stamp "suite generated and imported (corpus, chat, chat-eval)"

# ---- model: tokenizer + tiny Llama ---------------------------------------------------------------
wb model init base --preset tiny --tokenizer-corpus "$demo_dir/suite/tokenizer_corpus.txt" \
  --vocab-size 1024 --seed "$seed" --set config.max_position_embeddings=128 >/dev/null
stamp "tokenizer trained, model 'base' initialized"

# ---- pretrain ------------------------------------------------------------------------------------
wb train pretrain --follow \
  --set model=base --set dataset=corpus --set output=pretrained \
  --set max_steps="$pretrain_steps" --set batch_size=8 --set context_length=64 \
  --set lr=3e-3 --set min_lr=3e-4 --set warmup=50 --set weight_decay=0.0 \
  --set eval_every=500 --set eval_batches=8 --set log_every=10 --set seed="$seed"
stamp "pretrained"

# ---- SFT with LoRA --------------------------------------------------------------------------------
wb train sft --follow \
  --set model=pretrained --set dataset=chat --set eval_dataset=chat-eval --set output=chat-lora \
  --set method=lora --set rank=16 --set alpha=32 --set max_steps="$sft_steps" --set batch_size=8 \
  --set context_length=64 --set lr=3e-3 --set warmup=10 --set eval_every=50 --set eval_batches=8 \
  --set log_every=10 --set seed="$seed"
stamp "SFT adapter trained"

# ---- eval: base vs SFT adapter on held-out prompts --------------------------------------------------
wb --json eval --model pretrained --dataset chat-eval --limit "$eval_limit" --max-tokens 16 >"$demo_dir/eval_base.json"
wb --json eval --model pretrained --adapter chat-lora --dataset chat-eval --limit "$eval_limit" --max-tokens 16 \
  >"$demo_dir/eval_sft.json"
stamp "evaluated"
elapsed=$(( $(date +%s) - t_start ))

# results.json: the figures of both evaluations side by side; then the same as a table.
jq -n --slurpfile base "$demo_dir/eval_base.json" --slurpfile sft "$demo_dir/eval_sft.json" \
  --arg data_dir "$data_dir" --argjson seconds "$elapsed" '
  ($base[0] | with_entries(select(.key | startswith("accuracy") or . == "format_adherence"
                                  or . == "refusal_rate" or . == "over_refusal_rate"))) as $b
  | ($sft[0] | with_entries(select(.key | startswith("accuracy") or . == "format_adherence"
                                  or . == "refusal_rate" or . == "over_refusal_rate"))) as $s
  | {data_dir: $data_dir, seconds: $seconds, eval_prompts: ($base[0].n // 0), base: $b, sft_lora: $s}' \
  >"$data_dir/results.json"

pct() { jq -r --arg k "$2" '.[$k] // empty | . * 1000 | round / 10 | tostring + "%"' "$1"; }
row() { printf '%-26s %18s %18s\n' "$1" "$(pct "$demo_dir/eval_base.json" "$2")" "$(pct "$demo_dir/eval_sft.json" "$2")"; }
echo
printf '%-26s %18s %18s\n' "held-out suite tasks" "base (pretrained)" "SFT (LoRA)"
row "accuracy" accuracy
row "format adherence" format_adherence
row "unsafe refused" refusal_rate
row "safe over-refused" over_refusal_rate
for f in $(jq -r 'keys[] | select(startswith("accuracy_"))' "$demo_dir/eval_sft.json"); do
  row "  accuracy: ${f#accuracy_}" "$f"
done
echo "($(jq -r '.eval_prompts' "$data_dir/results.json") held-out prompts; ${elapsed} s from daemon start to here)"

stop_daemon
trap - EXIT
echo "$data_dir/results.json"
