# demo_gatt.sh — the demo's Ghost Attention stage (docs/GATT.md), sourced by scripts/demo.sh (it
# uses demo.sh's wb, stamp, $demo_dir, $data_dir, $seed and the model `pretrained`).
#
# The demo's SFT (chat-lora) already learned to obey a persona given in the turn it answers: the
# suite's sft_train.jsonl ends with single-turn persona rows (the persona as the system message or
# prefixed to the user message, the reply obeying it). The demo's base has a context of 128 tokens;
# 8 turns under a persona need about 400. RoPE has no learned positions, so the SFT model
# (pretrained + chat-lora, merged) is exported and re-imported with a 512-token context
# (`gatt-base`); every training below runs on 512-token rows, as full fine-tuning (the model is
# small).
#   1. SFT (`gatt-sft`): gatt-base trained on the first WB_DEMO_GATT_DIALOGUES of the suite's
#      persona dialogues (dialogues_train.jsonl) as multi-turn chats that carry the instruction in
#      the system message and again in every later user message: the model learns to obey an
#      instruction given in the turn it answers, at every turn of a long chat.
#   2. From the next WB_DEMO_GATT_DIALOGUES dialogues (their user turns only), two data sets sampled
#      from that SFT model:
#        gatt-data  (gatt_data): the instruction attached to every user turn when sampling, greedy,
#                   a reply that does not obey resampled (best of WB_DEMO_GATT_K by the suite's
#                   checker; a turn with none obeying ends the dialogue), kept only in the first
#                   turn of the training row, every earlier turn at loss weight 0;
#        plain-data (gatt_data with ghost=false): the same dialogues answered greedily with the
#                   instruction only in the first turn, every turn trained — the model trained
#                   without GAtt.
#   3. The same fine-tuning of gatt-sft on each (`gatt-model`, `plain-model`), then
#      `eval --multi-turn` of the SFT model, the model without GAtt and the GAtt model on the suite's
#      held-out persona dialogues (dialogues_eval.jsonl), each replying with its own earlier replies
#      in context; each eval also measures the attention on the system instruction per turn and
#      layer and writes its SVG heatmap.
# gatt_results (called after results.json exists) adds the table and claims to it and prints them.
gatt_sft_steps=${WB_DEMO_GATT_SFT_STEPS:-1000}
gatt_steps=${WB_DEMO_GATT_STEPS:-60}
gatt_dialogues=${WB_DEMO_GATT_DIALOGUES:-300}   # dialogues for each half (SFT, GAtt sampling)
gatt_eval_limit=${WB_DEMO_GATT_EVAL_LIMIT:-40}
gatt_ctx=${WB_DEMO_GATT_CONTEXT:-512}
gatt_batch=${WB_DEMO_GATT_BATCH:-2}             # 512-token rows per step
gatt_lr=${WB_DEMO_GATT_LR:-3e-3}
gatt_k=${WB_DEMO_GATT_K:-8}                     # candidates per GAtt turn that does not obey
t_gatt=$(date +%s)

# The SFT model (pretrained + chat-lora merged) with a longer context.
wb model export pretrained "$demo_dir/gatt-base" --adapter chat-lora >/dev/null
jq --argjson c "$gatt_ctx" '.max_position_embeddings = $c' "$demo_dir/gatt-base/config.json" >"$demo_dir/gatt-base/config.tmp"
mv "$demo_dir/gatt-base/config.tmp" "$demo_dir/gatt-base/config.json"
wb model import gatt-base "$demo_dir/gatt-base" >/dev/null

# SFT rows: the instruction in the system message and prefixed to every user message after the first.
sed -n "1,${gatt_dialogues}p" "$demo_dir/suite/dialogues_train.jsonl" | jq -c '
  .messages[0].content as $i
  | .messages |= [foreach .[] as $m (0; . + (if $m.role == "user" then 1 else 0 end);
      if $m.role == "user" and . > 1 then $m + {content: ($i + "\n\n" + $m.content)} else $m end)]
  | {messages}' >"$demo_dir/gatt_sft.jsonl"
# ... and the suite's single-turn persona rows: the persona in the turn answered, obeyed.
cat "$demo_dir/suite/sft_persona_train.jsonl" >>"$demo_dir/gatt_sft.jsonl"
sed -n "$((gatt_dialogues + 1)),$((2 * gatt_dialogues))p" "$demo_dir/suite/dialogues_train.jsonl" >"$demo_dir/gatt_dialogues.jsonl"
wb dataset import gatt-sft-rows "$demo_dir/gatt_sft.jsonl" --kind sft >/dev/null
wb dataset import gatt-dialogues "$demo_dir/gatt_dialogues.jsonl" --kind sft >/dev/null

gatt_train() {  # model dataset output steps: full fine-tuning (the model is small) into a new model
  wb train sft --follow --set model="$1" --set dataset="$2" --set output="$3" --set method=full \
    --set max_steps="$4" --set batch_size="$gatt_batch" --set context_length="$gatt_ctx" --set lr="$gatt_lr" \
    --set warmup=10 --set log_every=25 --set seed="$seed" >/dev/null
}
gatt_train gatt-base gatt-sft-rows gatt-sft "$gatt_sft_steps"
stamp "GAtt: SFT model with a ${gatt_ctx}-token context trained"

gatt_sample() {  # output ghost: the job's record (with its metrics) into gatt_data_<output>.json
  local id
  id=$(wb --json job submit gatt_data --set model=gatt-sft --set dataset=gatt-dialogues --set split=all \
    --set output="$1" --set ghost="$2" --set k="$gatt_k" --set seed="$seed" --set max_tokens=16 --set batch=32 |
    jq -r '.id')
  wb job logs "$id" --follow >/dev/null || true  # the state is checked below
  wb --json job show "$id" >"$demo_dir/gatt_data_$1.json"
  if [ "$(jq -r '.state' "$demo_dir/gatt_data_$1.json")" != succeeded ]; then
    echo "demo: gatt_data $1 (job $id) failed: $(jq -r '.error // .state' "$demo_dir/gatt_data_$1.json")" >&2
    exit 1
  fi
}
gatt_sample gatt-data true
gatt_sample plain-data false
gatt_train gatt-sft gatt-data gatt-model "$gatt_steps"
gatt_train gatt-sft plain-data plain-model "$gatt_steps"
stamp "GAtt: data sampled ($(jq -r '.metrics.kept_share.value * 1000 | round / 10' "$demo_dir/gatt_data_gatt-data.json")% of the GAtt turns kept), models with and without GAtt trained"

gatt_eval() {  # label model
  wb --json eval --model "$2" --suite-dir "$demo_dir/suite" --multi-turn --limit "$gatt_eval_limit" --max-tokens 16 \
    >"$demo_dir/gatt_eval_$1.json"
}
gatt_eval sft gatt-sft
gatt_eval plain plain-model
gatt_eval gatt gatt-model
gatt_seconds=$(( $(date +%s) - t_gatt ))
stamp "GAtt: multi-turn evaluations done"

gatt_results() {
  jq --slurpfile s "$demo_dir/gatt_eval_sft.json" --slurpfile p "$demo_dir/gatt_eval_plain.json" \
    --slurpfile g "$demo_dir/gatt_eval_gatt.json" --argjson seconds "$gatt_seconds" \
    --slurpfile gd "$demo_dir/gatt_data_gatt-data.json" --slurpfile pd "$demo_dir/gatt_data_plain-data.json" '
    def pick: {adherence, adherence_later, content_accuracy, format_adherence, dialogues, turns,
               by_turn: [range(1; 9) as $t | .["adherence_turn_\($t)"]],
               attention_on_system_by_turn: [range(1; 9) as $t | .["attention_share_turn_\($t)"]],
               later_by_kind: {language: .adherence_language_later, figure: .adherence_figure_later,
                               hobby: .adherence_hobby_later},
               language_by_turn: [range(1; 9) as $t | .["adherence_language_turn_\($t)"]],
               attention_svg};
    # The SFT model while sampling: its greedy replies graded by the checker, per turn, with the
    # instruction on the turn (GAtt data) and only in the first turn (the data without GAtt).
    def data: .metrics | with_entries(.value |= .value) | {kept_share, resampled, checked_turns, rows, turns,
               obeyed_greedy_turn_1, turn_1_by_kind: {language: .obeyed_greedy_turn_1_language,
               figure: .obeyed_greedy_turn_1_figure, hobby: .obeyed_greedy_turn_1_hobby},
               obeyed_greedy_by_turn: [range(1; 9) as $t | .["obeyed_greedy_turn_\($t)"]]};
    ($s[0] | pick) as $S | ($p[0] | pick) as $P | ($g[0] | pick) as $G
    | . + {gatt: {seconds: $seconds, sft: $S, without_gatt: $P, with_gatt: $G,
        sampling: {k: '"$gatt_k"', with_instruction_on_turn: ($gd[0] | data), instruction_in_first_turn_only: ($pd[0] | data)},
        claims: [
          {claim: "GAtt: adherence at turns >= 3 at least 30 points above the same model trained without GAtt",
           without_gatt: $P.adherence_later, with_gatt: $G.adherence_later,
           holds: (($G.adherence_later // 0) - ($P.adherence_later // 0) >= 0.30)},
          {claim: "GAtt: content accuracy falls by at most 2 points against the model trained without GAtt",
           without_gatt: $P.content_accuracy, with_gatt: $G.content_accuracy,
           holds: (($G.content_accuracy // 0) >= ($P.content_accuracy // 0) - 0.02)},
          {claim: "GAtt, language instruction alone (capitals or cipher; personas that have one): adherence at turns >= 3 against the model trained without GAtt",
           without_gatt: $P.later_by_kind.language, with_gatt: $G.later_by_kind.language, holds: null}]}}' \
    "$data_dir/results.json" >"$demo_dir/results.tmp" && mv "$demo_dir/results.tmp" "$data_dir/results.json"
  local p='if . == null then "-" else (. * 1000 | round / 10 | tostring + "%") end'
  echo
  printf '%-22s %8s %8s %8s %8s %8s %8s %8s %8s\n' "SFT model sampling" t1 t2 t3 t4 t5 t6 t7 t8
  for m in with_instruction_on_turn instruction_in_first_turn_only; do
    if [ "$m" = with_instruction_on_turn ]; then printf '%-22s' "  instruction on turn"; else printf '%-22s' "  first turn only"; fi
    jq -r --arg m "$m" ".gatt.sampling[\$m].obeyed_greedy_by_turn | map($p) | @tsv" "$data_dir/results.json" | tr '\t' '\n' |
      paste -sd' ' | xargs printf ' %8s %8s %8s %8s %8s %8s %8s %8s\n'
  done
  jq -r ".gatt.sampling.with_instruction_on_turn | \"  turn 1 with the instruction on the turn, by kind: language \(.turn_1_by_kind.language | $p), figure \(.turn_1_by_kind.figure | $p), hobby \(.turn_1_by_kind.hobby | $p); GAtt turns kept after best of \(\$k) by the checker: \(.kept_share | $p)\"" \
    --argjson k "$(jq '.gatt.sampling.k' "$data_dir/results.json")" "$data_dir/results.json"
  printf '%-22s %8s %8s %8s %8s %8s %8s %8s %8s %9s %9s\n' "persona adherence" t1 t2 t3 t4 t5 t6 t7 t8 "turns>=3" content
  for m in sft without_gatt with_gatt; do
    printf '%-22s' "$m"
    jq -r --arg m "$m" ".gatt[\$m] | [(.by_turn[] | $p), (.adherence_later | $p), (.content_accuracy | $p)] | @tsv" \
      "$data_dir/results.json" | tr '\t' '\n' | paste -sd' ' | xargs printf ' %8s %8s %8s %8s %8s %8s %8s %8s %9s %9s\n'
  done
  printf '%-22s\n' "language instruction"
  for m in sft without_gatt with_gatt; do
    printf '%-22s' "  $m"
    jq -r --arg m "$m" ".gatt[\$m] | [(.language_by_turn[] | $p), (.later_by_kind.language | $p)] | @tsv" \
      "$data_dir/results.json" | tr '\t' '\n' | paste -sd' ' | xargs printf ' %8s %8s %8s %8s %8s %8s %8s %8s %9s\n'
  done
  printf '%-22s %9s %9s %9s\n' "turns>=3 by kind" language figure hobby
  for m in sft without_gatt with_gatt; do
    printf '%-22s' "  $m"
    jq -r --arg m "$m" ".gatt[\$m].later_by_kind | [.language, .figure, .hobby] | map($p) | @tsv" "$data_dir/results.json" |
      tr '\t' '\n' | paste -sd' ' | xargs printf ' %9s %9s %9s\n'
  done
  printf '%-22s\n' "attention on system"
  for m in sft without_gatt with_gatt; do
    printf '%-22s' "  $m"
    jq -r --arg m "$m" ".gatt[\$m].attention_on_system_by_turn | map($p) | @tsv" "$data_dir/results.json" | tr '\t' '\n' |
      paste -sd' ' | xargs printf ' %8s %8s %8s %8s %8s %8s %8s %8s\n'
  done
  echo "(held-out persona dialogues: $(jq -r '.gatt.with_gatt.dialogues' "$data_dir/results.json"), replies graded $(jq -r '.gatt.with_gatt.turns' "$data_dir/results.json"); GAtt stage ${gatt_seconds} s; heatmaps: $(jq -r '[.gatt[] | objects | .attention_svg // empty] | join(" ")' "$data_dir/results.json"))"
  jq -r '.gatt.claims[] | "  [" + (if .holds == null then "reported" elif .holds then "holds" else "does not hold" end) + "] " + .claim
    + (if .holds == null then " (" + ([.without_gatt, .with_gatt] | map(if . == null then "-" else (. * 1000 | round / 10 | tostring + "%") end) | join(" -> ")) + ")" else "" end)' \
    "$data_dir/results.json"
}
