#include "rl_inputs.h"

#include <cctype>
#include <filesystem>
#include <stdexcept>

#include "wb/llama/adapter_io.h"
#include "wb/llama/chat_template.h"
#include "wb/llama/safetensors.h"
#include "wb/plugin/adapter_base.h"
#include "wb/plugin/model_store.h"
#include "wb/plugin/spec.h"

namespace wb::rlhf {
namespace fs = std::filesystem;
using nlohmann::json;
using plugin::Host;
using plugin::spec_fail;

void check_output_name(const std::string& field, const std::string& name) {
  if (name.empty()) spec_fail(field, "must not be empty");
  if (name.size() > 128) spec_fail(field, "longer than 128 characters");
  if (name.front() == '.' || name.front() == '-') spec_fail(field, "must not start with '.' or '-'");
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      spec_fail(field, "may contain only letters, digits, '-', '_' and '.', got '" + name + "'");
}

void check_reward_model(const std::string& field, const std::string& name, const std::string& head,
                        const std::string& model) {
  auto a = Host::lookup("adapter", name);
  if (!a) spec_fail(field, "unknown adapter '" + name + "'");
  const std::string kind = a->value("kind", "policy");
  if (kind != "reward_helpfulness" && kind != "reward_safety")
    spec_fail(field, "adapter '" + name + "' is a " + kind + " adapter, not a reward model (no scalar head)");
  if (kind != "reward_" + head)
    spec_fail(field, "adapter '" + name + "' is a " + kind + " model; " + field + " needs a reward_" + head + " model");
  const fs::path dir = a->value("path", "");
  if (!fs::is_regular_file(dir / kRewardHeadFile))
    spec_fail(field, "adapter '" + name + "' has no " + std::string(kRewardHeadFile) + " head, not a reward model");
  plugin::check_adapter_base(field, name, *a, model);
}

void check_prompt_dataset(const std::string& field, const std::string& name, bool need_tags) {
  auto d = Host::lookup("dataset", name);
  if (!d) spec_fail(field, "unknown dataset '" + name + "'");
  if (d->value("kind", "") != "prompt")
    spec_fail(field, "'" + name + "' is a " + d->value("kind", "?") + " dataset; a prompt dataset is needed");
  if (!need_tags) return;
  bool tagged = false;
  plugin::JobHost(nullptr).rows(name, "train", [&](int64_t, const json& row) {
    tagged = row.is_object() && row.contains("is_safety_prompt");
    return !tagged;
  });
  if (!tagged)
    spec_fail(field, "prompt dataset '" + name +
                         "' has no is_safety_prompt tags; safety_tags needs them (or set safety_tags=false)");
}

LoadedRewardModel load_reward_model(const plugin::JobHost& job, const std::string& name,
                                    const llama::LlamaConfig& config) {
  const fs::path dir = plugin::registered_adapter_path(name, job.handle());
  const fs::path file = dir / kRewardHeadFile;
  if (!fs::is_regular_file(file)) throw std::runtime_error(file.string() + ": missing (not a reward adapter?)");
  const int64_t hidden = config.hidden_size;
  llama::ScalarHead<float> head = llama::ScalarHead<float>::zeros(hidden);
  const llama::SafetensorsFile f(file);
  const auto& wi = f.info("score.weight");
  if (wi.numel() != hidden || wi.shape.size() > 2 || (wi.shape.size() == 2 && wi.shape[0] != 1))
    throw std::runtime_error(file.string() + ": score.weight must be [1, " + std::to_string(hidden) + "]");
  if (f.info("score.bias").numel() != 1) throw std::runtime_error(file.string() + ": score.bias must be [1]");
  f.read_f32_into("score.weight", head.weight.data);
  f.read_f32_into("score.bias", head.bias.data);
  return {llama::load_adapter(dir, config), std::move(head)};
}

PromptSet load_prompts(const plugin::JobHost& job, const llama::Tokenizer& tok, const std::string& dataset,
                       bool use_tags, int64_t context) {
  PromptSet out;
  job.rows(dataset, "train", [&](int64_t index, const json& row) {
    if (!row.is_object() || !row.contains("prompt") || !row["prompt"].is_string())
      throw std::invalid_argument("dataset '" + dataset + "' row " + std::to_string(index) +
                                  ": field 'prompt': expected a string");
    std::vector<llama::ChatMessage> msgs;
    if (row.contains("system") && row["system"].is_string()) msgs.push_back({"system", row["system"].get<std::string>()});
    msgs.push_back({"user", row["prompt"].get<std::string>()});
    const llama::ChatTokens ct = llama::render_llama2_chat(tok, msgs);
    if (static_cast<int64_t>(ct.ids.size()) + 2 > context) {
      ++out.skipped;
      return true;
    }
    Prompt p;
    p.tokens = ct.ids;
    p.unsafe = use_tags && row.value("is_safety_prompt", false);
    if (p.unsafe) ++out.unsafe;
    out.prompts.push_back(std::move(p));
    out.rows.push_back(index);
    return true;
  });
  if (out.prompts.empty())
    throw std::runtime_error("dataset '" + dataset + "' has no training prompts" +
                             (out.skipped ? " that fit the model's context" : std::string()));
  return out;
}

}  // namespace wb::rlhf
