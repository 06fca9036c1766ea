// The data-parallel job cases shared by test_jobs.cpp (CPU ranks) and test_gpu_jobs.cpp (GPU ranks):
// a real workbenchd with the sft plugin on a temp socket, OpenMPI's environment for root in a
// container, and the comparison of an N-rank job with one process of N times the micro-batches.
#pragma once

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "sft_fixture.h"
#include "wb/llama/safetensors.h"
#include "wb_skip.h"

using namespace sfttest;
namespace fs = std::filesystem;

namespace {

// OpenMPI as root in a container (CI): its consent, and no ptrace-based single-copy transport.
// Set before the daemon starts, which hands its environment to mpirun.
void mpi_environment() {
  if (std::system("command -v mpirun > /dev/null 2>&1") != 0) WB_SKIP("mpirun is not installed");
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  ::setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1);
  ::setenv("OMP_NUM_THREADS", "1", 1);
}

json lora_spec(const std::string& output, int steps) {
  return {{"model", "base"}, {"dataset", "chat"},   {"method", "lora"}, {"rank", 4},
          {"batch_size", 2}, {"context_length", 64}, {"max_steps", steps}, {"lr", 5e-3},
          {"seed", 3},       {"output", output}};
}

fs::path adapter_path(SftDaemon& d, const std::string& name) {
  const json list = d.d.get("/v1/adapters").body["adapters"];
  for (const auto& a : list)
    if (a["name"] == name) return fs::path(a["path"].get<std::string>());
  FAIL("adapter " << name << " not registered: " << d.d.get("/v1/adapters").text);
  return {};
}

std::map<std::string, std::vector<float>> adapter_tensors(const fs::path& dir) {
  wb::llama::SafetensorsFile f(dir / "adapter_model.safetensors");
  std::map<std::string, std::vector<float>> out;
  for (const auto& t : f.tensors()) out[t.name] = f.read_f32(t.name);
  return out;
}

// Largest |a - b| over every tensor, relative to the largest |entry| of b.
double relative_difference(const std::map<std::string, std::vector<float>>& a,
                           const std::map<std::string, std::vector<float>>& b) {
  REQUIRE(a.size() == b.size());
  double diff = 0, scale = 0;
  for (const auto& [name, x] : b) {
    auto it = a.find(name);
    REQUIRE(it != a.end());
    REQUIRE(it->second.size() == x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      diff = std::max(diff, std::fabs(static_cast<double>(it->second[i]) - x[i]));
      scale = std::max(scale, std::fabs(static_cast<double>(x[i])));
    }
  }
  REQUIRE(scale > 0);
  return diff / scale;
}

// The pid the daemon last logged for `rank` ("rank 1 of 2 started: process 1234"), 0 while none.
pid_t rank_pid(SftDaemon& d, int64_t job, int rank) {
  const std::string prefix = "rank " + std::to_string(rank) + " of ";
  pid_t pid = 0;
  for (const auto& l : d.logs(job))
    if (l.rfind(prefix, 0) == 0 && l.find("process ") != std::string::npos)
      pid = static_cast<pid_t>(std::stol(l.substr(l.find("process ") + 8)));
  return pid;
}

std::string cmdline(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  std::replace(s.begin(), s.end(), '\0', ' ');
  return s;
}

// The daemon's answer to a submission: status and body.
wbtest::Reply submit_raw(SftDaemon& d, const json& spec) {
  return d.d.post("/v1/jobs", json{{"kind", "sft"}, {"spec", spec}});
}

}  // namespace

namespace {

// An sft job of `method` on `world` ranks of `accum` micro-batches each against one process of
// world x accum micro-batches: the same weights and losses, and the run recorded once.
// `device` goes into both specs ("cpu", or "cuda": every rank on its own GPU, or sharing one);
// `tolerance` bounds the weights' relative difference and the losses' (relative).
inline void same_as_one_process(const std::string& method, int world, int accum, const std::string& device = "cpu",
                                double tolerance = 1e-5) {
  mpi_environment();
  SftDaemon d;
  d.import_sft("chat", "sft_train.jsonl");
  d.init_tiny("base");
  const int steps = 4;
  json ranks = lora_spec("ranks", steps);
  json one = lora_spec("one", steps);
  if (method == "full") {
    for (json* s : {&ranks, &one}) {
      s->erase("rank");
      (*s)["method"] = "full";
      (*s)["lr"] = 1e-3;
    }
  }
  ranks["world"] = world;
  ranks["grad_accum"] = accum;
  ranks["device"] = device;
  one["device"] = device;
  one["grad_accum"] = world * accum;
  const int64_t id = d.submit("sft", ranks);
  json j = d.wait_final(id, std::chrono::seconds(120));
  for (auto& l : d.logs(id)) UNSCOPED_INFO(l);
  REQUIRE(j["state"] == "succeeded");
  const int64_t single_id = d.run_job("sft", one)["id"].get<int64_t>();

  // fp32 sums in another order: MPI adds the ranks' accumulated gradients, one process adds the
  // micro-batches' one after another (equal for two micro-batches, a + b = b + a; not for four).
  // tests/mpi measured 2.1e-6 of the largest entry after six steps; 1e-5 leaves room for that.
  auto tensors = [&](const std::string& name) {
    if (method == "full") {
      const json list = d.d.get("/v1/models").body["models"];
      for (const auto& m : list)
        if (m["name"] == name) {
          wb::llama::SafetensorsFile f(fs::path(m["path"].get<std::string>()) / "model.safetensors");
          std::map<std::string, std::vector<float>> out;
          for (const auto& t : f.tensors()) out[t.name] = f.read_f32(t.name);
          return out;
        }
      FAIL("model " << name << " not registered");
    }
    return adapter_tensors(adapter_path(d, name));
  };
  const double rel = relative_difference(tensors("ranks"), tensors("one"));
  INFO("relative difference " << rel);
  CHECK(rel < tolerance);

  // Recorded once: one loss per step (not one per rank), the losses those of the single process.
  const auto dp = d.metric(id, "train_loss");
  const auto single = d.metric(single_id, "train_loss");
  REQUIRE(dp.size() == static_cast<size_t>(steps));
  REQUIRE(single.size() == dp.size());
  for (size_t i = 0; i < dp.size(); ++i) {
    CHECK(dp[i].first == static_cast<int64_t>(i + 1));
    CHECK(dp[i].second == Approx(single[i].second).epsilon(tolerance));
  }
  CHECK(d.metric(id, "worker_peak_rss_bytes").size() == 1);
  CHECK(j["progress"] == 1.0);
  int results = 0;
  for (auto& l : d.logs(id)) results += l.rfind("result ", 0) == 0;
  CHECK(results == 1);
  for (int r = 0; r < world; ++r) CHECK(rank_pid(d, id, r) > 0);
  CHECK(d.logged(id, "running as " + std::to_string(world) + " MPI ranks"));
  WbRun logs = run_wb(d.socket(), "job logs " + std::to_string(id));
  CHECK(logs.code == 0);
  CHECK_THAT(logs.out, Catch::Contains(std::to_string(world) + " data-parallel ranks") && Catch::Contains("result "));
  const fs::path dir = d.data_dir() / "jobs" / std::to_string(id);
  CHECK(fs::exists(dir / "result.json"));
  CHECK(fs::exists(dir / "mpirun.log"));
}

}  // namespace

