#include "wb/llama/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace wb::llama {

void SamplingParams::validate() const {
  if (std::isnan(temperature)) throw std::invalid_argument("sampling: temperature is NaN");
  if (top_k < 0) throw std::invalid_argument("sampling: top_k must be >= 0");
  if (!(top_p > 0 && top_p <= 1)) throw std::invalid_argument("sampling: top_p must be in (0, 1]");
}

int32_t argmax(std::span<const float> logits) {
  if (logits.empty()) throw std::invalid_argument("sampling: empty logits");
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = i;
  return static_cast<int32_t>(best);
}

int32_t sample_token(std::span<const float> logits, const SamplingParams& params, Rng& rng) {
  if (logits.empty()) throw std::invalid_argument("sampling: empty logits");
  params.validate();
  if (params.temperature <= 0) return argmax(logits);

  // Candidates: every id in id order when nothing is cut (O(V), no sort); otherwise ordered by
  // logit, descending, ties by lower id (a total order, so the result is deterministic).
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  size_t keep = ids.size();
  if (params.top_k > 0 && static_cast<size_t>(params.top_k) < keep) keep = static_cast<size_t>(params.top_k);
  const bool cut = keep < ids.size() || params.top_p < 1;
  if (cut) {
    auto before = [&](int32_t a, int32_t b) {
      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    };
    std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(keep), ids.end(), before);
    ids.resize(keep);
  }

  // Softmax at the temperature, in double, relative to the largest logit.
  std::vector<double> prob(keep);
  const double top = logits[static_cast<size_t>(argmax(logits))];
  double total = 0;
  for (size_t i = 0; i < keep; ++i) {
    prob[i] = std::exp((static_cast<double>(logits[ids[i]]) - top) / params.temperature);
    total += prob[i];
  }
  // Nucleus: the smallest prefix whose probability mass reaches top_p.
  if (params.top_p < 1) {
    double cum = 0;
    size_t n = 0;
    while (n < keep) {
      cum += prob[n] / total;
      ++n;
      if (cum >= params.top_p) break;
    }
    keep = n;
    total = 0;
    for (size_t i = 0; i < keep; ++i) total += prob[i];
  }
  const double u = rng.uniform_double() * total;
  double cum = 0;
  for (size_t i = 0; i < keep; ++i) {
    cum += prob[i];
    if (u < cum) return ids[i];
  }
  return ids[keep - 1];  // u landed on the rounding edge
}

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops)
    if (!s.empty()) stops_.push_back(std::move(s));
}

StopMatcher::Step StopMatcher::push(std::string_view piece) {
  Step out;
  if (stopped_) {
    out.stopped = true;
    return out;
  }
  pending_.append(piece);
  // pending_ only ever holds a tail that could begin a stop string, so any complete match
  // lies inside it. Take the earliest one.
  size_t first = std::string::npos;
  for (const auto& s : stops_) first = std::min(first, pending_.find(s));
  if (first != std::string::npos) {
    out.emit = pending_.substr(0, first);
    out.stopped = stopped_ = true;
    pending_.clear();
    return out;
  }
  // Hold back the longest suffix that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const auto& s : stops_) {
    const size_t max_len = std::min(s.size() - 1, pending_.size());
    for (size_t len = max_len; len > hold; --len)
      if (pending_.compare(pending_.size() - len, len, s, 0, len) == 0) {
        hold = len;
        break;
      }
  }
  out.emit = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StopMatcher::flush() {
  std::string rest;
  rest.swap(pending_);
  return stopped_ ? std::string() : rest;
}

}  // namespace wb::llama
