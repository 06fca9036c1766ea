#include "spec_fields.h"

#include "wb/plugin/data_parallel.h"

namespace wb::reward {

using plugin::required;
using T = plugin::FieldType;

const plugin::JobFields kRewardFields{
    "reward",
    "train a reward model (LoRA + scalar head) on preference pairs with the margin ranking loss",
    {
        {"model", T::String, required, "the base model"},
        {"adapter", T::String, nullptr, "an SFT adapter of the model to start the LoRA from"},
        {"head", T::String, required, "which reward the head learns", {"helpfulness", "safety"}},
        {"output", T::String, required, "name of the reward adapter"},
        {"datasets", T::Array, required, "preference datasets: [{\"name\":...,\"ratio\":weight}] or one name"},
        {"eval_datasets", T::Strings, nullptr, "held-out preference datasets besides each dataset's eval split"},
        {"margins", T::Array, nlohmann::json::array({0.0, 1.0 / 3, 2.0 / 3, 1.0}),
         "margin per rating level 0..3 (all zeros: no margin)"},
        {"centering", T::Number, 0.0, "reward-centering penalty c * (r_chosen + r_rejected)^2", {}, 0.0, 1e6},
        {"rank", T::Integer, 8, "LoRA rank (without adapter)", {}, 1, 4096},
        {"alpha", T::Number, nullptr, "LoRA alpha (without adapter; default: 2 x rank)", {}, 1e-9, 1e6},
        {"dropout", T::Number, 0.0, "LoRA dropout (without adapter; above 0 keeps the job on the CPU)", {}, 0.0, 0.999},
        {"target_modules", T::Strings, nullptr, "LoRA modules (without adapter; default: all-linear)"},
        {"lr", T::Number, 1e-3, "peak learning rate", {}, 0.0, 10.0},
        {"min_lr", T::Number, 0.0, "learning rate at the end of the cosine schedule", {}, 0.0, 10.0},
        {"schedule", T::String, "cosine", "learning-rate schedule", {"cosine", "constant"}},
        {"warmup", T::Number, 0.03, "warm-up: a step count (>= 1) or a fraction of the run (< 1)", {}, 0.0, 1e9},
        {"weight_decay", T::Number, 0.0, "AdamW decoupled weight decay", {}, 0.0, 10.0},
        {"clip", T::Number, 1.0, "global gradient-norm clip", {}, 0.0},
        {"epochs", T::Integer, 1, "passes over the pairs (give epochs or max_steps)", {}, 1, 10000},
        {"max_steps", T::Integer, nullptr, "optimizer steps (default: from epochs)", {}, 1},
        {"batch", T::Integer, 8, "pairs per micro-batch", {}, 1, 4096},
        {"grad_accum", T::Integer, 1, "micro-batches per optimizer step", {}, 1, 4096},
        {"max_len", T::Integer, 0, "tokens per scored sequence (0: min(256, the model's context))", {}, 0, 1 << 20},
        {"seed", T::Integer, 0, "seed of initialisation and shuffling", {}, 0},
        {"eval_every", T::Integer, 0, "steps between evaluations (0: at the start and the end only)", {}, 0},
        {"log_every", T::Integer, 1, "steps between logged metrics", {}, 1},
        {"checkpoint_every", T::Integer, 0, "steps between checkpoints (0: only when interrupted)", {}, 0},
        {"device", T::String, nullptr, "auto | cpu | cuda (default: the daemon's device setting)", {"auto", "cpu", "cuda"}},
        plugin::data_parallel_fields()[0],
        plugin::data_parallel_fields()[1],
    }};

const plugin::JobFields kLabelSyntheticFields{
    "label_synthetic",
    "sample answer pairs and label them with the suite's checker (a synthetic stand-in for a human)",
    {
        {"model", T::String, required, "the base model that samples"},
        {"prompts", T::String, required, "an sft dataset of suite prompts"},
        {"split", T::String, "train", "rows of prompts used", {"train", "eval", "all"}},
        {"output", T::String, required, "name of the new preference dataset"},
        {"a", T::Object, nullptr, "side A: {\"adapter\": name, \"temperature\": 0.7}"},
        {"b", T::Object, nullptr, "side B: {\"adapter\": name, \"temperature\": 0.7}"},
        {"max_tokens", T::Integer, 24, "tokens sampled per answer", {}, 1, 4096},
        {"seed", T::Integer, 0, "sampling seed", {}, 0},
        {"limit", T::Integer, 0, "prompts used (0: all)", {}, 0},
        {"batch", T::Integer, 16, "prompts sampled together", {}, 1, 1024},
        {"keep_identical", T::Boolean, false, "keep pairs whose two answers are the same"},
    }};

const std::vector<const plugin::JobFields*>& reward_job_fields() {
  static const std::vector<const plugin::JobFields*> all = {&kRewardFields, &kLabelSyntheticFields};
  return all;
}

}  // namespace wb::reward
