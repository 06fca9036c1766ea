// eval_job.h — the eval job: greedy generation over a held-out task set, graded by the task
// suite's exact checker (wb/suite/checker.h).
//
// Items: each assistant turn of an sft dataset's rows (suite::graded_turns: the conversation up
// to that turn) or a prompt dataset's rows, or <suite_dir>/sft_eval.jsonl. Split "auto" takes the
// dataset's eval split when it has one, else every row. Each prompt is rendered with the Llama 2
// chat template, generated greedily (max_tokens, EOS stops), decoded, and checked against the
// rendered prompt text. Results go to <job_dir>/eval_results.jsonl (prompt, response, verdict)
// and the suite's report (grader.h) to <job_dir>/report.json and the job log.
//
// Metrics (step 0, the job's "metric set"): n, accuracy, format_adherence, and when present
// refusal_rate (unsafe prompts refused), over_refusal_rate (safe prompts refused), gatt_adherence,
// and accuracy_<family> (add, reverse, upper, length, capital, unsafe) per task family.
#pragma once

#include <nlohmann/json.hpp>

#include "wb/plugin/host.h"
#include "wb/wb_plugin.h"

namespace wb::sft {

// WB_OK, or WB_CANCELLED / WB_INTERRUPTED when stopped (eval has no checkpoint: it restarts).
wb_status run_eval(const plugin::JobHost& job, const nlohmann::json& spec);

}  // namespace wb::sft
