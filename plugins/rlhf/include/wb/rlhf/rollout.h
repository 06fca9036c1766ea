// Rollouts for PPO and rejection sampling, over ONE base model in memory: the policy, the
// reference, the value model and the two reward models are adapters (+ heads) on it.
//
//   1. sample_responses: K answers per prompt from base + policy through the engine's batched
//      decoder (llama::generate: every request decodes together), temperature only — no top-k,
//      no top-p — each answer with its own seed, so a rollout is reproducible and does not
//      depend on what else is decoded beside it. When the model stops, EOS is kept as the
//      response's last token (stopping is an action the policy is trained on).
//   2. score_responses: the helpfulness and safety reward models' scores of prompt + response
//      (llama::score_head: the head at the last token) and the combined reward gate (ppo_math.h).
//   3. make_rollout: both, then the "old" per-token log-probs of the policy and of the reference,
//      and the value estimates, recomputed by the training forward (ppo_model.h) — never taken
//      from the sampler — in consecutive chunks of `chunk` responses, the mini-batches the PPO
//      update then trains on, so its first pass reproduces them bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "wb/llama/decode_backend.h"
#include "wb/llama/head_scorer.h"
#include "wb/llama/lora.h"
#include "wb/llama/model.h"
#include "wb/llama/workspace.h"
#include "wb/rlhf/ppo_math.h"

namespace wb::rlhf {

struct Prompt {
  std::vector<int32_t> tokens;  // non-empty (usually BOS + the chat template's prompt)
  bool unsafe = false;          // tagged unsafe: the safety reward model decides its reward
};

// A reward model: an adapter (nullptr: the base alone) + a scalar head over the shared base.
struct RewardModel {
  const llama::LoraAdapter<float>* adapter = nullptr;
  const llama::ScalarHead<float>* head = nullptr;
};

struct SamplingConfig {
  int64_t samples_per_prompt = 1;  // K
  double temperature = 1.0;        // > 0
  int64_t max_new_tokens = 64;     // >= 1
  uint64_t seed = 0;
  // Throws std::invalid_argument naming the field.
  void validate() const;
};

// Where sampling and scoring run. Both null (the default): the CPU engine in place
// (llama::generate over the base, llama::score_head). Set (from make_decode_backend /
// make_head_scorer on a DeviceChoice, e.g. the GPU): the answers decode on `decoder` — the same
// requests, seeds and host sampler (sample_token with Rng(seed)) as llama::generate, in groups of
// at most `max_seqs` sequences, so an answer does not depend on the group — and the reward models
// score through `scorer`. Neither is owned; both must outlive the calls.
struct RolloutDevice {
  llama::DecodeBackend* decoder = nullptr;
  llama::HeadScorer* scorer = nullptr;
  int64_t max_seqs = 64;
};

struct Response {
  int64_t prompt = 0;            // index into the prompts
  int64_t sample = 0;            // 0..K-1
  std::vector<int32_t> tokens;   // generated ids, EOS last when the model stopped (never empty)
  bool eos = false;
};

// Responses in prompt order, then sample order. `round` varies the seeds between calls (a PPO
// iteration, a rejection-sampling round): response (p, k) of round r is seeded from
// (seed, r, p, k) alone. Throws std::invalid_argument for no prompts, an empty prompt, a prompt
// longer than the context, or a bad config.
std::vector<Response> sample_responses(const llama::Model<float>& base, const llama::LoraAdapter<float>* policy,
                                       const std::vector<Prompt>& prompts, const SamplingConfig& config,
                                       uint64_t round = 0, const RolloutDevice& device = {});

struct Scores {
  double helpfulness = 0, safety = 0;
  double combined = 0;  // R_c: the gate's choice of the two
};
// One Scores per response. Throws std::invalid_argument when a reward model has no head or a
// head of another width.
std::vector<Scores> score_responses(const llama::Model<float>& base, const std::vector<Prompt>& prompts,
                                    const std::vector<Response>& responses, const RewardModel& helpfulness,
                                    const RewardModel& safety, const RewardGateConfig& gate,
                                    const RolloutDevice& device = {});

// Everything PPO needs of one sampled response (flat per-token vectors over its tokens).
struct RolloutItem {
  Response response;
  Scores scores;
  std::vector<double> logp;      // old log-probs under the policy (the training forward)
  std::vector<double> logp_ref;  // under the reference
  std::vector<double> values;    // the value model's V per token
  double entropy = 0;            // mean entropy of the policy over the response's tokens
};

struct RolloutModels {
  const llama::LoraAdapter<float>* policy = nullptr;
  const llama::LoraAdapter<float>* reference = nullptr;  // nullptr: the base with every adapter off
  const llama::LoraAdapter<float>* value = nullptr;
  const llama::ScalarHead<float>* value_head = nullptr;   // required
  RewardModel helpfulness, safety;
};

struct Rollout {
  std::vector<RolloutItem> items;  // prompt order, then sample order
  int64_t chunk = 0;               // items [c * chunk, (c + 1) * chunk) were recomputed together
  double generation_seconds = 0;
  double scoring_seconds = 0;      // reward models, old log-probs, reference and values
};

// chunk >= 1 (0: all responses in one chunk). The base's own Model::lora and Model::head are not
// used (each piece names its adapter). Throws as sample_responses and score_responses do.
Rollout make_rollout(const llama::Model<float>& base, const RolloutModels& models, const std::vector<Prompt>& prompts,
                     const SamplingConfig& sampling, const RewardGateConfig& gate, int64_t chunk,
                     llama::Workspace<float>& ws, uint64_t round = 0);

}  // namespace wb::rlhf
