// wb-engine init: a randomly initialized model in the HF layout (config.json +
// model.safetensors), deterministic from --seed, optionally with the tokenizer copied in.
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>

#include "commands.h"
#include "wb/llama/hf_config.h"
#include "wb/llama/model_io.h"
#include "wb/llama/presets.h"
#ifdef WB_ENGINE_HAVE_TOKENIZER
#include "wb/llama/tokenizer.h"
#endif

namespace wb::engine_tool {
namespace fs = std::filesystem;

namespace {

struct InitOptions {
  std::string config, preset, out, tokenizer;
  uint64_t seed = 0;
};

void run_init(const InitOptions& o) {
  if (o.config.empty() == o.preset.empty()) throw std::invalid_argument("give exactly one of --config or --preset");
  llama::LlamaConfig c = o.config.empty() ? llama::preset_config(o.preset) : llama::load_hf_config(o.config);
  if (!o.tokenizer.empty()) {
#ifdef WB_ENGINE_HAVE_TOKENIZER
    const llama::Tokenizer tok(o.tokenizer);
    if (tok.vocab_size() != c.vocab_size) {
      // Presets take the tokenizer's vocabulary; an explicit config must already agree.
      if (!o.config.empty())
        throw std::invalid_argument("config vocab_size " + std::to_string(c.vocab_size) + " != tokenizer's " +
                                    std::to_string(tok.vocab_size()));
      c.vocab_size = tok.vocab_size();
    }
    c.bos_token_id = tok.bos_id();
    c.eos_token_id = tok.eos_id();
    c.pad_token_id = tok.pad_id();
#endif
  }
  if (fs::exists(o.out) && !fs::is_empty(o.out)) throw std::invalid_argument(o.out + " exists and is not empty");
  const llama::Model<float> m = llama::Model<float>::random(c, o.seed);
  llama::save_model(o.out, m);
  if (!o.tokenizer.empty()) fs::copy_file(o.tokenizer, fs::path(o.out) / "tokenizer.model", fs::copy_options::overwrite_existing);
  std::cout << "initialized " << o.out << ": " << m.config.parameter_count() << " parameters, vocab "
            << m.config.vocab_size << "\n";
}

}  // namespace

void add_init(CLI::App& app) {
  auto o = std::make_shared<InitOptions>();
  CLI::App* cmd = app.add_subcommand("init", "write a randomly initialized model (HF layout)");
  cmd->add_option("--config", o->config, "HF config.json to take the architecture from")->check(CLI::ExistingFile);
  cmd->add_option("--preset", o->preset, "named size: tiny, 15m, 110m, 7b");
  cmd->add_option("--seed", o->seed, "initialization seed")->default_val(0);
  cmd->add_option("--out", o->out, "output directory")->required();
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.model to copy in (sets vocab and special ids)")
      ->check(CLI::ExistingFile);
  cmd->callback([o] { run_init(*o); });
}

}  // namespace wb::engine_tool
