// Schema migrations keyed by PRAGMA user_version.
#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <fstream>
#include <thread>

#include "storage_test_util.h"
#include "wb/storage/migrations.h"

using namespace wb::storage;
using wb::storage::test::TempDir;

namespace {

bool has_table(Database& db, const std::string& name) {
  auto st = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
  st.bind(1, name);
  return st.step();
}

}  // namespace

TEST_CASE("An empty file migrates to the latest version, reopening changes nothing") {
  TempDir dir;
  {
    Store store(dir / "sub" / "wb.db");  // parent directory is created
    CHECK(store.schema_version() == latest_schema_version());
    CHECK(store.integrity_check() == "ok");
  }
  Database db(dir / "sub" / "wb.db");
  CHECK(db.user_version() == latest_schema_version());
  for (const char* t : {"models", "datasets", "examples", "comparisons", "jobs", "metrics", "job_logs", "adapters"})
    CHECK(has_table(db, t));
  CHECK(migrate(db) == latest_schema_version());  // idempotent
  Store again(dir / "sub" / "wb.db");
  CHECK(again.schema_version() == latest_schema_version());
}

TEST_CASE("A file at an older version is upgraded step by step, keeping its data") {
  TempDir dir;
  auto steps = schema_migrations();
  REQUIRE(steps.size() >= 2);
  {
    Database db(dir / "wb.db");
    CHECK(migrate(db, steps.first(1)) == 1);  // an "old build" that knew only version 1
    CHECK_FALSE(has_table(db, "comparisons"));
    db.exec("INSERT INTO jobs (kind, spec, created) VALUES ('sft', '{}', '2026-01-01T00:00:00Z')");
  }
  Store store(dir / "wb.db");
  CHECK(store.schema_version() == latest_schema_version());
  CHECK(store.jobs().get(1).kind == "sft");
  CHECK(wb::storage::test::count_rows(store, "comparisons") == 0);
}

TEST_CASE("A file from a newer build is refused and left untouched") {
  TempDir dir;
  {
    Database db(dir / "wb.db");
    db.exec("CREATE TABLE future (x INTEGER)");
    db.set_user_version(latest_schema_version() + 1);
  }
  try {
    Store store(dir / "wb.db");
    FAIL("a newer schema must be refused");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK(msg.find("schema version " + std::to_string(latest_schema_version() + 1)) != std::string::npos);
    CHECK(msg.find("newer") != std::string::npos);
  }
  Database db(dir / "wb.db");
  CHECK(db.user_version() == latest_schema_version() + 1);
  CHECK(has_table(db, "future"));
  CHECK_FALSE(has_table(db, "jobs"));
}

TEST_CASE("A failing step is rolled back whole, earlier steps stay applied") {
  TempDir dir;
  const std::array<Migration, 3> steps{{
      {1, "first", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);"},
      {2, "broken", "CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);"},
      {3, "never", "CREATE TABLE c (x INTEGER);"},
  }};
  Database db(dir / "m.db");
  try {
    migrate(db, steps);
    FAIL("step 2 must fail");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("migration to version 2 (broken)") != std::string::npos);
  }
  CHECK(db.user_version() == 1);
  CHECK(has_table(db, "a"));
  CHECK_FALSE(has_table(db, "b"));
  CHECK_FALSE(has_table(db, "c"));

  const std::array<Migration, 2> gap{{{1, "one", "SELECT 1;"}, {3, "three", "SELECT 1;"}}};
  CHECK_THROWS_AS(migrate(db, gap), Error);
}

TEST_CASE("The schema's CHECK constraints hold the enums") {
  TempDir dir;
  Store store(dir / "wb.db");
  auto lock = store.connection().lock();
  Database& db = store.connection().db();
  CHECK_THROWS_AS(db.exec("INSERT INTO jobs (kind, spec, state, created) VALUES ('x', '{}', 'paused', 'now')"), Invalid);
  CHECK_THROWS_AS(db.exec("INSERT INTO jobs (kind, spec, created) VALUES ('x', 'not json', 'now')"), Invalid);
  CHECK_THROWS_AS(db.exec("INSERT INTO datasets (name, kind, created) VALUES ('d', 'chat', 'now')"), Invalid);
  CHECK_THROWS_AS(db.exec("INSERT INTO adapters (name, path, base_model, rank, alpha, target_modules, kind, created) "
                          "VALUES ('a', 'p', 'm', 8, 16, '[\"q_proj\"]', 'critic', 'now')"),
                  Invalid);
  db.exec("INSERT INTO jobs (kind, spec, created) VALUES ('x', '{}', 'now')");
  CHECK_THROWS_AS(db.exec("INSERT INTO job_logs (job_id, time, level, message) VALUES (1, 'now', 'loud', 'm')"),
                  Invalid);
  db.exec("INSERT INTO job_logs (job_id, time, level, message) VALUES (1, 'now', 'info', 'm')");
}

TEST_CASE("Stores opening one new file at the same time migrate it once") {
  TempDir dir;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      try {
        Store store(dir / "wb.db");
        if (store.schema_version() != latest_schema_version()) ++failures;
        store.jobs().create("sft", nlohmann::json::object());
      } catch (const std::exception& e) {
        ++failures;
        UNSCOPED_INFO(e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  Store store(dir / "wb.db");
  CHECK(store.jobs().list().size() == 4);
  CHECK(store.integrity_check() == "ok");
}

TEST_CASE("A Store refuses a file that is not a database, naming it") {
  TempDir dir;
  wb::storage::test::write_file(dir / "wb.db", "this is a text file, not SQLite\n" + std::string(2000, '#'));
  try {
    Store store(dir / "wb.db");
    FAIL("junk must be refused");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK(msg.find("file is not a database") != std::string::npos);
    CHECK(msg.find((dir / "wb.db").string()) != std::string::npos);
  }
}

TEST_CASE("A zero-length file is refused, naming it, and left as found") {
  TempDir dir;
  wb::storage::test::write_file(dir / "wb.db", "");
  try {
    Store store(dir / "wb.db", OpenOptions{.refuse_empty_file = true});
    FAIL("a zero-length file must be refused");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains((dir / "wb.db").string()) && Catch::Contains("empty file (0 bytes)"));
  }
  CHECK(std::filesystem::file_size(dir / "wb.db") == 0);
}

TEST_CASE("Version 3 keeps the last of repeated metric points and then one point per step") {
  TempDir dir;
  {
    Database db(dir / "wb.db");
    CHECK(migrate(db, schema_migrations().first(2)) == 2);
    db.exec("INSERT INTO jobs (kind, spec, created) VALUES ('sft', '{}', '2026-01-01T00:00:00Z')");
    db.exec("INSERT INTO metrics (job_id, step, name, value) VALUES (1, 1, 'loss', 1.0), (1, 2, 'loss', 0.5), "
            "(1, 2, 'loss', 0.25), (1, 2, 'lr', 0.1)");
  }
  Store store(dir / "wb.db");
  auto pts = store.metrics().list(1, "loss");
  REQUIRE(pts.size() == 2);
  CHECK(pts[1].value == 0.25);
  store.metrics().add(1, 2, "loss", 0.125);
  CHECK(store.metrics().list(1).size() == 3);
}

TEST_CASE("A Store with quick_check refuses a file with a damaged page, naming it") {
  TempDir dir;
  {
    Store store(dir / "wb.db");
    auto job = store.jobs().create("sft", nlohmann::json::object()).id;
    std::vector<MetricPoint> pts;
    for (int i = 0; i < 5000; ++i) pts.push_back({i, "loss", 1.0 / (i + 1)});
    store.metrics().add_batch(job, pts);
  }
  {
    std::fstream f(dir / "wb.db", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    const auto size = static_cast<std::int64_t>(f.tellg());
    REQUIRE(size > 16 * 4096);
    f.seekp(size / 2 / 4096 * 4096);
    const std::string junk(64, '\x7f');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  CHECK_NOTHROW(Store(dir / "wb.db"));  // without the check the damage is not seen at open
  CHECK_THROWS_WITH(Store(dir / "wb.db", OpenOptions{.quick_check = true}),
                    Catch::Contains((dir / "wb.db").string()) && Catch::Contains("damaged (PRAGMA quick_check"));
}

TEST_CASE("Version 4 rebuilds jobs from a version 3 file keeping ids, metrics, logs and adapter links") {
  TempDir dir;
  {
    Database db(dir / "wb.db");
    CHECK(migrate(db, schema_migrations().first(3)) == 3);
    for (int i = 0; i < 3; ++i)
      db.exec("INSERT INTO jobs (kind, spec, state, created, checkpoint, attempts) VALUES ('sft', '{\"a\":1}', "
              "'running', '2026-01-01T00:00:00Z', '/ckpt', 2)");
    db.exec("DELETE FROM jobs WHERE id = 3");  // AUTOINCREMENT: 3 must not be handed out again
    db.exec("INSERT INTO metrics (job_id, step, name, value) VALUES (1, 1, 'loss', 1.0), (2, 1, 'loss', 2.0)");
    db.exec("INSERT INTO job_logs (job_id, time, level, message) VALUES (1, 't', 'info', 'hello')");
    db.exec("INSERT INTO adapters (name, path, base_model, job_id, rank, alpha, target_modules, kind, created) "
            "VALUES ('ad', '/p', 'base', 2, 4, 8, '[\"q_proj\"]', 'policy', 't')");
  }
  Store store(dir / "wb.db");
  CHECK(store.schema_version() == latest_schema_version());
  CHECK(store.integrity_check() == "ok");
  auto j1 = store.jobs().get(1);
  CHECK(j1.state == JobState::Running);
  CHECK(j1.attempts == 2);
  CHECK(j1.crashes == 0);
  CHECK(j1.checkpoint == std::optional<std::string>("/ckpt"));
  CHECK(j1.spec == nlohmann::json{{"a", 1}});
  CHECK(store.metrics().list(1).size() == 1);
  CHECK(store.metrics().list(2).size() == 1);
  CHECK(store.adapters().get("ad").job == std::optional<std::int64_t>(2));
  CHECK(store.jobs().create("sft", nlohmann::json::object()).id == 4);
  CHECK(store.jobs().hold(1, "disk full").state == JobState::Held);  // the widened CHECK
  // foreign keys are enforced again after the step
  CHECK_THROWS(store.metrics().add(99, 1, "loss", 1.0));
}

TEST_CASE("Version 5 admits text datasets and keeps every dataset, example and comparison") {
  TempDir dir;
  {
    Database db(dir / "wb.db");
    CHECK(migrate(db, schema_migrations().first(4)) == 4);
    db.exec("INSERT INTO datasets (name, kind, rows, created) VALUES ('p', 'prompt', 1, '2026-01-01T00:00:00Z')");
    db.exec("INSERT INTO examples (dataset_id, row_index, split, row) VALUES (1, 0, 'train', '{\"prompt\":\"hi\"}')");
    CHECK_THROWS(db.exec("INSERT INTO datasets (name, kind, created) VALUES ('t', 'text', '2026-01-01T00:00:00Z')"));
  }
  Store store(dir / "wb.db");
  CHECK(store.schema_version() == latest_schema_version());
  CHECK(store.integrity_check() == "ok");
  CHECK(wb::storage::test::count_rows(store, "examples") == 1);
  // The same connection that migrated stores a text dataset at once.
  ImportOptions o;
  o.name = "corpus";
  o.kind = DatasetKind::Text;
  o.format = TextFormat::Lines;
  auto rec = store.datasets().import_jsonl(o, "first document\n\nsecond one\r\n");
  CHECK(rec.rows == 2);
  CHECK(rec.kind == DatasetKind::Text);
  // Any other kind is still refused by the schema itself.
  Database raw(dir / "wb.db");
  CHECK_THROWS(raw.exec("INSERT INTO datasets (name, kind, created) VALUES ('x', 'nope', '2026-01-01T00:00:00Z')"));
}
