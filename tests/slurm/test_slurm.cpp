// launcher = "slurm" against a real single-node Slurm started by the test (slurm_cluster.h): a
// tiny LoRA SFT job submitted with `wb train sft --set launcher=slurm ...` runs `srun wb-worker`
// through sbatch, reports progress and metrics over the daemon's TCP listener and registers its
// adapter; `wb job cancel` scancels the Slurm job; a scancel behind the daemon's back re-queues
// the job, which is submitted again and resumes from its checkpoint to the end.
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "sft_fixture.h"
#include "slurm_cluster.h"

using namespace sfttest;
using wbtest::SlurmCluster;
namespace fs = std::filesystem;

namespace {

const char* kToken = "slurm-test-token-3f9a";

std::string tcp_config() {
  return "[tcp]\nenabled = true\nport = " + std::to_string(wbtest::free_tcp_port()) + "\ntoken = \"" + kToken +
         "\"\n[jobs]\nstop_grace_s = 2\n";
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `wb train sft` with the Slurm fields; returns the job id the CLI printed.
int64_t submit_slurm_sft(SftDaemon& d, const std::string& output, int steps, int checkpoint_every) {
  const std::string args = "train sft --set model=base --set dataset=chat --set method=lora --set rank=4 "
                           "--set batch_size=4 --set context_length=64 --set max_steps=" + std::to_string(steps) +
                           " --set checkpoint_every=" + std::to_string(checkpoint_every) +
                           " --set seed=3 --set eval_batches=1 --set output=" + output +
                           " --set launcher=slurm --set partition=debug --set nodes=1 --set gpus_per_node=0"
                           " --set time_limit=10";
  WbRun r = run_wb(d.socket(), args);
  INFO(r.out);
  REQUIRE(r.code == 0);
  const auto at = r.out.find("job ");
  REQUIRE(at != std::string::npos);
  return std::stoll(r.out.substr(at + 4));
}

std::string slurm_id(SftDaemon& d, int64_t id) {
  json j = d.d.job(id);
  return j["slurm_job_id"].is_string() ? j["slurm_job_id"].get<std::string>() : "";
}

}  // namespace

TEST_CASE("an SFT job submitted through Slurm trains, reports progress and metrics and registers its adapter", "[slurm]") {
  SlurmCluster cluster;
  SftDaemon d(WB_SFT_TEST_PLUGIN_DIR, "cpu", tcp_config());
  d.import_sft("chat", "sft_train.jsonl");
  d.init_tiny("base");
  const int64_t id = submit_slurm_sft(d, "via-slurm", 6, 3);
  json j = d.wait_final(id, std::chrono::seconds(120));
  INFO(j.dump());
  for (auto& l : d.logs(id)) UNSCOPED_INFO(l);
  REQUIRE(j["state"] == "succeeded");
  CHECK(j["progress"] == 1.0);
  const std::string sid = slurm_id(d, id);
  REQUIRE(!sid.empty());
  // The worker exits after sending its result: Slurm sees the job complete a moment later.
  CHECK(wbtest::eventually([&] { return cluster.job_state(sid) == "COMPLETED"; }, std::chrono::seconds(20)));
  CHECK(d.metric(id, "train_loss").size() == 6);  // every step's loss came back over HTTP
  CHECK(d.d.get("/v1/adapters").text.find("via-slurm") != std::string::npos);
  CHECK(d.logged(id, "submitted to Slurm as job " + sid));
  WbRun show = run_wb(d.socket(), "job show " + std::to_string(id));
  CHECK_THAT(show.out, Catch::Contains("slurm job") && Catch::Contains(sid) && Catch::Contains("train_loss"));

  // The script is kept for the user; the token travels in a 0600 file, never in the script.
  const fs::path dir = d.data_dir() / "jobs" / std::to_string(id);
  const std::string script = read(dir / "slurm.sbatch");
  CHECK(script.find("srun ") != std::string::npos);
  CHECK(script.find("#SBATCH --partition=debug") != std::string::npos);
  CHECK(script.find("#SBATCH --time=10") != std::string::npos);
  CHECK(script.find(kToken) == std::string::npos);
  struct stat st {};
  REQUIRE(::stat((dir / "worker.token").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(read(dir / "worker.token") == std::string(kToken) + "\n");
  CHECK(fs::exists(dir / ("slurm-" + sid + ".out")));
}

TEST_CASE("wb job cancel of a Slurm job scancels it and the job ends cancelled", "[slurm]") {
  SlurmCluster cluster;
  SftDaemon d(WB_SFT_TEST_PLUGIN_DIR, "cpu", tcp_config());
  d.import_sft("chat", "sft_train.jsonl");
  d.init_tiny("base");
  const int64_t id = submit_slurm_sft(d, "cancelled", 100000, 1000);
  REQUIRE(wbtest::eventually([&] { return !d.metric(id, "train_loss").empty(); }, std::chrono::seconds(60)));
  const std::string sid = slurm_id(d, id);
  REQUIRE(!sid.empty());
  CHECK(cluster.job_state(sid) == "RUNNING");
  WbRun r = run_wb(d.socket(), "job cancel " + std::to_string(id));
  INFO(r.out);
  CHECK(r.code == 0);
  json j = d.wait_final(id, std::chrono::seconds(60));
  CHECK(j["state"] == "cancelled");
  std::string state;
  wbtest::eventually([&] { return (state = cluster.job_state(sid)) == "CANCELLED"; }, std::chrono::seconds(20));
  CHECK(state == "CANCELLED");  // scancel, not a worker that returned on its own
}

TEST_CASE("a Slurm job scancelled behind the daemon's back is submitted again and resumes from its checkpoint", "[slurm]") {
  SlurmCluster cluster;
  SftDaemon d(WB_SFT_TEST_PLUGIN_DIR, "cpu", tcp_config());
  d.import_sft("chat", "sft_train.jsonl");
  d.init_tiny("base");
  const int steps = 24;
  const int64_t id = submit_slurm_sft(d, "resumed", steps, 2);
  json mid;
  REQUIRE(wbtest::eventually([&] {
    mid = d.d.job(id);
    return mid["checkpoint"].is_string() || mid["state"] != "running";
  }, std::chrono::seconds(90)));
  INFO(mid.dump());
  REQUIRE(mid["state"] == "running");
  const std::string first = slurm_id(d, id);
  REQUIRE(!first.empty());
  cluster.run("scancel " + first);
  json j = d.wait_final(id, std::chrono::seconds(150));
  for (auto& l : d.logs(id)) UNSCOPED_INFO(l);
  INFO(j.dump());
  REQUIRE(j["state"] == "succeeded");
  CHECK(j["crashes"] == 1);
  CHECK(j["attempts"] == 1);
  const std::string second = slurm_id(d, id);
  CHECK(second != first);  // submitted again
  CHECK(cluster.job_state(first) == "CANCELLED");
  CHECK(wbtest::eventually([&] { return cluster.job_state(second) == "COMPLETED"; }, std::chrono::seconds(20)));
  CHECK(d.logged(id, "Slurm job " + first + " ended CANCELLED without the job's result"));
  bool resumed = false;
  for (auto& l : d.logs(id)) resumed |= l.find("resumed from") != std::string::npos;
  CHECK(resumed);
  std::set<int64_t> seen;
  for (auto& [step, v] : d.metric(id, "train_loss")) seen.insert(step);
  CHECK(seen.size() == static_cast<size_t>(steps));
  CHECK(d.d.get("/v1/adapters").text.find("resumed") != std::string::npos);
}
