// multi_turn_eval.h — the eval job with "multi_turn": true: adherence to a persona's system
// instruction at turns 1..N of a free-running dialogue, and content accuracy (wb/suite/dialogues.h).
//
// Each row is a persona dialogue (the suite's dialogues_*.jsonl: system, then user turns; its
// assistant messages are ignored). The model answers turn by turn, greedily, with its own earlier
// replies in the context (not the references), so a model that forgets the instruction keeps
// forgetting; a dialogue stops before the first turn that no longer fits the model's context.
// Each reply is graded for content (correct, format) and adherence (each kind and all).
//
// With attention_share (the default), each finished dialogue is run once more through the model
// on the CPU (wb/llama/attention_share.h): the share of attention that each turn's answer tokens
// (and closing EOS) pay to the system message's tokens, per layer, head-mean, averaged over the
// turn's tokens, then over dialogues (the Llama 2 paper's Figure 10).
//
// Metrics (step 0): dialogues, turns, adherence (all turns), adherence_turn_<k> (k = 1..N),
// adherence_later (turns >= 3), content_accuracy, format_adherence, attention_share_turn_<k>
// (mean over layers), and per kind of instruction (language, figure, hobby; over the dialogues
// whose persona has that kind) adherence_<kind>_turn_<k> and adherence_<kind>_later.
// <job_dir>/report.json holds
// {"dialogues","turns","adherence","adherence_later","content_accuracy","format_adherence",
//  "by_turn":[{"turn","n","adherence","content_accuracy","adherence_by_kind":{"language","figure","hobby"},
//              "attention_share","attention_share_layers"}...],
//  "adherence_later_by_kind":{"language","figure","hobby"}, "attention_svg":"attention_share.svg"}; the heatmap <job_dir>/attention_share.svg (rows layers,
// columns turns); eval_results.jsonl one line per reply (dialogue, turn, system, user, response, grade).
#pragma once

#include <nlohmann/json.hpp>

#include "specs.h"
#include "wb/llama/chat_template.h"
#include "wb/llama/greedy.h"
#include "wb/llama/model.h"
#include "wb/llama/tokenizer.h"
#include "wb/plugin/host.h"

namespace wb::sft {

// The persona dialogues the spec names: the dataset's rows (split as for eval) or
// <suite_dir>/dialogues_eval.jsonl, as {"messages":[...]} rows, at most limit.
std::vector<nlohmann::json> load_dialogue_rows(const plugin::JobHost& job, const EvalSpec& s);

// share[turn - 1][layer]: the attention share on the system message's tokens from each answered
// turn's answer tokens in `dialogue` (system, user, assistant, ...), rendered with the Llama 2 chat
// template and cut at context_length; empty without a system message.
std::vector<std::vector<double>> system_attention_by_turn(const llama::Model<float>& model,
                                                          const llama::LoraAdapter<float>* adapter,
                                                          const llama::Tokenizer& tok,
                                                          const std::vector<llama::ChatMessage>& dialogue,
                                                          int64_t context_length);

// Runs the evaluation; WB_OK or WB_CANCELLED / WB_INTERRUPTED. model/adapter: the CPU copy the
// attention share runs on.
wb_status run_multi_turn(const plugin::JobHost& job, const EvalSpec& s, const llama::Tokenizer& tok,
                         llama::GreedyCompleter& completer, const llama::Model<float>& model,
                         const llama::LoraAdapter<float>* adapter);

}  // namespace wb::sft
