// wb-engine generate: sample a completion. With the tokenizer built, --prompt is text encoded
// with the model directory's tokenizer.model and the completion streams to stdout as text;
// --chat-json renders a chat with the Llama 2 template; --prompt-ids gives token ids directly.
// --json prints {"tokens","text","finish"} instead.
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "tool_util.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/generate.h"
#include "wb/llama/model_io.h"
#ifdef WB_ENGINE_HAVE_TOKENIZER
#include "chat_json.h"
#include "wb/llama/chat_template.h"
#include "wb/llama/tokenizer.h"
#endif

namespace wb::engine_tool {
namespace fs = std::filesystem;
namespace {

struct GenerateCmd {
  std::string model, adapter, prompt, prompt_ids, chat_json, tokenizer;
  std::vector<std::string> stop;
  int64_t max_tokens = 128;
  double temperature = 0.8, top_p = 1.0;
  int64_t top_k = 0;
  uint64_t seed = 0;
  bool json = false;
};

void run_generate(const GenerateCmd& o) {
  const llama::Model<float> m = llama::load_model<float>(o.model);
  std::optional<llama::LoraAdapter<float>> a;
  if (!o.adapter.empty()) a = llama::load_adapter(o.adapter, m.config);
  llama::GenerateRequest r;
  r.adapter = a ? &*a : nullptr;
  r.max_tokens = o.max_tokens;
  r.sampling.temperature = o.temperature;
  r.sampling.top_k = o.top_k;
  r.sampling.top_p = o.top_p;
  r.sampling.seed = o.seed;
  r.stop = o.stop;
  if (o.prompt.empty() + o.prompt_ids.empty() + o.chat_json.empty() != 2)
    throw std::invalid_argument("give exactly one of --prompt, --prompt-ids or --chat-json");
#ifdef WB_ENGINE_HAVE_TOKENIZER
  std::optional<llama::Tokenizer> tok;
  const fs::path tok_path = o.tokenizer.empty() ? fs::path(o.model) / "tokenizer.model" : fs::path(o.tokenizer);
  if (fs::exists(tok_path)) tok.emplace(tok_path);
  std::optional<llama::StreamDecoder> sd;
  if (tok) {
    sd.emplace(*tok);
    r.detokenize = [&sd](int32_t id) { return sd->push(id); };
  }
  if (!o.prompt.empty()) {
    if (!tok) throw std::invalid_argument("--prompt needs a tokenizer (" + tok_path.string() + " not found)");
    r.prompt = tok->encode(o.prompt, /*add_bos=*/true);
  }
  if (!o.chat_json.empty()) {
    if (!tok) throw std::invalid_argument("--chat-json needs a tokenizer (" + tok_path.string() + " not found)");
    const llama::ChatTokens ct = llama::render_llama2_chat(*tok, read_chat_json(o.chat_json));
    if (!ct.ends_with_prompt) throw std::invalid_argument(o.chat_json + ": the chat must end with a user message");
    r.prompt = ct.ids;
  }
#else
  if (!o.prompt.empty() || !o.chat_json.empty())
    throw std::invalid_argument("this build has no tokenizer: use --prompt-ids");
#endif
  if (!o.prompt_ids.empty()) r.prompt = parse_id_list(o.prompt_ids);
  if (!o.json)
    r.on_token = [](int32_t, const std::string& piece) {
      std::cout << piece << std::flush;
      return true;
    };
  const llama::GenerateResult res = llama::generate(m, {r})[0];
  if (o.json) {
    nlohmann::json j{{"tokens", res.tokens}, {"text", res.text}, {"finish", llama::finish_reason_name(res.finish)}};
    std::cout << j.dump() << "\n";
  } else {
    if (!r.detokenize) std::cout << ids_to_json(res.tokens);
    std::cout << "\n";
  }
}

}  // namespace

void add_generate(CLI::App& app) {
  auto o = std::make_shared<GenerateCmd>();
  CLI::App* cmd = app.add_subcommand("generate", "sample a completion of a prompt");
  cmd->add_option("--model", o->model, "HF model directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--adapter", o->adapter, "PEFT LoRA adapter directory")->check(CLI::ExistingDirectory);
  cmd->add_option("--prompt", o->prompt, "prompt text (BOS is prepended)");
  cmd->add_option("--prompt-ids", o->prompt_ids, "prompt as comma-separated token ids");
  cmd->add_option("--chat-json", o->chat_json, "JSON list of {role, content} ending with a user turn (Llama 2 template)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.model (default: the model directory's)");
  cmd->add_option("--max-tokens", o->max_tokens, "tokens to generate at most")->default_val(128)->check(CLI::NonNegativeNumber);
  cmd->add_option("--temperature", o->temperature, "0 = greedy")->default_val(0.8)->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-k", o->top_k, "keep the k most likely tokens (0 = all)")->default_val(0)->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-p", o->top_p, "nucleus probability mass in (0, 1]")->default_val(1.0)->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", o->seed, "sampling seed")->default_val(0);
  cmd->add_option("--stop", o->stop, "stop string (repeatable)");
  cmd->add_flag("--json", o->json, "print {tokens, text, finish} as JSON");
  cmd->callback([o] { run_generate(*o); });
}

}  // namespace wb::engine_tool
