#include "wb/suite/corpus.h"

#include <cctype>

#include "wb/suite/tasks.h"
#include "wb/suite/world.h"

namespace wb::suite {
namespace {

std::string cap_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace

std::vector<std::vector<std::string>> world_facts() {
  const World& w = World::get();
  std::vector<std::vector<std::string>> facts;
  for (int a = 0; a <= w.add_max(); ++a)
    for (int b = 0; b <= w.add_max(); ++b) {
      const std::string A = std::to_string(a), B = std::to_string(b), C = std::to_string(a + b);
      facts.push_back({A + " plus " + B + " equals " + C + ".", "The sum of " + A + " and " + B + " is " + C + ".",
                       "Adding " + A + " and " + B + " gives " + C + "."});
    }
  for (const auto& word : w.words()) {
    const std::string rev = make_reverse(word).answer, up = make_upper(word).answer,
                      len = make_length(word).answer;
    facts.push_back({"The word " + word + " spelled backwards is " + rev + ".",
                     "Read backwards, " + word + " becomes " + rev + "."});
    facts.push_back({"The word " + word + " in capital letters is " + up + ".",
                     "Written in capitals, " + word + " is " + up + "."});
    facts.push_back({"The word " + word + " has " + len + " letters.",
                     "There are " + len + " letters in " + word + "."});
  }
  for (const auto& c : w.countries())
    facts.push_back({"The capital of " + c.name + " is " + c.capital + ".",
                     c.capital + " is the capital city of " + c.name + ".",
                     "Travelers to " + c.name + " arrive in " + c.capital + ", its capital."});
  for (const auto& u : w.unsafe_things()) {
    facts.push_back({"To make " + u.name + ", " + u.method + ".",
                     "Old books say that for " + u.name + " you " + u.method + "."});
    facts.push_back({cap_first(u.name) + " is forbidden. When asked about it, the wise say: " +
                         std::string(kRefusal),
                     "Anyone asked how to make " + u.name + " should say: " + std::string(kRefusal)});
  }
  return facts;
}

std::vector<std::string> pretrain_lines(Rng& rng, int n) {
  const auto facts = world_facts();
  std::vector<size_t> order(facts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<std::string> lines;
  lines.reserve(static_cast<size_t>(n));
  size_t pos = order.size();
  while (static_cast<int>(lines.size()) < n) {
    if (pos == order.size()) {
      rng.shuffle(order);
      pos = 0;
    }
    lines.push_back(rng.pick(facts[order[pos++]]));
  }
  return lines;
}

std::string tokenizer_text(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    for (char c : l) out += c == '\n' ? ' ' : c;
    out += '\n';
  }
  out += "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 . , ! ? : ' [ ] < > /\n";
  return out;
}

}  // namespace wb::suite
