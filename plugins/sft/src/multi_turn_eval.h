// multi_turn_eval.h — the eval job with "multi_turn": true: adherence to a persona's system
// instruction at turns 1..N of a free-running dialogue, and content accuracy (wb/suite/dialogues.h).
//
// Each row is a persona dialogue (the suite's dialogues_*.jsonl: system, then user turns; its
// assistant messages are ignored). The model answers turn by turn, greedily, with its own earlier
// replies in the context (not the references), so a model that forgets the instruction keeps
// forgetting; a dialogue stops before the first turn that no longer fits the model's context.
// Each reply is graded for content (correct, format) and adherence (each kind and all).
//
// Metrics (step 0): dialogues, turns, adherence (all turns), adherence_turn_<k> (k = 1..N),
// adherence_later (turns >= 3), content_accuracy, format_adherence. <job_dir>/report.json holds
// {"dialogues","turns","adherence","adherence_later","content_accuracy","format_adherence",
//  "by_turn":[{"turn","n","adherence","content_accuracy"}...]}; eval_results.jsonl one line per
// reply (dialogue, turn, system, user, response, grade).
#pragma once

#include <nlohmann/json.hpp>

#include "specs.h"
#include "wb/llama/greedy.h"
#include "wb/llama/tokenizer.h"
#include "wb/plugin/host.h"

namespace wb::sft {

// The persona dialogues the spec names: the dataset's rows (split as for eval) or
// <suite_dir>/dialogues_eval.jsonl, as {"messages":[...]} rows, at most limit.
std::vector<nlohmann::json> load_dialogue_rows(const plugin::JobHost& job, const EvalSpec& s);

// Runs the evaluation; WB_OK or WB_CANCELLED / WB_INTERRUPTED.
wb_status run_multi_turn(const plugin::JobHost& job, const EvalSpec& s, const llama::Tokenizer& tok,
                         llama::GreedyCompleter& completer, int64_t context_length);

}  // namespace wb::sft
