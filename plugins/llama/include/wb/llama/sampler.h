// Token sampling over one logits vector, and stop-string matching over streamed token text.
//
// sample_token: greedy (temperature <= 0: argmax, lowest id on ties) or temperature sampling
// restricted by top-k and/or top-p (nucleus). Randomness comes only from the Rng passed in, and
// a non-greedy draw consumes exactly one value from it, so a request that owns its Rng (seeded
// from the request's seed) gets the same tokens whatever else is in the batch.
//
// StopMatcher: feed the text of each generated token; it reports when a stop string appears,
// even when the string spans token boundaries, and holds back any tail that might still become
// a stop string, so streamed output never shows part of a stop string.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wb/llama/rng.h"

namespace wb::llama {

struct SamplingParams {
  double temperature = 1.0;  // <= 0: greedy
  int64_t top_k = 0;         // 0: no limit
  double top_p = 1.0;        // in (0, 1]; 1: no nucleus cut
  uint64_t seed = 0;         // seeds the request's Rng
  // Throws std::invalid_argument naming the field (negative top_k, top_p outside (0, 1], NaN).
  void validate() const;
};

// Returns the chosen token id. Throws std::invalid_argument on an empty logits vector.
int32_t sample_token(std::span<const float> logits, const SamplingParams& params, Rng& rng);

// Index of the largest logit (lowest index on ties).
int32_t argmax(std::span<const float> logits);

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  struct Step {
    std::string emit;   // text now safe to show (never contains or partially shows a stop string)
    bool stopped = false;
  };
  // Appends one token's text. After stopped == true, further pushes are ignored.
  Step push(std::string_view piece);
  // Text still held back at the end of generation (no stop string completed): emit it.
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace wb::llama
