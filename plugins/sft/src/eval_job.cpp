#include "eval_job.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "wb/plugin/model_store.h"
#include "multi_turn_eval.h"
#include "specs.h"
#include "train_device.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/chat_template.h"
#include "wb/llama/greedy.h"
#include "wb/llama/model_io.h"
#include "wb/suite/chat.h"
#include "wb/suite/checker.h"
#include "wb/suite/grader.h"
#include "wb/suite/tasks.h"

namespace wb::sft {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Item {
  std::vector<suite::Message> context;  // ends with the user turn to answer
  std::string prompt_text;              // what the checker reads
};

void add_row_items(const json& row, int64_t index, std::vector<Item>& items) {
  if (row.contains("messages")) {
    std::vector<suite::Message> msgs;
    try {
      msgs = suite::messages_from_row(row);
    } catch (const std::exception& e) {
      throw std::invalid_argument("row " + std::to_string(index) + ": " + e.what());
    }
    if (!msgs.empty() && msgs.back().role == "user") {
      items.push_back({msgs, suite::render_prompt(msgs)});
      return;
    }
    for (auto& t : suite::graded_turns(msgs)) items.push_back({std::move(t.context), std::move(t.prompt)});
  } else if (row.contains("prompt") && row["prompt"].is_string()) {
    std::vector<suite::Message> msgs;
    if (row.contains("system") && row["system"].is_string()) msgs.push_back({"system", row["system"].get<std::string>()});
    msgs.push_back({"user", row["prompt"].get<std::string>()});
    items.push_back({msgs, suite::render_prompt(msgs)});
  } else {
    throw std::invalid_argument("row " + std::to_string(index) + ": expected {\"messages\":[...]} or {\"prompt\"}");
  }
}

std::vector<Item> load_items(const plugin::JobHost& job, const EvalSpec& s) {
  std::vector<Item> items;
  auto want_more = [&] { return s.limit == 0 || static_cast<int64_t>(items.size()) < s.limit; };
  if (!s.suite_dir.empty()) {
    const fs::path file = fs::path(s.suite_dir) / "sft_eval.jsonl";
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    std::string line;
    int64_t n = 0;
    while (want_more() && std::getline(in, line)) {
      ++n;
      if (line.empty()) continue;
      json row = json::parse(line, nullptr, false);
      if (row.is_discarded()) throw std::invalid_argument(file.string() + " line " + std::to_string(n) + ": not JSON");
      add_row_items(row, n, items);
    }
  } else {
    std::string split = s.split == "all" ? "" : s.split;
    if (s.split == "auto") {
      auto rec = plugin::Host::lookup("dataset", s.dataset, job.handle());
      split = rec && rec->value("eval_rows", 0) > 0 ? "eval" : "";
    }
    job.rows(s.dataset, split, [&](int64_t index, const json& row) {
      add_row_items(row, index, items);
      return want_more();
    });
  }
  if (s.limit > 0 && static_cast<int64_t>(items.size()) > s.limit) items.resize(static_cast<size_t>(s.limit));
  if (items.empty()) throw std::runtime_error("nothing to evaluate: the dataset has no rows in that split");
  return items;
}

}  // namespace

wb_status run_eval(const plugin::JobHost& job, const json& spec_json) {
  const EvalSpec s = parse_eval_spec(spec_json);
  llama::DeviceChoice device = choose_eval_device(s);
  job.progress(0.0, "load");
  const fs::path model_path = plugin::registered_model_path(s.model, job.handle());
  const auto model = llama::load_model<float>(model_path);
  const llama::Tokenizer tok = plugin::model_tokenizer(model_path, s.model);
  std::optional<llama::LoraAdapter<float>> adapter;
  if (!s.adapter.empty()) adapter = llama::load_adapter(plugin::registered_adapter_path(s.adapter, job.handle()), model.config);
  if (s.multi_turn) {
    if (const std::string why = llama::fit_gpu_memory(device, s.device, model.weights.numel(), false, "evaluation");
        !why.empty())
      throw std::runtime_error("device cuda: " + why + "; set device to cpu or auto");
    job.info("device: " + device.note);
    const auto completer = llama::make_greedy_completer(device, model, adapter ? &*adapter : nullptr);
    return run_multi_turn(job, s, tok, *completer, model, adapter ? &*adapter : nullptr);
  }
  const std::vector<Item> items = load_items(job, s);
  job.info("evaluating " + s.model + (adapter ? " + " + s.adapter : std::string()) + " on " +
           std::to_string(items.size()) + " prompts (greedy, max_tokens " + std::to_string(s.max_tokens) + ")");
  // As for training: a model the GPU cannot hold evaluates on the CPU unless cuda was asked for.
  if (const std::string why = llama::fit_gpu_memory(device, s.device, model.weights.numel(), false, "evaluation");
      !why.empty())
    throw std::runtime_error("device cuda: " + why + "; set device to cpu or auto");
  job.info("device: " + device.note);
  // On the GPU the model (and adapter) are copied to the device once for the whole job.
  const std::unique_ptr<llama::GreedyCompleter> completer =
      llama::make_greedy_completer(device, model, adapter ? &*adapter : nullptr);

  suite::Report report;
  std::ofstream results(job.dir() / "eval_results.jsonl");
  for (size_t begin = 0; begin < items.size(); begin += static_cast<size_t>(s.batch)) {
    if (job.cancelled()) return job.shutting_down() ? WB_INTERRUPTED : WB_CANCELLED;
    const size_t end = std::min(items.size(), begin + static_cast<size_t>(s.batch));
    std::vector<std::vector<int32_t>> prompts;
    std::vector<int64_t> max_tokens;
    for (size_t i = begin; i < end; ++i) {
      std::vector<llama::ChatMessage> msgs;
      for (const auto& m : items[i].context) msgs.push_back({m.role, m.content});
      prompts.push_back(llama::render_llama2_chat(tok, msgs).ids);
      const int64_t room = model.config.max_position_embeddings - static_cast<int64_t>(prompts.back().size());
      if (room < 1) throw std::runtime_error("prompt " + std::to_string(i) + " does not fit the model's context");
      max_tokens.push_back(std::min(s.max_tokens, room));
    }
    const std::vector<std::vector<int32_t>> out = completer->complete(prompts, max_tokens);
    for (size_t k = 0; k < out.size(); ++k) {
      const Item& it = items[begin + k];
      const std::string response = tok.decode(out[k]);
      const suite::Verdict v = suite::check(it.prompt_text, response);
      report.add(v);
      results << json{{"prompt", it.prompt_text}, {"response", response}, {"verdict", v.to_json()}}.dump() << "\n";
    }
    job.progress(static_cast<double>(end) / static_cast<double>(items.size()), "eval");
  }

  const json rj = report.to_json();
  std::ofstream(job.dir() / "report.json") << rj.dump(2) << "\n";
  auto put = [&](const char* name, const std::optional<double>& v) {
    if (v) job.metric(0, name, *v);
  };
  job.metric(0, "n", static_cast<double>(report.n));
  // Prompts the suite's checker does not recognise are counted, not graded (accuracy is over
  // the graded ones only).
  job.metric(0, "graded", static_cast<double>(report.n - report.unknown));
  job.metric(0, "ungraded", static_cast<double>(report.unknown));
  put("accuracy", report.accuracy.value());
  put("format_adherence", report.format.value());
  put("refusal_rate", report.unsafe_refusal.value());
  put("over_refusal_rate", report.over_refusal.value());
  put("gatt_adherence", report.gatt.value());
  for (const auto& [family, stats] : report.families)
    put(("accuracy_" + std::string(suite::family_name(family))).c_str(), stats.accuracy.value());
  job.info("result " + rj.dump());
  job.progress(1.0, "done");
  return WB_OK;
}

}  // namespace wb::sft
