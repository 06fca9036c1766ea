// Rejection sampling on a tiny model: K samples per prompt scored with the combined reward, the
// best kept, the best of all rounds kept across rounds, and the max / median reward against
// N = 1..K (the paper's Figure 7 curve).
#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>

#include "rlhf_tiny.h"
#include "wb/llama/decode_backend.h"
#include "wb/llama/device.h"
#include "wb/llama/head_scorer.h"
#include "wb/rlhf/rejection_sampling.h"

using namespace rlhftest;
using namespace wb::rlhf;

TEST_CASE("Rejection sampling best-of-N curve equals the hand values", "[rs]") {
  std::vector<double> mx, med;
  best_of_n_curve({3, 1, 4, 1, 5}, mx, med);
  CHECK(mx == std::vector<double>{3, 3, 4, 4, 5});
  // {3} -> 3 ; {1,3} -> 2 ; {1,3,4} -> 3 ; {1,1,3,4} -> 2 ; {1,1,3,4,5} -> 3
  CHECK(med == std::vector<double>{3, 2, 3, 2, 3});
  CHECK_THROWS_AS(best_of_n_curve({}, mx, med), std::invalid_argument);
}

TEST_CASE("Rejection sampling keeps the best answer of all rounds per prompt", "[rs]") {
  const Model<float> base = tiny_base(301);
  const auto help = head_preferring(base, 9, 2.0);
  const auto safe = ScalarHead<float>::random(base.config.hidden_size, 302, 1.0);
  auto ps = prompts(3, 3, base.config.vocab_size, 303);
  ps[2].unsafe = true;
  const auto policy = moved_lora(base.config, 304);
  RejectionSamplingConfig cfg;  // K 8, T 1.2
  CHECK(cfg.k == 8);
  CHECK(cfg.temperature == 1.2);
  cfg.max_new_tokens = 4;
  cfg.seed = 5;
  RejectionSampler rs(base, {nullptr, &help}, {nullptr, &safe}, cfg);

  // What each round samples, scored independently of the sampler.
  SamplingConfig sc;
  sc.samples_per_prompt = 8;
  sc.temperature = 1.2;
  sc.max_new_tokens = 4;
  sc.seed = 5;
  std::vector<double> best_so_far(ps.size(), -1e300);
  for (int64_t round = 0; round < 3; ++round) {
    const auto st = rs.round(&policy, ps);
    CHECK(st.round == round);
    const auto resp = sample_responses(base, &policy, ps, sc, static_cast<uint64_t>(round));
    const auto scores = score_responses(base, ps, resp, {nullptr, &help}, {nullptr, &safe}, cfg.gate);
    REQUIRE(st.max_at_n.size() == 8);
    double mean_round_max = 0, mean_kept = 0;
    for (size_t p = 0; p < ps.size(); ++p) {
      double round_max = -1e300;
      for (size_t k = 0; k < 8; ++k) round_max = std::max(round_max, scores[p * 8 + k].combined);
      mean_round_max += round_max / 3.0;
      best_so_far[p] = std::max(best_so_far[p], round_max);
      const KeptAnswer& kept = rs.best()[p];
      CHECK(kept.scores.combined == Approx(best_so_far[p]).epsilon(1e-5));
      CHECK(kept.round <= round);
      CHECK(!kept.response.empty());
      mean_kept += kept.scores.combined / 3.0;
    }
    // Figure 7: max over N samples never falls with N, the median never exceeds it, and the
    // max over all K samples is the round's best.
    for (size_t n = 1; n < 8; ++n) CHECK(st.max_at_n[n] >= st.max_at_n[n - 1]);
    for (size_t n = 0; n < 8; ++n) CHECK(st.median_at_n[n] <= st.max_at_n[n] + 1e-12);
    CHECK(st.max_at_n[0] == st.median_at_n[0]);
    CHECK(st.max_at_n[7] == Approx(mean_round_max).epsilon(1e-5));
    CHECK(st.max_at_n[7] > st.median_at_n[7]);
    CHECK(st.mean_kept == Approx(mean_kept).epsilon(1e-5));
  }
  // The kept answers are the ones scored: scoring them again gives their rewards. Scored in
  // another batch (3 rows instead of K per prompt), the forward's products run other kernels
  // (one row: gemv; 2..32 rows: the blocked row kernel), so the scores agree to float precision,
  // not bit for bit: 1e-5 relative, or 1e-5 absolute for scores near 0.
  std::vector<Response> kept;
  for (size_t p = 0; p < ps.size(); ++p) {
    Response r;
    r.prompt = static_cast<int64_t>(p);
    r.tokens = rs.best()[p].response;
    kept.push_back(r);
  }
  const auto again = score_responses(base, ps, kept, {nullptr, &help}, {nullptr, &safe}, cfg.gate);
  for (size_t p = 0; p < ps.size(); ++p)
    CHECK(again[p].combined == Approx(rs.best()[p].scores.combined).epsilon(1e-5).margin(1e-5));
  // The unsafe prompt's answer was kept for its safety score.
  CHECK(rs.best()[2].scores.combined == rs.best()[2].scores.safety);

  CHECK_THROWS_WITH(rs.round(&policy, prompts(2, 3, base.config.vocab_size, 1)), Catch::Contains("earlier rounds"));
  RejectionSamplingConfig bad = cfg;
  bad.k = 0;
  CHECK_THROWS_WITH(RejectionSampler(base, {nullptr, &help}, {nullptr, &safe}, bad), Catch::Contains("k must be"));
}

TEST_CASE("Rejection sampling through a decode backend and a head scorer keeps what the engine in place keeps", "[rs]") {
  // The RolloutDevice path (what the GPU runs) on the CPU's backends: the answers decode through a
  // DecodeBackend in groups of 3 sequences (20 answers a round: 7 groups) with the host sampler,
  // and the reward models score through a HeadScorer. The CPU backend runs the same products as
  // llama::generate, so the answers and scores equal the default path's exactly.
  const Model<float> base = tiny_base(311);
  const auto help = head_preferring(base, 9, 2.0);
  const auto safe = ScalarHead<float>::random(base.config.hidden_size, 312, 1.0);
  const auto safety_adapter = moved_lora(base.config, 313, 0.1);
  auto ps = prompts(5, 3, base.config.vocab_size, 314);
  ps[2].unsafe = true;
  const auto policy = moved_lora(base.config, 315);
  RejectionSamplingConfig cfg;
  cfg.k = 4;
  cfg.temperature = 1.2;
  cfg.max_new_tokens = 6;
  cfg.seed = 19;
  RejectionSampler in_place(base, {nullptr, &help}, {&safety_adapter, &safe}, cfg);
  RejectionSampler through(base, {nullptr, &help}, {&safety_adapter, &safe}, cfg);
  const wb::llama::DeviceChoice cpu = wb::llama::choose_device("cpu", "cpu", "");
  auto decoder = wb::llama::make_decode_backend(cpu, base, {});
  auto scorer = wb::llama::make_head_scorer(cpu, std::shared_ptr<const Model<float>>(std::shared_ptr<void>(), &base));
  through.set_device({decoder.get(), scorer.get(), 3});
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    const RejectionRoundStats a = in_place.round(&policy, ps);
    const RejectionRoundStats b = through.round(&policy, ps);
    CHECK(b.max_at_n == a.max_at_n);
    CHECK(b.median_at_n == a.median_at_n);
    CHECK(b.mean_kept == a.mean_kept);
    bool some_eos = false, some_long = false;
    for (size_t p = 0; p < ps.size(); ++p) {
      INFO("prompt " << p);
      CHECK(through.best()[p].response == in_place.best()[p].response);
      CHECK(through.best()[p].eos == in_place.best()[p].eos);
      CHECK(through.best()[p].scores.combined == in_place.best()[p].scores.combined);
      some_eos = some_eos || in_place.best()[p].eos;
      some_long = some_long || in_place.best()[p].response.size() == 6;
    }
    INFO("the kept answers stop both ways (EOS, the length limit) across the rounds");
    CHECK((some_eos || some_long));
  }
  // The answers really come from the backend: one over another model's weights draws others.
  const Model<float> other = tiny_base(316);
  auto other_decoder = wb::llama::make_decode_backend(cpu, other, {});
  SamplingConfig sc;
  sc.samples_per_prompt = 2;
  sc.max_new_tokens = 6;
  const auto mine = sample_responses(base, &policy, ps, sc, 0, {decoder.get(), nullptr, 3});
  const auto theirs = sample_responses(base, &policy, ps, sc, 0, {other_decoder.get(), nullptr, 3});
  bool differ = false;
  for (size_t i = 0; i < mine.size(); ++i) differ = differ || mine[i].tokens != theirs[i].tokens;
  CHECK(differ);
}
