// Integration: the eval job with multi_turn through a real daemon — per-turn adherence and content
// grades match the suite's checker on every reply the model gave, the report and metrics count them
// per turn, and a dataset without persona dialogues fails naming the row and field.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>

#include "gatt_fixture.h"
#include "wb/suite/dialogues.h"
#include "wb/suite/persona.h"

using nlohmann::json;
using gatttest::GattDaemon;
namespace fs = std::filesystem;

TEST_CASE("eval multi_turn: adherence by turn and content accuracy agree with the checker on every reply", "[rlhf][gatt][integration]") {
  GattDaemon d;
  const json job = d.run_job("eval", {{"model", "base"}, {"dataset", "dialogues"}, {"split", "all"}, {"limit", 4},
                                      {"max_tokens", 5}, {"batch", 4}, {"multi_turn", true}});
  REQUIRE(job["state"] == "succeeded");
  const int64_t id = job["id"];
  CHECK(d.last_metric(id, "dialogues") == 4);
  const fs::path dir = d.data_dir() / "jobs" / std::to_string(id);
  std::ifstream in(dir / "eval_results.jsonl");
  std::map<int, std::pair<int, int>> by_turn;  // turn -> (n, obeyed)
  int lines = 0;
  std::string line;
  while (std::getline(in, line)) {
    const json r = json::parse(line);
    ++lines;
    const auto persona = wb::suite::persona_from_text(r["system"].get<std::string>());
    REQUIRE(persona);
    const auto g = wb::suite::grade_turn(*persona, r["user"].get<std::string>(), r["response"].get<std::string>(),
                                         r["turn"].get<int>());
    CHECK(json::parse(g.to_json().dump()) == r["grade"]);
    auto& [n, ok] = by_turn[r["turn"].get<int>()];
    ++n;
    ok += g.obeyed ? 1 : 0;
  }
  CHECK(lines == static_cast<int>(d.last_metric(id, "turns")));
  REQUIRE(by_turn.count(1) == 1);
  CHECK(by_turn[1].first == 4);  // every dialogue's first turn fits the context
  const json report = json::parse(std::ifstream(dir / "report.json"));
  REQUIRE(report["by_turn"].size() == by_turn.size());
  for (const auto& t : report["by_turn"]) {
    const auto [n, ok] = by_turn.at(t["turn"].get<int>());
    CHECK(t["n"] == n);
    CHECK(t["adherence"].get<double>() == Approx(static_cast<double>(ok) / n));
    CHECK(d.last_metric(id, "adherence_turn_" + std::to_string(t["turn"].get<int>())) == Approx(static_cast<double>(ok) / n));
  }
  // A dataset of plain chats is refused naming the row and field.
  d.import_sft("chat", "sft_eval.jsonl");
  const json bad = d.wait_final(d.submit("eval", {{"model", "base"}, {"dataset", "chat"}, {"multi_turn", true}, {"limit", 2}}));
  CHECK(bad["state"] == "failed");
  CHECK_THAT(bad.dump(), Catch::Contains("messages[0]"));
}

TEST_CASE("wb eval --multi-turn prints adherence by turn", "[rlhf][gatt][integration][cli]") {
  GattDaemon d;
  const auto r = sfttest::run_wb(d.socket(), "eval --model base --suite-dir " + d.suite_dir().string() +
                                                 " --multi-turn --limit 3 --max-tokens 3");
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("TURN") && Catch::Contains("ADHERENCE") && Catch::Contains("content accuracy"));
  const auto j = sfttest::run_wb(d.socket(), "--json eval --model base --suite-dir " + d.suite_dir().string() +
                                                 " --multi-turn --limit 3 --max-tokens 3");
  REQUIRE(j.code == 0);
  const json out = json::parse(j.out);
  CHECK(out["dialogues"] == 3);
  CHECK(out.contains("adherence_turn_1"));
  CHECK(out.contains("content_accuracy"));
}
