// estimate.h — the sft plugin's memory estimate of a spec (wb_plugin.estimate), from the model's
// registered config and the spec's batch and context (plugin/memory_estimate.h).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace wb::sft {

// pretrain/sft: weights, optimizer state of the trained parameters (all, or the LoRA adapter's),
// activations of one micro-batch (batch_size x context_length). Other kinds: {"bytes": 0} (not
// estimated). Throws plugin::SpecError for a spec validate_spec() refuses.
nlohmann::json estimate_spec(const std::string& kind, const nlohmann::json& spec);

}  // namespace wb::sft
