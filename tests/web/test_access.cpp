// Annotator tokens and the web app's routes against the real workbenchd (sleeper plugin only):
// what an annotator's token may reach on each listener (and the 403 naming why), the label
// recorded for the token's annotator whatever the body says, the admin token's web routes over
// TCP, the embedded static files, the demo's results, and `wb annotator add|list|remove`.
#include <catch2/catch.hpp>

#include <fstream>
#include <tuple>

#include "harness.h"
#include "web_fixture.h"

using nlohmann::json;
using webtest::kAdminToken;
using webtest::WebDaemon;

namespace {

json comparison_body(const std::string& annotator) {
  return {{"dataset", "prefs"},      {"prompt", "Say hi."},     {"response_a", "hi"},
          {"response_b", "hello"},   {"chosen", "a"},           {"rating", 2},
          {"safety", "both_safe"},   {"is_safety_prompt", false}, {"annotator", annotator},
          {"source", "human"}};
}

std::string error_message(const wbtest::HttpResult& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].value("message", "") : r.body;
}

}  // namespace

TEST_CASE("an annotator token reaches only the labeling routes, on the TCP listener and the Unix socket") {
  WebDaemon d({wbtest::test_plugin_dir()});
  const std::string alice = d.add_annotator("alice");
  CHECK(alice.size() == 64);

  // Everything else answers 403 naming the rule, on both listeners.
  for (auto [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/jobs"}, {"POST", "/v1/jobs"}, {"GET", "/v1/annotators"}, {"POST", "/v1/annotators"},
           {"GET", "/v1/comparisons/stats"}, {"POST", "/v1/chat/completions"}, {"GET", "/v1/models"},
           {"GET", "/v1/demo/results"}, {"DELETE", "/v1/annotators/alice"}}) {
    for (bool tcp : {true, false}) {
      auto r = tcp ? d.tcp(method, target, alice, method == "POST" ? "{}" : "")
                   : d.unix_socket(method, target, alice, method == "POST" ? "{}" : "");
      INFO((tcp ? "TCP " : "Unix ") << method << " " << target << " -> " << r.status << " " << r.body);
      CHECK(r.status == 403);
      CHECK_THAT(error_message(r), Catch::Contains("an annotator token may only label") && Catch::Contains(target));
    }
  }
  // Its own stats, and a label recorded for the token's annotator whatever the body names.
  auto me = d.tcp("GET", "/v1/annotators/me", alice);
  REQUIRE(me.status == 200);
  CHECK(json::parse(me.body)["name"] == "alice");
  auto saved = d.tcp("POST", "/v1/comparisons", alice, comparison_body("mallory").dump());
  INFO(saved.body);
  REQUIRE(saved.status == 201);
  CHECK(json::parse(saved.body)["annotator"] == "alice");
  saved = d.unix_socket("POST", "/v1/comparisons", alice, comparison_body("mallory").dump());
  REQUIRE(saved.status == 201);
  CHECK(json::parse(saved.body)["annotator"] == "alice");
  me = d.unix_socket("GET", "/v1/annotators/me", alice);
  REQUIRE(me.status == 200);
  CHECK(json::parse(me.body)["labels"] == 2);
  CHECK(json::parse(me.body)["datasets"]["prefs"] == 2);

  // The Unix socket without a token keeps full access; the body's annotator counts there.
  auto plain = d.unix_socket("POST", "/v1/comparisons", "", comparison_body("bob").dump());
  REQUIRE(plain.status == 201);
  CHECK(json::parse(plain.body)["annotator"] == "bob");
  CHECK(d.unix_socket("GET", "/v1/jobs").status == 200);
  CHECK(d.unix_socket("GET", "/v1/annotators/me").status == 400);
  auto stats = json::parse(d.unix_socket("GET", "/v1/comparisons/stats?dataset=prefs").body);
  CHECK(stats["annotator"]["alice"] == 2);
  REQUIRE(stats["annotator_couples"].size() == 1);
  CHECK(stats["annotator_couples"][0]["annotators"] == json({"alice", "bob"}));
  CHECK(stats["annotator_couples"][0]["pairs"] == 1);
  auto printed = wbtest::wb(d.socket(), {"label", "stats", "--dataset", "prefs"});
  REQUIRE(printed.exit_code == 0);
  CHECK_THAT(printed.out, Catch::Contains("Cohen's kappa") && Catch::Contains("alice & bob"));

  // Over TCP: a wrong token is 401; the admin token reaches the web pages' routes, not the rest.
  CHECK(d.tcp("GET", "/v1/annotators/me", alice + "0").status == 401);
  CHECK(d.tcp("GET", "/v1/jobs", "").status == 401);
  CHECK(d.tcp("GET", "/v1/jobs", kAdminToken).status == 200);
  CHECK(d.tcp("GET", "/v1/comparisons/stats", kAdminToken).status == 200);
  CHECK(d.tcp("GET", "/v1/jobs/1/metrics", kAdminToken).status == 404);  // served: no job 1
  CHECK(d.tcp("POST", "/v1/jobs", kAdminToken, "{}").status == 404);      // not served over TCP
  CHECK(d.tcp("GET", "/v1/annotators", kAdminToken).status == 404);

  // Removed: the token stops working at once; the labels stay.
  REQUIRE(d.unix_socket("DELETE", "/v1/annotators/alice").status == 200);
  CHECK(d.tcp("GET", "/v1/annotators/me", alice).status == 401);
  CHECK(d.unix_socket("GET", "/v1/jobs", alice).status == 200);  // just a header now: the socket's uid decides
  stats = json::parse(d.unix_socket("GET", "/v1/comparisons/stats?dataset=prefs").body);
  CHECK(stats["annotator"]["alice"] == 2);
}

TEST_CASE("annotators are refused a taken or bad name, and the list never shows a token") {
  WebDaemon d({wbtest::test_plugin_dir()});
  d.add_annotator("alice");
  auto r = d.unix_socket("POST", "/v1/annotators", "", R"({"name":"alice"})");
  CHECK(r.status == 409);
  r = d.unix_socket("POST", "/v1/annotators", "", R"({"name":"a b"})");
  CHECK(r.status == 400);
  CHECK_THAT(error_message(r), Catch::Contains("name"));
  r = d.unix_socket("POST", "/v1/annotators", "", R"({"name":"carol","token":"mine"})");
  CHECK(r.status == 400);
  CHECK_THAT(error_message(r), Catch::Contains("token"));
  r = d.unix_socket("GET", "/v1/annotators");
  REQUIRE(r.status == 200);
  const json list = json::parse(r.body)["annotators"];
  REQUIRE(list.size() == 1);
  CHECK(list[0]["name"] == "alice");
  CHECK_FALSE(list[0].contains("token"));
  CHECK(d.unix_socket("DELETE", "/v1/annotators/nobody").status == 404);
}

TEST_CASE("the web app's files are served without a token on both listeners, under a content security policy") {
  WebDaemon d({wbtest::test_plugin_dir()});
  for (auto [target, type, text] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"/", "text/html", "Label statistics"},
           {"/ui/label.html", "text/html", "label.js"},
           {"/ui/runs.html", "text/html", "runs.js"},
           {"/ui/stats.html", "text/html", "stats.js"},
           {"/ui/label.js", "text/javascript", "/v1/comparisons/next"},
           {"/ui/plot.js", "text/javascript", "polyline"},
           {"/ui/app.css", "text/css", "grid-template-columns"}}) {
    for (bool tcp : {true, false}) {
      auto r = tcp ? d.tcp("GET", target, "") : d.unix_socket("GET", target);
      INFO(target << (tcp ? " over TCP" : " over the socket"));
      REQUIRE(r.status == 200);
      CHECK_THAT(r.headers["content-type"], Catch::StartsWith(type));
      CHECK_THAT(r.headers["content-security-policy"], Catch::Contains("default-src 'self'"));
      CHECK_THAT(r.body, Catch::Contains(text));
    }
  }
  CHECK(d.tcp("GET", "/ui/nope.js", "").status == 404);
  CHECK(d.tcp("GET", "/ui/../workbench.db", "").status == 401);  // not a web file: the token is asked first
  CHECK(d.tcp("GET", "/ui/../workbench.db", kAdminToken).status == 404);
  CHECK(d.tcp("POST", "/ui/label.html", "").status == 401);
}

TEST_CASE("GET /v1/demo/results answers the results.json scripts/demo.sh leaves in the data dir") {
  WebDaemon d({wbtest::test_plugin_dir()});
  auto r = d.tcp("GET", "/v1/demo/results", kAdminToken);
  CHECK(r.status == 404);
  CHECK_THAT(error_message(r), Catch::Contains("results.json"));
  const json results = {{"seconds", 519}, {"eval_prompts", 300}, {"base", {{"accuracy", 0.1}}},
                        {"sft_lora", {{"accuracy", 0.5}}}};
  std::ofstream(d.daemon.data_dir() / "results.json") << results.dump();
  r = d.tcp("GET", "/v1/demo/results", kAdminToken);
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body) == results);
  std::ofstream(d.daemon.data_dir() / "results.json") << "[1, 2";
  CHECK(d.unix_socket("GET", "/v1/demo/results").status == 500);
}

TEST_CASE("wb annotator add prints a working token, list counts labels, remove ends the token") {
  WebDaemon d({wbtest::test_plugin_dir()});
  auto add = wbtest::wb(d.socket(), {"annotator", "add", "alice"});
  INFO(add.out << add.err);
  REQUIRE(add.exit_code == 0);
  std::string token;
  for (std::size_t i = 0; i + 64 <= add.out.size(); ++i)
    if (add.out.find_first_not_of("0123456789abcdef", i) >= i + 64) {
      token = add.out.substr(i, 64);
      break;
    }
  REQUIRE(token.size() == 64);
  CHECK_THAT(add.out, Catch::Contains("/ui/label.html"));
  REQUIRE(d.tcp("POST", "/v1/comparisons", token, comparison_body("x").dump()).status == 201);
  auto list = wbtest::wb(d.socket(), {"annotator", "list"});
  REQUIRE(list.exit_code == 0);
  CHECK_THAT(list.out, Catch::Contains("alice") && Catch::Contains("1"));
  CHECK(list.out.find(token) == std::string::npos);
  auto again = wbtest::wb(d.socket(), {"annotator", "add", "alice"});
  CHECK(again.exit_code != 0);
  CHECK_THAT(again.err, Catch::Contains("already exists"));
  auto rm = wbtest::wb(d.socket(), {"annotator", "remove", "alice"});
  REQUIRE(rm.exit_code == 0);
  CHECK_THAT(rm.out, Catch::Contains("removed annotator alice"));
  CHECK(d.tcp("GET", "/v1/annotators/me", token).status == 401);
}
