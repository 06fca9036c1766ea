// Every Store method may be called from many threads at once (the daemon's HTTP and job threads).
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "storage_test_util.h"

using namespace wb::storage;
using wb::storage::test::count_rows;
using wb::storage::test::TempDir;

TEST_CASE("mixed work from 8 threads keeps every table consistent") {
  TempDir dir;
  Store store(dir / "wb.db");
  constexpr int kThreads = 8;
  constexpr int kRounds = 15;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int r = 0; r < kRounds; ++r) {
          const std::string tag = std::to_string(t) + "-" + std::to_string(r);
          auto job = store.jobs().create("sft", {{"tag", tag}});
          store.metrics().add_batch(job.id, {{1, "loss", 1.0}, {2, "loss", 0.5}});
          store.metrics().add_log(job.id, "info", "round " + tag);
          ImportOptions o;
          o.name = "d" + tag;
          o.kind = DatasetKind::Prompt;
          store.datasets().import_jsonl(o, "{\"prompt\":\"" + tag + "\"}\n{\"prompt\":\"x\"}\n");
          NewComparison c;
          c.dataset = "shared";
          c.prompt = "p" + tag;
          c.response_a = "a";
          c.response_b = "b";
          c.rating = r % 4;
          c.safety = "both_safe";
          c.annotator = "t" + std::to_string(t);
          store.comparisons().insert(c);
          store.datasets().list();
          store.jobs().list();
          if (auto claimed = store.jobs().claim_next()) store.jobs().finish(claimed->id, JobState::Succeeded);
        }
      } catch (const std::exception& e) {
        ++failures;
        UNSCOPED_INFO(e.what());
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  const int total = kThreads * kRounds;
  CHECK(count_rows(store, "jobs") == total);
  CHECK(count_rows(store, "metrics") == 2 * total);
  CHECK(count_rows(store, "job_logs") == total);
  CHECK(store.datasets().count() == total + 1);  // + "shared"
  auto shared = store.datasets().get("shared");
  CHECK(shared.rows == total);
  // Appended rows got distinct, dense indices 0..total-1.
  auto page = store.datasets().rows("shared", 0, 0);
  REQUIRE(page.rows.size() == static_cast<std::size_t>(total));
  for (int i = 0; i < total; ++i) CHECK(page.rows[static_cast<std::size_t>(i)].index == i);
  CHECK(store.jobs().counts()[JobState::Succeeded] == total);
  CHECK(store.integrity_check() == "ok");
}
