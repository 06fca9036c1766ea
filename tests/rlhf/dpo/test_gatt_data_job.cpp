// Integration: the gatt_data job through a real daemon with the rlhf plugin — it samples every
// turn of the suite's persona dialogues from a tiny model with the instruction on each user turn
// (the same greedy replies as sampling directly with that context), and writes an sft dataset
// with the instruction in the first turn only and every reply but the last at weight 0; bad
// specs are refused at submission naming the field; a daemon killed (-9) mid-job resumes after
// the checkpointed dialogues and ends with the same data set as an uninterrupted run. With k > 0
// the suite's checker grades each reply to a persona: a reply that does not obey is resampled,
// and a turn with no obeying candidate ends its dialogue (an untrained model obeys none).
#include <catch2/catch.hpp>

#include <fstream>

#include "gatt_fixture.h"
#include "wb/llama/chat_template.h"
#include "wb/llama/greedy.h"
#include "wb/llama/model_io.h"
#include "wb/llama/tokenizer.h"
#include "wb/rlhf/gatt_rows.h"

using nlohmann::json;
using gatttest::GattDaemon;
namespace fs = std::filesystem;

TEST_CASE("gatt_data job: replies sampled with the instruction on every turn, trained on the last turn only", "[rlhf][gatt][integration]") {
  GattDaemon d;
  const json job = d.run_job("gatt_data", {{"model", "base"}, {"dataset", "dialogues"}, {"split", "all"},
                                           {"limit", 5}, {"batch", 3}, {"max_tokens", 6}, {"output", "gatt-set"},
                                           {"k", 0}});
  REQUIRE(job["state"] == "succeeded");
  const int64_t id = job["id"];
  const auto out = d.d.get("/v1/datasets/gatt-set/rows?limit=100").body;
  const auto src = d.d.get("/v1/datasets/dialogues/rows?limit=5").body;
  REQUIRE(out["total"].get<int64_t>() + static_cast<int64_t>(d.last_metric(id, "skipped")) == 5);
  REQUIRE(out["total"] >= 1);
  CHECK(d.last_metric(id, "dialogues") == 5);

  const fs::path model_dir = d.data_dir() / "models" / "base";
  const auto model = wb::llama::load_model<float>(model_dir);
  const wb::llama::Tokenizer tok(model_dir / "tokenizer.model");
  const auto greedy = wb::llama::make_greedy_completer(wb::llama::DeviceChoice{}, model, nullptr);
  size_t multi_turn_rows = 0;
  for (const auto& out_row : out["rows"]) {
    const json& ms = out_row["row"]["messages"];
    INFO(ms.dump());
    // The source dialogue: same instruction and first user message.
    const json* source = nullptr;
    for (const auto& r : src["rows"])
      if (r["row"]["messages"][0] == ms[0] && r["row"]["messages"][1] == ms[1]) source = &r["row"];
    REQUIRE(source != nullptr);
    REQUIRE(ms.size() % 2 == 1);
    const size_t replies = (ms.size() - 1) / 2;
    multi_turn_rows += replies >= 2 ? 1 : 0;
    // The instruction only as the system message; user turns as in the source dialogue; every
    // reply but the last at weight 0.
    for (size_t k = 0; k < replies; ++k) {
      CHECK(ms[1 + 2 * k] == (*source)["messages"][1 + 2 * k]);
      const json& a = ms[2 + 2 * k];
      if (k + 1 < replies) CHECK(a["weight"] == 0);
      else CHECK_FALSE(a.contains("weight"));
    }
    // Each reply is the model's greedy answer with the instruction on every user turn.
    const auto dialogue = wb::rlhf::parse_gatt_dialogue(*source, 0);
    std::vector<std::string> so_far;
    for (size_t k = 0; k < replies; ++k) {
      const auto ids = wb::llama::render_llama2_chat(tok, wb::rlhf::sampling_context(dialogue, so_far)).ids;
      const auto gen = greedy->complete({ids}, {6});
      std::string reply = tok.decode(gen[0]);
      reply.erase(0, reply.find_first_not_of(" \t\r\n"));
      reply.erase(reply.find_last_not_of(" \t\r\n") + 1);
      INFO(k);
      CHECK(ms[2 + 2 * k]["content"] == reply);
      so_far.push_back(reply);
    }
  }
  CHECK(multi_turn_rows >= 1);
}

TEST_CASE("bad gatt_data specs are refused at submission naming the field", "[rlhf][gatt][integration]") {
  GattDaemon d;
  auto r = d.d.post("/v1/datasets", {{"name", "prefs"}, {"kind", "preference"},
                                     {"jsonl", R"({"prompt":"a","chosen":"b","rejected":"c"})" "\n"}});
  REQUIRE(r.status == 201);
  const std::vector<std::pair<json, std::string>> bad = {
      {{{"model", "nope"}, {"dataset", "dialogues"}}, "field 'model'"},
      {{{"model", "base"}, {"dataset", "prefs"}}, "field 'dataset'"},
      {{{"model", "base"}, {"dataset", "dialogues"}, {"max_tokens", 0}}, "field 'max_tokens'"},
      {{{"model", "base"}, {"dataset", "dialogues"}, {"split", "test"}}, "field 'split'"},
      {{{"model", "base"}, {"dataset", "dialogues"}, {"output", "dialogues"}}, "field 'output'"},
      {{{"model", "base"}, {"dataset", "dialogues"}, {"top_p", 1}}, "field 'top_p'"},
      {{{"model", "base"}, {"dataset", "dialogues"}, {"k", 65}}, "field 'k'"},
      {{{"model", "base"}, {"dataset", "dialogues"}, {"temperature", 0}}, "field 'temperature'"}};
  const json jobs_before = d.d.get("/v1/jobs").body;
  for (const auto& [spec, field] : bad) {
    INFO(spec.dump());
    r = d.d.post("/v1/jobs", {{"kind", "gatt_data"}, {"spec", spec}});
    CHECK(r.status == 400);
    CHECK_THAT(r.text, Catch::Contains(field));
  }
  CHECK(d.d.get("/v1/jobs").body == jobs_before);  // nothing queued
}

TEST_CASE("kill -9 mid-gatt_data: restart resumes after the checkpointed dialogues and ends with the uninterrupted data set", "[rlhf][gatt][integration][recovery]") {
  GattDaemon d;
  json spec = {{"model", "base"}, {"dataset", "dialogues"}, {"split", "all"}, {"batch", 1}, {"max_tokens", 24},
               {"output", "resumed"}, {"k", 0}};
  const int64_t total = d.d.get("/v1/datasets/dialogues/rows?limit=1").body["total"].get<int64_t>();
  REQUIRE(total >= 10);
  const int64_t id = d.submit("gatt_data", spec);
  json mid;
  REQUIRE(wbtest::eventually([&] {
    mid = d.d.job(id);
    return mid["checkpoint"].is_string();
  }, std::chrono::seconds(120)));
  d.d.process.kill9();
  INFO(mid.dump());
  REQUIRE(mid["state"] == "running");

  d.d.process.start();
  const json j = d.wait_final(id, std::chrono::seconds(300));
  REQUIRE(j["state"] == "succeeded");
  CHECK(d.logged(id, "resumed after"));
  CHECK(d.last_metric(id, "dialogues") == total);

  spec["output"] = "straight";
  const json s = d.run_job("gatt_data", spec, std::chrono::seconds(300));
  REQUIRE(s["state"] == "succeeded");
  const json resumed = d.d.get("/v1/datasets/resumed/rows?limit=1000").body;
  const json straight = d.d.get("/v1/datasets/straight/rows?limit=1000").body;
  REQUIRE(resumed["total"] == straight["total"]);
  CHECK(resumed["total"].get<int64_t>() + static_cast<int64_t>(d.last_metric(id, "skipped")) == total);
  for (size_t i = 0; i < straight["rows"].size(); ++i) {
    INFO(i);
    CHECK(resumed["rows"][i]["row"] == straight["rows"][i]["row"]);
  }
  CHECK(d.last_metric(id, "turns") == d.last_metric(s["id"].get<int64_t>(), "turns"));
}

TEST_CASE("gatt_data with ghost=false: the baseline replies sampled with the instruction only in the first turn, every reply trained", "[rlhf][gatt][integration]") {
  GattDaemon d;
  const json job = d.run_job("gatt_data", {{"model", "base"}, {"dataset", "dialogues"}, {"split", "all"}, {"limit", 3},
                                           {"batch", 2}, {"max_tokens", 6}, {"output", "plain-set"}, {"ghost", false}});
  REQUIRE(job["state"] == "succeeded");
  const auto out = d.d.get("/v1/datasets/plain-set/rows?limit=100").body;
  const auto src = d.d.get("/v1/datasets/dialogues/rows?limit=3").body;
  REQUIRE(out["total"] >= 1);
  const fs::path model_dir = d.data_dir() / "models" / "base";
  const auto model = wb::llama::load_model<float>(model_dir);
  const wb::llama::Tokenizer tok(model_dir / "tokenizer.model");
  const auto greedy = wb::llama::make_greedy_completer(wb::llama::DeviceChoice{}, model, nullptr);
  for (const auto& out_row : out["rows"]) {
    const json& ms = out_row["row"]["messages"];
    INFO(ms.dump());
    const json* source = nullptr;
    for (const auto& r : src["rows"])
      if (r["row"]["messages"][0] == ms[0] && r["row"]["messages"][1] == ms[1]) source = &r["row"];
    REQUIRE(source != nullptr);
    const auto dialogue = wb::rlhf::parse_gatt_dialogue(*source, 0);
    std::vector<std::string> so_far;
    for (size_t k = 0; k < (ms.size() - 1) / 2; ++k) {
      CHECK_FALSE(ms[2 + 2 * k].contains("weight"));
      const auto ids = wb::llama::render_llama2_chat(tok, wb::rlhf::plain_sampling_context(dialogue, so_far)).ids;
      std::string reply = tok.decode(greedy->complete({ids}, {6})[0]);
      reply.erase(0, reply.find_first_not_of(" \t\r\n"));
      reply.erase(reply.find_last_not_of(" \t\r\n") + 1);
      INFO(k);
      CHECK(ms[2 + 2 * k]["content"] == reply);
      so_far.push_back(reply);
    }
  }
}

TEST_CASE("gatt_data with k: replies that do not obey the persona are resampled, and a turn with none obeying ends its dialogue", "[rlhf][gatt][integration]") {
  GattDaemon d;
  // Three suite personas (checked) and two dialogues under an instruction the checker does not
  // know (kept as sampled).
  const auto src = d.d.get("/v1/datasets/dialogues/rows?limit=3").body;
  std::string jsonl;
  for (const auto& r : src["rows"]) jsonl += r["row"].dump() + "\n";
  for (int i = 0; i < 2; ++i) {
    json row = src["rows"][i]["row"];
    row["messages"][0]["content"] = "Be brief.";
    jsonl += row.dump() + "\n";
  }
  REQUIRE(d.d.post("/v1/datasets", {{"name", "mixed"}, {"kind", "sft"}, {"jsonl", jsonl}}).status == 201);
  const json job = d.run_job("gatt_data", {{"model", "base"}, {"dataset", "mixed"}, {"split", "all"}, {"batch", 5},
                                           {"max_tokens", 6}, {"output", "checked"}, {"k", 3}, {"seed", 7}});
  REQUIRE(job["state"] == "succeeded");
  const int64_t id = job["id"];
  // The untrained model obeys no persona, not even in the two extra draws: each persona dialogue
  // is dropped at its first turn, after one resampling; the other two are kept whole.
  CHECK(d.last_metric(id, "checked_turns") == 3);
  CHECK(d.last_metric(id, "obeyed_greedy_turn_1") == 0);
  CHECK(d.last_metric(id, "resampled") == 3);
  CHECK(d.last_metric(id, "kept_share") == 0);
  CHECK(d.last_metric(id, "skipped") == 3);
  CHECK(d.last_metric(id, "rows") == 2);
  const auto out = d.d.get("/v1/datasets/checked/rows?limit=10").body;
  REQUIRE(out["total"] == 2);
  for (const auto& r : out["rows"]) {
    CHECK(r["row"]["messages"][0]["content"] == "Be brief.");
    CHECK(r["row"]["messages"].size() >= 3);
  }
  const json result = json::parse(std::ifstream(d.data_dir() / "jobs" / std::to_string(id) / "result.json"));
  CHECK(result["checked"]["turn_1_by_kind"].size() >= 2);
  CHECK(result["k"] == 3);
}
