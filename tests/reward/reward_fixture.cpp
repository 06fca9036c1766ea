#include "reward_fixture.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "wb/suite/generator.h"

namespace rewardtest {
namespace fs = std::filesystem;

RewardDaemon::RewardDaemon() : d({fs::path(WB_REWARD_TEST_PLUGIN_DIR)}, true) {
  suite_ = d.tmp.path() / "suite";
  wb::suite::write_files(wb::suite::generate(7, wb::suite::Sizes::small()), suite_);
}

void RewardDaemon::import(const std::string& name, const std::string& kind, const std::string& file,
                          double eval_fraction) {
  std::ifstream f(suite_ / file, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  auto r = d.post("/v1/datasets", {{"name", name}, {"kind", kind}, {"jsonl", ss.str()}, {"eval_fraction", eval_fraction}});
  INFO(r.text);
  REQUIRE(r.status == 201);
}

void RewardDaemon::init_tiny(const std::string& name) {
  const json config = {{"hidden_size", 64},        {"intermediate_size", 176}, {"num_hidden_layers", 2},
                       {"num_attention_heads", 4}, {"num_key_value_heads", 4}, {"max_position_embeddings", 128}};
  run_job("model_init", {{"name", name},
                         {"config", config},
                         {"tokenizer_corpus", (suite_ / "tokenizer_corpus.txt").string()},
                         {"vocab_size", 400},
                         {"seed", 1}});
}

int64_t RewardDaemon::submit(const std::string& kind, const json& spec) {
  auto r = d.post("/v1/jobs", {{"kind", kind}, {"spec", spec}});
  if (r.status != 201) throw std::runtime_error("submit " + kind + " failed: " + r.text);
  return r.body["id"].get<int64_t>();
}

json RewardDaemon::wait_final(int64_t id, std::chrono::seconds timeout) {
  json last;
  const bool done = wbtest::eventually([&] {
    last = d.job(id);
    const std::string s = last.value("state", "");
    return s == "succeeded" || s == "failed" || s == "cancelled";
  }, timeout);
  INFO(last.dump());
  REQUIRE(done);
  return last;
}

json RewardDaemon::run_job(const std::string& kind, const json& spec) {
  const int64_t id = submit(kind, spec);
  json j = wait_final(id);
  if (j["state"] != "succeeded") {
    std::string all;
    for (auto& l : logs(id)) all += l + "\n";
    INFO(j.dump() << "\n" << all);
    REQUIRE(j["state"] == "succeeded");
  }
  return j;
}

std::vector<std::pair<int64_t, double>> RewardDaemon::metric(int64_t job, const std::string& name) {
  auto r = d.get("/v1/jobs/" + std::to_string(job) + "/metrics?name=" + name);
  std::vector<std::pair<int64_t, double>> out;
  for (auto& m : r.body["metrics"]) out.emplace_back(m["step"].get<int64_t>(), m["value"].get<double>());
  std::sort(out.begin(), out.end());
  return out;
}

double RewardDaemon::last_metric(int64_t job, const std::string& name) {
  const auto v = metric(job, name);
  INFO("metric " << name);
  REQUIRE(!v.empty());
  return v.back().second;
}

std::vector<std::string> RewardDaemon::logs(int64_t job) {
  std::vector<std::string> out;
  wbtest::UnixHttp c(d.socket());
  c.stream("/v1/jobs/" + std::to_string(job) + "/events?follow=false", [&](const std::string& l) {
    json e = json::parse(l, nullptr, false);
    if (e.is_object() && e.value("type", "") == "log") out.push_back(e.value("message", ""));
    return true;
  });
  return out;
}

}  // namespace rewardtest
