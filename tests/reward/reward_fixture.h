// reward_fixture.h — a real workbenchd with the sft and reward plugins on a fresh temp data dir,
// the small generated task suite, and helpers to import it and run jobs to their end (all of
// tests/sft's SftDaemon, with both plugins loaded).
//
//   RewardDaemon d;                                     // suite generated, daemon started
//   d.import("help", "preference", "pref_helpful_train.jsonl");
//   d.init_tiny("base");                                // tokenizer on the suite corpus + tiny model
//   json job = d.run_job("reward", spec);               // submits, waits, REQUIREs success
//   double acc = d.last_metric(job["id"], "eval_accuracy_rating_3");
#pragma once

#include <string>

#include "sft_fixture.h"

namespace rewardtest {

using nlohmann::json;

class RewardDaemon : public sfttest::SftDaemon {
 public:
  // device: the daemon's `device` setting (see SftDaemon).
  explicit RewardDaemon(const std::string& device = "cpu") : SftDaemon(WB_REWARD_TEST_PLUGIN_DIR, device) {}

  // POST /v1/datasets with a suite file's rows.
  void import(const std::string& name, const std::string& kind, const std::string& file,
              double eval_fraction = 0.0) {
    import_file(name, kind, file, eval_fraction);
  }
};

}  // namespace rewardtest
