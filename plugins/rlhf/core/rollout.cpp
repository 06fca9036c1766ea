#include "wb/rlhf/rollout.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

#include "wb/llama/generate.h"
#include "wb/llama/head_scorer.h"
#include "wb/rlhf/ppo_model.h"

namespace wb::rlhf {
namespace {

// splitmix64 finaliser: decorrelates the per-response seeds.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<std::vector<int32_t>> full_sequences(const std::vector<Prompt>& prompts,
                                                 const std::vector<Response>& responses) {
  std::vector<std::vector<int32_t>> seqs;
  seqs.reserve(responses.size());
  for (const Response& r : responses) {
    std::vector<int32_t> s = prompts.at(static_cast<size_t>(r.prompt)).tokens;
    s.insert(s.end(), r.tokens.begin(), r.tokens.end());
    seqs.push_back(std::move(s));
  }
  return seqs;
}

std::vector<float> score_with(const llama::Model<float>& base, const RewardModel& rm, const char* name,
                              const std::vector<std::vector<int32_t>>& seqs) {
  if (!rm.head) throw std::invalid_argument(std::string("rlhf: the ") + name + " reward model has no scalar head");
  try {
    return llama::score_head(base, rm.adapter, *rm.head, seqs);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("rlhf: the ") + name + " reward model: " + e.what());
  }
}

}  // namespace

void SamplingConfig::validate() const {
  if (samples_per_prompt < 1)
    throw std::invalid_argument("samples_per_prompt (K) must be >= 1, got " + std::to_string(samples_per_prompt));
  if (!std::isfinite(temperature) || temperature <= 0)
    throw std::invalid_argument("temperature must be > 0, got " + std::to_string(temperature));
  if (max_new_tokens < 1)
    throw std::invalid_argument("max_new_tokens must be >= 1, got " + std::to_string(max_new_tokens));
}

std::vector<Response> sample_responses(const llama::Model<float>& base, const llama::LoraAdapter<float>* policy,
                                       const std::vector<Prompt>& prompts, const SamplingConfig& config,
                                       uint64_t round) {
  config.validate();
  if (prompts.empty()) throw std::invalid_argument("rlhf: no prompts");
  const int64_t ctx = base.config.max_position_embeddings;
  std::vector<llama::GenerateRequest> reqs;
  std::vector<Response> out;
  const int64_t K = config.samples_per_prompt;
  reqs.reserve(prompts.size() * static_cast<size_t>(K));
  for (size_t p = 0; p < prompts.size(); ++p) {
    const int64_t P = static_cast<int64_t>(prompts[p].tokens.size());
    if (P == 0) throw std::invalid_argument("rlhf: prompt " + std::to_string(p) + " is empty");
    // Room for at least one token and for EOS after the last generated one.
    if (P + 2 > ctx)
      throw std::invalid_argument("rlhf: prompt " + std::to_string(p) + " of " + std::to_string(P) +
                                  " tokens leaves no room for a response in the context of " + std::to_string(ctx));
    for (int64_t k = 0; k < K; ++k) {
      llama::GenerateRequest r;
      r.prompt = prompts[p].tokens;
      r.adapter = policy;
      r.sampling.temperature = config.temperature;  // top_k 0, top_p 1: temperature only
      r.sampling.seed = mix(mix(mix(config.seed) ^ round) ^ p) ^ static_cast<uint64_t>(k);
      r.max_tokens = std::min(config.max_new_tokens, ctx - P - 1);
      r.stop_at_eos = true;
      reqs.push_back(std::move(r));
      Response resp;
      resp.prompt = static_cast<int64_t>(p);
      resp.sample = k;
      out.push_back(std::move(resp));
    }
  }
  const auto results = llama::generate(base, reqs);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].tokens = results[i].tokens;
    out[i].eos = results[i].finish == llama::FinishReason::kEos;
    if (out[i].eos) out[i].tokens.push_back(static_cast<int32_t>(base.config.eos_token_id));
  }
  return out;
}

std::vector<Scores> score_responses(const llama::Model<float>& base, const std::vector<Prompt>& prompts,
                                    const std::vector<Response>& responses, const RewardModel& helpfulness,
                                    const RewardModel& safety, const RewardGateConfig& gate) {
  gate.validate();
  const auto seqs = full_sequences(prompts, responses);
  const auto h = score_with(base, helpfulness, "helpfulness", seqs);
  const auto s = score_with(base, safety, "safety", seqs);
  std::vector<Scores> out(responses.size());
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].helpfulness = h[i];
    out[i].safety = s[i];
    const bool unsafe = prompts[static_cast<size_t>(responses[i].prompt)].unsafe;
    out[i].combined = gated_reward(h[i], s[i], unsafe, gate);
  }
  return out;
}

Rollout make_rollout(const llama::Model<float>& base, const RolloutModels& models, const std::vector<Prompt>& prompts,
                     const SamplingConfig& sampling, const RewardGateConfig& gate, int64_t chunk,
                     llama::Workspace<float>& ws, uint64_t round) {
  if (!models.value_head) throw std::invalid_argument("rlhf: the value model has no scalar head");
  if (chunk < 0) throw std::invalid_argument("rlhf: chunk must be >= 0");
  Rollout ro;
  auto t0 = std::chrono::steady_clock::now();
  auto responses = sample_responses(base, models.policy, prompts, sampling, round);
  ro.generation_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const auto scores = score_responses(base, prompts, responses, models.helpfulness, models.safety, gate);
  const int64_t n = static_cast<int64_t>(responses.size());
  ro.chunk = chunk == 0 ? n : chunk;
  ro.items.resize(responses.size());
  for (int64_t c0 = 0; c0 < n; c0 += ro.chunk) {
    const int64_t c1 = std::min(n, c0 + ro.chunk);
    std::vector<std::vector<int32_t>> ps, rs;
    for (int64_t i = c0; i < c1; ++i) {
      ps.push_back(prompts[static_cast<size_t>(responses[i].prompt)].tokens);
      rs.push_back(responses[i].tokens);
    }
    const ResponseBatch rb = ResponseBatch::make(ps, rs);
    std::vector<double> ent;
    const auto logp = response_logprobs<float>(base, rb, ws, models.policy, sampling.temperature, &ent);
    const auto ref = response_logprobs<float>(base, rb, ws, models.reference, sampling.temperature);
    const auto val = response_values<float>(base, rb, ws, models.value, *models.value_head);
    for (int64_t i = c0; i < c1; ++i) {
      RolloutItem& it = ro.items[static_cast<size_t>(i)];
      const size_t b = static_cast<size_t>(rb.offsets[i - c0]), e = static_cast<size_t>(rb.offsets[i - c0 + 1]);
      it.logp.assign(logp.begin() + b, logp.begin() + e);
      it.logp_ref.assign(ref.begin() + b, ref.begin() + e);
      it.values.assign(val.begin() + b, val.begin() + e);
      for (size_t j = b; j < e; ++j) it.entropy += ent[j] / static_cast<double>(e - b);
      it.scores = scores[static_cast<size_t>(i)];
      it.response = std::move(responses[static_cast<size_t>(i)]);
    }
  }
  ro.scoring_seconds = seconds_since(t0);
  return ro;
}

}  // namespace wb::rlhf
