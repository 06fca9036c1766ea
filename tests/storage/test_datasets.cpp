// Dataset import/export through the Store on real SQLite files.
#include <catch2/catch.hpp>

#include "storage_test_util.h"
#include "wb/storage/dataset_format.h"

using namespace wb::storage;
using wb::storage::test::count_rows;
using wb::storage::test::TempDir;

namespace {

// n canonical preference rows with varied optional fields, escapes and non-ASCII text.
std::string preference_file(int n) {
  static const char* safety[] = {"both_safe", "chosen_safe", "both_unsafe"};
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += "{\"prompt\":\"question " + std::to_string(i) + " — ¿qué? \\\"quoted\\\"\\n\"";
    out += ",\"chosen\":\"good answer " + std::to_string(i * 7) + " ✓\"";
    out += ",\"rejected\":\"bad answer\\t" + std::to_string(i) + "\"";
    if (i % 2 == 0) out += ",\"rating\":" + std::to_string(i % 4);
    if (i % 3 != 0) out += std::string(",\"safety\":\"") + safety[i % 3] + "\"";
    if (i % 5 == 0) out += std::string(",\"is_safety_prompt\":") + (i % 10 == 0 ? "true" : "false");
    out += "}\n";
  }
  return out;
}

ImportOptions options(std::string name, DatasetKind kind, double eval_fraction = 0.0) {
  ImportOptions o;
  o.name = std::move(name);
  o.kind = kind;
  o.source = "test";
  o.eval_fraction = eval_fraction;
  return o;
}

}  // namespace

TEST_CASE("import each kind, the record counts rows and splits") {
  TempDir dir;
  Store store(dir / "wb.db");
  auto sft = store.datasets().import_jsonl(options("chat", DatasetKind::Sft),
                                           "{\"prompt\":\"a\",\"completion\":\"b\"}\n"
                                           "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                                           "{\"role\":\"assistant\",\"content\":\"yo\"}]}\n");
  CHECK(sft.name == "chat");
  CHECK(sft.kind == DatasetKind::Sft);
  CHECK(sft.source == "test");
  CHECK(sft.rows == 2);
  CHECK(sft.train_rows == 2);
  CHECK(sft.eval_rows == 0);
  CHECK(sft.created.size() == 20);

  auto pref = store.datasets().import_jsonl(options("pairs", DatasetKind::Preference),
                                            R"({"prompt":"p","chosen":"c","rejected":"r","rating":1})");
  CHECK(pref.rows == 1);
  auto prompts = store.datasets().import_jsonl(options("prompts", DatasetKind::Prompt),
                                               "{\"prompt\":\"a\"}\n{\"prompt\":\"b\",\"system\":\"s\"}\n");
  CHECK(prompts.rows == 2);

  auto all = store.datasets().list();
  REQUIRE(all.size() == 3);
  CHECK(all[0].name == "chat");
  CHECK(all[2].name == "prompts");
  CHECK(store.datasets().count() == 3);

  nlohmann::json j = store.datasets().get("pairs");
  CHECK(j["kind"] == "preference");
  CHECK(j["rows"] == 1);
  CHECK(j["train_rows"] == 1);
  CHECK(j["eval_rows"] == 0);
  CHECK(j.contains("created"));
  CHECK(store.integrity_check() == "ok");
}

TEST_CASE("10,000-row file: export is byte-identical, and import(export(x)) is a fixed point") {
  TempDir dir;
  Store store(dir / "wb.db");
  const std::string file = preference_file(10000);
  auto rec = store.datasets().import_jsonl(options("big", DatasetKind::Preference), file);
  CHECK(rec.rows == 10000);
  const std::string exported = store.datasets().export_jsonl("big");
  CHECK(exported.size() == file.size());
  CHECK(exported == file);  // the file was already canonical

  // A non-canonical spelling of the same rows exports canonically and stays fixed.
  const std::string loose = "{ \"rejected\" : \"r\", \"prompt\": \"p\\u00e9\", \"chosen\":\"c\" }\r\n"
                            "{\"rating\":2,\"chosen\":\"c2\",\"prompt\":\"p2\",\"rejected\":\"r2\"}";
  store.datasets().import_jsonl(options("loose", DatasetKind::Preference), loose);
  const std::string e1 = store.datasets().export_jsonl("loose");
  CHECK(e1 == "{\"prompt\":\"pé\",\"chosen\":\"c\",\"rejected\":\"r\"}\n"
              "{\"prompt\":\"p2\",\"chosen\":\"c2\",\"rejected\":\"r2\",\"rating\":2}\n");
  store.datasets().import_jsonl(options("again", DatasetKind::Preference), e1);
  CHECK(store.datasets().export_jsonl("again") == e1);
}

TEST_CASE("a bad line 5001 rejects the whole file and changes no table") {
  TempDir dir;
  Store store(dir / "wb.db");
  store.datasets().import_jsonl(options("keep", DatasetKind::Preference), preference_file(10));
  const auto datasets_before = count_rows(store, "datasets");
  const auto examples_before = count_rows(store, "examples");

  std::string file = preference_file(5000);
  file += "{\"prompt\":\"p\",\"chosen\":\"c\",\"rejected\":\"r\",\"rating\":7}\n";
  file += preference_file(5000);
  try {
    store.datasets().import_jsonl(options("bad", DatasetKind::Preference), file);
    FAIL("the import must be rejected");
  } catch (const InvalidDataset& e) {
    CHECK(std::string(e.what()) == "line 5001: field 'rating': expected an integer 0..3, got 7");
    CHECK(e.line() == 5001);
  }
  CHECK(count_rows(store, "datasets") == datasets_before);
  CHECK(count_rows(store, "examples") == examples_before);
  CHECK_FALSE(store.datasets().find("bad").has_value());

  // replace=true with a bad file keeps the old dataset whole.
  auto o = options("keep", DatasetKind::Preference);
  o.replace = true;
  CHECK_THROWS_AS(store.datasets().import_jsonl(o, file), InvalidDataset);
  CHECK(store.datasets().get("keep").rows == 10);
  CHECK(store.datasets().export_jsonl("keep") == preference_file(10));
  CHECK(count_rows(store, "examples") == examples_before);
  CHECK(store.integrity_check() == "ok");
}

TEST_CASE("existing names conflict unless replace swaps in one step") {
  TempDir dir;
  Store store(dir / "wb.db");
  store.datasets().import_jsonl(options("d", DatasetKind::Prompt), "{\"prompt\":\"old\"}\n");
  CHECK_THROWS_AS(store.datasets().import_jsonl(options("d", DatasetKind::Prompt), "{\"prompt\":\"new\"}\n"), Conflict);
  CHECK(store.datasets().export_jsonl("d") == "{\"prompt\":\"old\"}\n");

  auto o = options("d", DatasetKind::Sft);
  o.replace = true;
  auto rec = store.datasets().import_jsonl(o, "{\"prompt\":\"a\",\"completion\":\"b\"}\n{\"prompt\":\"c\",\"completion\":\"d\"}");
  CHECK(rec.kind == DatasetKind::Sft);
  CHECK(rec.rows == 2);
  CHECK(store.datasets().count() == 1);
  CHECK(count_rows(store, "examples") == 2);  // the old row is gone
}

TEST_CASE("bad import options and names are Invalid") {
  TempDir dir;
  Store store(dir / "wb.db");
  const std::string row = "{\"prompt\":\"p\"}\n";
  auto o = options("d", DatasetKind::Prompt, 0.6);
  try {
    store.datasets().import_jsonl(o, row);
    FAIL("eval_fraction 0.6 is out of range");
  } catch (const Invalid& e) {
    CHECK(std::string(e.what()) == "field 'eval_fraction': expected a number 0.0..0.5, got 0.6");
  }
  CHECK_THROWS_AS(store.datasets().import_jsonl(options("", DatasetKind::Prompt), row), Invalid);
  CHECK_THROWS_AS(store.datasets().import_jsonl(options("a/b", DatasetKind::Prompt), row), Invalid);
  CHECK_THROWS_AS(store.datasets().import_jsonl(options(".hidden", DatasetKind::Prompt), row), Invalid);
  CHECK_THROWS_AS(store.datasets().import_jsonl(options(std::string(129, 'a'), DatasetKind::Prompt), row), Invalid);
  CHECK_THROWS_AS(store.datasets().import_jsonl(options("empty", DatasetKind::Prompt), ""), InvalidDataset);
  CHECK(store.datasets().count() == 0);
}

TEST_CASE("import_file reads a path, a missing path is a clear error") {
  TempDir dir;
  Store store(dir / "wb.db");
  wb::storage::test::write_file(dir / "p.jsonl", "{\"prompt\":\"x\"}\n");
  auto rec = store.datasets().import_file(options("f", DatasetKind::Prompt), dir / "p.jsonl");
  CHECK(rec.rows == 1);
  CHECK(rec.source == "test");
  auto o = options("g", DatasetKind::Prompt);
  o.source.clear();
  CHECK(store.datasets().import_file(o, dir / "p.jsonl").source == (dir / "p.jsonl").string());
  try {
    store.datasets().import_file(options("h", DatasetKind::Prompt), dir / "nope.jsonl");
    FAIL("missing file");
  } catch (const Invalid& e) {
    CHECK(std::string(e.what()) == "path '" + (dir / "nope.jsonl").string() + "': no such file");
  }
  CHECK_THROWS_AS(store.datasets().import_file(options("h", DatasetKind::Prompt), dir.path()), Invalid);
}

TEST_CASE("import_rows takes parsed rows and names the bad one") {
  TempDir dir;
  Store store(dir / "wb.db");
  nlohmann::json rows = nlohmann::json::array({{{"prompt", "a"}}, {{"prompt", "b"}, {"system", "s"}}});
  CHECK(store.datasets().import_rows(options("r", DatasetKind::Prompt), rows).rows == 2);
  CHECK(store.datasets().export_jsonl("r") == "{\"prompt\":\"a\"}\n{\"prompt\":\"b\",\"system\":\"s\"}\n");
  rows.push_back({{"prompt", 3}});
  try {
    store.datasets().import_rows(options("r2", DatasetKind::Prompt), rows);
    FAIL("row 3 is bad");
  } catch (const InvalidDataset& e) {
    CHECK(std::string(e.what()) == "row 3: field 'prompt': expected a string, got 3");
  }
  CHECK_THROWS_AS(store.datasets().import_rows(options("r3", DatasetKind::Prompt), nlohmann::json::object()), Invalid);
}

TEST_CASE("rows page by split, eval split follows the hash rule") {
  TempDir dir;
  Store store(dir / "wb.db");
  std::string file;
  for (int i = 0; i < 200; ++i) file += "{\"prompt\":\"q" + std::to_string(i) + "\"}\n";
  auto rec = store.datasets().import_jsonl(options("s", DatasetKind::Prompt, 0.25), file);
  CHECK(rec.rows == 200);
  CHECK(rec.eval_rows + rec.train_rows == 200);
  CHECK(rec.eval_rows > 25);
  CHECK(rec.eval_rows < 75);

  auto page = store.datasets().rows("s", 10, 5);
  CHECK(page.total == 200);
  REQUIRE(page.rows.size() == 5);
  CHECK(page.rows[0].index == 10);
  CHECK(page.rows[0].row_json == "{\"prompt\":\"q10\"}");
  CHECK(page.rows[0].split == split_for_index(10, 0.25));

  auto eval = store.datasets().rows("s", 0, 0, Split::Eval);
  CHECK(eval.total == rec.eval_rows);
  CHECK(static_cast<std::int64_t>(eval.rows.size()) == rec.eval_rows);
  for (const auto& r : eval.rows) CHECK(split_for_index(r.index, 0.25) == Split::Eval);
  auto train = store.datasets().rows("s", 0, 0, Split::Train);
  CHECK(static_cast<std::int64_t>(train.rows.size()) == rec.train_rows);

  nlohmann::json j = page.rows[1];
  CHECK(j["index"] == 11);
  CHECK(j["row"]["prompt"] == "q11");

  std::vector<std::int64_t> seen;
  auto n = store.datasets().for_each_row("s", Split::Train, 0, 0, [&](const ExampleRow& r) {
    seen.push_back(r.index);
    return seen.size() < 3;
  });
  CHECK(n == 3);
  CHECK(seen.size() == 3);
  CHECK(store.datasets().rows("s", 1000, 10).rows.empty());
  CHECK_THROWS_AS(store.datasets().rows("s", -1, 10), Invalid);
  CHECK_THROWS_AS(store.datasets().rows("missing", 0, 10), NotFound);
}

TEST_CASE("delete removes the dataset and its rows") {
  TempDir dir;
  Store store(dir / "wb.db");
  store.datasets().import_jsonl(options("a", DatasetKind::Prompt), "{\"prompt\":\"x\"}\n");
  store.datasets().import_jsonl(options("b", DatasetKind::Prompt), "{\"prompt\":\"y\"}\n");
  store.datasets().remove("a");
  CHECK_FALSE(store.datasets().find("a"));
  CHECK_THROWS_AS(store.datasets().get("a"), NotFound);
  CHECK_THROWS_AS(store.datasets().remove("a"), NotFound);
  CHECK_THROWS_AS(store.datasets().export_jsonl("a"), NotFound);
  CHECK(count_rows(store, "examples") == 1);
  CHECK(store.datasets().export_jsonl("b") == "{\"prompt\":\"y\"}\n");
}

TEST_CASE("data survives reopening the file") {
  TempDir dir;
  const std::string file = preference_file(50);
  {
    Store store(dir / "wb.db");
    store.datasets().import_jsonl(options("p", DatasetKind::Preference, 0.2), file);
  }
  Store store(dir / "wb.db");
  auto rec = store.datasets().get("p");
  CHECK(rec.rows == 50);
  CHECK(rec.eval_fraction == 0.2);
  CHECK(store.datasets().export_jsonl("p") == file);
  CHECK(store.integrity_check() == "ok");
}
