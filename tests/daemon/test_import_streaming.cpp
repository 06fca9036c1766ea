// Integration: a large dataset import is written in short transactions, so the job queue keeps
// moving meanwhile, and a failed import leaves nothing a reader sees.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "fixture.h"

using namespace wbtest;
using namespace std::chrono_literals;

namespace {

// `rows` SFT rows of about 130 bytes each, one per line.
std::string big_jsonl(int rows) {
  std::string s;
  s.reserve(static_cast<std::size_t>(rows) * 140);
  for (int i = 0; i < rows; ++i)
    s += "{\"prompt\":\"question number " + std::to_string(i) + " about something worth asking\",\"completion\":"
         "\"an answer that is long enough to matter " + std::to_string(i) + "\"}\n";
  return s;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("while a 40 MB import is written, a job's submit and cancel answer within 100 ms", "[daemon][datasets]") {
  DaemonFixture d;
  const std::string jsonl = big_jsonl(300000);
  REQUIRE(jsonl.size() > 35'000'000);
  // One long job holds the runner, so the jobs submitted below stay queued and are cancelled at once.
  const std::int64_t runner = d.submit_sleep({{"steps", 100000}, {"step_ms", 10}});
  d.wait_job(runner, "running");

  std::atomic<bool> done{false};
  Reply imported;
  std::thread importer([&] {
    imported = d.post("/v1/datasets", {{"name", "big"}, {"kind", "sft"}, {"jsonl", jsonl}});
    done = true;
  });
  std::vector<double> submit_ms, cancel_ms;
  UnixHttp c(d.socket());
  while (!done) {
    auto t0 = std::chrono::steady_clock::now();
    HttpResult s = c.request("POST", "/v1/jobs", R"({"kind":"sleep","spec":{"steps":1}})");
    const double submit = ms_since(t0);
    REQUIRE(s.status == 201);
    const auto id = nlohmann::json::parse(s.body)["id"].get<std::int64_t>();
    t0 = std::chrono::steady_clock::now();
    HttpResult x = c.request("DELETE", "/v1/jobs/" + std::to_string(id));
    const double cancel = ms_since(t0);
    REQUIRE(x.status == 200);
    CHECK(nlohmann::json::parse(x.body)["state"] == "cancelled");
    if (done) break;  // the import ended during this round: it may not have overlapped it
    submit_ms.push_back(submit);
    cancel_ms.push_back(cancel);
    std::this_thread::sleep_for(10ms);
  }
  importer.join();
  INFO(imported.text.substr(0, 300));
  REQUIRE(imported.status == 201);
  CHECK(imported.body["rows"] == 300000);
  const double worst_submit = *std::max_element(submit_ms.begin(), submit_ms.end());
  const double worst_cancel = *std::max_element(cancel_ms.begin(), cancel_ms.end());
  INFO("rounds during the import: " << submit_ms.size() << ", slowest submit " << worst_submit
                                    << " ms, slowest cancel " << worst_cancel << " ms");
  REQUIRE(submit_ms.size() >= 20);
  // Each answer within 100 ms. The build machine is a shared 2-core guest (load average above
  // 10), where the scheduler alone can hold back an answer past 100 ms now and then: a few
  // rounds over it are tolerated, none over 300 ms. Before imports were written in slices, one
  // round waited for the whole import (5.5 s).
  auto over = [](const std::vector<double>& v, double limit) {
    return std::count_if(v.begin(), v.end(), [&](double x) { return x > limit; });
  };
  INFO("over 100 ms: " << over(submit_ms, 100) << " submits, " << over(cancel_ms, 100) << " cancels");
  CHECK(over(submit_ms, 100) * 50 <= static_cast<long>(submit_ms.size()));
  CHECK(over(cancel_ms, 100) * 50 <= static_cast<long>(cancel_ms.size()));
  CHECK(worst_submit <= 300.0);
  CHECK(worst_cancel <= 300.0);
  CHECK(d.get("/v1/datasets/big").body["rows"] == 300000);
  d.del("/v1/jobs/" + std::to_string(runner));
}

TEST_CASE("an inline import decodes every JSON escape of its jsonl text, line by line", "[daemon][datasets]") {
  DaemonFixture d;
  // Two rows written with escapes in the body: \n between lines, \" and \\ inside the rows'
  // strings, \u escapes (a surrogate pair among them), \/ and \t.
  const std::string body =
      R"({"kind":"sft","jsonl":"{\"prompt\":\"caf\u00e9 \ud83d\ude00 \\\\ \\\"q\\\"\",\"completion\":\"a\\tb\/c\"}\n)"
      R"({\"prompt\":\"two\",\"completion\":\"\u4e2d\"}\n","name":"esc"})";
  Reply r = d.post_raw("/v1/datasets", body);
  INFO(r.text);
  REQUIRE(r.status == 201);
  CHECK(r.body["rows"] == 2);
  CHECK(http(d.socket(), "GET", "/v1/datasets/esc/export").body ==
        "{\"prompt\":\"caf\xc3\xa9 \xf0\x9f\x98\x80 \\\\ \\\"q\\\"\",\"completion\":\"a\\tb/c\"}\n"
        "{\"prompt\":\"two\",\"completion\":\"\xe4\xb8\xad\"}\n");
  // The same rows with the key spelled with an escape: read the other way, same result.
  Reply k = d.post_raw("/v1/datasets", R"({"name":"esc2","kind":"sft","json\u006c":"{\"prompt\":\"p\",\"completion\":\"c\"}\n"})");
  INFO(k.text);
  CHECK(k.status == 201);
  CHECK(http(d.socket(), "GET", "/v1/datasets/esc2/export").body == "{\"prompt\":\"p\",\"completion\":\"c\"}\n");
  // Plain text as one document keeps its final newline's absence or presence as the parser does.
  Reply doc = d.post_raw("/v1/datasets", R"({"name":"doc","kind":"text","format":"document","jsonl":"line one\nline two\n"})");
  INFO(doc.text);
  CHECK(doc.status == 201);
  CHECK(http(d.socket(), "GET", "/v1/datasets/doc/export").body == "{\"text\":\"line one\\nline two\\n\"}\n");
}

TEST_CASE("bad escapes in an inline jsonl text answer 400 naming the byte offset, nothing stored", "[daemon][datasets]") {
  DaemonFixture d;
  struct Case {
    std::string body, needle;
  };
  const std::string row = R"({\"prompt\":\"p\",\"completion\":\"c\"}\n)";
  std::string many;
  for (int i = 0; i < 3000; ++i) many += row;
  for (const Case& c : std::vector<Case>{
           {R"({"name":"x","kind":"sft","jsonl":")" + many + R"(\q"})", "bad escape"},
           {R"({"name":"x","kind":"sft","jsonl":")" + many + R"(\ud800x"})", "surrogate"},
           {R"({"name":"x","kind":"sft","jsonl":")" + many + "\x01\"}", "control character"},
           {R"({"name":"x","kind":"sft","jsonl":")" + many + R"(\u12"})", "escape"},
           {R"({"name":"x","kind":"sft","jsonl":")" + many + R"(", "kind":})", "invalid JSON at byte offset"},
       }) {
    Reply r = d.post_raw("/v1/datasets", c.body);
    INFO(c.needle << ": " << r.text);
    CHECK(r.status == 400);
    CHECK(r.body["error"]["code"] == "invalid_json");
    CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains(c.needle));
  }
  // The offset is the body's: the bad escape sits right after the 3000 rows.
  Reply r = d.post_raw("/v1/datasets", R"({"name":"x","kind":"sft","jsonl":")" + many + R"(\q"})");
  const std::size_t at = std::string(R"({"name":"x","kind":"sft","jsonl":")").size() + many.size();
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains("byte offset " + std::to_string(at)));
  CHECK(d.get("/v1/datasets").body["datasets"].empty());
  CHECK(d.get("/v1/status").body["datasets"] == 0);
}
