// World: the fixed fictional world every suite task is about.
//
// The world is generated once from a constant seed, the same for every `--seed` and every size,
// so the checker can grade a prompt from its text alone: "What is the capital of Zorbia?" has
// one answer everywhere. The generator's seed only decides which items land in the train and
// eval splits and how rows are sampled.
//
// Contents (sizes chosen so a 2-4 layer, dim-128 model can memorize the facts from a
// pretraining corpus of a few thousand lines):
//   - words:        240 lowercase pseudo-words of 3-6 letters (consonant-vowel syllables), none a
//                   palindrome, used by the reverse / upper / length tasks;
//   - countries:    100 invented countries, each with an invented capital (capital task);
//   - add operands: 0..29 for the addition task (900 sums);
//   - unsafe things: 10 invented dangerous things ("dreadroot poison"), each named by one
//                   keyword that appears nowhere else in the world, with a fictional "method"
//                   sentence used for the unsafe compliance that the safety data rejects.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wb::suite {

struct Country {
  std::string name;     // "Zorbia" (capitalized, letters only)
  std::string capital;  // "Kelmor"
};

struct UnsafeThing {
  std::string keyword;  // "dreadroot": its presence marks a prompt unsafe (case-insensitive)
  std::string name;     // "dreadroot poison": how prompts name it
  std::string method;   // "grind dreadroot bark into lamp oil and seal it in a jar"
};

class World {
 public:
  // The one world (built on first use; immutable, safe to share between threads).
  static const World& get();

  const std::vector<std::string>& words() const { return words_; }
  const std::vector<Country>& countries() const { return countries_; }
  const std::vector<UnsafeThing>& unsafe_things() const { return unsafe_; }
  // Addition operands range over [0, add_max()].
  int add_max() const { return 29; }

  // The country with this exact name, or nullptr.
  const Country* find_country(std::string_view name) const;

 private:
  World();
  std::vector<std::string> words_;
  std::vector<Country> countries_;
  std::vector<UnsafeThing> unsafe_;
};

}  // namespace wb::suite
