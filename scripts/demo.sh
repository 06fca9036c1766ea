#!/usr/bin/env bash
# The workbench demo, end to end on CPU: build, start workbenchd on a fresh data dir, generate the
# synthetic task suite, train a SentencePiece tokenizer and a tiny Llama on its corpus (pretrain),
# fine-tune it with LoRA on the suite's chat rows (SFT), evaluate base vs SFT adapter on
# held-out prompts with the suite's exact checker, then sample answer pairs from the SFT model,
# label them with that checker (a synthetic stand-in for human labelers) and train the
# helpfulness and safety reward models, whose held-out accuracy per rating level is printed next
# to the Llama 2 paper's Table 8; then one rejection-sampling round from the SFT policy, PPO from
# its result, and DPO from the SFT model as a side branch, every policy evaluated on held-out RLHF
# prompts (combined reward, accuracy, refusals); last Ghost Attention: persona adherence by turn
# (1..8) of an SFT model, the same trained on its own multi-turn replies without GAtt, and with
# GAtt, with the attention on the system instruction per turn. Prints tables, writes the same
# figures to <data_dir>/results.json and prints that path last.
#
#   scripts/demo.sh                       # setup.sh (packages + build of the demo's targets into build/), then the demo
#   WB_SKIP_SETUP=1 WB_BUILD_DIR=build-x scripts/demo.sh   # reuse an existing build
# Knobs (defaults: under 8 minutes after the build on 2 idle cores, estimated from the CPU time
# of each stage; see docs/DEMO.md, "Time"):
#   WB_DEMO_PRETRAIN_STEPS, WB_DEMO_SFT_STEPS, WB_DEMO_EVAL_LIMIT, WB_DEMO_SEED,
#   WB_DEMO_LABEL_PROMPTS, WB_DEMO_RM_STEPS, WB_DEMO_SFT_SAFETY_ROWS, WB_DEMO_DPO_STEPS,
#   WB_DEMO_RLHF_EVAL_LIMIT, WB_DEMO_RS_PROMPTS, WB_DEMO_RS_K, WB_DEMO_RS_TEMPERATURE, WB_DEMO_PPO_ITERATIONS,
#   WB_DEMO_GATT (0 skips the GAtt stage), WB_DEMO_GATT_SFT_STEPS, WB_DEMO_GATT_STEPS,
#   WB_DEMO_GATT_DIALOGUES, WB_DEMO_GATT_EVAL_LIMIT, WB_DEMO_GATT_LR, WB_DEMO_GATT_BATCH, WB_DEMO_GATT_K
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Only what the demo runs: the daemon, the CLI, the suite tool and the three plugins it loads (no
# tests, benchmarks or serve plugin; scripts/test.sh builds everything).
demo_targets="workbenchd wb wb-suite sft reward rlhf"
if [ "${WB_SKIP_SETUP:-0}" != 1 ]; then
  WB_BUILD_TARGETS="$demo_targets" scripts/setup.sh
fi
build=${WB_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
wb_bin=${WB_BIN:-$build/bin/wb}
wbd_bin=$build/bin/workbenchd
suite_bin=$build/bin/wb-suite
plugins=$build/lib/workbench/plugins
for f in "$wb_bin" "$wbd_bin" "$suite_bin" "$plugins/libwb_sft.so" "$plugins/libwb_reward.so" "$plugins/libwb_rlhf.so"; do
  [ -e "$f" ] || { echo "demo: missing $f (build first: scripts/setup.sh)" >&2; exit 1; }
done

pretrain_steps=${WB_DEMO_PRETRAIN_STEPS:-1800}
sft_steps=${WB_DEMO_SFT_STEPS:-300}
eval_limit=${WB_DEMO_EVAL_LIMIT:-300}
seed=${WB_DEMO_SEED:-1}
label_prompts=${WB_DEMO_LABEL_PROMPTS:-400}
rm_steps=${WB_DEMO_RM_STEPS:-300}

# Idle OpenMP threads sleep instead of spinning: much faster on a shared, loaded machine.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

demo_dir=$(mktemp -d /tmp/wb-demo.XXXXXX)
data_dir=$demo_dir/data
sock=$demo_dir/run/wb.sock
wb() { "$wb_bin" --socket "$sock" "$@"; }
t_start=$(date +%s)
# CPU seconds used so far: the daemon with its reaped job workers (every job runs in a forked
# wb-worker) plus this shell's children (wb, jq, wb-suite). On a shared machine the wall time
# depends on the other load; the CPU time much less (docs/DEMO.md, "Time").
clk_tck=$(getconf CLK_TCK)
cpu_seconds() {  # fields 14-17 of /proc/PID/stat: utime stime cutime cstime, in clock ticks
  local d s
  d=$(sed 's/^.*) //' "/proc/$daemon_pid/stat" 2>/dev/null | awk '{print $12 + $13 + $14 + $15}')
  s=$(sed 's/^.*) //' "/proc/$$/stat" | awk '{print $14 + $15}')
  echo $(( (${d:-0} + s) / clk_tck ))
}
t_stamp=$t_start
cpu_stamp=0
# Prints the elapsed wall and CPU seconds and appends the stage just ended to stages.jsonl.
stamp() {
  local now cpu
  now=$(date +%s)
  cpu=$(cpu_seconds)
  echo "[demo $(( now - t_start ))s, cpu ${cpu}s] $*"
  jq -nc --arg stage "$*" --argjson wall "$(( now - t_stamp ))" --argjson cpu "$(( cpu - cpu_stamp ))" \
    '{stage: $stage, wall_s: $wall, cpu_s: $cpu}' >>"$demo_dir/stages.jsonl"
  t_stamp=$now
  cpu_stamp=$cpu
}

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
# Plain text for pretraining: one document per line of pretrain.txt.
wb dataset import corpus "$demo_dir/suite/pretrain.txt" --kind text --eval-fraction 0.02 >/dev/null
# Few safety examples in SFT (WB_DEMO_SFT_SAFETY_ROWS of the suite's ~140 refusals; "all" keeps
# every one), so that the SFT policy refuses unsafe prompts only sometimes and refusing more has
# to come from the safety reward model, as in the paper's setup. The share refused is steep in
# the row count (docs/DEMO.md).
sft_safety_rows=${WB_DEMO_SFT_SAFETY_ROWS:-14}
if [ "$sft_safety_rows" = all ]; then
  cp "$demo_dir/suite/sft_train.jsonl" "$demo_dir/sft_train.jsonl"
else
  jq -c -s --arg r "$(jq -r '.refusal' "$demo_dir/suite/manifest.json")" --argjson keep "$sft_safety_rows" '
    reduce .[] as $x ({n: 0, out: []};
      if $x.messages[-1].content == $r then (if .n < $keep then .n += 1 | .out += [$x] else . end)
      else .out += [$x] end) | .out[]' "$demo_dir/suite/sft_train.jsonl" >"$demo_dir/sft_train.jsonl"
fi
wb dataset import chat "$demo_dir/sft_train.jsonl" --kind sft >/dev/null
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

# ---- reward models ---------------------------------------------------------------------------------
wb dataset import help-prefs "$demo_dir/suite/pref_helpful_train.jsonl" --kind preference >/dev/null
wb dataset import help-eval "$demo_dir/suite/pref_helpful_eval.jsonl" --kind preference >/dev/null
wb dataset import safety-prefs "$demo_dir/suite/pref_safety_train.jsonl" --kind preference >/dev/null
wb dataset import safety-eval "$demo_dir/suite/pref_safety_eval.jsonl" --kind preference >/dev/null
wb dataset import rl-prompts "$demo_dir/suite/prompts_train.jsonl" --kind prompt >/dev/null
# Two answers per prompt from the SFT model (greedy vs temperature 1), labeled by the suite's exact
# checker standing in for a human labeler (annotator "suite-checker (synthetic stand-in for a
# human labeler)"; rating = difference of the checker's 0..3 grades, docs/REWARD.md).
wb job submit label_synthetic --follow \
  --set model=pretrained --set prompts=rl-prompts --set output=synthetic-pairs \
  --set a.adapter=chat-lora --set a.temperature=0 --set b.adapter=chat-lora --set b.temperature=1 \
  --set limit="$label_prompts" --set max_tokens=16 --set batch=32 --set seed="$seed"
synthetic_pairs=$(wb --json dataset show synthetic-pairs | jq -r '.rows')
stamp "$synthetic_pairs synthetic pairs labeled by the suite checker"
# Both reward models start from the SFT adapter (LoRA continues, new scalar head) and train with
# the paper's margins; the safety RM mixes safety and helpfulness data, as the paper's did.
train_rm() {  # head output datasets-json eval-dataset
  local id
  id=$(wb --json train reward --head "$1" --set model=pretrained --set adapter=chat-lora \
    --set "datasets=$3" --set "eval_datasets=[\"$4\"]" --set output="$2" --set max_steps="$rm_steps" \
    --set batch=8 --set lr=2e-3 --set max_len=64 --set eval_every=100 --set log_every=25 --set seed="$seed" | jq -r '.id')
  wb job logs "$id" --follow
  wb --json job show "$id" >"$demo_dir/$2.json"
}
train_rm helpfulness rm-helpful '[{"name":"help-prefs","ratio":1},{"name":"synthetic-pairs","ratio":1}]' help-eval
train_rm safety rm-safety '[{"name":"safety-prefs","ratio":2},{"name":"help-prefs","ratio":1},{"name":"synthetic-pairs","ratio":0.5}]' safety-eval
stamp "reward models trained"

# ---- RLHF: held-out evaluation of each policy, and DPO as a side branch from the SFT model -------
# (scripts/demo_rlhf.sh: the stages after the reward models; docs/DEMO.md says which exist.)
. "$root/scripts/demo_rlhf.sh"
# ---- Ghost Attention: adherence to a system instruction by turn, with and without GAtt ----------
# (scripts/demo_gatt.sh; WB_DEMO_GATT=0 skips it.)
if [ "${WB_DEMO_GATT:-1}" = 1 ]; then . "$root/scripts/demo_gatt.sh"; fi
elapsed=$(( $(date +%s) - t_start ))
cpu_total=$(cpu_seconds)

# results.json: the figures of both evaluations side by side; then the same as a table.
jq -n --slurpfile base "$demo_dir/eval_base.json" --slurpfile sft "$demo_dir/eval_sft.json" \
  --arg data_dir "$data_dir" --argjson seconds "$elapsed" --argjson cpu "$cpu_total" \
  --slurpfile stages "$demo_dir/stages.jsonl" '
  ($base[0] | with_entries(select(.key | startswith("accuracy") or . == "format_adherence"
                                  or . == "refusal_rate" or . == "over_refusal_rate"))) as $b
  | ($sft[0] | with_entries(select(.key | startswith("accuracy") or . == "format_adherence"
                                  or . == "refusal_rate" or . == "over_refusal_rate"))) as $s
  | {data_dir: $data_dir, seconds: $seconds, cpu_seconds: $cpu, stages: $stages, eval_prompts: ($base[0].n // 0), base: $b, sft_lora: $s}' \
  >"$data_dir/results.json"

# The reward models' held-out accuracies join results.json beside the paper's Table 8.
rm_acc() { jq '.metrics | with_entries(select(.key | startswith("eval_")) | .value = .value.value)' "$1"; }
jq --argjson help "$(rm_acc "$demo_dir/rm-helpful.json")" --argjson safety "$(rm_acc "$demo_dir/rm-safety.json")" \
  --argjson pairs "$synthetic_pairs" '. + {reward_models: {synthetic_pairs: $pairs, helpfulness: $help, safety: $safety,
    paper_table8: {helpfulness: {"3": 0.807, "2": 0.675, "1": 0.609, "0": 0.547},
                   safety: {"3": 0.943, "2": 0.763, "1": 0.657, "0": 0.553}}}}' \
  "$data_dir/results.json" >"$demo_dir/results.tmp" && mv "$demo_dir/results.tmp" "$data_dir/results.json"

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
echo "($(jq -r '.eval_prompts' "$data_dir/results.json") held-out prompts)"

# Reward models: held-out pair accuracy per rating level (how much better the chosen answer is),
# beside Llama 2's Table 8 (Meta Helpful / Meta Safety test sets).
rmp() { jq -r --arg k "$2" '.metrics[$k].value // empty | . * 1000 | round / 10 | tostring + "%"' "$1"; }
rmn() { jq -r --arg k "$2" '.metrics[$k].value // empty | round' "$1"; }
rm_row() {  # label key paper_help paper_safety
  printf '%-30s %12s %8s %12s %8s\n' "$1" "$(rmp "$demo_dir/rm-helpful.json" "$2")" "$3" \
    "$(rmp "$demo_dir/rm-safety.json" "$2")" "$4"
}
echo
printf '%-30s %12s %8s %12s %8s\n' "reward model accuracy" "helpfulness" "paper" "safety" "paper"
rm_row "significantly better (3)" eval_accuracy_rating_3 80.7% 94.3%
rm_row "better (2)" eval_accuracy_rating_2 67.5% 76.3%
rm_row "slightly better (1)" eval_accuracy_rating_1 60.9% 65.7%
rm_row "negligibly better/unsure (0)" eval_accuracy_rating_0 54.7% 55.3%
rm_row "all held-out pairs" eval_accuracy "" ""
for label in chosen_safe both_safe both_unsafe; do
  v=$(rmp "$demo_dir/rm-safety.json" "eval_accuracy_safety_$label")
  [ -n "$v" ] && printf '%-30s %12s %8s %12s %8s\n' "  safety label $label" "" "" "$v" ""
done
echo "(held-out pairs: helpfulness $(rmn "$demo_dir/rm-helpful.json" eval_count_rating_3)/$(rmn "$demo_dir/rm-helpful.json" eval_count_rating_2)/$(rmn "$demo_dir/rm-helpful.json" eval_count_rating_1)/$(rmn "$demo_dir/rm-helpful.json" eval_count_rating_0) at ratings 3/2/1/0; safety $(rmn "$demo_dir/rm-safety.json" eval_count_rating_3)/$(rmn "$demo_dir/rm-safety.json" eval_count_rating_2) at 3/2; trained on the suite's pairs + $synthetic_pairs checker-labeled SFT samples)"
rlhf_results
if [ "${WB_DEMO_GATT:-1}" = 1 ]; then gatt_results; fi
echo "(${elapsed} s from daemon start to here, ${cpu_total} s of CPU time; per stage: stages in results.json)"

stop_daemon
trap - EXIT
echo "$data_dir/results.json"
