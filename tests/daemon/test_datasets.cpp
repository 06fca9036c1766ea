// Integration: dataset import/export round trips, a bad line rejects the whole file, rows paging,
// comparisons.
#include <fstream>

#include <catch2/catch.hpp>

#include "fixture.h"
#include "wb/storage/store.h"

using namespace wbtest;

// Canonical JSONL (compact, fixed key order, "\n" after every line), so export == input.
static std::string sft_jsonl(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i % 2 == 0)
      s += R"({"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"what is )" +
           std::to_string(i) + R"( + 1?"},{"role":"assistant","content":"Answer: )" + std::to_string(i + 1) + "\"}]}\n";
    else
      s += R"({"prompt":"say ü )" + std::to_string(i) + R"(","completion":"ü )" + std::to_string(i) + "\"}\n";
  }
  return s;
}

static std::string pref_jsonl(int n, int bad_line = -1) {
  std::string s;
  for (int i = 1; i <= n; ++i) {
    int rating = i == bad_line ? 7 : i % 4;
    s += R"({"prompt":"q)" + std::to_string(i) + R"(","chosen":"good","rejected":"bad","rating":)" +
         std::to_string(rating) + R"(,"safety":"both_safe","is_safety_prompt":false})" "\n";
  }
  return s;
}

TEST_CASE("10,000-row SFT and preference imports export byte-identical and re-export identically", "[daemon][datasets]") {
  DaemonFixture d;
  std::string sft = sft_jsonl(10000);
  Reply r = d.post("/v1/datasets", {{"name", "sft10k"}, {"kind", "sft"}, {"jsonl", sft}, {"eval_fraction", 0.1}});
  REQUIRE(r.status == 201);
  CHECK(r.body["rows"] == 10000);
  CHECK(r.body["train_rows"].get<int>() + r.body["eval_rows"].get<int>() == 10000);
  CHECK(r.body["eval_rows"].get<int>() > 500);
  CHECK(r.body["kind"] == "sft");

  HttpResult e = http(d.socket(), "GET", "/v1/datasets/sft10k/export");
  REQUIRE(e.status == 200);
  CHECK(e.headers["content-type"] == "application/x-ndjson");
  CHECK(e.body == sft);

  // Re-import the export (from a file path this time) and export again: byte-identical.
  std::string file = (d.tmp.path() / "export.jsonl").string();
  std::ofstream(file, std::ios::binary) << e.body;
  r = d.post("/v1/datasets", {{"name", "sft10k-again"}, {"kind", "sft"}, {"path", file}});
  REQUIRE(r.status == 201);
  CHECK(r.body["source"] == file);
  CHECK(http(d.socket(), "GET", "/v1/datasets/sft10k-again/export").body == e.body);

  std::string pref = pref_jsonl(10000);
  r = d.post("/v1/datasets", {{"name", "pref"}, {"kind", "preference"}, {"jsonl", pref}});
  REQUIRE(r.status == 201);
  CHECK(http(d.socket(), "GET", "/v1/datasets/pref/export").body == pref);

  // Non-canonical input (spaces, other key order) exports canonically, then is a fixed point.
  std::string loose = "{ \"completion\": \"b\", \"prompt\": \"a\" }\n";
  r = d.post("/v1/datasets", {{"name", "loose"}, {"kind", "sft"}, {"jsonl", loose}});
  REQUIRE(r.status == 201);
  std::string canon = http(d.socket(), "GET", "/v1/datasets/loose/export").body;
  CHECK(canon == "{\"prompt\":\"a\",\"completion\":\"b\"}\n");

  Reply list = d.get("/v1/datasets");
  CHECK(list.body["datasets"].size() == 4);
  Reply show = d.get("/v1/datasets/pref");
  CHECK(show.body["rows"] == 10000);

  // Rows paging.
  Reply rows = d.get("/v1/datasets/sft10k/rows?offset=9998&limit=5");
  REQUIRE(rows.status == 200);
  CHECK(rows.body["total"] == 10000);
  REQUIRE(rows.body["rows"].size() == 2);
  CHECK(rows.body["rows"][0]["index"] == 9998);
  CHECK(rows.body["rows"][0]["row"]["messages"][2]["content"] == "Answer: 9999");
  Reply ev = d.get("/v1/datasets/sft10k/rows?split=eval&limit=3");
  CHECK(ev.body["total"] == d.get("/v1/datasets/sft10k").body["eval_rows"]);
  CHECK(ev.body["rows"].size() == 3);
  for (auto& row : ev.body["rows"]) CHECK(row["split"] == "eval");
  CHECK(d.get("/v1/datasets/sft10k/rows?limit=0").status == 400);
  CHECK(d.get("/v1/datasets/sft10k/rows?split=test").status == 400);

  // Name conflicts and replace.
  CHECK(d.post("/v1/datasets", {{"name", "loose"}, {"kind", "sft"}, {"jsonl", loose}}).status == 409);
  r = d.post("/v1/datasets", {{"name", "loose"}, {"kind", "prompt"}, {"jsonl", "{\"prompt\":\"x\"}\n"}, {"replace", true}});
  CHECK(r.status == 201);
  CHECK(r.body["kind"] == "prompt");

  // Delete.
  CHECK(d.del("/v1/datasets/loose").body["deleted"] == "loose");
  CHECK(d.get("/v1/datasets/loose").status == 404);
}

TEST_CASE("a file whose line 5001 is bad is rejected naming line 5001, nothing stored", "[daemon][datasets]") {
  DaemonFixture d;
  REQUIRE(d.post("/v1/datasets", {{"name", "keep"}, {"kind", "prompt"}, {"jsonl", "{\"prompt\":\"p\"}\n"}}).status == 201);
  json before = d.get("/v1/datasets").body;

  Reply r = d.post("/v1/datasets", {{"name", "broken"}, {"kind", "preference"}, {"jsonl", pref_jsonl(10000, 5001)}});
  CHECK(r.status == 400);
  CHECK(r.body["error"]["code"] == "invalid_dataset");
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::StartsWith("line 5001: field 'rating'"));

  // Same through a file path.
  std::string file = (d.tmp.path() / "bad.jsonl").string();
  std::ofstream(file, std::ios::binary) << pref_jsonl(10000, 5001);
  r = d.post("/v1/datasets", {{"name", "broken"}, {"kind", "preference"}, {"path", file}});
  CHECK(r.status == 400);
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains("line 5001"));

  CHECK(d.get("/v1/datasets").body == before);
  CHECK(d.get("/v1/datasets/broken").status == 404);

  // Other import errors.
  CHECK(d.post("/v1/datasets", {{"name", "x"}, {"kind", "sft"}}).status == 400);  // neither jsonl nor path
  CHECK(d.post("/v1/datasets", {{"name", "x"}, {"kind", "chat"}, {"jsonl", "{}\n"}}).status == 400);
  r = d.post("/v1/datasets", {{"name", "x"}, {"kind", "sft"}, {"path", "/nonexistent/file.jsonl"}});
  CHECK(r.status == 400);
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains("/nonexistent/file.jsonl"));
  CHECK(d.post("/v1/datasets", {{"name", "x"}, {"kind", "sft"}, {"path", "relative.jsonl"}}).status == 400);
  CHECK(d.get("/v1/health").status == 200);
}

TEST_CASE("an import of a file that is not JSONL names the file's line and problem, never its bytes", "[daemon][datasets]") {
  DaemonFixture d;
  std::string file = (d.tmp.path() / "passwd").string();
  std::ofstream(file, std::ios::binary) << "root:x:0:0:root:/root:/bin/bash\nsecret-token-abc\n";
  Reply r = d.post("/v1/datasets", {{"name", "x"}, {"kind", "sft"}, {"path", file}});
  CHECK(r.status == 400);
  const std::string msg = r.body["error"]["message"].get<std::string>();
  CHECK_THAT(msg, Catch::Contains("line 1") && Catch::Contains("invalid JSON"));
  CHECK_THAT(msg, !Catch::Contains("last read") && !Catch::Contains("'r'") && !Catch::Contains("root:x"));
  // Same for an inline body.
  r = d.post("/v1/datasets", {{"name", "x"}, {"kind", "sft"}, {"jsonl", "{\"prompt\": secret}\n"}});
  CHECK(r.status == 400);
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), !Catch::Contains("secret"));
}

TEST_CASE("comparisons: add, list, export as preference rows", "[daemon][comparisons]") {
  DaemonFixture d;
  json c = {{"dataset", "labels"}, {"prompt", "2+2?"}, {"response_a", "4"}, {"response_b", "5"}, {"chosen", "a"},
            {"rating", 3}, {"safety", "both_safe"}, {"is_safety_prompt", false}, {"annotator", "alice"},
            {"source", "human"}};
  Reply r = d.post("/v1/comparisons", c);
  REQUIRE(r.status == 201);
  CHECK(r.body.contains("id"));
  CHECK(r.body.contains("created"));
  c["chosen"] = "b";
  c["rating"] = 1;
  REQUIRE(d.post("/v1/comparisons", c).status == 201);
  c["rating"] = 7;
  r = d.post("/v1/comparisons", c);
  CHECK(r.status == 400);
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains("rating"));
  c["rating"] = 1;
  c["mood"] = "happy";
  CHECK(d.post("/v1/comparisons", c).status == 400);

  Reply list = d.get("/v1/comparisons?dataset=labels");
  REQUIRE(list.status == 200);
  CHECK(list.body["total"] == 2);
  HttpResult e = http(d.socket(), "GET", "/v1/comparisons/export?dataset=labels");
  REQUIRE(e.status == 200);
  CHECK(e.body ==
        "{\"prompt\":\"2+2?\",\"chosen\":\"4\",\"rejected\":\"5\",\"rating\":3,\"safety\":\"both_safe\",\"is_safety_prompt\":false}\n"
        "{\"prompt\":\"2+2?\",\"chosen\":\"5\",\"rejected\":\"4\",\"rating\":1,\"safety\":\"both_safe\",\"is_safety_prompt\":false}\n");
  CHECK(d.get("/v1/datasets/labels").body["kind"] == "preference");
  CHECK(d.get("/v1/comparisons/export").status == 400);
  CHECK(d.get("/v1/comparisons/export?dataset=none").status == 404);
}

TEST_CASE("an import that runs out of disk space answers 507 disk_full and loses nothing", "[daemon][datasets]") {
  DaemonFixture d({test_plugin_dir()}, /*start=*/false);
  // Files may not grow past 4 MiB: a write past it fails with EFBIG, as a full disk with ENOSPC.
  d.process.limit_file_size(4u << 20);
  d.process.start();
  REQUIRE(d.post("/v1/datasets", {{"name", "keep"}, {"kind", "sft"}, {"jsonl", sft_jsonl(100)}}).status == 201);
  const std::string big = sft_jsonl(60000);
  Reply r = d.post("/v1/datasets", {{"name", "big"}, {"kind", "sft"}, {"jsonl", big}});
  INFO(r.text);
  CHECK(r.status == 507);
  CHECK(r.body["error"]["code"] == "disk_full");
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains("disk full"));
  CHECK(d.get("/v1/health").status == 200);
  // What was stored before is intact and readable; the failed dataset is nowhere.
  CHECK(d.get("/v1/datasets/big").status == 404);
  Reply list = d.get("/v1/datasets");
  REQUIRE(list.body["datasets"].size() == 1);
  CHECK(list.body["datasets"][0]["name"] == "keep");
  Reply keep = d.get("/v1/datasets/keep");
  REQUIRE(keep.status == 200);
  CHECK(keep.body["rows"] == 100);
  CHECK(http(d.socket(), "GET", "/v1/datasets/keep/export").body == sft_jsonl(100));
  CHECK(d.get("/v1/datasets/keep/rows?offset=99&limit=1").body["rows"].size() == 1);

  // Space is back (the daemon restarted without the limit): the name imports again, and nothing
  // of the failed import is left in the database.
  REQUIRE(d.process.terminate() == 0);
  d.process.limit_file_size(0);
  d.process.start();
  Reply again = d.post("/v1/datasets", {{"name", "big"}, {"kind", "sft"}, {"jsonl", big}});
  INFO(again.text);
  REQUIRE(again.status == 201);
  CHECK(again.body["rows"] == 60000);
  CHECK(http(d.socket(), "GET", "/v1/datasets/keep/export").body == sft_jsonl(100));
  CHECK(http(d.socket(), "GET", "/v1/datasets/big/export").body == big);
  CHECK(d.get("/v1/status").body["datasets"] == 2);
  REQUIRE(d.process.terminate() == 0);
  wb::storage::Store store(d.process.data_dir() / "workbench.db");
  auto lock = store.connection().lock();
  auto examples = store.connection().db().prepare("SELECT count(*) FROM examples");
  REQUIRE(examples.step());
  CHECK(examples.column_int64(0) == 100 + 60000);
  auto hidden = store.connection().db().prepare("SELECT count(*) FROM datasets WHERE state <> 'ready'");
  REQUIRE(hidden.step());
  CHECK(hidden.column_int64(0) == 0);
}
