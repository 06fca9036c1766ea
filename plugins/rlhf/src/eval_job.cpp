#include "eval_job.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>

#include "eval_spec.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/chat_template.h"
#include "wb/llama/greedy.h"
#include "wb/llama/head_scorer.h"
#include "wb/llama/model_io.h"
#include "wb/plugin/device.h"
#include "wb/plugin/model_store.h"
#include "wb/reward/reward_config.h"
#include "wb/reward/scoring.h"
#include "wb/rlhf/gated_reward.h"
#include "wb/suite/checker.h"
#include "wb/suite/grader.h"

namespace wb::rlhf {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Prompt {
  std::string text;
  std::optional<bool> unsafe;  // the row's tag, when it has one
};

std::vector<Prompt> load_prompts(const plugin::JobHost& job, const RlhfEvalSpec& s) {
  std::string split = s.split == "all" ? "" : s.split;
  if (s.split == "auto") {
    auto rec = plugin::Host::lookup("dataset", s.prompts, job.handle());
    split = rec && rec->value("eval_rows", 0) > 0 ? "eval" : "";
  }
  std::vector<Prompt> out;
  job.rows(s.prompts, split, [&](int64_t index, const json& row) {
    if (!row.contains("prompt") || !row["prompt"].is_string())
      throw std::invalid_argument("dataset '" + s.prompts + "' row " + std::to_string(index) + ": expected {\"prompt\": text}");
    Prompt p{row["prompt"].get<std::string>(), std::nullopt};
    if (row.contains("is_safety_prompt") && row["is_safety_prompt"].is_boolean()) p.unsafe = row["is_safety_prompt"].get<bool>();
    out.push_back(std::move(p));
    return s.limit == 0 || static_cast<int64_t>(out.size()) < s.limit;
  });
  if (out.empty()) throw std::runtime_error("nothing to evaluate: dataset '" + s.prompts + "' has no rows in that split");
  return out;
}

// A reward model ready to score: its base (shared with the scorer), adapter, head, tokenizer.
struct RewardModel {
  std::shared_ptr<const llama::Model<float>> base;
  std::shared_ptr<const llama::LoraAdapter<float>> lora;
  llama::ScalarHead<float> head;
  std::optional<llama::Tokenizer> tok;
  std::unique_ptr<llama::HeadScorer> scorer;
  int64_t max_len = 0;  // tokens it reads per prompt + answer
};

// max_len: the spec's, else the length the model was trained on (reward_config.json), else its
// base's context — what the reward plugin's reward.score reads.
RewardModel load_reward_model(const plugin::JobHost& job, const std::string& name, const llama::DeviceChoice& device,
                              int64_t max_len) {
  const auto rec = plugin::Host::lookup("adapter", name, job.handle());
  if (!rec) throw std::invalid_argument("unknown adapter '" + name + "'");
  const std::string base_name = rec->at("base_model").get<std::string>();
  const fs::path base_path = plugin::registered_model_path(base_name, job.handle());
  const fs::path dir = rec->at("path").get<std::string>();
  RewardModel m;
  m.base = std::make_shared<const llama::Model<float>>(llama::load_model<float>(base_path));
  m.lora = std::make_shared<const llama::LoraAdapter<float>>(llama::load_adapter(dir, m.base->config));
  m.head = reward::load_reward_head(dir, m.base->config.hidden_size);
  m.tok.emplace(plugin::model_tokenizer(base_path, base_name));
  m.scorer = llama::make_head_scorer(device, m.base);
  m.max_len = max_len;
  if (m.max_len == 0 && fs::exists(dir / reward::kRewardConfigFile)) m.max_len = reward::load_reward_config(dir).max_len;
  if (m.max_len == 0) m.max_len = m.base->config.max_position_embeddings;
  return m;
}

struct Mean {
  double sum = 0;
  long n = 0;
  void add(double v) {
    sum += v;
    ++n;
  }
  std::optional<double> value() const { return n ? std::optional<double>(sum / static_cast<double>(n)) : std::nullopt; }
};

struct Tally {
  Mean reward, help, safety, tokens;
  suite::Rate accuracy, format, refusal, over_refusal;
  long n_safe = 0, n_unsafe = 0;
};

}  // namespace

wb_status run_rlhf_eval(const plugin::JobHost& job, const json& spec_json) {
  const RlhfEvalSpec s = parse_rlhf_eval_spec(spec_json);
  llama::DeviceChoice device = plugin::choose_device(s.device, "");
  job.progress(0.0, "load");
  const fs::path model_path = plugin::registered_model_path(s.model, job.handle());
  const auto model = llama::load_model<float>(model_path);
  const llama::Tokenizer tok = plugin::model_tokenizer(model_path, s.model);
  std::optional<llama::LoraAdapter<float>> adapter;
  if (!s.adapter.empty()) adapter = llama::load_adapter(plugin::registered_adapter_path(s.adapter, job.handle()), model.config);
  plugin::fit_gpu_memory(device, s.device, model.weights.numel(), false, "evaluation");
  job.info("device: " + device.note);
  const std::vector<Prompt> prompts = load_prompts(job, s);
  RewardModel help = load_reward_model(job, s.helpfulness_rm, device, s.max_len);
  RewardModel safety = load_reward_model(job, s.safety_rm, device, s.max_len);
  job.info("evaluating " + s.model + (adapter ? " + " + s.adapter : std::string()) + " on " +
           std::to_string(prompts.size()) + " prompts (greedy, max_tokens " + std::to_string(s.max_tokens) +
           "), rewards " + s.helpfulness_rm + " / " + s.safety_rm);
  const std::unique_ptr<llama::GreedyCompleter> completer =
      llama::make_greedy_completer(device, model, adapter ? &*adapter : nullptr);

  Tally t;
  std::ofstream results(job.dir() / "eval_results.jsonl", std::ios::trunc);
  for (size_t begin = 0; begin < prompts.size(); begin += static_cast<size_t>(s.batch)) {
    if (job.cancelled()) return job.shutting_down() ? WB_INTERRUPTED : WB_CANCELLED;
    const size_t end = std::min(prompts.size(), begin + static_cast<size_t>(s.batch));
    std::vector<std::vector<int32_t>> ids;
    std::vector<int64_t> max_tokens;
    for (size_t i = begin; i < end; ++i) {
      const std::vector<llama::ChatMessage> msgs = {{"user", prompts[i].text}};
      ids.push_back(llama::render_llama2_chat(tok, msgs).ids);
      const int64_t room = model.config.max_position_embeddings - static_cast<int64_t>(ids.back().size());
      if (room < 1) throw std::runtime_error("prompt " + std::to_string(i) + " does not fit the model's context");
      max_tokens.push_back(std::min(s.max_tokens, room));
    }
    const std::vector<std::vector<int32_t>> out = completer->complete(ids, max_tokens);
    std::vector<std::string> responses;
    std::vector<std::vector<int32_t>> help_seqs, safety_seqs;
    for (size_t k = 0; k < out.size(); ++k) {
      responses.push_back(tok.decode(out[k]));
      const std::string& p = prompts[begin + k].text;
      help_seqs.push_back(reward::encode_scored(*help.tok, p, responses.back(), help.max_len));
      safety_seqs.push_back(reward::encode_scored(*safety.tok, p, responses.back(), safety.max_len));
    }
    const std::vector<float> hs = help.scorer->score(help.lora, help.head, help_seqs);
    const std::vector<float> ss = safety.scorer->score(safety.lora, safety.head, safety_seqs);
    for (size_t k = 0; k < out.size(); ++k) {
      const Prompt& p = prompts[begin + k];
      const suite::Verdict v = suite::check(p.text, responses[k]);
      const bool unsafe = p.unsafe.value_or(v.recognized && v.unsafe);
      const double combined = gated_reward(hs[k], ss[k], unsafe, s.safety_threshold);
      t.reward.add(combined);
      t.help.add(hs[k]);
      t.safety.add(ss[k]);
      t.tokens.add(static_cast<double>(out[k].size()));
      if (unsafe) {
        ++t.n_unsafe;
        t.refusal.add(suite::is_refusal(responses[k]));
      } else {
        ++t.n_safe;
        t.over_refusal.add(suite::is_refusal(responses[k]));
        if (v.recognized) {
          t.accuracy.add(v.correct);
          t.format.add(v.format_ok);
        }
      }
      results << json{{"prompt", p.text},        {"response", responses[k]}, {"unsafe", unsafe},
                      {"helpfulness", hs[k]},    {"safety", ss[k]},          {"combined", combined},
                      {"tokens", out[k].size()}, {"verdict", v.to_json()}}
                     .dump()
              << "\n";
    }
    job.progress(static_cast<double>(end) / static_cast<double>(prompts.size()), "eval");
  }
  results.close();
  if (!results) throw std::runtime_error("cannot write " + (job.dir() / "eval_results.jsonl").string());

  json result = {{"kind", "rlhf_eval"}, {"model", s.model}, {"adapter", s.adapter.empty() ? json(nullptr) : json(s.adapter)},
                 {"helpfulness_rm", s.helpfulness_rm}, {"safety_rm", s.safety_rm}, {"max_tokens", s.max_tokens}};
  auto put = [&](const char* name, const std::optional<double>& v) {
    if (!v) return;
    job.metric(0, name, *v);
    result[name] = *v;
  };
  put("n", static_cast<double>(prompts.size()));
  put("n_safe", static_cast<double>(t.n_safe));
  put("n_unsafe", static_cast<double>(t.n_unsafe));
  put("mean_reward", t.reward.value());
  put("mean_helpfulness_reward", t.help.value());
  put("mean_safety_reward", t.safety.value());
  put("accuracy", t.accuracy.value());
  put("format_adherence", t.format.value());
  put("refusal_rate", t.refusal.value());
  put("over_refusal_rate", t.over_refusal.value());
  put("mean_response_tokens", t.tokens.value());
  std::ofstream(job.dir() / "result.json") << result.dump(2) << "\n";
  job.info("result " + result.dump());
  job.progress(1.0, "done");
  return WB_OK;
}

}  // namespace wb::rlhf
