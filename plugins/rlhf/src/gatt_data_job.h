// gatt_data_job.h — the gatt_data job: Ghost Attention training data sampled from a policy.
//
// For each dialogue of an sft dataset (system instruction + user turns; gatt_rows.h), greedy
// replies are sampled turn by turn from the model (+ adapter) with the instruction concatenated to
// every user message, a batch of dialogues at a time. Each dialogue becomes one training row of a
// new sft dataset: the instruction only as the first turn's system message, every reply but the
// last with "weight": 0. A dialogue is cut before the first turn whose prompt no longer fits the
// model's context; one whose first reply is empty (nothing to train on) is skipped, counted.
//
// Metrics (step 0): dialogues, rows, skipped, turns. After each batch the rows so far go to
// <job_dir>/checkpoint (rows.jsonl) and are kept; a resumed job continues after them. Cancel is
// checked between turns. Output: the sft dataset `output`; a report in <job_dir>/result.json.
#pragma once

#include <nlohmann/json.hpp>

#include "wb/plugin/host.h"

namespace wb::rlhf {

// WB_OK, WB_CANCELLED or WB_INTERRUPTED; failures throw.
wb_status run_gatt_data(const plugin::JobHost& job, const nlohmann::json& spec);

}  // namespace wb::rlhf
