// Data-parallel jobs through the daemon (spec world > 1): a real workbenchd with the sft plugin
// on a temp socket starts `mpirun -np N wb-worker ...`, whose ranks reach it over its Unix socket.
// A LoRA SFT job on 2 ranks trains the adapter one process trains with twice the micro-batches;
// its metrics, progress, logs and result are recorded once; a rank killed mid-step crashes the
// run, and the job resumes from its checkpoint and finishes; bad `world` values are refused at
// submission with nothing stored. Skipped (77) only where mpirun is not installed.
#include "mpi_job_cases.h"

TEST_CASE("a LoRA sft job on 2 ranks trains the adapter one process trains with twice the micro-batches", "[mpi]") {
  same_as_one_process("lora", 2, 2);
}

TEST_CASE("a LoRA sft job on 4 ranks trains the adapter one process trains with 4 times the micro-batches", "[mpi]") {
  same_as_one_process("lora", 4, 1);
}

TEST_CASE("a full sft job on 2 ranks trains the model one process trains with twice the micro-batches", "[mpi]") {
  same_as_one_process("full", 2, 2);
}

TEST_CASE("a rank killed mid-step fails the run clearly and the job resumes from its checkpoint", "[mpi]") {
  mpi_environment();
  SftDaemon d(WB_SFT_TEST_PLUGIN_DIR, "cpu", "[jobs]\nstop_grace_s = 2\n");
  d.import_sft("chat", "sft_train.jsonl");
  d.init_tiny("base");
  const int steps = 300;
  json spec = lora_spec("survivor", steps);
  spec["world"] = 2;
  spec["checkpoint_every"] = 5;
  spec["batch_size"] = 4;
  const int64_t id = d.submit("sft", spec);
  json mid;
  REQUIRE(wbtest::eventually([&] {
    mid = d.d.job(id);
    return mid["checkpoint"].is_string() || mid["state"] != "running";
  }, std::chrono::seconds(90)));
  INFO(mid.dump());
  REQUIRE(mid["state"] == "running");
  const pid_t victim = rank_pid(d, id, 1);
  REQUIRE(victim > 0);
  REQUIRE_THAT(cmdline(victim), Catch::Contains("wb-worker") && Catch::Contains("--daemon-socket"));
  REQUIRE(::kill(victim, SIGKILL) == 0);

  json j = d.wait_final(id, std::chrono::seconds(240));
  for (auto& l : d.logs(id)) UNSCOPED_INFO(l);
  INFO(j.dump());
  REQUIRE(j["state"] == "succeeded");
  CHECK(j["crashes"] == 1);
  bool reason = false, resumed = false;
  for (auto& l : d.logs(id)) {
    reason |= l.find("mpirun exited") != std::string::npos && l.find("re-queued") != std::string::npos;
    resumed |= l.find("resumed from") != std::string::npos;
  }
  CHECK(reason);
  CHECK(resumed);
  std::set<int64_t> seen;
  for (auto& [step, v] : d.metric(id, "train_loss")) seen.insert(step);
  CHECK(seen.size() == static_cast<size_t>(steps));
  CHECK(::kill(victim, 0) != 0);
}

TEST_CASE("wb job cancel of a 2-rank job stops both ranks at one step and ends it cancelled", "[mpi]") {
  mpi_environment();
  SftDaemon d;  // stop_grace_s 10: the ranks must stop on their own, not by SIGTERM
  d.import_sft("chat", "sft_train.jsonl");
  d.init_tiny("base");
  json spec = lora_spec("cancelled", 100000);
  spec["world"] = 2;
  const int64_t id = d.submit("sft", spec);
  REQUIRE(wbtest::eventually([&] { return d.metric(id, "train_loss").size() >= 3; }, std::chrono::seconds(60)));
  const pid_t r0 = rank_pid(d, id, 0), r1 = rank_pid(d, id, 1);
  REQUIRE(r0 > 0);
  REQUIRE(r1 > 0);
  const auto asked = std::chrono::steady_clock::now();
  WbRun r = run_wb(d.socket(), "job cancel " + std::to_string(id));
  INFO(r.out);
  CHECK(r.code == 0);
  json j = d.wait_final(id, std::chrono::seconds(60));
  CHECK(j["state"] == "cancelled");
  CHECK(std::chrono::steady_clock::now() - asked < std::chrono::seconds(8));
  bool cancelled_at = false;
  for (auto& l : d.logs(id)) cancelled_at |= l.rfind("cancelled at step ", 0) == 0;
  CHECK(cancelled_at);  // rank 0 returned WB_CANCELLED: a cooperative stop
  CHECK(wbtest::eventually([&] { return ::kill(r0, 0) != 0 && ::kill(r1, 0) != 0; }, std::chrono::seconds(10)));
}

TEST_CASE("a daemon stopped under a 2-rank job gets rank 0's checkpoint and the next daemon finishes the job", "[mpi]") {
  mpi_environment();
  SftDaemon d;
  d.import_sft("chat", "sft_train.jsonl");
  d.init_tiny("base");
  const int steps = 400;
  json spec = lora_spec("after-term", steps);
  spec["world"] = 2;
  const int64_t id = d.submit("sft", spec);
  REQUIRE(wbtest::eventually([&] { return d.metric(id, "train_loss").size() >= 3; }, std::chrono::seconds(60)));
  CHECK(d.d.process.terminate() == 0);
  d.d.process.start();
  json j = d.wait_final(id, std::chrono::seconds(180));
  std::string log;
  for (auto& l : d.logs(id)) log += l + "\n";
  INFO(log);
  std::ifstream mlog(d.data_dir() / "jobs" / std::to_string(id) / "mpirun.log");
  std::stringstream mss;
  mss << mlog.rdbuf();
  INFO(mss.str());
  REQUIRE(j["state"] == "succeeded");
  CHECK(j["crashes"] == 0);
  bool saved = false, resumed = false;
  for (auto& l : d.logs(id)) {
    saved |= l.find("checkpoint saved") != std::string::npos;
    resumed |= l.find("resumed from") != std::string::npos;
  }
  CHECK(saved);
  CHECK(resumed);
  std::set<int64_t> seen;
  for (auto& [step, v] : d.metric(id, "train_loss")) seen.insert(step);
  CHECK(seen.size() == static_cast<size_t>(steps));
}

TEST_CASE("a rank that stops sending heartbeats gets its run stopped and the job resumes", "[mpi]") {
  mpi_environment();
  SftDaemon d(WB_SFT_TEST_PLUGIN_DIR, "cpu", "[jobs]\nheartbeat_timeout_s = 2\nstop_grace_s = 1\n");
  d.import_sft("chat", "sft_train.jsonl");
  d.init_tiny("base");
  const int steps = 300;
  json spec = lora_spec("revived", steps);
  spec["world"] = 2;
  spec["checkpoint_every"] = 5;
  spec["batch_size"] = 4;
  const int64_t id = d.submit("sft", spec);
  REQUIRE(wbtest::eventually([&] { return d.d.job(id)["checkpoint"].is_string(); }, std::chrono::seconds(90)));
  const pid_t frozen = rank_pid(d, id, 1);
  REQUIRE(frozen > 0);
  REQUIRE(::kill(frozen, SIGSTOP) == 0);  // hung: no heartbeat, no exit
  json j = d.wait_final(id, std::chrono::seconds(180));
  for (auto& l : d.logs(id)) UNSCOPED_INFO(l);
  REQUIRE(j["state"] == "succeeded");
  CHECK(j["crashes"] == 1);
  CHECK(d.logged(id, "rank 1 sent no heartbeat for 2 s (jobs.heartbeat_timeout_s); stopped: mpirun"));
  CHECK(wbtest::eventually([&] { return ::kill(frozen, 0) != 0; }, std::chrono::seconds(10)));
}

TEST_CASE("a held job retried with another world is refused unless reshard, then continues from its checkpoint", "[mpi]") {
  mpi_environment();
  SftDaemon d(WB_SFT_TEST_PLUGIN_DIR, "cpu", "[jobs]\nstop_grace_s = 2\n");
  d.import_sft("chat", "sft_train.jsonl");
  d.init_tiny("base");
  const int steps = 300;
  json spec = lora_spec("resharded", steps);
  spec["world"] = 2;
  spec["checkpoint_every"] = 5;
  spec["batch_size"] = 4;
  const int64_t id = d.submit("sft", spec);
  // Two deaths in a row hold the job: rank 1 killed once mid-run, once more in the resumed run.
  REQUIRE(wbtest::eventually([&] { return d.d.job(id)["checkpoint"].is_string(); }, std::chrono::seconds(90)));
  const pid_t first = rank_pid(d, id, 1);
  REQUIRE(first > 0);
  REQUIRE(::kill(first, SIGKILL) == 0);
  pid_t second = 0;
  REQUIRE(wbtest::eventually([&] {
    second = rank_pid(d, id, 1);
    return second > 0 && second != first;
  }, std::chrono::seconds(90)));
  REQUIRE(::kill(second, SIGKILL) == 0);
  json held;
  REQUIRE(wbtest::eventually([&] { return (held = d.d.job(id))["state"] == "held"; }, std::chrono::seconds(60)));
  INFO(held.dump());

  // One process cannot take the two ranks' checkpoint as it is: refused, the job stays held.
  WbRun no = run_wb(d.socket(), "job retry " + std::to_string(id) + " --set world=1");
  INFO(no.out);
  CHECK(no.code != 0);
  CHECK_THAT(no.out, Catch::Contains("checkpoint was written by 2 ranks; this run has 1: set reshard=true"));
  CHECK(d.d.job(id)["state"] == "held");
  CHECK(d.d.job(id)["spec"]["world"] == 2);

  WbRun yes = run_wb(d.socket(), "job retry " + std::to_string(id) + " --set world=1 --set reshard=true");
  INFO(yes.out);
  REQUIRE(yes.code == 0);
  json j = d.wait_final(id, std::chrono::seconds(180));
  for (auto& l : d.logs(id)) UNSCOPED_INFO(l);
  REQUIRE(j["state"] == "succeeded");
  CHECK(j["spec"]["world"] == 1);
  std::set<int64_t> seen;
  for (auto& [step, v] : d.metric(id, "train_loss")) seen.insert(step);
  CHECK(seen.size() == static_cast<size_t>(steps));
  CHECK(d.logged(id, "released by a person (retry); resumes from checkpoint"));
}

TEST_CASE("bad world values are refused at submission naming the field, nothing stored", "[mpi]") {
  mpi_environment();
  SftDaemon d;
  d.import_sft("chat", "sft_train.jsonl");
  d.init_tiny("base");
  const size_t jobs_before = d.d.get("/v1/jobs").body["jobs"].size();  // model_init's
  auto refused = [&](const json& world, const std::string& says) {
    json spec = lora_spec("never", 2);
    spec["world"] = world;
    auto r = submit_raw(d, spec);
    INFO(r.text);
    CHECK(r.status == 400);
    CHECK_THAT(r.text, Catch::Contains(says));
  };
  refused(0, "field 'spec.world': expected an integer >= 1");
  refused("two", "field 'spec.world': expected an integer >= 1");
  refused(1.5, "field 'spec.world': expected an integer >= 1");
  // A kind that runs as one process.
  auto ev = d.d.post("/v1/jobs", json{{"kind", "eval"}, {"spec", {{"model", "base"}, {"dataset", "chat"}, {"world", 2}}}});
  CHECK(ev.status == 400);
  CHECK_THAT(ev.text, Catch::Contains("field 'spec.world'") && Catch::Contains("does not run data-parallel"));
  // Slurm runs one rank here.
  json slurm = lora_spec("never", 2);
  slurm["world"] = 2;
  slurm["launcher"] = "slurm";
  slurm["partition"] = "debug";
  auto sr = submit_raw(d, slurm);
  CHECK(sr.status == 400);
  CHECK_THAT(sr.text, Catch::Contains("field 'spec.world'"));
  CHECK(d.d.get("/v1/jobs").body["jobs"].size() == jobs_before);
}

TEST_CASE("world above one is refused when the daemon runs jobs in process", "[mpi]") {
  mpi_environment();
  SftDaemon d(WB_SFT_TEST_PLUGIN_DIR, "cpu", "[jobs]\nisolation = \"in_process\"\n");
  d.import_sft("chat", "sft_train.jsonl");
  d.init_tiny("base");
  const size_t jobs_before = d.d.get("/v1/jobs").body["jobs"].size();
  json spec = lora_spec("never", 2);
  spec["world"] = 2;
  auto r = submit_raw(d, spec);
  INFO(r.text);
  CHECK(r.status == 400);
  CHECK_THAT(r.text, Catch::Contains("field 'spec.world'") && Catch::Contains("in_process"));
  CHECK(d.d.get("/v1/jobs").body["jobs"].size() == jobs_before);
  // world = 1 is what a job is anyway.
  spec["world"] = 1;
  spec["output"] = "one";
  d.run_job("sft", spec);
}
