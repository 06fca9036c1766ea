#include "gatt_data_job.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "gatt_check.h"
#include "gatt_data_spec.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/chat_template.h"
#include "wb/llama/generate.h"
#include "wb/llama/greedy.h"
#include "wb/llama/model_io.h"
#include "wb/plugin/device.h"
#include "wb/plugin/model_store.h"
#include "wb/rlhf/gatt_rows.h"

namespace wb::rlhf {
namespace fs = std::filesystem;
using nlohmann::json;
using plugin::JobHost;

namespace {

std::string trimmed(const std::string& s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// What one sampled turn of a checked dialogue came to: the greedy reply's grade, whether it was
// resampled, whether the turn was kept (a turn not kept ends its dialogue).
struct TurnStat {
  bool obeyed = false, language = true, figure = true, hobby = true, resampled = false, kept = false;
  json to_json() const { return json::array({obeyed, language, figure, hobby, resampled, kept}); }
  static TurnStat from_json(const json& j) {
    return {j.at(0).get<bool>(), j.at(1).get<bool>(), j.at(2).get<bool>(), j.at(3).get<bool>(), j.at(4).get<bool>(),
            j.at(5).get<bool>()};
  }
};

// Seed of draw `draw` of turn `turn` of dialogue `dialogue`: the same draws on a resumed run.
uint64_t draw_seed(uint64_t seed, size_t dialogue, size_t turn, int64_t draw) {
  uint64_t h = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  for (uint64_t v : {static_cast<uint64_t>(dialogue), static_cast<uint64_t>(turn), static_cast<uint64_t>(draw)})
    h = (h ^ v) * 0x100000001B3ull + 0x9E3779B97F4A7C15ull;
  return h;
}

// Per line of an earlier run of this job: {"row": the training row or null for a skipped
// dialogue, "turns": [TurnStat...] for a checked dialogue}.
std::vector<json> read_done(const std::string& resume_from) {
  std::vector<json> done;
  if (resume_from.empty()) return done;
  std::ifstream in(fs::path(resume_from) / "rows.jsonl");
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) done.push_back(json::parse(line));
  return done;
}

}  // namespace

wb_status run_gatt_data(const JobHost& job, const json& spec_json) {
  const GattDataSpec s = parse_gatt_data_spec(spec_json);
  if (s.output.empty()) plugin::spec_fail("output", "missing and no job id to name it after");
  llama::DeviceChoice device = plugin::choose_device(s.device, "");
  job.progress(0.0, "load");
  const fs::path model_path = plugin::registered_model_path(s.model, job.handle());
  const auto model = llama::load_model<float>(model_path);
  const llama::Tokenizer tok = plugin::model_tokenizer(model_path, s.model);
  std::optional<llama::LoraAdapter<float>> adapter;
  if (!s.adapter.empty()) adapter = llama::load_adapter(plugin::registered_adapter_path(s.adapter, job.handle()), model.config);
  plugin::fit_gpu_memory(device, s.device, model.weights.numel(), false, "sampling");
  job.info("device: " + device.note);
  const auto completer = llama::make_greedy_completer(device, model, adapter ? &*adapter : nullptr);
  const int64_t ctx = model.config.max_position_embeddings;

  std::vector<GattDialogue> dialogues;
  job.rows(s.dataset, s.split == "all" ? "" : s.split, [&](int64_t index, const json& row) {
    try {
      dialogues.push_back(parse_gatt_dialogue(row, index));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("dataset '" + s.dataset + "' " + e.what());
    }
    return s.limit == 0 || static_cast<int64_t>(dialogues.size()) < s.limit;
  });
  if (dialogues.empty()) throw std::runtime_error("dataset '" + s.dataset + "' has no dialogues in split " + s.split);

  std::vector<json> done = read_done(s.resume_from);
  if (done.size() > dialogues.size()) throw std::runtime_error("checkpoint holds more rows than the dataset has dialogues");
  if (!done.empty()) job.info("resumed after " + std::to_string(done.size()) + " dialogues");
  job.info(std::string(s.ghost ? "gatt_data " : "gatt_data (plain, without GAtt) ") + s.model + (s.adapter.empty() ? "" : " + " + s.adapter) + " on " +
           std::to_string(dialogues.size()) + " dialogues of '" + s.dataset + "' -> " + s.output);

  const fs::path ckpt = job.dir() / "checkpoint";
  auto save = [&] {
    fs::create_directories(ckpt);
    std::ofstream out(ckpt / "rows.jsonl.tmp", std::ios::trunc);
    for (const auto& r : done) out << r.dump() << "\n";
    out.close();
    fs::rename(ckpt / "rows.jsonl.tmp", ckpt / "rows.jsonl");
    job.checkpoint(ckpt);
  };

  // The checker applies to GAtt sampling of suite personas; the baseline is graded, never resampled.
  std::vector<std::optional<suite::Persona>> personas;
  for (const auto& d : dialogues) personas.push_back(gatt_persona(d.instruction));
  const bool filter = s.ghost && s.k > 0;
  for (size_t begin = done.size(); begin < dialogues.size(); begin += static_cast<size_t>(s.batch)) {
    const size_t end = std::min(dialogues.size(), begin + static_cast<size_t>(s.batch));
    std::vector<std::vector<std::string>> replies(end - begin);
    std::vector<std::vector<TurnStat>> stats(end - begin);
    std::vector<bool> open(end - begin, true);
    for (size_t turn = 0;; ++turn) {
      if (job.cancelled()) return job.shutting_down() ? WB_INTERRUPTED : WB_CANCELLED;
      std::vector<size_t> who;
      std::vector<std::vector<int32_t>> prompts;
      std::vector<int64_t> room;
      for (size_t k = 0; k < open.size(); ++k) {
        const GattDialogue& d = dialogues[begin + k];
        if (!open[k] || turn >= d.users.size()) continue;
        const auto msgs = s.ghost ? sampling_context(d, replies[k]) : plain_sampling_context(d, replies[k]);
        auto ids = llama::render_llama2_chat(tok, msgs).ids;
        const int64_t left = ctx - static_cast<int64_t>(ids.size());
        if (left < 2) {  // this turn no longer fits: the dialogue ends before it
          open[k] = false;
          continue;
        }
        who.push_back(k);
        prompts.push_back(std::move(ids));
        room.push_back(std::min(s.max_tokens, left));
      }
      if (who.empty()) break;
      const auto outs = completer->complete(prompts, room);
      std::vector<std::string> chosen(who.size());
      std::vector<size_t> redo;  // indices into who whose greedy reply does not obey
      for (size_t j = 0; j < who.size(); ++j) {
        const size_t k = who[j];
        chosen[j] = trimmed(tok.decode(outs[j]));
        const auto& p = personas[begin + k];
        if (!p) continue;
        const suite::TurnGrade g = grade_gatt_reply(*p, dialogues[begin + k].users[turn], chosen[j]);
        stats[k].push_back({g.obeyed, g.language, g.figure, g.hobby, false, true});
        if (filter && !g.obeyed) redo.push_back(j);
      }
      if (!redo.empty() && s.k > 1) {  // best of k: k-1 draws for each reply that does not obey
        std::vector<llama::GenerateRequest> reqs;
        for (size_t j : redo)
          for (int64_t a = 1; a < s.k; ++a) {
            llama::GenerateRequest r;
            r.prompt = prompts[j];
            r.adapter = adapter ? &*adapter : nullptr;
            r.sampling.temperature = s.temperature;
            r.sampling.seed = draw_seed(s.seed, begin + who[j], turn, a);
            r.max_tokens = room[j];
            reqs.push_back(std::move(r));
          }
        const auto draws = llama::generate(model, reqs);
        for (size_t i = 0; i < redo.size(); ++i) {
          const size_t j = redo[i], k = who[j];
          std::vector<std::string> cands = {chosen[j]};
          for (int64_t a = 1; a < s.k; ++a)
            cands.push_back(trimmed(tok.decode(draws[i * static_cast<size_t>(s.k - 1) + static_cast<size_t>(a - 1)].tokens)));
          chosen[j] = cands[best_candidate(*personas[begin + k], dialogues[begin + k].users[turn], cands)];
          stats[k].back().resampled = true;
        }
      }
      for (size_t j = 0; j < who.size(); ++j) {
        const size_t k = who[j];
        const auto& p = personas[begin + k];
        const bool keep = !chosen[j].empty() &&
                          (!filter || !p || grade_gatt_reply(*p, dialogues[begin + k].users[turn], chosen[j]).obeyed);
        if (p) stats[k].back().kept = keep;
        if (keep) replies[k].push_back(chosen[j]);
        else open[k] = false;  // nothing to continue from or train on
      }
    }
    for (size_t k = 0; k < replies.size(); ++k) {
      json st = json::array();
      for (const auto& t : stats[k]) st.push_back(t.to_json());
      done.push_back({{"row", replies[k].empty() ? json(nullptr)
                              : s.ghost          ? gatt_training_row(dialogues[begin + k], replies[k])
                                                 : plain_training_row(dialogues[begin + k], replies[k])},
                      {"turns", std::move(st)}});
    }
    save();
    job.progress(static_cast<double>(end) / static_cast<double>(dialogues.size()), "sample");
  }

  json rows = json::array();
  int64_t skipped = 0, turns = 0;
  // The checker's view of the greedy replies (persona dialogues only): obeyed by turn and, at turn
  // 1, by kind; how many turns were resampled and kept.
  int64_t asked = 0, obeyed = 0, resampled = 0, kept = 0;
  std::map<size_t, std::pair<int64_t, int64_t>> by_turn;            // turn -> (obeyed, asked)
  std::map<std::string, std::pair<int64_t, int64_t>> first_by_kind;  // kind -> (obeyed, asked) at turn 1
  for (size_t i = 0; i < done.size(); ++i) {
    const json& r = done[i].at("row");
    const auto& p = personas[i];
    const json& st = done[i].at("turns");
    for (size_t t = 0; t < st.size(); ++t) {
      const TurnStat ts = TurnStat::from_json(st[t]);
      ++asked, obeyed += ts.obeyed, resampled += ts.resampled, kept += ts.kept;
      auto& bt = by_turn[t + 1];
      ++bt.second, bt.first += ts.obeyed;
      if (t == 0 && p) {
        auto add = [&](const char* kind, bool set, bool ok) {
          if (!set) return;
          auto& c = first_by_kind[kind];
          ++c.second, c.first += ok;
        };
        add("language", p->language != suite::Language::none, ts.language);
        add("figure", !p->figure.empty(), ts.figure);
        add("hobby", !p->hobby.empty(), ts.hobby);
      }
    }
    if (r.is_null()) {
      ++skipped;
      continue;
    }
    turns += static_cast<int64_t>(r["messages"].size() - 1) / 2;
    rows.push_back(r);
  }
  if (rows.empty())
    throw std::runtime_error(filter ? "no dialogue kept a first reply (empty, or not obeying the persona after k "
                                      "candidates): nothing to write"
                                    : "every sampled first reply was empty: nothing to write");
  job.progress(1.0, "save");
  job.register_artifact("dataset", {{"name", s.output}, {"kind", "sft"}, {"rows", rows}});
  job.metric(0, "dialogues", static_cast<double>(done.size()));
  job.metric(0, "rows", static_cast<double>(rows.size()));
  job.metric(0, "skipped", static_cast<double>(skipped));
  job.metric(0, "turns", static_cast<double>(turns));
  json checked = nullptr;
  if (asked > 0) {
    auto share = [](int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0; };
    job.metric(0, "checked_turns", static_cast<double>(asked));
    job.metric(0, "obeyed_greedy", share(obeyed, asked));
    job.metric(0, "resampled", static_cast<double>(resampled));
    job.metric(0, "kept_share", share(kept, asked));
    json bt = json::array(), fk = json::object();
    for (const auto& [t, c] : by_turn) {
      job.metric(0, "obeyed_greedy_turn_" + std::to_string(t), share(c.first, c.second));
      bt.push_back({{"turn", t}, {"n", c.second}, {"obeyed_greedy", share(c.first, c.second)}});
    }
    for (const auto& [kind, c] : first_by_kind) {
      job.metric(0, "obeyed_greedy_turn_1_" + kind, share(c.first, c.second));
      fk[kind] = {{"n", c.second}, {"obeyed_greedy", share(c.first, c.second)}};
    }
    checked = {{"turns", asked}, {"obeyed_greedy", share(obeyed, asked)}, {"resampled", resampled},
               {"kept", kept}, {"kept_share", share(kept, asked)}, {"by_turn", bt}, {"turn_1_by_kind", fk}};
  }
  const json result = {{"kind", "gatt_data"}, {"output", s.output}, {"model", s.model}, {"adapter", s.adapter},
                       {"ghost", s.ghost}, {"k", s.k}, {"dialogues", done.size()}, {"rows", rows.size()},
                       {"skipped", skipped}, {"turns", turns}, {"checked", checked}};
  std::ofstream(job.dir() / "result.json") << result.dump(2) << "\n";
  job.info("result " + result.dump());
  return WB_OK;
}

}  // namespace wb::rlhf
