// Per-job metrics (single and batched) and log lines.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "storage_test_util.h"

using namespace wb::storage;
using wb::storage::test::count_rows;
using wb::storage::test::TempDir;

namespace {
const nlohmann::json kNoSpec = nlohmann::json::object();
}  // namespace

TEST_CASE("metrics: add, batch, list by name, latest") {
  TempDir dir;
  Store store(dir / "wb.db");
  auto job = store.jobs().create("sft", kNoSpec).id;
  store.metrics().add(job, 1, "train_loss", 2.5);
  std::vector<MetricPoint> batch;
  for (int s = 2; s <= 100; ++s) {
    batch.push_back({s, "train_loss", 2.5 / s});
    batch.push_back({s, "lr", 1e-3});
  }
  store.metrics().add_batch(job, batch);
  auto loss = store.metrics().list(job, "train_loss");
  REQUIRE(loss.size() == 100);
  CHECK(loss.front().step == 1);
  CHECK(loss.back().step == 100);
  CHECK(loss.back().value == Approx(0.025));
  CHECK(store.metrics().list(job).size() == 199);
  auto latest = store.metrics().latest(job);
  REQUIRE(latest.size() == 2);
  CHECK(latest["train_loss"].step == 100);
  CHECK(latest["lr"].value == 1e-3);
  nlohmann::json j = latest["train_loss"];
  CHECK(j == nlohmann::json{{"step", 100}, {"name", "train_loss"}, {"value", 0.025}});
}

TEST_CASE("metrics: bad input is refused and a bad batch stores nothing") {
  TempDir dir;
  Store store(dir / "wb.db");
  auto job = store.jobs().create("sft", kNoSpec).id;
  CHECK_THROWS_AS(store.metrics().add(999, 1, "x", 1.0), NotFound);
  CHECK_THROWS_AS(store.metrics().add(job, 1, "", 1.0), Invalid);
  CHECK_THROWS_AS(store.metrics().add(job, 1, "x", std::nan("")), Invalid);
  std::vector<MetricPoint> batch{{1, "a", 1.0}, {2, "a", std::numeric_limits<double>::infinity()}};
  CHECK_THROWS_AS(store.metrics().add_batch(job, batch), Invalid);
  CHECK(count_rows(store, "metrics") == 0);
  CHECK_THROWS_AS(store.metrics().list(999), NotFound);
}

TEST_CASE("logs: ordered lines with a cursor") {
  TempDir dir;
  Store store(dir / "wb.db");
  auto job = store.jobs().create("sft", kNoSpec).id;
  auto first = store.metrics().add_log(job, "info", "starting");
  store.metrics().add_log(job, "warn", "slow step");
  store.metrics().add_log(job, "error", "ünïcode ok");
  auto all = store.metrics().logs(job);
  REQUIRE(all.size() == 3);
  CHECK(all[0].message == "starting");
  CHECK(all[0].time.size() == 24);  // 2026-11-27T02:11:00.123Z
  CHECK(all[2].level == "error");
  auto after = store.metrics().logs(job, first);
  REQUIRE(after.size() == 2);
  CHECK(after[0].level == "warn");
  CHECK(store.metrics().logs(job, first, 1).size() == 1);
  CHECK_THROWS_AS(store.metrics().add_log(job, "loud", "x"), Invalid);
  CHECK_THROWS_AS(store.metrics().add_log(999, "info", "x"), NotFound);
}

TEST_CASE("metrics: a step written again replaces its point (a resumed job repeats steps)") {
  TempDir dir;
  Store store(dir / "wb.db");
  auto job = store.jobs().create("sft", kNoSpec).id;
  std::vector<MetricPoint> first, resumed;
  for (int s = 1; s <= 30; ++s) first.push_back({s, "train_loss", 1.0 / s});
  store.metrics().add_batch(job, first);
  // Killed after step 30, resumed from the checkpoint of step 20: steps 21..50 are written.
  for (int s = 21; s <= 50; ++s) resumed.push_back({s, "train_loss", 2.0 / s});
  store.metrics().add_batch(job, resumed);
  auto pts = store.metrics().list(job, "train_loss");
  REQUIRE(pts.size() == 50);
  for (std::size_t i = 0; i < pts.size(); ++i) CHECK(pts[i].step == static_cast<std::int64_t>(i + 1));
  CHECK(pts[24].value == Approx(2.0 / 25));  // the resumed run's value
  CHECK(pts[9].value == Approx(1.0 / 10));
  CHECK(count_rows(store, "metrics") == 50);
}
