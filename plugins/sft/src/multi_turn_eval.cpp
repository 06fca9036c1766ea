#include "multi_turn_eval.h"

#include <array>
#include <filesystem>
#include <fstream>
#include <map>

#include "attention_svg.h"
#include "wb/llama/attention_share.h"
#include "wb/llama/chat_template.h"
#include "wb/suite/dialogues.h"
#include "wb/suite/persona.h"

namespace wb::sft {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Dialogue {
  suite::Persona persona;
  std::string system;
  std::vector<std::string> users;
};

Dialogue parse_dialogue(const json& row, int64_t index) {
  std::vector<suite::Message> msgs;
  try {
    msgs = suite::messages_from_row(row);
  } catch (const std::exception& e) {
    throw std::invalid_argument("row " + std::to_string(index) + ": " + e.what());
  }
  if (msgs.empty() || msgs[0].role != "system")
    throw std::invalid_argument("row " + std::to_string(index) + ": field 'messages[0]': a multi-turn eval needs a persona's system message");
  const auto persona = suite::persona_from_text(msgs[0].content);
  if (!persona)
    throw std::invalid_argument("row " + std::to_string(index) +
                                ": field 'messages[0].content': not one of the suite's persona instructions");
  Dialogue d{*persona, msgs[0].content, {}};
  for (const auto& m : msgs)
    if (m.role == "user") d.users.push_back(m.content);
  if (d.users.empty()) throw std::invalid_argument("row " + std::to_string(index) + ": field 'messages': no user turn");
  return d;
}

struct Rate {
  int64_t n = 0, hits = 0;
  void add(bool h) { ++n, hits += h ? 1 : 0; }
  json value() const { return n ? json(static_cast<double>(hits) / static_cast<double>(n)) : json(nullptr); }
};

// Per turn: the sum over dialogues of each layer's share, and how many dialogues added to it.
struct ShareSum {
  std::vector<double> layers;
  int64_t n = 0;
  void add(const std::vector<double>& v) {
    if (layers.empty()) layers.assign(v.size(), 0.0);
    for (size_t l = 0; l < v.size(); ++l) layers[l] += v[l];
    ++n;
  }
  std::vector<double> mean() const {
    std::vector<double> m(layers);
    for (double& x : m) x /= static_cast<double>(n);
    return m;
  }
};

double average(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

}  // namespace

std::vector<std::vector<double>> system_attention_by_turn(const llama::Model<float>& model,
                                                          const llama::LoraAdapter<float>* adapter,
                                                          const llama::Tokenizer& tok,
                                                          const std::vector<llama::ChatMessage>& dialogue,
                                                          int64_t context_length) {
  llama::ChatTokens r = llama::render_llama2_chat(tok, dialogue);
  if (r.system_end <= r.system_begin) return {};
  if (static_cast<int64_t>(r.ids.size()) > context_length) {  // the last reply's close may not fit
    r.ids.resize(static_cast<size_t>(context_length));
    r.mask.resize(static_cast<size_t>(context_length));
  }
  if (r.system_end > static_cast<int64_t>(r.ids.size())) return {};
  const auto share = llama::attention_share(model, r.ids, {r.system_begin, r.system_end}, adapter);
  // Each answered turn's answer tokens are one run of mask 1 (answer pieces, then its EOS).
  std::vector<std::vector<double>> out;
  size_t run_tokens = 0;
  for (size_t i = 0; i <= r.ids.size(); ++i) {
    const bool in_answer = i < r.ids.size() && r.mask[i] == 1;
    if (in_answer) {
      if (run_tokens == 0) out.emplace_back(share.size(), 0.0);
      for (size_t l = 0; l < share.size(); ++l) out.back()[l] += share[l][i];
      ++run_tokens;
    } else if (run_tokens > 0) {
      for (double& x : out.back()) x /= static_cast<double>(run_tokens);
      run_tokens = 0;
    }
  }
  return out;
}

std::vector<json> load_dialogue_rows(const plugin::JobHost& job, const EvalSpec& s) {
  std::vector<json> rows;
  auto want_more = [&] { return s.limit == 0 || static_cast<int64_t>(rows.size()) < s.limit; };
  if (!s.suite_dir.empty()) {
    const fs::path file = fs::path(s.suite_dir) / "dialogues_eval.jsonl";
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    std::string line;
    int64_t n = 0;
    while (want_more() && std::getline(in, line)) {
      ++n;
      json row = json::parse(line, nullptr, false);
      if (row.is_discarded()) throw std::invalid_argument(file.string() + " line " + std::to_string(n) + ": not JSON");
      rows.push_back(std::move(row));
    }
  } else {
    std::string split = s.split == "all" ? "" : s.split;
    if (s.split == "auto") {
      auto rec = plugin::Host::lookup("dataset", s.dataset, job.handle());
      split = rec && rec->value("eval_rows", 0) > 0 ? "eval" : "";
    }
    job.rows(s.dataset, split, [&](int64_t, const json& row) {
      rows.push_back(row);
      return want_more();
    });
  }
  if (rows.empty()) throw std::runtime_error("nothing to evaluate: no dialogues in that split");
  return rows;
}

wb_status run_multi_turn(const plugin::JobHost& job, const EvalSpec& s, const llama::Tokenizer& tok,
                         llama::GreedyCompleter& completer, const llama::Model<float>& model,
                         const llama::LoraAdapter<float>* adapter) {
  const int64_t context_length = model.config.max_position_embeddings;
  const std::vector<json> rows = load_dialogue_rows(job, s);
  std::vector<Dialogue> dialogues;
  for (size_t i = 0; i < rows.size(); ++i) dialogues.push_back(parse_dialogue(rows[i], static_cast<int64_t>(i)));
  job.info("multi-turn eval on " + std::to_string(dialogues.size()) + " persona dialogues (greedy, own replies in context)");

  std::map<int, Rate> adherence_by_turn, content_by_turn;
  Rate adherence, later, content, format;
  std::map<int, ShareSum> share_by_turn;
  // Per kind of instruction, over the dialogues whose persona has it: by turn and at turns >= 3.
  const std::array<const char*, 3> kinds = {"language", "figure", "hobby"};
  std::array<std::map<int, Rate>, 3> kind_by_turn;
  std::array<Rate, 3> kind_later;
  std::ofstream results(job.dir() / "eval_results.jsonl");
  for (size_t begin = 0; begin < dialogues.size(); begin += static_cast<size_t>(s.batch)) {
    const size_t end = std::min(dialogues.size(), begin + static_cast<size_t>(s.batch));
    std::vector<std::vector<std::string>> replies(end - begin);
    std::vector<bool> open(end - begin, true);
    for (size_t turn = 0;; ++turn) {
      if (job.cancelled()) return job.shutting_down() ? WB_INTERRUPTED : WB_CANCELLED;
      std::vector<size_t> who;
      std::vector<std::vector<int32_t>> prompts;
      std::vector<int64_t> room;
      for (size_t k = 0; k < open.size(); ++k) {
        const Dialogue& d = dialogues[begin + k];
        if (!open[k] || turn >= d.users.size()) continue;
        std::vector<llama::ChatMessage> msgs = {{"system", d.system}};
        for (size_t t = 0; t <= turn; ++t) {
          msgs.push_back({"user", d.users[t]});
          if (t < turn) msgs.push_back({"assistant", replies[k][t]});
        }
        auto ids = llama::render_llama2_chat(tok, msgs).ids;
        const int64_t left = context_length - static_cast<int64_t>(ids.size());
        if (left < 2) {
          open[k] = false;
          continue;
        }
        who.push_back(k);
        prompts.push_back(std::move(ids));
        room.push_back(std::min(s.max_tokens, left));
      }
      if (who.empty()) break;
      const auto outs = completer.complete(prompts, room);
      for (size_t j = 0; j < who.size(); ++j) {
        const size_t k = who[j];
        const Dialogue& d = dialogues[begin + k];
        const std::string reply = tok.decode(outs[j]);
        replies[k].push_back(reply);
        const int t = static_cast<int>(turn) + 1;
        const suite::TurnGrade g = suite::grade_turn(d.persona, d.users[turn], reply, t);
        adherence.add(g.obeyed);
        adherence_by_turn[t].add(g.obeyed);
        if (t >= 3) later.add(g.obeyed);
        const std::array<bool, 3> has = {d.persona.language != suite::Language::none, !d.persona.figure.empty(),
                                         !d.persona.hobby.empty()};
        const std::array<bool, 3> kept = {g.language, g.figure, g.hobby};
        for (size_t i = 0; i < kinds.size(); ++i) {
          if (!has[i]) continue;
          kind_by_turn[i][t].add(kept[i]);
          if (t >= 3) kind_later[i].add(kept[i]);
        }
        if (g.recognized) {
          content.add(g.correct);
          format.add(g.format_ok);
          content_by_turn[t].add(g.correct);
        }
        results << json{{"dialogue", begin + k}, {"turn", t}, {"system", d.system}, {"user", d.users[turn]},
                        {"response", reply}, {"grade", g.to_json()}}
                       .dump()
                << "\n";
      }
    }
    for (size_t k = 0; s.attention_share && k < replies.size(); ++k) {
      if (job.cancelled()) return job.shutting_down() ? WB_INTERRUPTED : WB_CANCELLED;
      if (replies[k].empty()) continue;
      const Dialogue& d = dialogues[begin + k];
      std::vector<llama::ChatMessage> msgs = {{"system", d.system}};
      for (size_t t = 0; t < replies[k].size(); ++t) {
        msgs.push_back({"user", d.users[t]});
        msgs.push_back({"assistant", replies[k][t]});
      }
      const auto shares = system_attention_by_turn(model, adapter, tok, msgs, context_length);
      for (size_t t = 0; t < shares.size(); ++t) share_by_turn[static_cast<int>(t) + 1].add(shares[t]);
    }
    job.progress(static_cast<double>(end) / static_cast<double>(dialogues.size()), "eval");
  }

  json by_turn = json::array();
  for (const auto& [t, r] : adherence_by_turn) {
    json row = {{"turn", t}, {"n", r.n}, {"adherence", r.value()}, {"content_accuracy", content_by_turn[t].value()}};
    json by_kind = json::object();
    for (size_t i = 0; i < kinds.size(); ++i) by_kind[kinds[i]] = kind_by_turn[i][t].value();
    row["adherence_by_kind"] = std::move(by_kind);
    if (auto it = share_by_turn.find(t); it != share_by_turn.end()) {
      row["attention_share"] = average(it->second.mean());
      row["attention_share_layers"] = it->second.mean();
    }
    by_turn.push_back(std::move(row));
  }
  json report = {{"dialogues", dialogues.size()},  {"turns", adherence.n},
                 {"adherence", adherence.value()}, {"adherence_later", later.value()},
                 {"content_accuracy", content.value()}, {"format_adherence", format.value()},
                 {"by_turn", by_turn}};
  json later_by_kind = json::object();
  for (size_t i = 0; i < kinds.size(); ++i) later_by_kind[kinds[i]] = kind_later[i].value();
  report["adherence_later_by_kind"] = later_by_kind;
  if (!share_by_turn.empty()) {
    // The heatmap: rows layers, columns turns 1..last.
    const int last_turn = share_by_turn.rbegin()->first;
    std::vector<std::vector<std::optional<double>>> grid(static_cast<size_t>(model.config.num_hidden_layers),
                                                         std::vector<std::optional<double>>(static_cast<size_t>(last_turn)));
    for (const auto& [t, sum] : share_by_turn) {
      const auto mean = sum.mean();
      for (size_t l = 0; l < mean.size() && l < grid.size(); ++l) grid[l][static_cast<size_t>(t - 1)] = mean[l];
    }
    const std::string title = "Attention on the system instruction by turn: " + s.model +
                              (s.adapter.empty() ? std::string() : " + " + s.adapter);
    std::ofstream(job.dir() / "attention_share.svg") << attention_heatmap_svg(grid, title);
    report["attention_svg"] = "attention_share.svg";
    job.info("attention heatmap: " + (job.dir() / "attention_share.svg").string());
  }
  std::ofstream(job.dir() / "report.json") << report.dump(2) << "\n";
  auto put = [&](const std::string& name, const json& v) {
    if (v.is_number()) job.metric(0, name, v.get<double>());
  };
  job.metric(0, "dialogues", static_cast<double>(dialogues.size()));
  job.metric(0, "turns", static_cast<double>(adherence.n));
  put("adherence", report["adherence"]);
  put("adherence_later", report["adherence_later"]);
  put("content_accuracy", report["content_accuracy"]);
  put("format_adherence", report["format_adherence"]);
  for (const auto& [t, r] : adherence_by_turn) put("adherence_turn_" + std::to_string(t), r.value());
  for (const auto& [t, sum] : share_by_turn) put("attention_share_turn_" + std::to_string(t), average(sum.mean()));
  for (size_t i = 0; i < kinds.size(); ++i) {
    const std::string kind = kinds[i];
    put("adherence_" + kind + "_later", kind_later[i].value());
    for (const auto& [t, r] : kind_by_turn[i]) put("adherence_" + kind + "_turn_" + std::to_string(t), r.value());
  }
  job.info("result " + report.dump());
  job.progress(1.0, "done");
  return WB_OK;
}

}  // namespace wb::sft
