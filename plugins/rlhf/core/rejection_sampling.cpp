#include "wb/rlhf/rejection_sampling.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

namespace wb::rlhf {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void RejectionSamplingConfig::validate() const {
  if (k < 1) throw std::invalid_argument("k must be >= 1, got " + std::to_string(k));
  if (!std::isfinite(temperature) || temperature <= 0)
    throw std::invalid_argument("temperature must be > 0, got " + std::to_string(temperature));
  if (max_new_tokens < 1)
    throw std::invalid_argument("max_new_tokens must be >= 1, got " + std::to_string(max_new_tokens));
  gate.validate();
}

void best_of_n_curve(const std::vector<double>& rewards, std::vector<double>& max_at_n,
                     std::vector<double>& median_at_n) {
  if (rewards.empty()) throw std::invalid_argument("rejection sampling: no rewards");
  max_at_n.assign(rewards.size(), 0.0);
  median_at_n.assign(rewards.size(), 0.0);
  std::vector<double> sorted;
  for (size_t n = 1; n <= rewards.size(); ++n) {
    sorted.insert(std::upper_bound(sorted.begin(), sorted.end(), rewards[n - 1]), rewards[n - 1]);
    max_at_n[n - 1] = sorted.back();
    median_at_n[n - 1] = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  }
}

RejectionSampler::RejectionSampler(const llama::Model<float>& base, RewardModel helpfulness, RewardModel safety,
                                   RejectionSamplingConfig config)
    : base_(base), helpfulness_(helpfulness), safety_(safety), config_(std::move(config)) {
  config_.validate();
  if (!helpfulness_.head) throw std::invalid_argument("rejection sampling: the helpfulness reward model has no scalar head");
  if (!safety_.head) throw std::invalid_argument("rejection sampling: the safety reward model has no scalar head");
}

RejectionRoundStats RejectionSampler::round(const llama::LoraAdapter<float>* policy,
                                            const std::vector<Prompt>& prompts) {
  if (!best_.empty() && best_.size() != prompts.size())
    throw std::invalid_argument("rejection sampling: " + std::to_string(prompts.size()) +
                                " prompts, but earlier rounds kept answers for " + std::to_string(best_.size()));
  SamplingConfig sc;
  sc.samples_per_prompt = config_.k;
  sc.temperature = config_.temperature;
  sc.max_new_tokens = config_.max_new_tokens;
  sc.seed = config_.seed;
  RejectionRoundStats st;
  st.round = rounds_;
  auto t0 = std::chrono::steady_clock::now();
  const auto responses = sample_responses(base_, policy, prompts, sc, static_cast<uint64_t>(rounds_), device_);
  st.generation_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const auto scores = score_responses(base_, prompts, responses, helpfulness_, safety_, config_.gate, device_);
  st.scoring_seconds = seconds_since(t0);

  // Everything computed; now keep (nothing above changed the sampler's state).
  std::vector<KeptAnswer> best = best_;
  best.resize(prompts.size());
  const size_t K = static_cast<size_t>(config_.k);
  const double np = static_cast<double>(prompts.size());
  st.max_at_n.assign(K, 0.0);
  st.median_at_n.assign(K, 0.0);
  std::vector<double> rewards(K), mx, med;
  for (size_t p = 0; p < prompts.size(); ++p) {
    size_t arg = p * K;
    for (size_t k = 0; k < K; ++k) {
      rewards[k] = scores[p * K + k].combined;
      if (rewards[k] > scores[arg].combined) arg = p * K + k;  // first of equals wins
    }
    best_of_n_curve(rewards, mx, med);
    for (size_t k = 0; k < K; ++k) {
      st.max_at_n[k] += mx[k] / np;
      st.median_at_n[k] += med[k] / np;
    }
    KeptAnswer& kept = best[p];
    if (kept.round < 0 || scores[arg].combined > kept.scores.combined) {
      if (kept.round >= 0) ++st.replaced;
      kept.response = responses[arg].tokens;
      kept.eos = responses[arg].eos;
      kept.scores = scores[arg];
      kept.round = rounds_;
    }
    st.mean_kept += kept.scores.combined / np;
  }
  best_ = std::move(best);
  ++rounds_;
  return st;
}

void RejectionSampler::restore(std::vector<KeptAnswer> best, int64_t rounds) {
  if (rounds < 0) throw std::invalid_argument("rejection sampling: negative round count");
  if ((rounds == 0) != best.empty())
    throw std::invalid_argument("rejection sampling: kept answers and round count disagree");
  for (const auto& k : best)
    if (k.round < 0 || k.round >= rounds || k.response.empty())
      throw std::invalid_argument("rejection sampling: a kept answer without its round or tokens");
  best_ = std::move(best);
  rounds_ = rounds;
}

}  // namespace wb::rlhf
