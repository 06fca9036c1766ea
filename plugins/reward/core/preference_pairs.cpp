#include "wb/reward/preference_pairs.h"

#include <cmath>
#include <stdexcept>

#include "wb/llama/rng.h"
#include "wb/reward/scoring.h"

namespace wb::reward {
using nlohmann::json;

namespace {
[[noreturn]] void row_fail(int64_t index, const std::string& field, const std::string& msg) {
  throw std::invalid_argument("row " + std::to_string(index) + ": field '" + field + "': " + msg);
}
std::string text_field(const json& row, int64_t index, const char* field) {
  auto it = row.find(field);
  if (it == row.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    row_fail(index, field, "expected a non-empty string");
  return it->get<std::string>();
}
}  // namespace

PreferencePair parse_preference_row(const json& row, int64_t index) {
  if (!row.is_object()) throw std::invalid_argument("row " + std::to_string(index) + ": expected a JSON object");
  PreferencePair p;
  p.prompt = text_field(row, index, "prompt");
  p.chosen = text_field(row, index, "chosen");
  p.rejected = text_field(row, index, "rejected");
  if (auto it = row.find("rating"); it != row.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 3)
      row_fail(index, "rating", "expected an integer 0..3");
    p.rating = it->get<int>();
  }
  if (auto it = row.find("safety"); it != row.end() && !it->is_null()) {
    if (!it->is_string()) row_fail(index, "safety", "expected a string");
    p.safety = it->get<std::string>();
    if (p.safety != "both_safe" && p.safety != "chosen_safe" && p.safety != "both_unsafe")
      row_fail(index, "safety", "expected both_safe, chosen_safe or both_unsafe, got '" + p.safety + "'");
  }
  if (auto it = row.find("is_safety_prompt"); it != row.end() && !it->is_null()) {
    if (!it->is_boolean()) row_fail(index, "is_safety_prompt", "expected a boolean");
    p.is_safety_prompt = it->get<bool>();
  }
  return p;
}

EncodedPair encode_pair(const llama::Tokenizer& tok, const PreferencePair& p, int64_t max_len, int64_t row) {
  EncodedPair e;
  e.chosen = encode_scored(tok, p.prompt, p.chosen, max_len);
  e.rejected = encode_scored(tok, p.prompt, p.rejected, max_len);
  e.rating = p.rating;
  e.safety = p.safety;
  e.is_safety_prompt = p.is_safety_prompt;
  e.row = row;
  return e;
}

float pair_margin(const EncodedPair& p, const Margins& margins) {
  return p.rating >= 0 && p.rating <= 3 ? margins[static_cast<size_t>(p.rating)] : 0.0f;
}

std::vector<std::pair<size_t, size_t>> mix_draws(const std::vector<size_t>& pool_sizes,
                                                 const std::vector<double>& ratios, int64_t n, uint64_t seed) {
  if (pool_sizes.size() != ratios.size()) throw std::invalid_argument("mix: one ratio per pool");
  double total = 0;
  for (size_t i = 0; i < ratios.size(); ++i) {
    if (!std::isfinite(ratios[i]) || ratios[i] < 0) throw std::invalid_argument("mix: ratios must be finite and >= 0");
    if (pool_sizes[i] > 0) total += ratios[i];
  }
  if (total <= 0) throw std::invalid_argument("mix: no pool with a positive ratio has pairs");
  llama::Rng rng(seed);
  std::vector<std::vector<size_t>> order(pool_sizes.size());
  std::vector<size_t> next(pool_sizes.size(), 0);
  auto reshuffle = [&](size_t p) {
    auto& o = order[p];
    o.resize(pool_sizes[p]);
    for (size_t i = 0; i < o.size(); ++i) o[i] = i;
    for (size_t i = o.size(); i > 1; --i) std::swap(o[i - 1], o[rng.below(i)]);  // Fisher-Yates
    next[p] = 0;
  };
  for (size_t p = 0; p < pool_sizes.size(); ++p) reshuffle(p);
  std::vector<std::pair<size_t, size_t>> out;
  out.reserve(static_cast<size_t>(std::max<int64_t>(0, n)));
  for (int64_t k = 0; k < n; ++k) {
    double u = rng.uniform_double() * total;
    size_t pool = 0;
    for (size_t p = 0; p < pool_sizes.size(); ++p) {
      if (pool_sizes[p] == 0 || ratios[p] <= 0) continue;
      pool = p;
      if (u < ratios[p]) break;
      u -= ratios[p];
    }
    if (next[pool] == order[pool].size()) reshuffle(pool);
    out.emplace_back(pool, order[pool][next[pool]++]);
  }
  return out;
}

llama::TrainBatch pair_batch(const std::vector<const EncodedPair*>& pairs, const Margins& margins) {
  if (pairs.empty()) throw std::invalid_argument("pair batch: no pairs");
  std::vector<std::vector<int32_t>> seqs;
  seqs.reserve(pairs.size() * 2);
  for (const auto* p : pairs) seqs.push_back(p->chosen);
  for (const auto* p : pairs) seqs.push_back(p->rejected);
  llama::TrainBatch tb;
  tb.batch = llama::Batch::pack(seqs);
  for (const auto* p : pairs) tb.margins.push_back(pair_margin(*p, margins));
  return tb;
}

}  // namespace wb::reward
