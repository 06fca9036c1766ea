#include "wb/rlhf/rollout.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

#include "wb/llama/generate.h"
#include "wb/llama/rng.h"
#include "wb/llama/sampler.h"
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
                              const std::vector<std::vector<int32_t>>& seqs, llama::HeadScorer* scorer) {
  if (!rm.head) throw std::invalid_argument(std::string("rlhf: the ") + name + " reward model has no scalar head");
  try {
    if (!scorer) return llama::score_head(base, rm.adapter, *rm.head, seqs);
    // The scorer keeps the adapter it was given as its resident one; the reward model outlives
    // the call, so a non-owning pointer (aliasing an empty owner) is enough.
    const std::shared_ptr<const llama::LoraAdapter<float>> adapter(std::shared_ptr<void>(), rm.adapter);
    return scorer->score(adapter, *rm.head, seqs);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("rlhf: the ") + name + " reward model: " + e.what());
  }
}

// llama::generate's loop (every request decoding together, the host sampler with Rng(seed),
// EOS ends a request, the limit is min(context, prompt + max_tokens)) over a DecodeBackend, in
// groups of at most max_seqs sequences.
std::vector<llama::GenerateResult> generate_on(llama::DecodeBackend& backend, const llama::LlamaConfig& c,
                                               const llama::LoraAdapter<float>* adapter,
                                               const std::vector<llama::GenerateRequest>& reqs, int64_t max_seqs) {
  std::unique_ptr<llama::DeviceAdapter> device_copy;
  if (adapter)
    if (auto upload = backend.adapter_upload()) device_copy = upload(*adapter);
  const llama::AdapterRef ref{adapter, device_copy.get(), "policy"};
  const size_t V = static_cast<size_t>(c.vocab_size);
  std::vector<llama::GenerateResult> out(reqs.size());
  const size_t group = static_cast<size_t>(std::max<int64_t>(1, max_seqs));
  for (size_t g0 = 0; g0 < reqs.size(); g0 += group) {
    const size_t g1 = std::min(reqs.size(), g0 + group);
    std::vector<std::unique_ptr<llama::BackendSequence>> seqs;
    std::vector<llama::Rng> rngs;
    std::vector<std::vector<float>> next_logits(g1 - g0);
    for (size_t i = g0; i < g1; ++i) {
      const int64_t limit = std::min<int64_t>(c.max_position_embeddings,
                                              static_cast<int64_t>(reqs[i].prompt.size()) + reqs[i].max_tokens);
      seqs.push_back(backend.open(limit, ref, 1.0f));
      rngs.emplace_back(reqs[i].sampling.seed);
    }
    std::vector<float> logits;
    if (backend.one_pass()) {  // every prompt in one pass
      std::vector<llama::BackendSequence*> all;
      std::vector<std::vector<int32_t>> feeds;
      for (size_t i = g0; i < g1; ++i) all.push_back(seqs[i - g0].get()), feeds.push_back(reqs[i].prompt);
      backend.forward(all, feeds, logits, /*decode=*/true);
      for (size_t j = 0; j < all.size(); ++j)
        next_logits[j].assign(logits.begin() + static_cast<ptrdiff_t>(j * V),
                              logits.begin() + static_cast<ptrdiff_t>((j + 1) * V));
    } else {  // each prompt in a pass of its own
      for (size_t i = g0; i < g1; ++i) {
        llama::BackendSequence* one = seqs[i - g0].get();
        backend.forward(std::span<llama::BackendSequence* const>(&one, 1), {reqs[i].prompt}, logits, false);
        next_logits[i - g0].assign(logits.begin(), logits.begin() + static_cast<ptrdiff_t>(V));
      }
    }
    std::vector<bool> done(g1 - g0, false);
    std::vector<llama::BackendSequence*> active;
    std::vector<std::vector<int32_t>> feeds;
    std::vector<size_t> owners;
    for (;;) {
      active.clear();
      feeds.clear();
      owners.clear();
      for (size_t j = 0; j < g1 - g0; ++j) {
        if (done[j]) continue;
        const llama::GenerateRequest& r = reqs[g0 + j];
        llama::GenerateResult& res = out[g0 + j];
        const int32_t tok = llama::sample_token(next_logits[j], r.sampling, rngs[j]);
        if (r.stop_at_eos && tok == c.eos_token_id) {
          done[j] = true;
          res.finish = llama::FinishReason::kEos;
          continue;
        }
        res.tokens.push_back(tok);
        if (static_cast<int64_t>(res.tokens.size()) >= r.max_tokens || seqs[j]->length() >= seqs[j]->max_tokens()) {
          done[j] = true;
          res.finish = llama::FinishReason::kLength;
          continue;
        }
        active.push_back(seqs[j].get());
        feeds.push_back({tok});
        owners.push_back(j);
      }
      if (active.empty()) break;
      backend.forward(active, feeds, logits, /*decode=*/true);
      for (size_t a = 0; a < owners.size(); ++a)
        next_logits[owners[a]].assign(logits.begin() + static_cast<ptrdiff_t>(a * V),
                                      logits.begin() + static_cast<ptrdiff_t>((a + 1) * V));
    }
  }
  return out;
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
                                       uint64_t round, const RolloutDevice& device) {
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
  if (device.decoder && policy) policy->check_shapes(base.config);
  const auto results = device.decoder ? generate_on(*device.decoder, base.config, policy, reqs, device.max_seqs)
                                      : llama::generate(base, reqs);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].tokens = results[i].tokens;
    out[i].eos = results[i].finish == llama::FinishReason::kEos;
    if (out[i].eos) out[i].tokens.push_back(static_cast<int32_t>(base.config.eos_token_id));
  }
  return out;
}

std::vector<Scores> score_responses(const llama::Model<float>& base, const std::vector<Prompt>& prompts,
                                    const std::vector<Response>& responses, const RewardModel& helpfulness,
                                    const RewardModel& safety, const RewardGateConfig& gate,
                                    const RolloutDevice& device) {
  gate.validate();
  const auto seqs = full_sequences(prompts, responses);
  const auto h = score_with(base, helpfulness, "helpfulness", seqs, device.scorer);
  const auto s = score_with(base, safety, "safety", seqs, device.scorer);
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
