// Integration: the engine's checkpoint writer meets a full disk in the middle of an SFT job. The
// job is held (not failed) with its last good checkpoint whole, and `retry` resumes it from there
// once space is back. The full disk is real: the RLIMIT_FSIZE of the running daemon and of the job's
// worker process is lowered under the checkpoint's size, so the write fails with EFBIG as it fails
// with ENOSPC on a full disk.
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <catch2/catch.hpp>

#include "sft_fixture.h"

using namespace sfttest;
namespace fs = std::filesystem;

namespace {

// Sets the soft file-size limit of process `pid` (the hard limit stays, so it can be raised again).
void set_file_size_limit(pid_t pid, rlim_t bytes) {
  struct rlimit now{};
  REQUIRE(::prlimit(pid, RLIMIT_FSIZE, nullptr, &now) == 0);
  struct rlimit next{bytes, now.rlim_max};
  REQUIRE(::prlimit(pid, RLIMIT_FSIZE, &next, nullptr) == 0);
}

// The daemon and its children: a job runs in a wb-worker process the daemon started (docs/PLUGINS.md),
// which took the daemon's limits when it started, so a limit must reach it too.
std::vector<pid_t> daemon_and_workers(pid_t daemon) {
  std::vector<pid_t> out{daemon};
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    char state = 0;
    pid_t ppid = 0;
    if (rest >> state >> ppid && ppid == daemon) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

}  // namespace

TEST_CASE("an SFT checkpoint that meets a full disk holds the job with its last checkpoint, retry resumes it", "[sft][integration][disk]") {
  SftDaemon d;
  d.import_sft("chat", "sft_train.jsonl");
  // A model whose checkpoint (weights + two AdamW moments, F32) is about 20 MB: well above what
  // the database and its WAL grow to, so only the checkpoint meets the limit set below.
  d.run_job("model_init", {{"name", "base"},
                           {"config", {{"hidden_size", 256}, {"intermediate_size", 688}, {"num_hidden_layers", 2},
                                       {"num_attention_heads", 4}, {"num_key_value_heads", 4},
                                       {"max_position_embeddings", 64}}},
                           {"tokenizer_corpus", (d.suite_dir() / "tokenizer_corpus.txt").string()},
                           {"vocab_size", 400},
                           {"seed", 1}});
  // Restart with SIGXFSZ ignored (and no limit yet): a write past the limit then fails with EFBIG
  // instead of killing the daemon.
  REQUIRE(d.d.process.terminate() == 0);
  d.d.process.limit_file_size(rlim_t{1} << 40);
  d.d.process.start();

  const int steps = 12;
  const json spec = {{"model", "base"}, {"dataset", "chat"}, {"method", "full"}, {"batch_size", 2},
                     {"context_length", 32}, {"max_steps", steps}, {"checkpoint_every", 2}, {"lr", 1e-3},
                     {"seed", 3}, {"eval_batches", 1}, {"output", "after-full"}};
  const int64_t id = d.submit("sft", spec);
  json j;
  REQUIRE(wbtest::eventually([&] {
    j = d.d.job(id);
    const std::string state = j.value("state", "");
    return j["checkpoint"].is_string() || (state != "queued" && state != "running");
  }, std::chrono::seconds(120)));
  INFO(j.dump());
  REQUIRE(j["checkpoint"].is_string());
  const fs::path ckpt = j["checkpoint"].get<std::string>();
  const auto state_bytes = fs::file_size(ckpt / "state.safetensors");
  REQUIRE(state_bytes > 16u << 20);
  // The disk is "full" for the next checkpoint: no file may grow past half of it.
  for (pid_t p : daemon_and_workers(d.d.process.pid())) set_file_size_limit(p, state_bytes / 2);

  j = d.d.wait_job(id, "held", std::chrono::seconds(120));
  INFO(j.dump());
  for (auto& l : d.logs(id)) UNSCOPED_INFO(l);
  REQUIRE(j["state"] == "held");
  CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("disk full") && Catch::Contains("last good checkpoint"));
  // The previous checkpoint is whole; the failed one left nothing beside it.
  REQUIRE(j["checkpoint"] == ckpt.string());
  CHECK(fs::file_size(ckpt / "state.safetensors") == state_bytes);
  CHECK(fs::exists(ckpt / "checkpoint.json"));
  for (const auto& e : fs::directory_iterator(ckpt.parent_path())) {
    INFO(e.path());
    CHECK(e.path().filename().string().find("checkpoint.tmp") == std::string::npos);
  }
  CHECK(d.d.get("/v1/health").status == 200);

  // Space is back: a person retries and the job finishes from its checkpoint.
  for (pid_t p : daemon_and_workers(d.d.process.pid())) set_file_size_limit(p, rlim_t{1} << 40);
  REQUIRE(d.d.post("/v1/jobs/" + std::to_string(id) + "/retry", json::object()).status == 200);
  j = d.wait_final(id, std::chrono::seconds(180));
  CHECK(j["state"] == "succeeded");
  bool resumed = false;
  for (auto& l : d.logs(id))
    if (l.find("resumed from") != std::string::npos) resumed = true;
  CHECK(resumed);
}
