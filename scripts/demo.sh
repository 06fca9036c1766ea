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
python3 -c '
import json, sys
with open(sys.argv[1], encoding="utf-8") as src, open(sys.argv[2], "w", encoding="utf-8") as dst:
    for line in src:
        line = line.rstrip("\n")
        if line:
            dst.write(json.dumps({"prompt": line}) + "\n")
' "$demo_dir/suite/pretrain.txt" "$demo_dir/pretrain.jsonl"
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

python3 -c '
import json, sys
base = json.load(open(sys.argv[1])); sft = json.load(open(sys.argv[2]))
keys = ["accuracy", "format_adherence", "refusal_rate", "over_refusal_rate"]
families = sorted({k for k in list(base) + list(sft) if k.startswith("accuracy_")})
pick = lambda r: {k: r.get(k) for k in keys + families}
out = {"data_dir": sys.argv[3], "seconds": int(sys.argv[4]), "eval_prompts": int(base.get("n", 0)),
       "base": pick(base), "sft_lora": pick(sft)}
json.dump(out, open(sys.argv[5], "w"), indent=2)
def pct(x): return "-" if x is None else "%.1f%%" % (100 * x)
rows = [("accuracy", "accuracy"), ("format adherence", "format_adherence"),
        ("unsafe refused", "refusal_rate"), ("safe over-refused", "over_refusal_rate")]
rows += [("  accuracy: " + f[len("accuracy_"):], f) for f in families]
print()
print("%-26s %18s %18s" % ("held-out suite tasks", "base (pretrained)", "SFT (LoRA)"))
for label, k in rows:
    print("%-26s %18s %18s" % (label, pct(out["base"].get(k)), pct(out["sft_lora"].get(k))))
print("(%d held-out prompts; %d s from daemon start to here)" % (out["eval_prompts"], out["seconds"]))
' "$demo_dir/eval_base.json" "$demo_dir/eval_sft.json" "$data_dir" "$elapsed" "$data_dir/results.json"

stop_daemon
trap - EXIT
echo "$data_dir/results.json"
