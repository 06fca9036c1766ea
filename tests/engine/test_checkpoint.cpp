// Checkpoint directories: round trip of every field bit for bit, atomic replacement, and clear
// errors for missing or corrupt files that leave nothing half-written.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "wb/llama/checkpoint.h"
#include "wb/llama/rng.h"
#include "wb_temp_dir.h"

using namespace wb::llama;
namespace fs = std::filesystem;
using wbtest::TempDir;

namespace {

Checkpoint sample(uint64_t seed) {
  Rng rng(seed);
  Checkpoint c;
  c.step = 17;
  c.optimizer_steps = 17;
  c.rng = rng.to_string();
  c.data_position = {{"epoch", 1}, {"index", 42}};
  c.meta = {{"trainable", "lora"}};
  NamedBuffer a{"layers.0.q.A", {4, 8}, std::vector<float>(32)};
  NamedBuffer b{"layers.0.q.B", {8, 4}, std::vector<float>(32)};
  for (auto& x : a.data) x = rng.normal();
  for (auto& x : b.data) x = rng.normal() * 1e-30f;  // tiny values must survive exactly
  c.weights = {a, b};
  for (const auto& w : c.weights) {
    AdamWSlot s{w.name, w.data, w.data};
    for (auto& x : s.v) x = x * x;
    c.optimizer.push_back(s);
  }
  return c;
}

}  // namespace

TEST_CASE("checkpoint round trip is bit-exact", "[checkpoint]") {
  TempDir t;
  const fs::path dir = t.path() / "ckpt";
  const Checkpoint c = sample(1);
  save_checkpoint(dir, c);
  REQUIRE(checkpoint_exists(dir));
  const Checkpoint r = load_checkpoint(dir);
  CHECK(r.step == 17);
  CHECK(r.optimizer_steps == 17);
  CHECK(r.rng == c.rng);
  CHECK(r.data_position == c.data_position);
  CHECK(r.meta == c.meta);
  REQUIRE(r.weights.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(r.weights[i].name == c.weights[i].name);
    CHECK(r.weights[i].shape == c.weights[i].shape);
    CHECK(std::memcmp(r.weights[i].data.data(), c.weights[i].data.data(), 32 * sizeof(float)) == 0);
    CHECK(r.optimizer[i].name == c.optimizer[i].name);
    CHECK(r.optimizer[i].m == c.optimizer[i].m);
    CHECK(r.optimizer[i].v == c.optimizer[i].v);
  }
}

TEST_CASE("saving over a checkpoint replaces it whole and leaves no temp dirs", "[checkpoint]") {
  TempDir t;
  const fs::path dir = t.path() / "ckpt";
  save_checkpoint(dir, sample(1));
  Checkpoint c2 = sample(2);
  c2.step = 30;
  c2.weights.pop_back();
  c2.optimizer.pop_back();
  save_checkpoint(dir, c2);
  const Checkpoint r = load_checkpoint(dir);
  CHECK(r.step == 30);
  CHECK(r.weights.size() == 1);
  CHECK(r.rng == c2.rng);
  int entries = 0;
  for (auto& e : fs::directory_iterator(t.path())) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("bad checkpoints give errors naming the problem", "[checkpoint]") {
  TempDir t;
  CHECK_THROWS_WITH(load_checkpoint(t.path() / "missing"), Catch::Contains("checkpoint.json"));
  const fs::path dir = t.path() / "ckpt";
  save_checkpoint(dir, sample(3));
  {
    std::ofstream(dir / "checkpoint.json") << "{not json";
  }
  CHECK_THROWS_AS(load_checkpoint(dir), CheckpointError);
  save_checkpoint(dir, sample(3));
  {
    std::ofstream(dir / "checkpoint.json") << R"({"format":"workbench-checkpoint","version":1})";
  }
  CHECK_THROWS_WITH(load_checkpoint(dir), Catch::Contains("step"));
  save_checkpoint(dir, sample(3));
  fs::resize_file(dir / "state.safetensors", 40);  // truncated tensor data
  CHECK_THROWS_AS(load_checkpoint(dir), CheckpointError);
  // A failed save (parent missing) throws and creates nothing.
  CHECK_THROWS_AS(save_checkpoint(t.path() / "no" / "such" / "dir", sample(4)), CheckpointError);
  CHECK_FALSE(fs::exists(t.path() / "no"));
}

namespace {

Checkpoint at_step(int64_t step) {
  Checkpoint c = sample(static_cast<uint64_t>(step) + 100);
  c.step = c.optimizer_steps = step;
  return c;
}

// A complete checkpoint of `step` written at `where` (as save_checkpoint's temp dir would hold it).
void complete_at(const fs::path& scratch, const fs::path& where, int64_t step) {
  save_checkpoint(scratch, at_step(step));
  fs::rename(scratch, where);
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("a kill at any point of the rotation leaves one complete checkpoint, found at start-up, leftovers removed",
          "[checkpoint]") {
  // save_checkpoint(dir) of step 6 over step 5, by a process with pid 4242 killed at each point.
  // Each state is left on disk as the kill would leave it; then a new process starts: recover
  // (through checkpoint_exists, as the jobs do), load, and save again.
  struct State {
    const char* when;
    bool dir5, tmp_partial, tmp6, old5, dir6;
    int64_t expect;
  };
  const std::vector<State> states = {
      {"while writing state.safetensors of the new one", true, true, false, false, false, 5},
      {"after checkpoint.json of the new one, before the first rename", true, false, true, false, false, 6},
      {"between the two renames", false, false, true, true, false, 6},
      {"after the second rename, before the old one is removed", false, false, false, true, true, 6},
  };
  for (const auto& s : states) {
    SECTION(s.when) {
      TempDir t;
      const fs::path jobdir = t.path() / "job";
      fs::create_directories(jobdir);
      const fs::path dir = jobdir / "checkpoint";
      const fs::path scratch = t.path() / "scratch";
      if (s.dir5) complete_at(scratch, dir, 5);
      if (s.dir6) complete_at(scratch, dir, 6);
      if (s.old5) complete_at(scratch, jobdir / "checkpoint.old.4242", 5);
      if (s.tmp6) complete_at(scratch, jobdir / "checkpoint.tmp.4242", 6);
      if (s.tmp_partial) {
        fs::create_directories(jobdir / "checkpoint.tmp.4242");
        std::ofstream(jobdir / "checkpoint.tmp.4242" / "state.safetensors") << "partial";
      }
      // A leftover of an even older kill, of another process.
      complete_at(scratch, jobdir / "checkpoint.old.977", 2);

      REQUIRE(checkpoint_exists(dir));
      CHECK(load_checkpoint(dir).step == s.expect);
      CHECK(names_in(jobdir) == std::vector<std::string>{"checkpoint"});
      // The job goes on: the next save rotates cleanly.
      save_checkpoint(dir, at_step(s.expect + 1));
      CHECK(load_checkpoint(dir).step == s.expect + 1);
      CHECK(names_in(jobdir) == std::vector<std::string>{"checkpoint"});
    }
  }
}
