#include "sft_fixture.h"

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "wb/llama/device.h"
#include "wb/suite/generator.h"

namespace sfttest {
namespace fs = std::filesystem;

bool gpu_here() { return wb::llama::cuda_unavailable().empty(); }

json tiny_config() {
  return {{"hidden_size", 64},         {"intermediate_size", 176}, {"num_hidden_layers", 2},
          {"num_attention_heads", 4},  {"num_key_value_heads", 4}, {"max_position_embeddings", 128}};
}

namespace {
std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

SftDaemon::SftDaemon(fs::path plugin_dir, const std::string& device, const std::string& extra_config)
    : d({std::move(plugin_dir)}, true, "device = \"" + device + "\"\n" + extra_config) {
  suite_ = d.tmp.path() / "suite";
  wb::suite::Sizes sz = wb::suite::Sizes::small();
  wb::suite::write_files(wb::suite::generate(7, sz), suite_);
}

void SftDaemon::import_text(const std::string& name, double eval_fraction, int max_lines) {
  std::ifstream in(suite_ / "pretrain.txt");
  std::string line, jsonl;
  int n = 0;
  while (std::getline(in, line) && (max_lines == 0 || n < max_lines)) {
    if (line.empty()) continue;
    jsonl += json{{"prompt", line}}.dump() + "\n";
    ++n;
  }
  auto r = d.post("/v1/datasets", {{"name", name}, {"kind", "prompt"}, {"jsonl", jsonl}, {"eval_fraction", eval_fraction}});
  INFO(r.text);
  REQUIRE(r.status == 201);
}

void SftDaemon::import_sft(const std::string& name, const std::string& file, double eval_fraction) {
  import_file(name, "sft", file, eval_fraction);
}

void SftDaemon::import_file(const std::string& name, const std::string& kind, const std::string& file,
                            double eval_fraction) {
  auto r = d.post("/v1/datasets", {{"name", name}, {"kind", kind}, {"jsonl", read_file(suite_ / file)}, {"eval_fraction", eval_fraction}});
  INFO(r.text);
  REQUIRE(r.status == 201);
}

void SftDaemon::init_tiny(const std::string& name, uint64_t seed) {
  run_job("model_init", {{"name", name},
                         {"config", tiny_config()},
                         {"tokenizer_corpus", (suite_ / "tokenizer_corpus.txt").string()},
                         {"vocab_size", 400},
                         {"seed", seed}});
}

int64_t SftDaemon::submit(const std::string& kind, const json& spec) {
  auto r = d.post("/v1/jobs", {{"kind", kind}, {"spec", spec}});
  if (r.status != 201) throw std::runtime_error("submit " + kind + " failed: " + r.text);
  return r.body["id"].get<int64_t>();
}

json SftDaemon::wait_final(int64_t id, std::chrono::seconds timeout) {
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

json SftDaemon::run_job(const std::string& kind, const json& spec, std::chrono::seconds timeout) {
  const int64_t id = submit(kind, spec);
  json j = wait_final(id, timeout);
  if (j["state"] != "succeeded") {
    std::string all;
    for (auto& l : logs(id)) all += l + "\n";
    INFO(j.dump() << "\n" << all);
    REQUIRE(j["state"] == "succeeded");
  }
  return j;
}

std::vector<std::pair<int64_t, double>> SftDaemon::metric(int64_t job, const std::string& name) {
  auto r = d.get("/v1/jobs/" + std::to_string(job) + "/metrics?name=" + name);
  std::vector<std::pair<int64_t, double>> out;
  for (auto& m : r.body["metrics"]) out.emplace_back(m["step"].get<int64_t>(), m["value"].get<double>());
  std::sort(out.begin(), out.end());
  return out;
}

double SftDaemon::last_metric(int64_t job, const std::string& name) {
  const auto v = metric(job, name);
  INFO("metric " << name);
  REQUIRE(!v.empty());
  return v.back().second;
}

std::vector<std::string> SftDaemon::logs(int64_t job) {
  std::vector<std::string> out;
  wbtest::UnixHttp c(socket());
  c.stream("/v1/jobs/" + std::to_string(job) + "/events?follow=false", [&](const std::string& l) {
    json e = json::parse(l, nullptr, false);
    if (e.is_object() && e.value("type", "") == "log") out.push_back(e.value("message", ""));
    return true;
  });
  return out;
}

bool SftDaemon::logged(int64_t job, const std::string& prefix) {
  for (const auto& line : logs(job))
    if (line.rfind(prefix, 0) == 0) return true;
  return false;
}

std::string SftDaemon::result_line(int64_t job) {
  for (const auto& line : logs(job))
    if (line.rfind("result ", 0) == 0) return line;
  return "";
}

WbRun run_wb(const std::string& socket, const std::string& args) {
  const char* override_bin = std::getenv("WB_TEST_WB");
  const std::string bin = override_bin && *override_bin ? override_bin : WB_CLI_PATH;
  const std::string cmd = bin + " --socket " + socket + " " + args + " 2>&1";
  WbRun r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string dir_bytes(const fs::path& dir) {
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::string out;
  for (auto& f : files) out += f.filename().string() + "\n" + read_file(f);
  return out;
}

}  // namespace sfttest
