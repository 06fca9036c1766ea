#include "model_jobs.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "gguf_export.h"
#include "wb/plugin/model_store.h"
#include "wb/plugin/spec.h"
#include "specs.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/chat_template.h"
#include "wb/llama/hf_config.h"
#include "wb/llama/merge.h"
#include "wb/llama/model_io.h"
#include "wb/llama/presets.h"
#include "wb/llama/safetensors.h"
#include "wb/llama/sp_trainer.h"
#include "wb/llama/tokenizer.h"

namespace wb::sft {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The preset's HF config with the spec's keys on top; vocab_size from the tokenizer when given.
json init_config_json(const InitSpec& s) {
  json base = json::object();
  if (!s.preset.empty()) base = json::parse(llama::hf_config_to_json(llama::preset_config(s.preset)));
  if (s.config.is_object()) base.merge_patch(s.config);
  return base;
}

llama::LlamaConfig parse_config(const json& base) {
  try {
    return llama::parse_hf_config(base.dump());
  } catch (const std::exception& e) {
    plugin::spec_fail("config", e.what());
  }
}

// transformers' LlamaTokenizer reads this next to tokenizer.model; chat_template is Llama 2's, the
// format every chat of this project is rendered in (apply_chat_template, vLLM and TGI read it).
void write_tokenizer_config(const fs::path& dir) {
  const json tc = {{"tokenizer_class", "LlamaTokenizer"}, {"bos_token", "<s>"},     {"eos_token", "</s>"},
                   {"unk_token", "<unk>"},                  {"add_bos_token", true}, {"add_eos_token", false},
                   {"legacy", true},                        {"model_max_length", 1000000000000000019884624838656.0},
                   {"chat_template", llama::kLlama2ChatTemplateJinja}};
  std::ofstream(dir / "tokenizer_config.json") << tc.dump(2) << "\n";
}

}  // namespace

void run_model_init(const plugin::JobHost& job, const json& spec_json) {
  const InitSpec s = parse_init_spec(spec_json);
  json base = init_config_json(s);
  fs::path tokenizer = s.tokenizer;
  if (!s.tokenizer_corpus.empty()) {
    job.progress(0.05, "tokenizer");
    llama::SpTrainOptions o;
    const int64_t vocab = s.vocab_size ? s.vocab_size : base.value("vocab_size", int64_t{0});
    if (vocab <= 0) plugin::spec_fail("vocab_size", "needed to train a tokenizer (no preset or config vocab_size)");
    o.vocab_size = static_cast<int32_t>(vocab);
    tokenizer = job.dir() / "tokenizer.model";
    job.info("training a SentencePiece BPE tokenizer (vocab " + std::to_string(o.vocab_size) + ") on " +
             s.tokenizer_corpus);
    llama::train_sentencepiece(s.tokenizer_corpus, tokenizer, o);
  }
  std::optional<llama::Tokenizer> tok;
  if (!tokenizer.empty()) {
    tok.emplace(tokenizer);
    base["vocab_size"] = tok->vocab_size();
  }
  llama::LlamaConfig c = parse_config(base);
  if (tok) {
    c.bos_token_id = tok->bos_id();
    c.eos_token_id = tok->eos_id();
    c.pad_token_id = tok->pad_id();
  }
  try {
    c.validate();
  } catch (const std::exception& e) {
    plugin::spec_fail("config", e.what());
  }
  job.progress(0.3, "init");
  job.info("initializing " + s.name + ": " + std::to_string(c.parameter_count()) + " parameters");
  plugin::publish_model(job, s.name, [&](const fs::path& dir) {
    const auto m = llama::Model<float>::random(c, s.seed);
    llama::save_model(dir, m);
    if (!tokenizer.empty()) {
      fs::copy_file(tokenizer, dir / "tokenizer.model", fs::copy_options::overwrite_existing);
      write_tokenizer_config(dir);
    }
  });
  job.progress(1.0, "done");
}

void check_hf_model_dir(const fs::path& dir) {
  const llama::LlamaConfig c = llama::load_hf_config(dir);
  const auto set = llama::SafetensorsSet::open(dir);
  const int64_t D = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const int64_t Q = c.num_attention_heads * c.head_dim(), KV = c.kv_dim();
  std::map<std::string, std::vector<int64_t>> want = {{"model.embed_tokens.weight", {V, D}}, {"model.norm.weight", {D}}};
  if (!c.tie_word_embeddings) want["lm_head.weight"] = {V, D};
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    want[p + "input_layernorm.weight"] = {D};
    want[p + "post_attention_layernorm.weight"] = {D};
    want[p + "self_attn.q_proj.weight"] = {Q, D};
    want[p + "self_attn.k_proj.weight"] = {KV, D};
    want[p + "self_attn.v_proj.weight"] = {KV, D};
    want[p + "self_attn.o_proj.weight"] = {D, Q};
    want[p + "mlp.gate_proj.weight"] = {F, D};
    want[p + "mlp.up_proj.weight"] = {F, D};
    want[p + "mlp.down_proj.weight"] = {D, F};
  }
  auto shape_str = [](const std::vector<int64_t>& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
  };
  for (const auto& [name, shape] : want) {
    if (!set.contains(name)) throw std::runtime_error(dir.string() + ": tensor '" + name + "' is missing");
    const auto& info = set.info(name);
    if (info.shape != shape)
      throw std::runtime_error(dir.string() + ": tensor '" + name + "' has shape " + shape_str(info.shape) +
                               ", the config needs " + shape_str(shape));
  }
  const fs::path tp = dir / "tokenizer.model";
  if (!fs::is_regular_file(tp)) throw std::runtime_error(dir.string() + ": tokenizer.model is missing");
  const llama::Tokenizer tok(tp);
  if (tok.vocab_size() != V)
    throw std::runtime_error(dir.string() + ": tokenizer.model has " + std::to_string(tok.vocab_size()) +
                             " pieces but config.json says vocab_size " + std::to_string(V));
}

void run_model_import(const plugin::JobHost& job, const json& spec_json) {
  const ImportSpec s = parse_import_spec(spec_json);
  job.progress(0.1, "check");
  check_hf_model_dir(s.path);
  job.progress(0.4, "copy");
  job.info("importing " + s.path + " as " + s.name + " (files copied into the data directory)");
  plugin::publish_model(job, s.name, [&](const fs::path& dir) {
    plugin::copy_files(s.path, dir);
    if (!fs::exists(dir / "tokenizer_config.json")) write_tokenizer_config(dir);
  });
  job.progress(1.0, "done");
}

void run_model_export(const plugin::JobHost& job, const json& spec_json) {
  const ExportSpec s = parse_export_spec(spec_json);
  const fs::path model = plugin::registered_model_path(s.model, job.handle());
  const fs::path out = s.out;
  if (fs::exists(out) && !(fs::is_directory(out) && fs::is_empty(out)))
    plugin::spec_fail("out", "exists and is not an empty directory: " + out.string());
  // Work in a temp sibling and rename, so a failed export leaves nothing half-written at `out`.
  fs::create_directories(out.parent_path());
  const fs::path tmp = out.parent_path() / ("." + out.filename().string() + ".export-tmp");
  fs::remove_all(tmp);
  try {
    fs::path source = model;
    if (!s.adapter.empty()) {
      job.progress(0.1, "merge");
      const fs::path adapter = plugin::registered_adapter_path(s.adapter, job.handle());
      source = job.dir() / "merged";
      fs::remove_all(source);
      llama::merge_adapter_to_directory(model, adapter, source);  // f32: exported at `dtype` below, rounded once
      job.info("merged adapter " + s.adapter + " into " + s.model);
    }
    job.progress(0.4, "export");
    const llama::DType dt = s.dtype == "f16" ? llama::DType::F16 : llama::DType::F32;
    if (s.format == "hf") {
      const auto m = llama::load_model<float>(source);
      llama::save_model(tmp, m, dt);
      if (fs::exists(source / "tokenizer.model")) {
        fs::copy_file(source / "tokenizer.model", tmp / "tokenizer.model");
        write_tokenizer_config(tmp);
      }
    } else {
      fs::create_directories(tmp);
      write_gguf_from_hf_dir(source, tmp / (s.model + ".gguf"), dt);
    }
    if (fs::exists(out)) fs::remove(out);  // an empty directory
    fs::rename(tmp, out);
    if (!s.adapter.empty()) fs::remove_all(source);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  job.info("exported " + s.model + " (" + s.format + ", " + s.dtype + ") to " + out.string());
  job.progress(1.0, "done");
}

}  // namespace wb::sft
