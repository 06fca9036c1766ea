// The rlhf_eval job through the real daemon: a policy (the SFT adapter) answers the suite's
// held-out RLHF prompts, two reward models trained by the reward plugin score the answers, and
// every reported figure is recomputed here from the job's per-prompt results: the gate, the
// means, the checker's rates; each reward score equals what the reward plugin's own score
// route gives for the same prompt and answer.
#include <catch2/catch.hpp>

#include <fstream>

#include "dpo_fixture.h"
#include "wb/rlhf/gated_reward.h"
#include "wb/suite/checker.h"

using namespace dpotest;

namespace {

std::vector<json> read_jsonl(const std::filesystem::path& p) {
  std::vector<json> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

const json kRm = {{"model", "base"}, {"adapter", "sft"}, {"max_steps", 6}, {"batch", 4}, {"lr", 3e-3},
                  {"max_len", 64},   {"eval_every", 0},  {"seed", 3},      {"device", "cpu"}};

}  // namespace

TEST_CASE("rlhf_eval reports the gated reward and the checker's rates of a policy on held-out prompts", "[rlhf][eval][integration]") {
  DpoDaemon d;
  d.import_file("help", "preference", "pref_helpful_train.jsonl");
  d.import_file("safety", "preference", "pref_safety_train.jsonl");
  d.import_file("rl-eval", "prompt", "rlhf_eval.jsonl");
  json hs = kRm, ss = kRm;
  hs.update({{"head", "helpfulness"}, {"datasets", {{{"name", "help"}}}}, {"output", "rm-help"}});
  ss.update({{"head", "safety"}, {"datasets", {{{"name", "safety"}}}}, {"output", "rm-safe"}});
  d.run_job("reward", hs);
  d.run_job("reward", ss);

  const json spec = {{"model", "base"},         {"adapter", "sft"},      {"prompts", "rl-eval"},
                     {"helpfulness_rm", "rm-help"}, {"safety_rm", "rm-safe"}, {"limit", 24},
                     {"max_tokens", 8},         {"batch", 5},            {"device", "cpu"}};
  const json job = d.run_job("rlhf_eval", spec);
  const int64_t id = job["id"];
  const auto lines = read_jsonl(d.data_dir() / "jobs" / std::to_string(id) / "eval_results.jsonl");
  REQUIRE(lines.size() == 24);

  double sum = 0, tokens = 0;
  long unsafe = 0, refused_unsafe = 0, safe = 0, over = 0, correct = 0, formatted = 0;
  json items = json::array();
  std::vector<const json*> scored;  // the lines whose answers reward.score takes
  for (const auto& l : lines) {
    INFO(l.dump());
    const std::string p = l["prompt"], r = l["response"];
    const bool u = l["unsafe"];
    CHECK(u == wb::suite::is_unsafe_prompt(p));  // the suite's rows carry the tag the checker agrees with
    CHECK(l["combined"].get<double>() == wb::rlhf::gated_reward(l["helpfulness"], l["safety"], u));
    sum += l["combined"].get<double>();
    tokens += l["tokens"].get<double>();
    const wb::suite::Verdict v = wb::suite::check(p, r);
    if (u) {
      ++unsafe;
      refused_unsafe += wb::suite::is_refusal(r);
    } else {
      ++safe;
      over += wb::suite::is_refusal(r);
      correct += v.correct;
      formatted += v.format_ok;
    }
    // reward.score refuses an empty response (an answer that is EOS at once): compare the others.
    if (!r.empty()) {
      items.push_back({{"prompt", p}, {"response", r}});
      scored.push_back(&l);
    }
  }
  REQUIRE(unsafe > 0);
  REQUIRE(safe > 0);
  CHECK(d.last_metric(id, "n") == 24);
  CHECK(d.last_metric(id, "n_unsafe") == unsafe);
  CHECK(d.last_metric(id, "n_safe") == safe);
  CHECK(d.last_metric(id, "mean_reward") == Approx(sum / 24).epsilon(1e-12));
  CHECK(d.last_metric(id, "mean_response_tokens") == Approx(tokens / 24).epsilon(1e-12));
  CHECK(d.last_metric(id, "refusal_rate") == Approx(double(refused_unsafe) / unsafe).epsilon(1e-12));
  CHECK(d.last_metric(id, "over_refusal_rate") == Approx(double(over) / safe).epsilon(1e-12));
  CHECK(d.last_metric(id, "accuracy") == Approx(double(correct) / safe).epsilon(1e-12));
  CHECK(d.last_metric(id, "format_adherence") == Approx(double(formatted) / safe).epsilon(1e-12));

  // Each score is the reward plugin's own for that prompt and answer.
  for (const auto& [rm, key] : {std::pair{"rm-help", "helpfulness"}, std::pair{"rm-safe", "safety"}}) {
    const wbtest::Reply r = d.d.post("/v1/methods/reward.score", {{"rm", rm}, {"items", items}, {"device", "cpu"}});
    INFO(r.text);
    REQUIRE(r.status == 200);
    REQUIRE(r.body["scores"].size() == scored.size());
    for (size_t i = 0; i < scored.size(); ++i)
      CHECK((*scored[i])[key].get<double>() == Approx(r.body["scores"][i].get<double>()).epsilon(1e-5));
  }
}

TEST_CASE("rlhf_eval specs are checked at submission, naming the field", "[rlhf][eval][integration]") {
  DpoDaemon d;
  d.import_file("help", "preference", "pref_helpful_train.jsonl");
  d.import_file("rl-eval", "prompt", "rlhf_eval.jsonl");
  json hs = kRm;
  hs.update({{"head", "helpfulness"}, {"datasets", {{{"name", "help"}}}}, {"output", "rm-help"}});
  d.run_job("reward", hs);
  const json ok = {{"model", "base"}, {"adapter", "sft"}, {"prompts", "rl-eval"}, {"helpfulness_rm", "rm-help"},
                   {"safety_rm", "rm-help"}};
  const size_t jobs_before = d.d.get("/v1/jobs").body["jobs"].size();
  auto refused = [&](json spec, const std::string& field) {
    const wbtest::Reply r = d.d.post("/v1/jobs", {{"kind", "rlhf_eval"}, {"spec", spec}});
    INFO(r.text);
    CHECK(r.status == 400);
    CHECK(r.body["error"]["message"].get<std::string>().find("field '" + field + "'") != std::string::npos);
  };
  refused(ok, "safety_rm");  // a helpfulness model where the safety model goes
  json s = ok;
  s["safety_rm"] = "sft";
  refused(s, "safety_rm");  // a policy adapter is not a reward model
  s = ok;
  s["prompts"] = "help";
  refused(s, "prompts");  // a preference dataset
  s = ok;
  s["adapter"] = "rm-help";
  refused(s, "adapter");  // a reward model is not a policy
  s = ok;
  s["max_tokens"] = 0;
  refused(s, "max_tokens");
  CHECK(d.d.get("/v1/jobs").body["jobs"].size() == jobs_before);  // nothing stored for the refusals
}
