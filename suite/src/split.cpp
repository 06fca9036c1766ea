#include "wb/suite/split.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace wb::suite {

Pools::Pools(uint64_t seed, double eval_fraction) {
  if (!(eval_fraction > 0.0 && eval_fraction < 1.0))
    throw std::invalid_argument("eval_fraction must be in (0, 1)");
  for (Family f : all_families()) {
    std::vector<Task> all = universe(f);
    Rng rng = Rng::derive(seed, "split/" + std::string(family_name(f)));
    rng.shuffle(all);
    const size_t n_eval = std::max<size_t>(1, static_cast<size_t>(std::lround(eval_fraction * all.size())));
    eval_[f].assign(all.begin(), all.begin() + n_eval);
    train_[f].assign(all.begin() + n_eval, all.end());
  }
}

const std::vector<Task>& Pools::get(Family f, Side s) const {
  return (s == Side::train ? train_ : eval_).at(f);
}

Sampler::Sampler(const Pools& pools, Side side, std::vector<Family> families, Rng& rng)
    : rng_(rng), families_(std::move(families)) {
  if (families_.empty()) throw std::invalid_argument("Sampler: no families");
  for (Family f : all_families()) {
    Cursor& c = cursors_[f];
    for (const Task& t : pools.get(f, side)) c.order.push_back(&t);
    if (c.order.empty()) throw std::invalid_argument("Sampler: empty pool");
    rng_.shuffle(c.order);
  }
}

const Task& Sampler::next() {
  const Family f = families_[turn_++ % families_.size()];
  return next(f);
}

const Task& Sampler::next(Family f) {
  Cursor& c = cursors_.at(f);
  if (c.pos == c.order.size()) {
    rng_.shuffle(c.order);
    c.pos = 0;
  }
  return *c.order[c.pos++];
}

}  // namespace wb::suite
