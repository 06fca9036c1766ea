// label_job.h — the label_synthetic job: sampled pairs labeled by the suite's exact checker, a
// synthetic stand-in for human labelers (synthetic_label.h has the rating rule).
//
//   {"model": base model, "prompts": prompt dataset, "split": "train" | "eval" | "all" (train),
//    "output": preference dataset to add comparisons to (created when missing),
//    "a": {"adapter": name|null, "temperature": x}, "b": {...}   (two adapters, base vs adapter,
//    or one model at two temperatures; default base at 0.7 on both sides),
//    "max_tokens" (24), "seed" (0), "limit" (0: every prompt), "batch" (prompts sampled together,
//    16), "keep_identical" (false: a pair whose two responses are the same text is skipped)}
//
// For prompt row i, side a samples with seed + 2i and side b with seed + 2i + 1 (pair_sampler.h).
// Each pair is inserted with comparison_insert as {"prompt","response_a","response_b","chosen",
// "rating","safety","is_safety_prompt","annotator": kSyntheticAnnotator, "source": "model",
// "model_a","model_b"}; the prompt is the row's "prompt" (with a "system" message folded in
// front as Llama 2 does: "<<SYS>>\n{system}\n<</SYS>>\n\n{prompt}"). Prompts the checker does
// not recognize are skipped and counted.
//
// Metrics (step = pairs inserted): pairs, skipped_identical, skipped_unknown, rating_<k> counts,
// accuracy_a / accuracy_b (the checker's correct rate of each side). A checkpoint file
// ({"next": prompt position, counts}) is recorded after each batch, so a resumed job neither
// repeats nor loses comparisons.
#pragma once

#include <nlohmann/json.hpp>

#include "wb/plugin/host.h"

namespace wb::reward {

wb_status run_label_synthetic(const plugin::JobHost& job, const nlohmann::json& spec);
void validate_label_synthetic(const nlohmann::json& spec);

}  // namespace wb::reward
