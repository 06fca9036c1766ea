// The job queue: state machine, claim_next under concurrency, crash recovery.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "storage_test_util.h"

using namespace wb::storage;
using wb::storage::test::TempDir;

namespace {
const nlohmann::json kNoSpec = nlohmann::json::object();
}  // namespace

TEST_CASE("create, get and list newest first") {
  TempDir dir;
  Store store(dir / "wb.db");
  auto a = store.jobs().create("sft", {{"lr", 0.001}, {"steps", 10}});
  auto b = store.jobs().create("reward", nlohmann::json::object(), 5);
  CHECK(a.state == JobState::Queued);
  CHECK(a.attempts == 0);
  CHECK(a.progress == 0);
  CHECK_FALSE(a.started);
  CHECK_FALSE(a.error);
  CHECK(b.id > a.id);
  CHECK(store.jobs().get(a.id).spec["steps"] == 10);

  auto all = store.jobs().list();
  REQUIRE(all.size() == 2);
  CHECK(all[0].id == b.id);
  CHECK(store.jobs().list(JobState::Running).empty());
  CHECK(store.jobs().list(std::nullopt, 1).size() == 1);

  nlohmann::json j = a;
  for (const char* key : {"id", "kind", "spec", "state", "progress", "phase", "error", "created", "started",
                          "finished", "checkpoint", "attempts", "cancel_requested", "priority"})
    CHECK(j.contains(key));
  CHECK(j["state"] == "queued");
  CHECK(j["error"].is_null());

  CHECK_THROWS_AS(store.jobs().get(999), NotFound);
  CHECK_FALSE(store.jobs().find(999));
  CHECK_THROWS_AS(store.jobs().create("", kNoSpec), Invalid);
  CHECK_THROWS_AS(store.jobs().create("sft", nlohmann::json::array()), Invalid);
  CHECK_THROWS_AS(store.jobs().create("sft", nullptr), Invalid);
}

TEST_CASE("legal transitions: queued -> running -> final, and re-queue") {
  TempDir dir;
  Store store(dir / "wb.db");
  auto job = store.jobs().create("sft", kNoSpec);
  auto running = store.jobs().start(job.id);
  CHECK(running.state == JobState::Running);
  CHECK(running.started);

  store.jobs().set_progress(job.id, 0.5, "train");
  store.jobs().set_checkpoint(job.id, "/data/jobs/1/ckpt-50");
  auto requeued = store.jobs().requeue(job.id);
  CHECK(requeued.state == JobState::Queued);
  CHECK(requeued.attempts == 1);
  CHECK(requeued.checkpoint == std::optional<std::string>("/data/jobs/1/ckpt-50"));
  CHECK(requeued.progress == 0.5);

  store.jobs().start(job.id);
  auto done = store.jobs().finish(job.id, JobState::Succeeded);
  CHECK(done.state == JobState::Succeeded);
  CHECK(done.progress == 1.0);
  CHECK(done.finished);

  auto f = store.jobs().create("sft", kNoSpec);
  store.jobs().start(f.id);
  auto failed = store.jobs().finish(f.id, JobState::Failed, "out of memory");
  CHECK(failed.error == std::optional<std::string>("out of memory"));
  CHECK(store.jobs().counts()[JobState::Succeeded] == 1);
  CHECK(store.jobs().counts()[JobState::Failed] == 1);
  CHECK(store.jobs().counts()[JobState::Queued] == 0);
}

TEST_CASE("illegal transitions are refused with Conflict and change nothing") {
  TempDir dir;
  Store store(dir / "wb.db");
  auto job = store.jobs().create("sft", kNoSpec);
  CHECK_THROWS_AS(store.jobs().finish(job.id, JobState::Succeeded), Conflict);  // queued -> succeeded
  CHECK_THROWS_AS(store.jobs().requeue(job.id), Conflict);                      // queued -> queued
  CHECK_THROWS_AS(store.jobs().set_progress(job.id, 0.1, "train"), Conflict);   // not running
  store.jobs().start(job.id);
  CHECK_THROWS_AS(store.jobs().start(job.id), Conflict);  // running -> running
  CHECK_THROWS_AS(store.jobs().finish(job.id, JobState::Queued), Invalid);  // not a final state
  store.jobs().finish(job.id, JobState::Succeeded);
  try {
    store.jobs().start(job.id);
    FAIL("succeeded -> running must be refused");
  } catch (const Conflict& e) {
    CHECK(std::string(e.what()) == "job " + std::to_string(job.id) + ": cannot go from succeeded to running");
  }
  CHECK_THROWS_AS(store.jobs().finish(job.id, JobState::Failed), Conflict);
  CHECK_THROWS_AS(store.jobs().requeue(job.id), Conflict);
  CHECK_THROWS_AS(store.jobs().cancel(job.id), Conflict);
  CHECK(store.jobs().get(job.id).state == JobState::Succeeded);
  CHECK_THROWS_AS(store.jobs().start(12345), NotFound);
  CHECK_THROWS_AS(store.jobs().set_progress(job.id, 1.5, "x"), Invalid);
  CHECK_THROWS_AS(store.jobs().set_checkpoint(12345, "/x"), NotFound);
  CHECK_THROWS_AS(store.jobs().set_checkpoint(job.id, ""), Invalid);
}

TEST_CASE("cancel: a queued job at once, a running job by request") {
  TempDir dir;
  Store store(dir / "wb.db");
  auto q = store.jobs().create("sft", kNoSpec);
  auto c = store.jobs().cancel(q.id);
  CHECK(c.state == JobState::Cancelled);
  CHECK(c.finished);
  CHECK_THROWS_AS(store.jobs().cancel(q.id), Conflict);

  auto r = store.jobs().create("sft", kNoSpec);
  store.jobs().start(r.id);
  CHECK_FALSE(store.jobs().cancel_requested(r.id));
  auto asked = store.jobs().cancel(r.id);
  CHECK(asked.state == JobState::Running);
  CHECK(asked.cancel_requested);
  CHECK(store.jobs().cancel_requested(r.id));
  CHECK(store.jobs().finish(r.id, JobState::Cancelled).state == JobState::Cancelled);
}

TEST_CASE("claim_next takes the highest priority, oldest first, and filters kinds") {
  TempDir dir;
  Store store(dir / "wb.db");
  CHECK_FALSE(store.jobs().claim_next());
  auto low1 = store.jobs().create("sft", kNoSpec, 0);
  auto high = store.jobs().create("reward", kNoSpec, 10);
  auto low2 = store.jobs().create("sft", kNoSpec, 0);
  CHECK(store.jobs().claim_next(std::vector<std::string>{"sft", "pretrain"})->id == low1.id);
  auto next = store.jobs().claim_next();
  REQUIRE(next);
  CHECK(next->id == high.id);
  CHECK(next->state == JobState::Running);
  CHECK(next->started);
  CHECK_FALSE(store.jobs().claim_next(std::vector<std::string>{"reward"}));
  CHECK(store.jobs().claim_next()->id == low2.id);
  CHECK_FALSE(store.jobs().claim_next());
}

TEST_CASE("claim_next from 8 threads hands each job out exactly once") {
  TempDir dir;
  Store store(dir / "wb.db");
  constexpr int kJobs = 200;
  for (int i = 0; i < kJobs; ++i) store.jobs().create("sft", {{"i", i}}, i % 3);
  std::mutex m;
  std::vector<std::int64_t> claimed;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      while (auto job = store.jobs().claim_next()) {
        std::lock_guard<std::mutex> g(m);
        claimed.push_back(job->id);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(claimed.size() == kJobs);
  CHECK(std::set<std::int64_t>(claimed.begin(), claimed.end()).size() == kJobs);
  CHECK(store.jobs().counts()[JobState::Running] == kJobs);
  CHECK(store.jobs().counts()[JobState::Queued] == 0);
}

TEST_CASE("claim_next through two Stores on one file (two processes' view) never doubles") {
  TempDir dir;
  Store a(dir / "wb.db");
  Store b(dir / "wb.db");
  constexpr int kJobs = 60;
  for (int i = 0; i < kJobs; ++i) a.jobs().create("sft", kNoSpec);
  std::mutex m;
  std::vector<std::int64_t> claimed;
  auto worker = [&](Store& s) {
    while (auto job = s.jobs().claim_next()) {
      std::lock_guard<std::mutex> g(m);
      claimed.push_back(job->id);
    }
  };
  std::thread t1(worker, std::ref(a)), t2(worker, std::ref(b)), t3(worker, std::ref(a)), t4(worker, std::ref(b));
  t1.join();
  t2.join();
  t3.join();
  t4.join();
  CHECK(claimed.size() == kJobs);
  CHECK(std::set<std::int64_t>(claimed.begin(), claimed.end()).size() == kJobs);
}

TEST_CASE("recover_after_crash re-queues running jobs with their checkpoint") {
  TempDir dir;
  std::int64_t with_ckpt = 0, without = 0, done = 0, queued = 0, cancelling = 0;
  {
    Store store(dir / "wb.db");
    with_ckpt = store.jobs().create("sft", kNoSpec).id;
    without = store.jobs().create("sft", kNoSpec).id;
    done = store.jobs().create("sft", kNoSpec).id;
    queued = store.jobs().create("sft", kNoSpec).id;
    cancelling = store.jobs().create("sft", kNoSpec).id;
    for (auto id : {with_ckpt, without, done, cancelling}) store.jobs().start(id);
    store.jobs().set_checkpoint(with_ckpt, "/ckpt/step-100");
    store.jobs().set_progress(with_ckpt, 0.4, "train");
    store.jobs().finish(done, JobState::Succeeded);
    store.jobs().cancel(cancelling);
    // the "daemon" dies here: the Store closes without finishing the running jobs
  }
  Store store(dir / "wb.db");
  auto changed = store.jobs().recover_after_crash();
  REQUIRE(changed.size() == 3);
  CHECK(changed[0].id == with_ckpt);
  CHECK(changed[0].state == JobState::Queued);
  CHECK(changed[0].attempts == 1);
  CHECK(changed[0].checkpoint == std::optional<std::string>("/ckpt/step-100"));
  CHECK(changed[0].progress == 0.4);
  CHECK(changed[1].id == without);
  CHECK(changed[1].state == JobState::Queued);
  CHECK_FALSE(changed[1].checkpoint);
  CHECK(changed[2].id == cancelling);
  CHECK(changed[2].state == JobState::Cancelled);
  CHECK(store.jobs().get(done).state == JobState::Succeeded);
  CHECK(store.jobs().get(queued).attempts == 0);
  CHECK(store.jobs().recover_after_crash().empty());  // nothing left running
  CHECK(store.jobs().claim_next()->id == with_ckpt);   // the oldest re-queued job runs first
  CHECK(store.integrity_check() == "ok");
}

TEST_CASE("a job the daemon dies under is resumed once, then held, and failed at max_attempts") {
  TempDir dir;
  Store store(dir / "wb.db");
  const auto id = store.jobs().create("sft", kNoSpec).id;
  store.jobs().start(id);
  store.jobs().set_checkpoint(id, "/ckpt/1");
  // first death: resumed
  auto r = store.jobs().recover_after_crash(3).at(0);
  CHECK(r.state == JobState::Queued);
  CHECK(r.crashes == 1);
  CHECK(r.resumed_after_crash);
  // second death in a row: held with the reason, checkpoint kept
  REQUIRE(store.jobs().claim_next()->id == id);
  r = store.jobs().recover_after_crash(3).at(0);
  CHECK(r.state == JobState::Held);
  CHECK(r.crashes == 2);
  CHECK(r.checkpoint == std::optional<std::string>("/ckpt/1"));
  REQUIRE(r.error);
  CHECK_THAT(*r.error, Catch::Contains("twice in a row") && Catch::Contains("wb job retry " + std::to_string(id)));
  CHECK_FALSE(store.jobs().claim_next());  // a held job is not run on its own
  // a person releases it; the third death reaches max_attempts = 3: failed for good
  r = store.jobs().retry(id);
  CHECK(r.state == JobState::Queued);
  CHECK_FALSE(r.error);
  REQUIRE(store.jobs().claim_next()->id == id);
  r = store.jobs().recover_after_crash(3).at(0);
  CHECK(r.state == JobState::Failed);
  REQUIRE(r.error);
  CHECK_THAT(*r.error, Catch::Contains("3 times") && Catch::Contains("jobs.max_attempts = 3"));
  CHECK_THROWS_AS(store.jobs().retry(id), Conflict);
}

TEST_CASE("a job whose worker dies follows the same rule, the cause leading the reason, and counts with daemon deaths") {
  TempDir dir;
  Store store(dir / "wb.db");
  const auto id = store.jobs().create("sft", kNoSpec).id;
  CHECK_THROWS_AS(store.jobs().worker_died(id, "worker killed by signal 11 (SIGSEGV)"), Conflict);  // queued
  store.jobs().start(id);
  store.jobs().set_checkpoint(id, "/ckpt/1");
  CHECK_THROWS_AS(store.jobs().worker_died(id, ""), Invalid);
  auto r = store.jobs().worker_died(id, "worker killed by signal 11 (SIGSEGV)", 3);
  CHECK(r.state == JobState::Queued);
  CHECK(r.crashes == 1);
  CHECK(r.attempts == 1);
  CHECK(r.resumed_after_crash);
  CHECK(r.checkpoint == std::optional<std::string>("/ckpt/1"));
  // a daemon death under the resumed run is the second in a row
  REQUIRE(store.jobs().claim_next()->id == id);
  r = store.jobs().recover_after_crash(3).at(0);
  CHECK(r.state == JobState::Held);
  r = store.jobs().retry(id);
  REQUIRE(store.jobs().claim_next()->id == id);
  r = store.jobs().worker_died(id, "worker killed by signal 9 (SIGKILL)", 3);
  CHECK(r.state == JobState::Failed);
  REQUIRE(r.error);
  CHECK_THAT(*r.error, Catch::StartsWith("worker killed by signal 9 (SIGKILL)") && Catch::Contains("3 times") &&
                           Catch::Contains("jobs.max_attempts = 3"));
  // a worker dying under a job whose cancel was requested ends it cancelled
  const auto other = store.jobs().create("sft", kNoSpec).id;
  store.jobs().start(other);
  store.jobs().cancel(other);
  CHECK(store.jobs().worker_died(other, "worker exited with status 1").state == JobState::Cancelled);
}

TEST_CASE("a clean re-queue between two deaths does not hold the job") {
  TempDir dir;
  Store store(dir / "wb.db");
  const auto id = store.jobs().create("sft", kNoSpec).id;
  store.jobs().start(id);
  CHECK(store.jobs().recover_after_crash(5).at(0).state == JobState::Queued);
  store.jobs().claim_next();
  store.jobs().requeue(id);  // shutdown: the run ended cleanly
  store.jobs().claim_next();
  auto r = store.jobs().recover_after_crash(5).at(0);
  CHECK(r.state == JobState::Queued);
  CHECK(r.crashes == 2);
}

TEST_CASE("hold keeps the checkpoint and the reason, retry and cancel release it") {
  TempDir dir;
  Store store(dir / "wb.db");
  const auto a = store.jobs().create("sft", kNoSpec).id;
  const auto b = store.jobs().create("sft", kNoSpec).id;
  CHECK_THROWS_AS(store.jobs().hold(a, "disk full"), Conflict);  // only a running job
  store.jobs().start(a);
  store.jobs().set_checkpoint(a, "/ckpt/a");
  auto r = store.jobs().hold(a, "disk full while writing a checkpoint");
  CHECK(r.state == JobState::Held);
  CHECK(r.error == std::optional<std::string>("disk full while writing a checkpoint"));
  CHECK(store.jobs().counts()[JobState::Held] == 1);
  CHECK(store.jobs().list(JobState::Held).size() == 1);
  CHECK_THROWS_AS(store.jobs().retry(b), Conflict);  // queued, not held
  r = store.jobs().retry(a);
  CHECK(r.state == JobState::Queued);
  CHECK(r.checkpoint == std::optional<std::string>("/ckpt/a"));
  store.jobs().start(a);
  store.jobs().hold(a, "again");
  CHECK(store.jobs().cancel(a).state == JobState::Cancelled);
}

TEST_CASE("a job's Slurm id is stored, shown and kept across a re-queue") {
  TempDir dir;
  Store store(dir / "wb.db");
  auto j = store.jobs().create("sft", kNoSpec);
  CHECK_FALSE(j.slurm_job_id);
  CHECK(nlohmann::json(j)["slurm_job_id"].is_null());
  store.jobs().claim_next();
  store.jobs().set_slurm_job_id(j.id, "4711");
  CHECK(store.jobs().get(j.id).slurm_job_id == std::optional<std::string>("4711"));
  CHECK(nlohmann::json(store.jobs().get(j.id))["slurm_job_id"] == "4711");
  store.jobs().worker_died(j.id, "Slurm job 4711 ended CANCELLED without the job's result");
  CHECK(store.jobs().get(j.id).slurm_job_id == std::optional<std::string>("4711"));  // until the next sbatch
  CHECK_THROWS_AS(store.jobs().set_slurm_job_id(j.id, ""), Invalid);
  CHECK_THROWS_AS(store.jobs().set_slurm_job_id(j.id + 100, "1"), NotFound);
}
