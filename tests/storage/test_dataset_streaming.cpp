// Streamed imports on real SQLite files: a dataset is written while hidden and appears whole in
// one commit; a replace keeps the old rows visible until then; a failed import leaves no row; a
// crash mid-import leaves rows nobody sees, removed by remove_unfinished(); long reads go page by
// page.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "storage_test_util.h"

using namespace wb::storage;
using wb::storage::test::count_rows;
using wb::storage::test::TempDir;

namespace {

std::string prompt_line(int i) { return "{\"prompt\":\"p" + std::to_string(i) + "\",\"completion\":\"c\"}"; }

std::string jsonl(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += prompt_line(i) + "\n";
  return s;
}

ImportOptions options(std::string name, bool replace = false) {
  ImportOptions o;
  o.name = std::move(name);
  o.kind = DatasetKind::Sft;
  o.source = "test";
  o.replace = replace;
  return o;
}

// A LineSource of `n` rows that calls `during(i)` before giving line i (0-based), outside the
// store's lock, so a test can look at the store in the middle of an import.
LineSource rows_calling(int n, std::function<void(int)> during) {
  return [n, during, i = 0, line = std::string()](std::string_view& out) mutable {
    if (i >= n) return false;
    during(i);
    line = prompt_line(i++);
    out = line;
    return true;
  };
}

}  // namespace

TEST_CASE("a streamed import is invisible until its last commit, then whole") {
  TempDir tmp;
  Store store(tmp.path() / "wb.db");
  std::int64_t seen_examples = 0;
  auto rec = store.datasets().import_lines(options("big"), rows_calling(20000, [&](int i) {
    if (i != 15000) return;
    // Many rows are written already, in committed transactions, and no reader sees them.
    seen_examples = count_rows(store, "examples");
    CHECK_FALSE(store.datasets().find("big"));
    CHECK(store.datasets().list().empty());
    CHECK(store.datasets().count() == 0);
  }));
  CHECK(seen_examples >= 10000);
  CHECK(rec.rows == 20000);
  CHECK(store.datasets().get("big").rows == 20000);
  CHECK(store.datasets().export_jsonl("big") == jsonl(20000));
}

TEST_CASE("a replace keeps the old dataset readable until the new one is complete") {
  TempDir tmp;
  Store store(tmp.path() / "wb.db");
  store.datasets().import_jsonl(options("d"), jsonl(3));
  CHECK_THROWS_AS(store.datasets().import_lines(options("d"), rows_calling(5, [](int) {})), Conflict);
  store.datasets().import_lines(options("d", true), rows_calling(5000, [&](int i) {
    if (i % 1000 != 999) return;
    CHECK(store.datasets().get("d").rows == 3);
    CHECK(store.datasets().export_jsonl("d") == jsonl(3));
    CHECK(store.datasets().list().size() == 1);
  }));
  CHECK(store.datasets().get("d").rows == 5000);
  CHECK(store.datasets().export_jsonl("d") == jsonl(5000));
  CHECK(count_rows(store, "examples") == 5000);  // the old rows are gone
  CHECK(count_rows(store, "datasets") == 1);
}

TEST_CASE("an import failing at a bad line deletes what it wrote and leaves the rest as it was") {
  TempDir tmp;
  Store store(tmp.path() / "wb.db");
  store.datasets().import_jsonl(options("keep"), jsonl(10));
  std::string text = jsonl(30000) + "{\"prompt\":\"no completion\"}\n";
  try {
    store.datasets().import_jsonl(options("bad"), text);
    FAIL("the bad line was accepted");
  } catch (const InvalidDataset& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("line 30001: "));
  }
  CHECK(count_rows(store, "examples") == 10);
  CHECK(count_rows(store, "datasets") == 1);
  CHECK(store.datasets().export_jsonl("keep") == jsonl(10));
  // The name is free.
  CHECK(store.datasets().import_jsonl(options("bad"), jsonl(2)).rows == 2);
}

TEST_CASE("a process that dies mid-import leaves hidden rows that remove_unfinished deletes") {
  TempDir tmp;
  const auto db = tmp.path() / "wb.db";
  {
    Store store(db);
    store.datasets().import_jsonl(options("keep"), jsonl(7));
  }
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child imports on its own connection and dies in the middle, as a killed daemon does.
    try {
      Store store(db);
      store.datasets().import_lines(options("half"), rows_calling(100000, [](int i) {
        if (i == 20000) ::_exit(0);
      }));
    } catch (...) {
    }
    ::_exit(1);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  Store store(db);
  CHECK(count_rows(store, "examples") > 7);  // the dead import's rows are there...
  CHECK(store.datasets().list().size() == 1);  // ...and nobody sees them
  CHECK_FALSE(store.datasets().find("half"));
  CHECK(store.datasets().remove_unfinished() == 1);
  CHECK(count_rows(store, "examples") == 7);
  CHECK(count_rows(store, "datasets") == 1);
  CHECK(store.datasets().export_jsonl("keep") == jsonl(7));
  CHECK(store.datasets().remove_unfinished() == 0);
  CHECK(store.datasets().import_jsonl(options("half"), jsonl(4)).rows == 4);
}

TEST_CASE("remove_unfinished leaves an import that is being written alone") {
  TempDir tmp;
  Store store(tmp.path() / "wb.db");
  std::int64_t removed = -1;
  auto rec = store.datasets().import_lines(options("live"), rows_calling(3000, [&](int i) {
    if (i == 2500) removed = store.datasets().remove_unfinished();
  }));
  CHECK(removed == 0);
  CHECK(rec.rows == 3000);
  CHECK(store.datasets().export_jsonl("live") == jsonl(3000));
}

TEST_CASE("delete removes a large dataset, and for_each_row reads page by page") {
  TempDir tmp;
  Store store(tmp.path() / "wb.db");
  store.datasets().import_jsonl(options("big"), jsonl(12000));
  // for_each_row calls back without the lock: the callback may use the store.
  std::int64_t n = store.datasets().for_each_row("big", std::nullopt, 100, 2500, [&](const ExampleRow& r) {
    CHECK(store.datasets().count() == 1);
    return r.index < 100000;
  });
  CHECK(n == 2500);
  std::int64_t last = -1, seen = 0;
  store.datasets().for_each_row("big", std::nullopt, 0, 0, [&](const ExampleRow& r) {
    CHECK(r.index == last + 1);
    last = r.index;
    ++seen;
    return true;
  });
  CHECK(seen == 12000);
  // Deleted while it is read: the reader is told, not handed a truncated dataset.
  CHECK_THROWS_AS(store.datasets().for_each_row("big", std::nullopt, 0, 0, [&](const ExampleRow& r) {
    if (r.index == 10) store.datasets().remove("big");
    return true;
  }), Conflict);
  CHECK_FALSE(store.datasets().find("big"));
  CHECK(count_rows(store, "examples") == 0);
  CHECK(count_rows(store, "datasets") == 0);
}

TEST_CASE("deleting a preference dataset removes its comparisons from every listing") {
  TempDir tmp;
  Store store(tmp.path() / "wb.db");
  for (int i = 0; i < 600; ++i) {
    NewComparison c;
    c.dataset = "labels";
    c.prompt = "q" + std::to_string(i);
    c.response_a = "a";
    c.response_b = "b";
    c.safety = "both_safe";
    c.annotator = "ann";
    store.comparisons().insert(c);
  }
  CHECK(store.comparisons().list(std::nullopt, 0, 0).total == 600);
  store.datasets().remove("labels");
  CHECK(store.comparisons().list(std::nullopt, 0, 0).total == 0);
  CHECK(store.comparisons().stats(std::nullopt).total == 0);
  CHECK(count_rows(store, "comparisons") == 0);
  CHECK(count_rows(store, "examples") == 0);
}
