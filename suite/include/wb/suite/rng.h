// Rng: the suite's deterministic random source (SplitMix64).
//
// Every byte the generator writes must be identical for a seed on every platform, so nothing
// here uses std::uniform_int_distribution or std::shuffle (their algorithms are left to each
// standard library). Each output file draws from its own stream, derive(seed, "file name"),
// so changing one file's size never changes another file's contents.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace wb::suite {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  // An independent stream for (seed, name): the seed mixed with an FNV-1a hash of the name.
  static Rng derive(uint64_t seed, std::string_view name);

  uint64_t next();
  // Uniform integer in [0, n); n > 0. Unbiased (rejection sampling).
  uint64_t below(uint64_t n);
  // Uniform integer in [lo, hi], inclusive; lo <= hi.
  int range(int lo, int hi);
  // Uniform double in [0, 1) from the top 53 bits.
  double uniform();
  // True with probability p.
  bool chance(double p) { return uniform() < p; }

  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }
  // Fisher-Yates, from the back.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  uint64_t state_;
};

}  // namespace wb::suite
