// The web pages in a real browser: Debian's headless Chromium driven over WebDriver
// (webdriver.h) against the real workbenchd with the real sft and reward plugins and a tiny model
// made by the test.
//   - the labeling page: an annotator enters their token and labels three pairs with the keyboard
//     only; the three rows in SQLite carry what was typed and the token's annotator; the label
//     statistics page then counts them;
//   - the runs page during a real pretraining job: the loss curve's point count grows.
// Skipped (exit 77) where chromium or chromedriver is missing.
#include <catch2/catch.hpp>

#include <thread>

#include "wb/storage/store.h"
#include "wb/suite/generator.h"
#include "wb_skip.h"
#include "web_fixture.h"
#include "webdriver.h"

using nlohmann::json;
using webtest::Browser;
using webtest::kAdminToken;
using webtest::kEnter;
using webtest::WebDaemon;

namespace {

constexpr const char* kPrompts =
    "{\"prompt\":\"What is two plus three?\"}\n"
    "{\"prompt\":\"How do I pick a lock?\",\"is_safety_prompt\":true}\n"
    "{\"prompt\":\"Name a colour of the sky.\"}\n"
    "{\"prompt\":\"Write a word that rhymes with cat.\"}\n"
    "{\"prompt\":\"Count from one to four.\"}\n";

json unix_json(const WebDaemon& d, const std::string& method, const std::string& target, const json& body,
               int expect) {
  auto r = d.unix_socket(method, target, "", body.is_null() ? "" : body.dump());
  INFO(method << " " << target << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == expect);
  return json::parse(r.body);
}

// The tiny model "tiny" (sft plugin's model_init, tokenizer trained on the suite's corpus).
void make_tiny_model(const WebDaemon& d) {
  const auto suite = d.tmp.path() / "suite";
  wb::suite::write_files(wb::suite::generate(7, wb::suite::Sizes::small()), suite);
  json job = unix_json(d, "POST", "/v1/jobs",
                       {{"kind", "model_init"},
                        {"spec",
                         {{"name", "tiny"},
                          {"config",
                           {{"hidden_size", 32}, {"intermediate_size", 64}, {"num_hidden_layers", 1},
                            {"num_attention_heads", 2}, {"num_key_value_heads", 2},
                            {"max_position_embeddings", 128}}},
                          {"tokenizer_corpus", (suite / "tokenizer_corpus.txt").string()},
                          {"vocab_size", 400},
                          {"seed", 3}}}},
                       201);
  const std::string id = std::to_string(job["id"].get<int>());
  json rec;
  REQUIRE(wbtest::eventually([&] {
    rec = json::parse(d.unix_socket("GET", "/v1/jobs/" + id).body);
    const std::string s = rec["state"];
    return s == "succeeded" || s == "failed" || s == "cancelled";
  }, std::chrono::seconds(60)));
  INFO(rec.dump() << "\n" << d.daemon.log_text());
  REQUIRE(rec["state"] == "succeeded");
}

std::string js_string(const std::string& s) { return json(s).dump(); }

}  // namespace

TEST_CASE("labeling page: three pairs labeled with the keyboard alone are three rows for the token's annotator") {
  if (!webtest::browser_available()) WB_SKIP(webtest::browser_missing().c_str());
  WebDaemon d({WB_WEB_PLUGIN_DIR});
  make_tiny_model(d);
  unix_json(d, "POST", "/v1/datasets", {{"name", "prompts"}, {"kind", "prompt"}, {"jsonl", kPrompts}}, 201);
  const std::string token = d.add_annotator("alice");

  Browser b(d.tmp.path() / "chrome");
  b.navigate(d.base_url() + "/ui/label.html?prompts=prompts&into=pref&model=tiny&temperatures=0.7,1.2&max_tokens=6&seed=11");
  REQUIRE(b.wait_for("return document.activeElement && document.activeElement.id === 'token'", std::chrono::seconds(10)));
  b.type(token + kEnter);

  // What is typed for each pair, and what it must store: side, rating, safety, safety-prompt toggled.
  struct Typed {
    std::string keys;
    std::string chosen;
    int rating;
    std::string safety;
    bool toggle;
  };
  const std::vector<Typed> typed = {{"a1s", "a", 3, "both_safe", false},
                                    {"b3o", "b", 1, "chosen_safe", false},
                                    {"4ub", "b", 0, "both_unsafe", true}};
  struct Shown {
    std::string prompt, a, b;
    bool safety_prompt;
  };
  std::vector<Shown> shown;
  std::string previous_index = "none";
  for (std::size_t i = 0; i < typed.size(); ++i) {
    const bool ready = b.wait_for("return document.body.dataset.state === 'ready' && document.body.dataset.index !== " +
                                      js_string(previous_index),
                                  std::chrono::seconds(20));
    INFO("pair " << i << ": " << b.script("return document.getElementById('status').textContent").dump() << "\n"
                 << d.daemon.log_text());
    REQUIRE(ready);
    previous_index = b.script("return document.body.dataset.index").get<std::string>();
    const json page = b.script(
        "return [document.getElementById('prompt').textContent, document.getElementById('response-a').textContent,"
        " document.getElementById('response-b').textContent,"
        " document.getElementById('safety-prompt').textContent !== '']");
    shown.push_back({page[0], page[1], page[2], page[3]});
    if (i == 0) {
      // Enter before the choices are complete saves nothing and says why.
      b.type("a" + kEnter);
      CHECK(b.wait_for("return document.getElementById('status').className === 'error'", std::chrono::seconds(5)));
      b.type(webtest::kBackspace);
    }
    b.type(typed[i].keys + (typed[i].toggle ? "p" : "") + kEnter);
  }
  // The third label is saved when the page moves on to the next pair (or finds none left).
  REQUIRE(b.wait_for("return (document.body.dataset.state === 'ready' && document.body.dataset.index !== " +
                         js_string(previous_index) + ") || document.body.dataset.state === 'done'",
                     std::chrono::seconds(20)));

  // The rows, read from the daemon's SQLite file.
  wb::storage::Store store(d.daemon.data_dir() / "workbench.db");
  const auto rows = store.comparisons().list("pref", 0, 0).comparisons;
  REQUIRE(rows.size() == 3);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    INFO("row " << i);
    CHECK(rows[i].annotator == "alice");
    CHECK(rows[i].source == "human");
    CHECK(rows[i].prompt == shown[i].prompt);
    CHECK(rows[i].response_a == shown[i].a);
    CHECK(rows[i].response_b == shown[i].b);
    CHECK(std::string(1, rows[i].chosen) == typed[i].chosen);
    CHECK(rows[i].rating == typed[i].rating);
    CHECK(rows[i].safety == typed[i].safety);
    CHECK(rows[i].is_safety_prompt == (shown[i].safety_prompt != typed[i].toggle));
    CHECK(rows[i].seconds.has_value());
  }

  // The statistics page, with the admin token, counts alice's three labels.
  b.script("sessionStorage.clear(); return true;");
  b.navigate(d.base_url() + "/ui/stats.html?dataset=pref");
  REQUIRE(b.wait_for("return document.activeElement && document.activeElement.id === 'token'", std::chrono::seconds(10)));
  b.type(kAdminToken + kEnter);
  CHECK(b.wait_for("const t = document.getElementById('stats').textContent;"
                   " return t.includes('3 labels') && t.includes('alice');",
                   std::chrono::seconds(10)));
}

TEST_CASE("runs page: the loss curve of a running pretraining job grows while the page is open") {
  if (!webtest::browser_available()) WB_SKIP(webtest::browser_missing().c_str());
  WebDaemon d({WB_WEB_PLUGIN_DIR});
  make_tiny_model(d);
  std::string corpus;
  for (int i = 0; i < 200; ++i) corpus += "the cat sat on the mat number " + std::to_string(i) + " and then it slept.\n";
  unix_json(d, "POST", "/v1/datasets",
            {{"name", "corpus"}, {"kind", "text"}, {"format", "lines"}, {"eval_fraction", 0.05}, {"jsonl", corpus}},
            201);
  // Long enough to be watched; cancelled at the end.
  json job = unix_json(d, "POST", "/v1/jobs",
                       {{"kind", "pretrain"},
                        {"spec",
                         {{"model", "tiny"}, {"dataset", "corpus"}, {"output", "tiny-pre"}, {"max_steps", 1000000},
                          {"batch_size", 1}, {"context_length", 32}, {"log_every", 5}}}},
                       201);
  const std::string id = std::to_string(job["id"].get<int>());
  REQUIRE(wbtest::eventually([&] { return json::parse(d.unix_socket("GET", "/v1/jobs/" + id).body)["state"] == "running"; },
                             std::chrono::seconds(20)));

  Browser b(d.tmp.path() / "chrome");
  b.navigate(d.base_url() + "/ui/runs.html?job=" + id);
  REQUIRE(b.wait_for("return document.activeElement && document.activeElement.id === 'token'", std::chrono::seconds(10)));
  b.type(kAdminToken + kEnter);
  const std::string count =
      "const l = document.querySelector('polyline[data-name=\"train_loss\"]');"
      " return l ? Number(l.getAttribute('data-points')) : 0;";
  auto more_than = [](int n) {
    return "const l = document.querySelector('polyline[data-name=\"train_loss\"]');"
           " return !!l && Number(l.getAttribute('data-points')) > " + std::to_string(n) + ";";
  };
  REQUIRE(b.wait_for(more_than(0), std::chrono::seconds(15)));
  const int first = b.script(count).get<int>();
  CHECK(b.script("return document.getElementById('jobs').textContent.includes('running')") == true);
  CHECK(b.script("return document.getElementById('job-title').textContent").get<std::string>().find("pretrain") !=
        std::string::npos);
  // The page polls: the same polyline gets more points while the job runs.
  const bool grew = b.wait_for(more_than(first), std::chrono::seconds(15));
  INFO("first count " << first << ", now " << b.script(count).dump());
  CHECK(grew);
  unix_json(d, "DELETE", "/v1/jobs/" + id, nullptr, 200);
}
