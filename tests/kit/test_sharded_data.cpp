// The data of one rank of a data-parallel job (wb/plugin/data_parallel.h): N ranks with M
// micro-batches each feed exactly the micro-batches one process with N x M feeds, in the same
// order; a position records the world that wrote it, and a run of another world refuses it
// unless it may reshard.
#include <catch2/catch.hpp>

#include "wb/plugin/data_parallel.h"

using wb::plugin::ShardedData;

namespace {

// Micro-batch i holds the single token i, so a stream can be read back.
std::vector<wb::llama::TrainBatch> numbered(int n) {
  std::vector<wb::llama::TrainBatch> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out[static_cast<size_t>(i)].batch.tokens = {i};
  return out;
}

int take(ShardedData& d) { return d.next().batch.tokens.at(0); }

}  // namespace

TEST_CASE("N ranks of M micro-batches feed what one process of N x M micro-batches feeds", "[kit][data_parallel]") {
  const int k = 7;  // not a multiple of a step: steps wrap into the next epoch
  for (int world : {2, 4}) {
    for (int m : {1, 2}) {
      ShardedData one(numbered(k), 1, 0, world * m, false);
      std::vector<ShardedData> ranks;
      for (int r = 0; r < world; ++r) ranks.emplace_back(numbered(k), world, r, m, false);
      for (int step = 0; step < 5; ++step) {
        std::vector<int> single, sharded;
        for (int i = 0; i < world * m; ++i) single.push_back(take(one));
        for (auto& rank : ranks)
          for (int i = 0; i < m; ++i) sharded.push_back(take(rank));
        INFO("world " << world << ", micro-batches " << m << ", step " << step);
        CHECK(sharded == single);
      }
      CHECK(ranks[0].position()["epoch"] == one.position()["epoch"]);
      CHECK(ranks[0].position()["index"] == one.position()["index"]);
    }
  }
}

TEST_CASE("a position of another world is refused unless reshard, which continues from it", "[kit][data_parallel]") {
  ShardedData two(numbered(10), 2, 1, 2, false);
  for (int i = 0; i < 2; ++i) take(two);  // one step: 4 global micro-batches
  const nlohmann::json pos = two.position();
  CHECK(pos == nlohmann::json{{"epoch", 0}, {"index", 4}, {"world", 2}});

  ShardedData four(numbered(10), 4, 0, 2, false);
  CHECK_THROWS_WITH(four.seek(pos), Catch::Contains("checkpoint was written by 2 ranks; this run has 4: set reshard=true"));
  CHECK(take(four) == 0);  // nothing moved

  ShardedData resharded(numbered(10), 4, 1, 2, true);
  resharded.seek(pos);
  CHECK(take(resharded) == 6);  // global micro-batch 4 + rank 1 x 2

  // A world of one writes the plain {"epoch", "index"} (InMemoryDataSource's) and reads it back.
  ShardedData one(numbered(10), 1, 0, 3, false);
  take(one), take(one), take(one);
  CHECK(one.position() == nlohmann::json{{"epoch", 0}, {"index", 3}});
  ShardedData again(numbered(10), 1, 0, 3, false);
  again.seek(one.position());
  CHECK(take(again) == 3);
  CHECK_THROWS_WITH(again.seek(pos), Catch::Contains("checkpoint was written by 2 ranks; this run has 1"));
}
