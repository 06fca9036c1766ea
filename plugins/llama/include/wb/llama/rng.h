// Rng: a small deterministic random generator (xoshiro256**, seeded through splitmix64) whose
// whole state is four 64-bit words, so it can be saved in a checkpoint and restored exactly.
// Used for weight initialization, LoRA dropout, data shuffling and sampling. Every request or
// job owns its own Rng; nothing is global, so results never depend on what else runs.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace wb::llama {

class Rng {
 public:
  using State = std::array<uint64_t, 4>;

  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed);

  uint64_t next_u64();
  // Uniform in [0, 1) with 24 random bits (every value exactly representable as float).
  float uniform();
  // Uniform in [0, 1) with 53 random bits.
  double uniform_double();
  // Uniform integer in [0, n); n > 0. Unbiased (rejection).
  uint64_t below(uint64_t n);
  // Standard normal (Box-Muller; no cached spare, so the state is just the four words).
  float normal();

  const State& state() const { return s_; }
  void set_state(const State& s);
  // Hex text "xxxxxxxxxxxxxxxx:..." (4 words) for JSON checkpoints; from_string throws
  // std::invalid_argument on malformed text or the all-zero state (which never advances).
  std::string to_string() const;
  static Rng from_string(const std::string& text);

 private:
  State s_{};
};

}  // namespace wb::llama
