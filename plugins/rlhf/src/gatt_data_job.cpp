#include "gatt_data_job.h"

#include <filesystem>
#include <fstream>

#include "gatt_data_spec.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/chat_template.h"
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

// Rows of an earlier run of this job (a JSON row, or null for a skipped dialogue, per line).
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

  for (size_t begin = done.size(); begin < dialogues.size(); begin += static_cast<size_t>(s.batch)) {
    const size_t end = std::min(dialogues.size(), begin + static_cast<size_t>(s.batch));
    std::vector<std::vector<std::string>> replies(end - begin);
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
      for (size_t j = 0; j < who.size(); ++j) {
        const std::string reply = trimmed(tok.decode(outs[j]));
        if (reply.empty()) open[who[j]] = false;  // nothing to continue from or train on
        else replies[who[j]].push_back(reply);
      }
    }
    for (size_t k = 0; k < replies.size(); ++k)
      done.push_back(replies[k].empty()   ? json(nullptr)
                     : s.ghost            ? gatt_training_row(dialogues[begin + k], replies[k])
                                          : plain_training_row(dialogues[begin + k], replies[k]));
    save();
    job.progress(static_cast<double>(end) / static_cast<double>(dialogues.size()), "sample");
  }

  json rows = json::array();
  int64_t skipped = 0, turns = 0;
  for (const auto& r : done) {
    if (r.is_null()) {
      ++skipped;
      continue;
    }
    turns += static_cast<int64_t>(r["messages"].size() - 1) / 2;
    rows.push_back(r);
  }
  if (rows.empty()) throw std::runtime_error("every sampled first reply was empty: nothing to write");
  job.progress(1.0, "save");
  job.register_artifact("dataset", {{"name", s.output}, {"kind", "sft"}, {"rows", rows}});
  job.metric(0, "dialogues", static_cast<double>(done.size()));
  job.metric(0, "rows", static_cast<double>(rows.size()));
  job.metric(0, "skipped", static_cast<double>(skipped));
  job.metric(0, "turns", static_cast<double>(turns));
  const json result = {{"kind", "gatt_data"}, {"output", s.output}, {"model", s.model}, {"adapter", s.adapter},
                       {"ghost", s.ghost}, {"dialogues", done.size()}, {"rows", rows.size()}, {"skipped", skipped}, {"turns", turns}};
  std::ofstream(job.dir() / "result.json") << result.dump(2) << "\n";
  job.info("result " + result.dump());
  return WB_OK;
}

}  // namespace wb::rlhf
