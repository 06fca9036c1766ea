// reward_fixture.h — a real workbenchd with the sft and reward plugins on a fresh temp data dir,
// the small generated task suite, and helpers to import it and run jobs to their end.
//
//   RewardDaemon d;                                     // suite generated, daemon started
//   d.import("help", "preference", "pref_helpful_train.jsonl");
//   d.init_tiny("base");                                // tokenizer on the suite corpus + tiny model
//   json job = d.run_job("reward", spec);               // submits, waits, REQUIREs success
//   double acc = d.last_metric(job["id"], "eval_accuracy_rating_3");
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixture.h"

namespace rewardtest {

using nlohmann::json;

class RewardDaemon {
 public:
  RewardDaemon();
  const std::filesystem::path& suite_dir() const { return suite_; }

  // POST /v1/datasets with a suite file's rows.
  void import(const std::string& name, const std::string& kind, const std::string& file, double eval_fraction = 0.0);
  // model_init: 2 layers, dim 64, context 128, SentencePiece vocab 400 trained on the suite corpus.
  void init_tiny(const std::string& name);

  int64_t submit(const std::string& kind, const json& spec);  // throws with the reply unless 201
  json wait_final(int64_t id, std::chrono::seconds timeout = std::chrono::seconds(180));
  json run_job(const std::string& kind, const json& spec);    // REQUIREs succeeded (logs on failure)
  std::vector<std::pair<int64_t, double>> metric(int64_t job, const std::string& name);
  // The value at the highest step; REQUIREs the metric exists.
  double last_metric(int64_t job, const std::string& name);
  std::vector<std::string> logs(int64_t job);

  wbtest::DaemonFixture d;

 private:
  std::filesystem::path suite_;
};

}  // namespace rewardtest
