// The rejection_sampling job's SFT data and saved state: each kept answer becomes prompt + answer
// with the loss on the rows predicting answer tokens only; the round data source resumes at a
// sought index; the kept answers written to disk restore a sampler to the same answers and round
// count, and a file for another prompt count is refused.
#include <catch2/catch.hpp>

#include <filesystem>

#include <unistd.h>

#include "rlhf_tiny.h"
#include "rs_data.h"

using namespace rlhftest;
using namespace wb::rlhf;
namespace fs = std::filesystem;
using nlohmann::json;

TEST_CASE("kept answers train on the answer tokens only and the round data resumes at its index", "[rlhf][rs]") {
  std::vector<Prompt> ps(2);
  ps[0].tokens = {1, 5, 6};
  ps[1].tokens = {1, 7};
  std::vector<KeptAnswer> kept(2);
  kept[0].response = {9, 2};
  kept[0].round = 0;
  kept[1].response = {8, 8, 2};
  kept[1].round = 0;
  const auto batches = kept_answer_batches(ps, kept, 2, 3, 11);
  REQUIRE(batches.size() == 3);
  for (const auto& tb : batches) {
    REQUIRE(tb.batch.n_seqs() == 2);
    for (int64_t s = 0; s < 2; ++s) {
      const int64_t b = tb.batch.seq_begin(s), len = tb.batch.seq_len(s);
      const size_t p = tb.batch.tokens[static_cast<size_t>(b + 1)] == 5 ? 0 : 1;  // both are 5 long
      const int64_t plen = static_cast<int64_t>(ps[p].tokens.size());
      for (int64_t i = 0; i < len; ++i) {
        const size_t row = static_cast<size_t>(b + i);
        INFO("prompt " << p << " row " << i);
        if (i + 1 < len) CHECK(tb.targets[row] == tb.batch.tokens[row + 1]);
        else CHECK(tb.targets[row] == -1);
        CHECK(tb.mask[row] == (i + 1 >= plen && i + 1 < len ? 1.0f : 0.0f));
      }
    }
  }
  RoundData data;
  data.seek({{"index", 2}});
  data.set(batches, /*keep_index=*/true);
  CHECK(data.next().batch.tokens == batches[2].batch.tokens);
  CHECK(data.position() == json{{"index", 3}});
  data.set(batches, /*keep_index=*/false);
  CHECK(data.next().batch.tokens == batches[0].batch.tokens);
}

TEST_CASE("kept answers saved to disk restore a sampler, another prompt count is refused", "[rlhf][rs]") {
  Model<float> base = tiny_base(401);
  const auto help = head_preferring(base, 5, 2.0);
  const auto safe = constant_head(base.config.hidden_size, 4.0f);
  const auto ps = prompts(3, 3, base.config.vocab_size, 402);
  RejectionSamplingConfig c;
  c.k = 3;
  c.max_new_tokens = 3;
  c.seed = 4;
  RejectionSampler a(base, {nullptr, &help}, {nullptr, &safe}, c);
  a.round(nullptr, ps);
  a.round(nullptr, ps);
  const fs::path file = fs::temp_directory_path() / ("wb_rs_state_" + std::to_string(::getpid()) + ".json");
  save_kept(file, a);
  RejectionSampler b(base, {nullptr, &help}, {nullptr, &safe}, c);
  REQUIRE(load_kept(file, b, ps.size()));
  CHECK(b.rounds() == 2);
  REQUIRE(b.best().size() == 3);
  for (size_t p = 0; p < 3; ++p) {
    CHECK(b.best()[p].response == a.best()[p].response);
    CHECK(b.best()[p].scores.combined == a.best()[p].scores.combined);
    CHECK(b.best()[p].round == a.best()[p].round);
  }
  // The third round continues alike from the restored state.
  const auto sa = a.round(nullptr, ps);
  const auto sb = b.round(nullptr, ps);
  CHECK(sa.mean_kept == sb.mean_kept);
  RejectionSampler other(base, {nullptr, &help}, {nullptr, &safe}, c);
  CHECK_THROWS_WITH(load_kept(file, other, 4), Catch::Contains("3 kept answers for 4 prompts"));
  CHECK(other.rounds() == 0);
  fs::remove(file);
  CHECK_FALSE(load_kept(file, other, 3));
}
