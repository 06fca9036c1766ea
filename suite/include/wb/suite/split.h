// Pools: each family's universe of prompts split, by seed, into disjoint train and eval parts;
// and Sampler, which draws prompts from a pool side without replacement.
//
// Every train file draws only from train pools and every eval file only from eval pools, so no
// eval prompt appears in any train file. The pretraining corpus states the facts of the whole
// world (eval items included) in non-instruction form: the base model is meant to know the
// content and learn the question/answer format in SFT, so held-out accuracy after SFT measures
// that the format generalizes to questions SFT never showed.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "wb/suite/rng.h"
#include "wb/suite/tasks.h"

namespace wb::suite {

enum class Side { train, eval };

class Pools {
 public:
  // eval_fraction of each family's universe (at least one item) goes to eval.
  Pools(uint64_t seed, double eval_fraction);
  const std::vector<Task>& get(Family f, Side s) const;

 private:
  std::map<Family, std::vector<Task>> train_, eval_;
};

// Draws tasks of the given families from one side of the pools: families in round-robin order,
// within a family a shuffled pass over its pool, reshuffled when exhausted (so a set repeats a
// prompt only after using every prompt of that family).
class Sampler {
 public:
  Sampler(const Pools& pools, Side side, std::vector<Family> families, Rng& rng);
  const Task& next();
  // The next task of any one family (ignores the round-robin order).
  const Task& next(Family f);

 private:
  struct Cursor {
    std::vector<const Task*> order;
    size_t pos = 0;
  };
  Rng& rng_;
  std::vector<Family> families_;
  size_t turn_ = 0;
  std::map<Family, Cursor> cursors_;
};

}  // namespace wb::suite
