// Integration: kill -9 of the daemon in the middle of an SFT job; after a restart the job
// resumes from its last checkpoint and finishes with exactly the adapter an uninterrupted run
// produces (the trainer's checkpoints restore weights, moments, RNG and data position).
#include <set>

#include <catch2/catch.hpp>

#include "sft_fixture.h"

using namespace sfttest;
namespace fs = std::filesystem;

TEST_CASE("kill -9 mid-SFT: restart resumes from the checkpoint and finishes identically", "[sft][integration][recovery]") {
  SftDaemon d;
  d.import_sft("chat", "sft_train.jsonl", 0.1);
  d.init_tiny("base");
  const int steps = 60;
  json spec = {{"model", "base"}, {"dataset", "chat"}, {"method", "lora"}, {"rank", 4}, {"batch_size", 8},
               {"context_length", 128}, {"max_steps", steps}, {"checkpoint_every", 4}, {"lr", 5e-3},
               {"seed", 11}, {"eval_batches", 1}, {"output", "resumed"}};
  const int64_t id = d.submit("sft", spec);
  json mid;
  REQUIRE(wbtest::eventually([&] {
    mid = d.d.job(id);
    return mid["checkpoint"].is_string();
  }, std::chrono::seconds(60)));
  d.d.process.kill9();
  INFO(mid.dump());
  REQUIRE(mid["state"] == "running");  // killed mid-run, not after the end

  d.d.process.start();
  json j = d.wait_final(id, std::chrono::seconds(120));
  REQUIRE(j["state"] == "succeeded");
  bool resumed = false;
  for (auto& l : d.logs(id))
    if (l.find("resumed from") != std::string::npos) resumed = true;
  CHECK(resumed);
  std::set<int64_t> seen;
  for (auto& [step, v] : d.metric(id, "train_loss")) seen.insert(step);
  CHECK(seen.size() == static_cast<size_t>(steps));  // every step reported, none lost

  // The same spec without interruption gives the same adapter bytes.
  spec["output"] = "straight";
  d.run_job("sft", spec);
  auto path_of = [&](const std::string& name) {
    const json list = d.d.get("/v1/adapters").body["adapters"];
    for (const auto& a : list)
      if (a["name"] == name) return fs::path(a["path"].get<std::string>());
    FAIL("adapter " << name << " not registered");
    return fs::path();
  };
  CHECK(dir_bytes(path_of("resumed")) == dir_bytes(path_of("straight")));
}

TEST_CASE("SIGTERM mid-SFT: the job checkpoints, the daemon exits cleanly, and the restart finishes it", "[sft][integration][recovery]") {
  SftDaemon d;
  d.import_sft("chat", "sft_train.jsonl");
  d.init_tiny("base");
  json spec = {{"model", "base"}, {"dataset", "chat"}, {"method", "full"}, {"batch_size", 4}, {"context_length", 64},
               {"max_steps", 80}, {"lr", 1e-3}, {"seed", 2}, {"eval_batches", 1}, {"output", "after-term"}};
  const int64_t id = d.submit("sft", spec);
  REQUIRE(wbtest::eventually([&] { return d.metric(id, "train_loss").size() >= 3; }, std::chrono::seconds(60)));
  CHECK(d.d.process.terminate() == 0);
  d.d.process.start();
  json j = d.wait_final(id, std::chrono::seconds(120));
  REQUIRE(j["state"] == "succeeded");
  bool interrupted = false, resumed = false;
  for (auto& l : d.logs(id)) {
    interrupted |= l.find("checkpoint saved") != std::string::npos;
    resumed |= l.find("resumed from") != std::string::npos;
  }
  CHECK(interrupted);
  CHECK(resumed);
  CHECK(d.d.get("/v1/models/after-term").status == 200);
}
