#include "wb/reward/pair_eval.h"

#include <cmath>
#include <stdexcept>

#include "wb/reward/scoring.h"

namespace wb::reward {
using nlohmann::json;

void PairAccuracy::add(const EncodedPair& p, double r_chosen, double r_rejected, float margin) {
  const bool ok = r_chosen > r_rejected;
  all.add(ok);
  if (p.rating >= 0 && p.rating <= 3) by_rating[static_cast<size_t>(p.rating)].add(ok);
  if (!p.safety.empty()) by_safety[p.safety].add(ok);
  if (p.is_safety_prompt) safety_prompts.add(ok);
  const double z = r_chosen - r_rejected - static_cast<double>(margin);
  loss_sum += z > 0 ? std::log1p(std::exp(-z)) : -z + std::log1p(std::exp(z));  // softplus(-z)
}

std::optional<double> PairAccuracy::loss() const {
  return all.n ? std::optional<double>(loss_sum / static_cast<double>(all.n)) : std::nullopt;
}

namespace {
json rate_json(const Rate& r) {
  json j = {{"n", r.n}, {"accuracy", nullptr}};
  if (auto v = r.value()) j["accuracy"] = *v;
  return j;
}
}  // namespace

json PairAccuracy::to_json() const {
  json j = rate_json(all);
  j["loss"] = loss() ? json(*loss()) : json(nullptr);
  j["by_rating"] = json::object();
  for (size_t k = 0; k < by_rating.size(); ++k) j["by_rating"][std::to_string(k)] = rate_json(by_rating[k]);
  j["by_safety"] = json::object();
  for (const auto& [label, r] : by_safety) j["by_safety"][label] = rate_json(r);
  j["safety_prompts"] = rate_json(safety_prompts);
  return j;
}

PairScores score_pairs(const SequenceScorer& score, const std::vector<EncodedPair>& pairs) {
  std::vector<std::vector<int32_t>> seqs;
  seqs.reserve(pairs.size() * 2);
  for (const auto& p : pairs) seqs.push_back(p.chosen);
  for (const auto& p : pairs) seqs.push_back(p.rejected);
  const std::vector<float> r = score(seqs);
  if (r.size() != seqs.size()) throw std::logic_error("score_pairs: the scorer returned a wrong number of scores");
  PairScores s;
  s.chosen.assign(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(pairs.size()));
  s.rejected.assign(r.begin() + static_cast<std::ptrdiff_t>(pairs.size()), r.end());
  return s;
}

PairScores score_pairs(const llama::Model<float>& base, const llama::LoraAdapter<float>* adapter,
                       const llama::ScalarHead<float>& head, const std::vector<EncodedPair>& pairs,
                       int64_t max_seqs) {
  return score_pairs(cpu_scorer(base, adapter, head, max_seqs), pairs);
}

PairAccuracy accuracy_of(const std::vector<EncodedPair>& pairs, const PairScores& scores, const Margins& margins) {
  PairAccuracy acc;
  for (size_t i = 0; i < pairs.size(); ++i)
    acc.add(pairs[i], scores.chosen[i], scores.rejected[i], pair_margin(pairs[i], margins));
  return acc;
}

}  // namespace wb::reward
