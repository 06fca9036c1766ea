// The reward plugin on the GPU through the real daemon (tests/reward's fixture, both plugins):
// the same reward spec trained with device "cpu" and device "cuda" (fp32 on the GPU) gives the
// same training losses, held-out loss and accuracy within tolerance; reward.score on cuda gives
// the CPU's scores (item and dataset forms, both reward models, the GPU base shared between them).
// Skipped without a GPU.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>

#include "../../gpu/gpu_test_util.h"  // require_device()
#include "reward_fixture.h"

using namespace rewardtest;
using wb::cuda::test::require_device;

namespace {

// max |a - b| / max |b| over two score arrays (JSON), both the same length.
double rel_error(const json& a, const json& b) {
  REQUIRE(a.size() == b.size());
  double err = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    err = std::max(err, std::abs(a[i].get<double>() - b[i].get<double>()));
    scale = std::max(scale, std::abs(b[i].get<double>()));
  }
  REQUIRE(scale > 0);
  return err / scale;
}

}  // namespace

TEST_CASE("a reward job on cuda trains as on the CPU, and reward.score on cuda gives the CPU's scores", "[reward][gpu][integration]") {
  require_device();
  RewardDaemon d;
  d.import("help", "preference", "pref_helpful_train.jsonl");
  d.import("help-eval", "preference", "pref_helpful_eval.jsonl");
  d.init_tiny("base");
  const json spec = {{"model", "base"}, {"head", "helpfulness"}, {"datasets", {"help"}},
                     {"eval_datasets", {"help-eval"}}, {"max_steps", 24}, {"batch", 8}, {"lr", 3e-3},
                     {"rank", 8}, {"max_len", 64}, {"eval_every", 12}, {"seed", 3}, {"clip", 1.0},
                     {"weight_decay", 0.01}, {"centering", 0.01}};
  json on_cpu = spec, on_gpu = spec;
  on_cpu.update({{"device", "cpu"}, {"output", "rm-cpu"}});
  on_gpu.update({{"device", "cuda"}, {"output", "rm-gpu"}});
  const int64_t cj = d.run_job("reward", on_cpu)["id"];
  const int64_t gj = d.run_job("reward", on_gpu)["id"];
  CHECK(d.logged(gj, "device: cuda ("));
  CHECK(d.logged(cj, "device: cpu"));

  // Every step's loss (log_every 1: the GPU loop reads each back), then the held-out figures at
  // steps 0, 12 and 24. fp32 on both sides: the differences are summation order only.
  const auto cl = d.metric(cj, "train_loss"), gl = d.metric(gj, "train_loss");
  REQUIRE(cl.size() == 24);
  REQUIRE(gl.size() == cl.size());
  for (size_t i = 0; i < cl.size(); ++i) {
    INFO("step " << cl[i].first << ": cpu " << cl[i].second << " gpu " << gl[i].second);
    CHECK(gl[i].first == cl[i].first);
    CHECK(std::abs(gl[i].second - cl[i].second) <= 1e-3 * std::max(1.0, std::abs(cl[i].second)));
  }
  const auto ce = d.metric(cj, "eval_loss"), ge = d.metric(gj, "eval_loss");
  REQUIRE(ce.size() == 3);
  REQUIRE(ge.size() == 3);
  for (size_t i = 0; i < ce.size(); ++i) CHECK(std::abs(ge[i].second - ce[i].second) <= 1e-3 * std::max(1.0, ce[i].second));
  // 100 held-out pairs: a pair whose two scores nearly tie may land on the other side.
  CHECK(std::abs(d.last_metric(gj, "eval_accuracy") - d.last_metric(cj, "eval_accuracy")) <= 0.02);

  // Scoring: the GPU path against the CPU path for both reward models (the GPU base is shared,
  // the adapters swapped), item form then dataset form.
  const json items = {{{"prompt", "What is 12 + 7?"}, {"response", "Answer: 19"}},
                      {{"prompt", "What is 12 + 7?"}, {"response", "I do not know."}},
                      {{"prompt", "Name a colour."}, {"response", "Blue."}}};
  for (const char* rm : {"rm-gpu", "rm-cpu", "rm-gpu"}) {
    INFO(rm);
    auto c = d.d.post("/v1/rewards/score", {{"rm", rm}, {"items", items}, {"device", "cpu"}});
    auto g = d.d.post("/v1/rewards/score", {{"rm", rm}, {"items", items}, {"device", "cuda"}});
    INFO(c.text << "\n" << g.text);
    REQUIRE(c.status == 200);
    REQUIRE(g.status == 200);
    CHECK(g.body["device"] == "cuda");
    CHECK(rel_error(g.body["scores"], c.body["scores"]) <= 1e-4);
  }
  auto c = d.d.post("/v1/rewards/score", {{"rm", "rm-gpu"}, {"dataset", "help-eval"}, {"device", "cpu"}});
  auto g = d.d.post("/v1/rewards/score", {{"rm", "rm-gpu"}, {"dataset", "help-eval"}, {"device", "cuda"}});
  REQUIRE(c.status == 200);
  REQUIRE(g.status == 200);
  REQUIRE(g.body["rows"].size() == 100);
  json cc = json::array(), gc = json::array();
  int64_t near_ties = 0;
  for (size_t i = 0; i < 100; ++i) {
    for (const char* side : {"chosen", "rejected"}) {
      cc.push_back(c.body["rows"][i][side]);
      gc.push_back(g.body["rows"][i][side]);
    }
    if (std::abs(c.body["rows"][i]["difference"].get<double>()) < 1e-3) ++near_ties;
  }
  CHECK(rel_error(gc, cc) <= 1e-4);
  CHECK(std::abs(g.body["accuracy"].get<double>() - c.body["accuracy"].get<double>()) <= near_ties / 100.0);
  // The job's own evaluation (on the CPU model synced from the GPU) saw the adapter it saved.
  CHECK(c.body["accuracy"].get<double>() == Approx(d.last_metric(gj, "eval_accuracy")).margin(1e-9));
}
