// sft plugin jobs on the GPU against the same specs on the CPU, through the real daemon and
// plugin (tests/sft's fixture): full SFT (every base tensor, the pretraining path) and LoRA SFT
// on device cuda give the CPU run's train and eval losses (fp32, 1e-3 relative after 4 steps),
// and an eval job on cuda gives the CPU eval's answers (fp32 greedy: the same responses, token
// for token, hence the same report). Skipped without a GPU.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "../../gpu_test_util.h"  // require_device()
#include "sft_fixture.h"

using namespace sfttest;
using wb::cuda::test::require_device;

namespace {

// A job's eval_results.jsonl (one line per prompt: prompt, response, verdict), from its job dir.
std::string eval_results(SftDaemon& d, int64_t job) {
  std::ifstream in(d.data_dir() / "jobs" / std::to_string(job) / "eval_results.jsonl");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `spec` as an sft job on the CPU and on cuda (outputs <name>-cpu / <name>-cuda) and
// compares the last train and eval losses.
void same_losses(SftDaemon& d, json spec, const std::string& name) {
  json c = spec, g = spec;
  c.update({{"device", "cpu"}, {"output", name + "-cpu"}});
  g.update({{"device", "cuda"}, {"output", name + "-cuda"}});
  const int64_t cpu_id = d.run_job("sft", c)["id"];
  const int64_t gpu_id = d.run_job("sft", g)["id"];
  CHECK(d.logged(gpu_id, "device: cuda ("));
  CHECK(d.last_metric(gpu_id, "train_loss") == Approx(d.last_metric(cpu_id, "train_loss")).epsilon(1e-3));
  CHECK(d.last_metric(gpu_id, "eval_loss") == Approx(d.last_metric(cpu_id, "eval_loss")).epsilon(1e-3));
  CHECK(d.result_line(gpu_id).find("\"device\":\"cuda\"") != std::string::npos);
}

}  // namespace

TEST_CASE("full and LoRA SFT jobs on cuda give the CPU run's losses", "[gpu][sft]") {
  require_device();
  SftDaemon d;
  d.import_sft("chat", "sft_train.jsonl", 0.2);
  d.init_tiny("base");
  const json spec = {{"model", "base"}, {"dataset", "chat"}, {"batch_size", 2}, {"context_length", 64},
                     {"max_steps", 4},  {"eval_batches", 1}, {"log_every", 1},  {"lr", 1e-3}};
  json full = spec;
  full["method"] = "full";
  same_losses(d, full, "full");
  json lora = spec;
  lora.update({{"method", "lora"}, {"rank", 2}});
  same_losses(d, lora, "lora");
}

TEST_CASE("an eval job on cuda gives the CPU eval's answers", "[gpu][sft]") {
  require_device();
  SftDaemon d;
  d.import_sft("chat", "sft_train.jsonl", 0.2);
  d.init_tiny("base");
  const json spec = {{"model", "base"}, {"dataset", "chat"}, {"max_tokens", 6}, {"limit", 5}, {"batch", 3}};
  json c = spec, g = spec;
  c["device"] = "cpu";
  g["device"] = "cuda";
  const int64_t cpu_id = d.run_job("eval", c)["id"];
  const int64_t gpu_id = d.run_job("eval", g)["id"];
  CHECK(d.logged(gpu_id, "device: cuda ("));
  CHECK(d.logged(cpu_id, "device: cpu"));
  CHECK_FALSE(d.result_line(cpu_id).empty());
  CHECK(d.result_line(gpu_id) == d.result_line(cpu_id));
  // The report of a random tiny model is near zero whatever it says: compare what it said.
  const std::string want = eval_results(d, cpu_id);
  const auto lines = std::count(want.begin(), want.end(), '\n');
  CHECK(lines > 0);
  // Not every response is empty (a model that only said EOS would compare equal trivially).
  size_t empty = 0;
  for (size_t at = want.find("\"response\":\"\""); at != std::string::npos;
       at = want.find("\"response\":\"\"", at + 1))
    ++empty;
  CHECK(int64_t(empty) < int64_t(lines));
  CHECK(eval_results(d, gpu_id) == want);
}
