// dpo_fixture.h — a real workbenchd with the sft, rlhf and serve plugins on a fresh temp data dir
// (tests/sft's SftDaemon), a tiny model "base", a short LoRA SFT run on the suite's chat rows
// ("sft", the reference policy) and a small separable preference dataset "prefs" written by the
// test: every chosen answer states a sum, every rejected one declines.
//
//   DpoDaemon d;                     // daemon, base, sft, prefs
//   json job = d.run_job("dpo", {{"model", "base"}, {"adapter", "sft"}, {"dataset", "prefs"}});
#pragma once

#include <string>

#include "sft_fixture.h"

namespace dpotest {

using nlohmann::json;

// n preference rows as JSONL.
inline std::string separable_prefs(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    const int a = 2 + i % 7, b = 3 + (i * 5) % 11;
    out += json{{"prompt", "What is " + std::to_string(a) + " plus " + std::to_string(b) + "?"},
                {"chosen", "The answer is " + std::to_string(a + b) + "."},
                {"rejected", "I do not know, sorry."}}
               .dump() +
           "\n";
  }
  return out;
}

class DpoDaemon : public sfttest::SftDaemon {
 public:
  DpoDaemon() : SftDaemon(WB_RLHF_TEST_PLUGIN_DIR, "cpu") {
    import_sft("chat", "sft_train.jsonl");
    init_tiny("base");
    run_job("sft", {{"model", "base"}, {"dataset", "chat"}, {"method", "lora"}, {"rank", 4}, {"batch_size", 4},
                    {"context_length", 96}, {"max_steps", 4}, {"lr", 5e-3}, {"seed", 3}, {"eval_batches", 1},
                    {"output", "sft"}});
    auto r = d.post("/v1/datasets", {{"name", "prefs"}, {"kind", "preference"}, {"jsonl", separable_prefs(48)},
                                     {"eval_fraction", 0.25}});
    if (r.status != 201) throw std::runtime_error("import prefs: " + r.text);
  }

  // The registered record of an adapter or model (null when absent).
  json record(const std::string& kind, const std::string& name) {
    const json list = d.get("/v1/" + kind + "s").body[kind + "s"];
    for (const auto& a : list)
      if (a["name"] == name) return a;
    return nullptr;
  }
};

}  // namespace dpotest
