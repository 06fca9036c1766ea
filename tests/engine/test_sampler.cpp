// Sampling: greedy, temperature distribution, top-k / top-p support, per-request determinism,
// and stop strings matched across token boundaries without leaking partial matches.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <vector>

#include "wb/llama/sampler.h"

using namespace wb::llama;

TEST_CASE("greedy picks the argmax, lowest id on ties", "[sampler]") {
  Rng rng(1);
  SamplingParams p;
  p.temperature = 0;
  std::vector<float> l{0.1f, 2.0f, -1.0f, 2.0f};
  CHECK(sample_token(l, p, rng) == 1);
  CHECK(argmax(l) == 1);
  CHECK_THROWS(sample_token(std::span<const float>(), p, rng));
}

TEST_CASE("temperature sampling follows softmax(logits / T)", "[sampler]") {
  std::vector<float> l{std::log(1.0f), std::log(2.0f), std::log(5.0f)};  // probs 1/8, 2/8, 5/8
  SamplingParams p;
  p.temperature = 1.0;
  Rng rng(123);
  std::map<int, int> counts;
  const int n = 40000;
  for (int i = 0; i < n; ++i) counts[sample_token(l, p, rng)]++;
  CHECK(counts[0] / double(n) == Approx(0.125).margin(0.01));
  CHECK(counts[1] / double(n) == Approx(0.25).margin(0.01));
  CHECK(counts[2] / double(n) == Approx(0.625).margin(0.01));
  // T = 0.5 squares the odds: 1:4:25.
  p.temperature = 0.5;
  counts.clear();
  for (int i = 0; i < n; ++i) counts[sample_token(l, p, rng)]++;
  CHECK(counts[2] / double(n) == Approx(25.0 / 30).margin(0.01));
}

TEST_CASE("top-k and top-p restrict the support", "[sampler]") {
  std::vector<float> l{std::log(0.1f), std::log(0.2f), std::log(0.3f), std::log(0.4f)};
  Rng rng(5);
  SamplingParams p;
  p.top_k = 2;
  for (int i = 0; i < 2000; ++i) {
    const int t = sample_token(l, p, rng);
    REQUIRE((t == 2 || t == 3));
  }
  p.top_k = 0;
  p.top_p = 0.65;  // 0.4 + 0.3 = 0.7 >= 0.65: ids 3 and 2 only
  std::map<int, int> counts;
  for (int i = 0; i < 20000; ++i) counts[sample_token(l, p, rng)]++;
  CHECK(counts.size() == 2);
  CHECK(counts[3] / 20000.0 == Approx(4.0 / 7).margin(0.015));
  p.top_p = 0.3;  // the single most likely token
  for (int i = 0; i < 100; ++i) REQUIRE(sample_token(l, p, rng) == 3);
  p.top_p = 0;
  CHECK_THROWS_WITH(sample_token(l, p, rng), Catch::Contains("top_p"));
  p.top_p = 1;
  p.top_k = -1;
  CHECK_THROWS_WITH(sample_token(l, p, rng), Catch::Contains("top_k"));
}

TEST_CASE("same seed gives the same tokens regardless of other draws", "[sampler]") {
  std::vector<float> l(100);
  for (int i = 0; i < 100; ++i) l[i] = std::sin(i * 0.37f) * 3;
  SamplingParams p;
  p.temperature = 0.8;
  p.top_p = 0.9;
  Rng a(99), b(99), other(1);
  for (int i = 0; i < 50; ++i) {
    sample_token(l, p, other);  // another request interleaved: must not matter
    REQUIRE(sample_token(l, p, a) == sample_token(l, p, b));
  }
}

TEST_CASE("stop strings across token boundaries", "[sampler]") {
  StopMatcher m({"</answer>", "\n\n"});
  std::string shown;
  auto s = m.push("The result");
  shown += s.emit;
  CHECK_FALSE(s.stopped);
  s = m.push(" is 4</");  // "</" may start the stop string: held back
  shown += s.emit;
  CHECK(shown == "The result is 4");
  s = m.push("ans");
  shown += s.emit;
  CHECK(shown == "The result is 4");
  s = m.push("wer> trailing");
  shown += s.emit;
  CHECK(s.stopped);
  CHECK(shown == "The result is 4");
  CHECK(m.push("more").stopped);
  CHECK(m.flush().empty());

  StopMatcher m2({"</answer>"});
  shown.clear();
  shown += m2.push("a </an").emit;
  shown += m2.push("d b").emit;  // the held "</an" turned out not to be a stop: released
  CHECK(shown == "a </and b");
  shown += m2.push("<").emit;
  shown += m2.flush();
  CHECK(shown == "a </and b<");
  CHECK_FALSE(m2.stopped());

  StopMatcher none({});
  CHECK(none.push("abc").emit == "abc");
}
