// sft_fixture.h — a real workbenchd with only the sft plugin, on a fresh temp data dir, plus a
// small generated task suite and helpers to import datasets and run jobs to their end.
//
//   SftDaemon d;                                  // suite generated (small), daemon started
//   d.import_text("text", 0.1);                   // pretrain.txt lines as prompt rows
//   d.import_sft("chat", "sft_train.jsonl");
//   d.init_tiny("base");                          // tokenizer trained on the corpus + tiny model
//   json job = d.run_job("sft", spec);            // submits, waits for a final state
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "fixture.h"

namespace sfttest {

using nlohmann::json;

// Whether the sft plugin was built with the CUDA backend and a CUDA device answers here.
bool gpu_here();

// The config overrides of the test model: 2 layers, dim 64, context 128 (fast on 2 cores).
json tiny_config();

class SftDaemon {
 public:
  // plugin_dir: the directory the daemon loads plugins from (default: the sft plugin alone).
  // device: the daemon's `device` setting, the default of specs without one. "cpu" by default:
  // these tests check the CPU engine's exact results, and under "auto" a machine with a GPU
  // would train there (the gpu-labelled tests compare the devices with explicit specs).
  // extra_config: more TOML for the daemon's config file (e.g. a [tcp] table).
  explicit SftDaemon(std::filesystem::path plugin_dir = WB_SFT_TEST_PLUGIN_DIR, const std::string& device = "cpu",
                     const std::string& extra_config = "");
  std::string socket() const { return d.socket(); }
  const std::filesystem::path& suite_dir() const { return suite_; }
  std::filesystem::path data_dir() const { return d.process.data_dir(); }

  // POST /v1/datasets from a suite file; text: pretrain.txt lines as {"prompt": line}.
  void import_text(const std::string& name, double eval_fraction, int max_lines = 0);
  void import_sft(const std::string& name, const std::string& file, double eval_fraction = 0.0);
  // POST /v1/datasets with a suite file's rows as a dataset of `kind` (sft, preference, prompt).
  void import_file(const std::string& name, const std::string& kind, const std::string& file,
                   double eval_fraction = 0.0);
  // model_init with a SentencePiece tokenizer trained on the suite's tokenizer corpus (cached
  // per test process) and tiny_config().
  void init_tiny(const std::string& name, uint64_t seed = 1);

  // Submits; returns the job id. Throws with the daemon's message when not 201.
  int64_t submit(const std::string& kind, const json& spec);
  // Waits for succeeded/failed/cancelled (REQUIREs it ends within `timeout`); returns the record.
  json wait_final(int64_t id, std::chrono::seconds timeout = std::chrono::seconds(180));
  // submit + wait_final + REQUIRE succeeded (the job's log is shown on failure).
  json run_job(const std::string& kind, const json& spec, std::chrono::seconds timeout = std::chrono::seconds(180));
  // All values of one metric, by step.
  std::vector<std::pair<int64_t, double>> metric(int64_t job, const std::string& name);
  // The value at the highest step; REQUIREs the metric exists.
  double last_metric(int64_t job, const std::string& name);
  // Log messages of a job.
  std::vector<std::string> logs(int64_t job);
  // Whether a job's log has a line starting with `prefix`.
  bool logged(int64_t job, const std::string& prefix);
  // A job's "result ..." log line ("" when it has none).
  std::string result_line(int64_t job);

  wbtest::DaemonFixture d;

 private:
  std::filesystem::path suite_;
};

// What one `wb` run printed (stdout and stderr together) and its exit code.
struct WbRun {
  int code = -1;
  std::string out;
};
// Runs `wb --socket SOCKET ARGS` through the shell: the built wb, or $WB_TEST_WB when set (to
// try a wb built elsewhere).
WbRun run_wb(const std::string& socket, const std::string& args);

// SHA-256-free content fingerprint of every file in a directory (name + bytes), for
// "bit-identical" checks.
std::string dir_bytes(const std::filesystem::path& dir);

}  // namespace sfttest
