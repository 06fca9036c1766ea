// Integration: the eval job with multi_turn through a real daemon — per-turn adherence and content
// grades match the suite's checker on every reply the model gave, the report and metrics count them
// per turn, the attention share on the system instruction per turn and layer equals the engine's
// share recomputed over each dialogue as the model answered it, the SVG heatmap has a cell per
// layer and turn, and a dataset without persona dialogues fails naming the row and field.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <tuple>

#include "gatt_fixture.h"
#include "wb/llama/attention_share.h"
#include "wb/llama/chat_template.h"
#include "wb/llama/model_io.h"
#include "wb/llama/tokenizer.h"
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
  // Per kind, over the dialogues whose persona has it: turn -> (n, kept), and turns >= 3.
  std::map<std::string, std::map<int, std::pair<int, int>>> kind_turn;
  std::map<std::string, std::pair<int, int>> kind_later;
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
    const std::vector<std::tuple<std::string, bool, bool>> kinds = {
        {"language", persona->language != wb::suite::Language::none, g.language},
        {"figure", !persona->figure.empty(), g.figure},
        {"hobby", !persona->hobby.empty(), g.hobby}};
    for (const auto& [kind, has, kept] : kinds) {
      if (!has) continue;
      auto& [kn, kk] = kind_turn[kind][r["turn"].get<int>()];
      ++kn, kk += kept ? 1 : 0;
      if (r["turn"].get<int>() >= 3) {
        auto& [ln, lk] = kind_later[kind];
        ++ln, lk += kept ? 1 : 0;
      }
    }
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
    for (const char* kind : {"language", "figure", "hobby"}) {
      INFO(kind);
      const auto& per_turn = kind_turn[kind];
      const auto it = per_turn.find(t["turn"].get<int>());
      if (it == per_turn.end()) {
        CHECK(t["adherence_by_kind"][kind].is_null());
        continue;
      }
      const double want = static_cast<double>(it->second.second) / it->second.first;
      CHECK(t["adherence_by_kind"][kind].get<double>() == Approx(want));
      CHECK(d.last_metric(id, std::string("adherence_") + kind + "_turn_" + std::to_string(it->first)) == Approx(want));
    }
  }
  for (const char* kind : {"language", "figure", "hobby"}) {
    INFO(kind);
    if (!kind_later.count(kind)) {
      CHECK(report["adherence_later_by_kind"][kind].is_null());
      continue;
    }
    const auto [ln, lk] = kind_later[kind];
    CHECK(report["adherence_later_by_kind"][kind].get<double>() == Approx(static_cast<double>(lk) / ln));
  }

  // Attention on the system instruction: recomputed per dialogue from the replies the model gave,
  // with the engine's attention_share over the rendered dialogue, averaged over each turn's answer
  // tokens, then over dialogues.
  const fs::path model_dir = d.data_dir() / "models" / "base";
  const auto model = wb::llama::load_model<float>(model_dir);
  const wb::llama::Tokenizer tok(model_dir / "tokenizer.model");
  const int64_t L = model.config.num_hidden_layers;
  std::map<int64_t, std::vector<wb::llama::ChatMessage>> dialogs;
  std::ifstream again(dir / "eval_results.jsonl");
  while (std::getline(again, line)) {
    const json r = json::parse(line);
    auto& msgs = dialogs[r["dialogue"].get<int64_t>()];
    if (msgs.empty()) msgs.push_back({"system", r["system"].get<std::string>()});
    msgs.push_back({"user", r["user"].get<std::string>()});
    msgs.push_back({"assistant", r["response"].get<std::string>()});
  }
  std::map<int, std::pair<std::vector<double>, int>> want;  // turn -> (sum per layer, dialogues)
  for (const auto& [k, msgs] : dialogs) {
    const auto rendered = wb::llama::render_llama2_chat(tok, msgs);
    REQUIRE(rendered.system_end > rendered.system_begin);
    REQUIRE(static_cast<int64_t>(rendered.ids.size()) <= model.config.max_position_embeddings);
    const auto share = wb::llama::attention_share(model, rendered.ids, {rendered.system_begin, rendered.system_end});
    int turn = 0;
    for (size_t i = 0; i < rendered.ids.size();) {
      if (rendered.mask[i] == 0) {
        ++i;
        continue;
      }
      size_t e = i;
      while (e < rendered.ids.size() && rendered.mask[e] == 1) ++e;
      auto& [sum, n] = want[++turn];
      sum.resize(static_cast<size_t>(L), 0.0);
      for (int64_t l = 0; l < L; ++l) {
        double s = 0;
        for (size_t p = i; p < e; ++p) s += share[l][p];
        sum[l] += s / static_cast<double>(e - i);
      }
      ++n;
      i = e;
    }
  }
  for (const auto& t : report["by_turn"]) {
    const int turn = t["turn"].get<int>();
    REQUIRE(want.count(turn) == 1);
    const auto& [sum, n] = want.at(turn);
    REQUIRE(t["attention_share_layers"].size() == static_cast<size_t>(L));
    double mean = 0;
    for (int64_t l = 0; l < L; ++l) {
      const double v = t["attention_share_layers"][l].get<double>();
      CHECK(v == Approx(sum[l] / n).margin(1e-9));
      CHECK(v > 0.0);
      CHECK(v < 1.0);
      mean += v / static_cast<double>(L);
    }
    CHECK(t["attention_share"].get<double>() == Approx(mean).margin(1e-12));
    CHECK(d.last_metric(id, "attention_share_turn_" + std::to_string(turn)) == Approx(mean).margin(1e-12));
  }
  REQUIRE(report["attention_svg"] == "attention_share.svg");
  std::ifstream svg_in(dir / "attention_share.svg");
  const std::string svg((std::istreambuf_iterator<char>(svg_in)), std::istreambuf_iterator<char>());
  CHECK(svg.rfind("<svg", 0) == 0);
  size_t cells = 0;
  for (size_t at = svg.find("class=\"cell\""); at != std::string::npos; at = svg.find("class=\"cell\"", at + 1)) ++cells;
  CHECK(cells == static_cast<size_t>(L) * report["by_turn"].size());
  CHECK_THAT(svg, Catch::Contains("data-layer=\"" + std::to_string(L - 1) + "\""));

  // attention_share=false skips it.
  const json quiet = d.run_job("eval", {{"model", "base"}, {"dataset", "dialogues"}, {"split", "all"}, {"limit", 2},
                                        {"max_tokens", 3}, {"multi_turn", true}, {"attention_share", false}});
  REQUIRE(quiet["state"] == "succeeded");
  const fs::path qdir = d.data_dir() / "jobs" / std::to_string(quiet["id"].get<int64_t>());
  CHECK_FALSE(fs::exists(qdir / "attention_share.svg"));
  CHECK_FALSE(json::parse(std::ifstream(qdir / "report.json")).contains("attention_svg"));

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
  // It says where the attention heatmap is, and the file is there.
  const std::string mark = "attention on the system instruction by turn and layer: ";
  const size_t at = r.out.find(mark);
  REQUIRE(at != std::string::npos);
  const std::string path = r.out.substr(at + mark.size(), r.out.find('\n', at) - at - mark.size());
  CHECK(fs::exists(path));
  CHECK(fs::path(path).filename() == "attention_share.svg");
  const auto j = sfttest::run_wb(d.socket(), "--json eval --model base --suite-dir " + d.suite_dir().string() +
                                                 " --multi-turn --limit 3 --max-tokens 3");
  REQUIRE(j.code == 0);
  const json out = json::parse(j.out);
  CHECK(out["dialogues"] == 3);
  CHECK(out.contains("adherence_turn_1"));
  CHECK(out.contains("content_accuracy"));
  CHECK(out.contains("attention_share_turn_1"));
  CHECK(fs::exists(out["attention_svg"].get<std::string>()));
}
